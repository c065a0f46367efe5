"""The error report: each missed gold code with the step of the real coding graph that lost it."""

from __future__ import annotations

from agent.learning.errors import STAGES, Trace, misses, report
from agent.records import CodingOptions

NOTE = (
    "Assessment: essential hypertension. Fracture of the right femoral neck after a fall at home. "
    "No chronic kidney disease. Type 2 diabetes mellitus without complications."
)


def _trace(mini_coder, note: str = NOTE) -> Trace:
    return Trace.of(mini_coder.run(note, CodingOptions("inpatient"), note_id="n1"))


def test_a_suggested_code_is_no_miss_and_an_unknown_code_is_not_in_the_code_book(mini_coder) -> None:
    trace = _trace(mini_coder)
    suggested = {s.code for s in trace.codes}
    assert "I10" in suggested and suggested <= trace.finals()
    lost = misses(trace, {"I10", "XYZ.9"}, mini_coder.deps.store)
    assert [(m.code, m.stage) for m in lost] == [("XYZ.9", "not_in_code_book")]


def test_a_negated_finding_is_lost_to_the_reasoner_with_its_reason_and_words(mini_coder) -> None:
    trace = _trace(mini_coder)
    (miss,) = misses(trace, {"N18.9"}, mini_coder.deps.store)
    assert miss.stage == "reasoner" and miss.detail.startswith("assign: ") and "kidney" in miss.words.lower()


def test_a_sibling_of_a_located_code_was_located_at_another_code(mini_coder) -> None:
    trace = _trace(mini_coder)
    (miss,) = misses(trace, {"S72.001D"}, mini_coder.deps.store)  # the note is of the initial encounter
    assert miss.stage == "other_code" and "S72.001A (suggested)" in miss.detail and "femoral neck" in miss.words


def test_a_code_no_candidate_reaches_is_not_located_with_the_nearest_sentence(mini_coder) -> None:
    located = _trace(mini_coder)
    nothing = Trace("n1", located.analysis, (), (), ())
    (miss,) = misses(nothing, {"N18.30"}, mini_coder.deps.store)
    assert miss.stage == "not_located" and miss.detail == "" and miss.words == "No chronic kidney disease."


def test_the_report_counts_each_stage_against_all_gold_codes(mini_coder) -> None:
    trace = _trace(mini_coder)
    lost = misses(trace, {"I10", "N18.9", "S72.001D", "XYZ.9"}, mini_coder.deps.store)
    written = report(lost, 4)
    summary = written["summary"]
    assert set(summary["by_stage"]) == set(STAGES) and summary["missed"] == 3
    assert summary["by_stage"]["reasoner"] == 1 and summary["share_of_gold"]["reasoner"] == 0.25
    assert [m["code"] for m in written["misses"]] == ["N18.9", "S72.001D", "XYZ.9"]
