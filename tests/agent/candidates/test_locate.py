"""The locate step on a small real store: which located terms a longer or placed term subsumes."""

from __future__ import annotations

import pytest

from agent.candidates.locate import Locator
from agent.candidates.matcher import TermMatcher
from agent.reading.statements import analyze_note
from index.loaders.csv_loader import CsvLoader
from index.store import CodeStore, write_store

CODES = """code,title,parent,billable,inclusionTerm
IV,"Endocrine, nutritional and metabolic diseases",,0,
XIII,Diseases of the musculoskeletal system and connective tissue,,0,
M81,Osteoporosis without current pathological fracture,XIII,0,
M81.0,Age-related osteoporosis without current pathological fracture,M81,1,Osteoporosis NOS
M81.8,Other osteoporosis without current pathological fracture,M81,1,
E79,Disorders of purine and pyrimidine metabolism,IV,0,
E79.0,Hyperuricemia without signs of inflammatory arthritis and tophaceous disease,E79,1,
XI,Diseases of the digestive system,,0,
K46,Unspecified abdominal hernia,XI,0,
K46.9,Unspecified abdominal hernia without obstruction or gangrene,K46,1,
IX,Diseases of the circulatory system,,0,
I50,Heart failure,IX,0,
I50.2,Systolic (congestive) heart failure,I50,0,
I50.22,Chronic systolic (congestive) heart failure,I50.2,1,
I50.23,Acute on chronic systolic (congestive) heart failure,I50.2,1,
XXI,Factors influencing health status and contact with health services,,0,
Z80,Family history of primary malignant neoplasm,XXI,0,
Z80.3,Family history of malignant neoplasm of breast,Z80,1,
"""


@pytest.fixture(scope="module")
def locator(tmp_path_factory):
    folder = tmp_path_factory.mktemp("locate")
    (folder / "codes.csv").write_text(CODES, encoding="utf-8")
    write_store(folder / "codes.sqlite", CsvLoader(folder / "codes.csv", system="icd10cm", release="t").load())
    store = CodeStore(folder / "codes.sqlite")
    return Locator(store, TermMatcher.from_rows(store.iter_terms(), leaves=store.billable_codes()))


def named(locator: Locator, note: str) -> dict[str, bool]:
    """Each code a term of the note names, and whether it stands (no longer or placed term subsumes it)."""
    analysis, statements = analyze_note(note)
    found = locator.locate(note, analysis, statements).candidates
    return {c.code: c.features["lex_unsubsumed"] > 0 for c in found if c.features.get("lex_matches")}


def test_words_the_tabular_placed_at_a_code_stay_with_that_code(locator):
    # "Osteoporosis NOS" is an inclusion term of M81.0: the category's title, with the same
    # words, would walk to the default M81.8 instead.
    assert named(locator, "Known osteoporosis.") == {"M81.0": True, "M81": False}


def test_a_complication_the_title_excludes_is_not_required_of_the_note(locator):
    note = "Hyperuricemia on allopurinol."
    assert named(locator, note) == {"E79.0": True}


def assertions(locator: Locator, note: str) -> dict[str, set[str]]:
    analysis, statements = analyze_note(note)
    found = locator.locate(note, analysis, statements).candidates
    return {c.code: {e.assertion for e in c.evidence if e.source == "lexical"} for c in found}


@pytest.mark.parametrize(
    ("note", "code", "assertion"),
    [
        # The match runs from "Abdomen" to "hernias": the negation between its words covers
        # its head word, "hernias".
        ("Abdomen: no masses or hernias.", "K46.9", "negated"),
        # A code that says "family history" is what a family member's condition is coded with.
        ("Family history of breast cancer.", "Z80.3", "present"),
    ],
)
def test_a_terms_assertion_is_that_of_its_head_word(locator, note, code, assertion):
    assert assertions(locator, note)[code] == {assertion}


def test_a_condition_the_note_names_more_fully_elsewhere_is_coded_once(locator):
    note = "Admitted with acute on chronic systolic heart failure. Chronic systolic heart failure since 2019."
    found = named(locator, note)
    assert found["I50.23"] and not found["I50.22"]
    assert {code for code, stands in found.items() if stands} == {"I50.23"}


def test_a_terms_words_must_lie_close_together(locator):
    assert "K46.9" in named(locator, "Abdominal wall hernia.")
    far = "Abdominal CT was done in the emergency room and later showed a small hernia."
    assert "K46.9" not in named(locator, far)


def test_a_statements_nearest_code_is_a_candidate_and_further_ones_only_when_close(mini_coder):
    from agent.candidates.locate import DENSE_MIN_SIMILARITY

    note = "Fracture of the right femoral neck after a fall. Type 2 diabetes mellitus. Lives alone with a cat."
    analysis, statements = analyze_note(note)
    located = mini_coder.deps.locator.locate(note, analysis, statements)
    dense = [c for c in located.candidates if "dense" in c.sources]
    assert any(c.features["dense_best_rank"] == 0 for c in dense)
    for c in dense:
        assert c.features["dense_best_rank"] == 0 or c.features["dense_sim"] >= DENSE_MIN_SIMILARITY
