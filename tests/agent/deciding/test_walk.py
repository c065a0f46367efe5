from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def walker(mini_coder):
    return mini_coder.deps.walker


@pytest.mark.parametrize(
    ("code", "sentence", "expected"),
    [
        ("N18", "CKD stage 3", "N18.30"),  # the note says stage 3; nothing more: N18.30
        ("N18", "chronic kidney disease", "N18.9"),  # nothing more specific: the default
        ("E11", "type 2 diabetes", "E11.9"),
        ("E11", "type 2 diabetes with diabetic CKD", "E11.22"),
        ("S72.001", "fracture of the right femoral neck", "S72.001A"),  # 7th character: initial
        ("S72.001", "right femoral neck fracture, follow-up visit", "S72.001D"),
        ("S72.001", "sequela of an old femoral neck fracture", "S72.001S"),
        ("S06.0X7", "concussion, death before regaining consciousness", "S06.0X7A"),
        ("I10", "hypertension", "I10"),
    ],
)
def test_walk_reaches_the_most_specific_code_the_sentence_supports(walker, code, sentence, expected):
    assert walker.walk(code, sentence).code == expected


def test_walk_says_why_at_each_step(walker):
    walk = walker.walk("S72.001", "right femoral neck fracture, follow-up visit")
    assert walk.steps == (
        "S72.001 -> S72.001D: 7th character D (subsequent encounter for closed fracture with routine healing): "
        "the note says 'follow-up'",
    )


SITES_CSV = """code,title,parent,billable
D49,Neoplasms of unspecified behavior,,0
D49.4,Neoplasm of unspecified behavior of bladder,D49,1
D49.5,Neoplasm of unspecified behavior of other genitourinary organs,D49,0
D49.51,Neoplasm of unspecified behavior of kidney,D49.5,0
D49.511,"Neoplasm of unspecified behavior of right kidney",D49.51,1
D49.512,"Neoplasm of unspecified behavior of left kidney",D49.51,1
D49.519,"Neoplasm of unspecified behavior of unspecified kidney",D49.51,1
D49.59,Neoplasm of unspecified behavior of other genitourinary organ,D49.5,1
D49.9,Neoplasm of unspecified behavior of unspecified site,D49,1
R59,Enlarged lymph nodes,,0
R59.0,Localized enlarged lymph nodes,R59,1
R59.1,Generalized enlarged lymph nodes,R59,1
R59.9,"Enlarged lymph nodes, unspecified",R59,1
R16,"Hepatomegaly and splenomegaly, not elsewhere classified",,0
R16.0,"Hepatomegaly, not elsewhere classified",R16,1
R16.1,"Splenomegaly, not elsewhere classified",R16,1
R16.2,"Hepatomegaly with splenomegaly, not elsewhere classified",R16,1
C50.9,Malignant neoplasm of breast of unspecified site,,0
C50.91,"Malignant neoplasm of breast of unspecified site, female",C50.9,0
C50.911,"Malignant neoplasm of unspecified site of right female breast",C50.91,1
C50.919,"Malignant neoplasm of unspecified site of unspecified female breast",C50.91,1
C50.92,"Malignant neoplasm of breast of unspecified site, male",C50.9,0
C50.929,"Malignant neoplasm of unspecified site of unspecified male breast",C50.92,1
"""


@pytest.fixture(scope="module")
def site_walker(tmp_path_factory):
    from agent.candidates.matcher import TermMatcher
    from agent.deciding.walk import HierarchyWalker
    from index.loaders.csv_loader import CsvLoader
    from index.store import CodeStore, write_store

    folder = tmp_path_factory.mktemp("sites")
    (folder / "codes.csv").write_text(SITES_CSV, encoding="utf-8")
    write_store(folder / "codes.sqlite", CsvLoader(folder / "codes.csv", system="icd10cm", release="t").load())
    store = CodeStore(folder / "codes.sqlite")
    return HierarchyWalker(store, TermMatcher.from_rows(store.iter_terms()))


@pytest.mark.parametrize(
    ("code", "sentence", "expected"),
    [
        ("D49", "a 5 cm tumor of the left kidney", "D49.512"),  # kidney: a genitourinary organ
        ("D49", "renal tumor", "D49.519"),
        ("D49", "bladder tumor", "D49.4"),  # the note's own word beats a grouping it implies
        ("D49", "a tumor was found", "D49.9"),
        ("R59", "cervical adenopathies", "R59.0"),  # a lymph node region: localized
        ("R59", "adenopathies", "R59.9"),
    ],
)
def test_a_body_site_names_the_grouping_it_belongs_to(site_walker, code, sentence, expected):
    assert site_walker.walk(code, sentence).code == expected


def test_a_child_named_through_a_site_says_which_site(site_walker):
    assert site_walker.walk("D49", "renal tumor").steps[0] == (
        "D49 -> D49.5: the note says kidney: a site of 'Neoplasm of unspecified behavior of other genitourinary organs'"
    )


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [("hepatomegaly", "R16.0"), ("splenomegaly", "R16.1"), ("hepatomegaly and splenomegaly", "R16.2")],
)
def test_children_that_rearrange_the_parents_words_go_by_what_the_note_says(site_walker, sentence, expected):
    assert site_walker.walk("R16", sentence).code == expected


@pytest.mark.parametrize(
    ("note", "sex"),
    [
        ("She reports a lump. Her mother had breast cancer.", {"female"}),
        ("A 60-year-old man; his wife says he smokes.", {"male"}),
        ("Patient reports a breast lump.", set()),
        ("He and she", set()),  # a tie says nothing
        ("The therapist saw them.", set()),  # whole words only: no "he" in "the"
    ],
)
def test_the_patients_sex_comes_from_the_words_that_tell_it(note, sex):
    from agent.deciding.walk import PatientCues

    assert PatientCues.default().of(note) == sex


def test_a_code_split_by_sex_follows_the_patients_sex(site_walker):
    sentence = "breast cancer, right side"
    assert site_walker.walk("C50.9", sentence).code == "C50.9"  # not billable: the walk stops
    walk = site_walker.walk("C50.9", sentence, frozenset({"female"}))
    assert walk.code == "C50.911"
    assert walk.steps[0] == "C50.9 -> C50.91: the patient is female"
    assert site_walker.walk("C50.9", "breast cancer", frozenset({"male"})).code == "C50.929"
