from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import SourceError
from index.loaders.cms_tabular import extension_code, parse_tabular, tabular_version
from index.model import CodeKind, NoteKind

FIXTURE = Path(__file__).parents[1] / "fixtures" / "tabular_mini.xml"


@pytest.fixture(scope="module")
def codes():
    return parse_tabular(FIXTURE)


def test_hierarchy_chapter_and_block(codes):
    e1122 = codes["E11.22"]
    assert e1122.title == "Type 2 diabetes mellitus with diabetic chronic kidney disease"
    assert e1122.parent == "E11.2"
    assert codes["E11.2"].parent == "E11"
    assert codes["E11"].parent == "E08-E13"
    assert codes["E08-E13"].parent == "Chapter 4"
    assert codes["E08-E13"].title == "Diabetes mellitus"
    assert (e1122.chapter, e1122.block) == ("Chapter 4", "E08-E13")
    assert codes["E11"].children == ("E11.2", "E11.9")
    assert codes["Chapter 4"].kind is CodeKind.CHAPTER


def test_billable_is_a_leaf_without_pending_seventh_character(codes):
    assert codes["E11.22"].billable
    assert codes["I10"].billable
    assert not codes["E11.2"].billable
    assert not codes["S72.001"].billable  # still needs its 7th character
    assert codes["S72.001A"].billable


def test_notes_keep_their_kind(codes):
    assert codes["E11.22"].notes_of(NoteKind.USE_ADDITIONAL_CODE) == (
        "code to identify stage of chronic kidney disease (N18.1-N18.6)",
    )
    assert codes["I10"].notes_of(NoteKind.INCLUSION_TERM)[0] == "high blood pressure"
    assert codes["E11"].notes_of(NoteKind.EXCLUDES1) == ("type 1 diabetes mellitus (E10.-)",)
    assert codes["N18"].notes_of(NoteKind.CODE_FIRST)[0].startswith("any associated: diabetic chronic kidney")


def test_seventh_characters_complete_leaf_codes(codes):
    assert [s.char for s in codes["S72"].seventh] == ["A", "B", "D", "S"]
    assert codes["S72.001"].children == ("S72.001A", "S72.001B", "S72.001D", "S72.001S")
    ext = codes["S72.001A"]
    assert ext.kind is CodeKind.EXTENSION
    assert ext.parent == "S72.001"
    assert ext.title == "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture"


def test_placeholder_x_fills_short_codes():
    assert extension_code("S06.0X1", "A") == "S06.0X1A"
    assert extension_code("T07", "A") == "T07.XXXA"
    assert extension_code("S02.0", "B") == "S02.0XXB"


def test_data_file_restricts_seventh_characters(codes):
    # S06 with 6th character 7 (death before regaining consciousness) takes only A.
    assert codes["S06.0X7"].children == ("S06.0X7A",)
    assert codes["S06.0X1"].children == ("S06.0X1A", "S06.0X1D", "S06.0X1S")


def test_version():
    assert tabular_version(FIXTURE.read_bytes(), "mini") == "2026"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<ICD10CM.tabular><chapter>", "not well-formed"),
        (b"this is not xml", "not well-formed"),
        (b"<ICD10CM.index><version>2026</version></ICD10CM.index>", "root element is <ICD10CM.index>"),
        (b"<ICD10CM.tabular><version>2026</version></ICD10CM.tabular>", "no chapters"),
    ],
)
def test_bad_files_raise_source_error(content, message):
    with pytest.raises(SourceError, match=message):
        parse_tabular(content, "bad.xml")


def test_missing_file_raises_source_error(tmp_path):
    with pytest.raises(SourceError, match="cannot be read"):
        parse_tabular(tmp_path / "nope.xml")
