"""Tests of agent.deciding.merge: the model's codes merged with the offline reasoner's."""

from __future__ import annotations

import pytest

from agent.deciding.merge import merge_with_model
from agent.records import Evidence, Proposal

NOTE = "Type 2 diabetes mellitus with diabetic CKD, stage 3. Hypertensive chronic kidney disease."


def proposal(code: str, quote: str, source: str, confidence: float = 0.8) -> Proposal:
    start = NOTE.index(quote)
    return Proposal(code, (Evidence(start, start + len(quote), quote, source=source),), confidence, source=source)


@pytest.fixture(scope="module")
def store(mini_search):
    return mini_search.store


def test_without_a_model_answer_nothing_changes(store):
    offline = [proposal("I10", "Hypertensive", "lexical")]
    merged = merge_with_model(offline, (), store)
    assert merged.proposals == offline and merged.rejected == [] and merged.unreliable is None


def test_the_same_finding_named_differently_keeps_the_stronger_code(store):
    model = proposal("I12.9", "Hypertensive chronic kidney disease", "llm")
    offline = proposal("I10", "Hypertensive", "lexical")
    merged = merge_with_model([model, offline], ("I12.9",), store)
    assert [p.code for p in merged.proposals] == ["I12.9"]
    (rejected,) = merged.rejected
    assert rejected.code == "I10"
    assert "name the same finding ('Hypertensive chronic kidney disease') differently" in rejected.reason
    assert "I12.9 has the stronger support" in rejected.reason


def test_partners_from_the_same_words_are_two_findings(store):
    # E11.22's "Use additional code ... (N18.1-N18.6)" asks for the stage the same words give.
    model = proposal("E11.22", "Type 2 diabetes mellitus with diabetic CKD", "llm")
    offline = proposal("N18.30", "diabetic CKD", "lexical")
    merged = merge_with_model([model, offline], ("E11.22",), store)
    assert [p.code for p in merged.proposals] == ["E11.22", "N18.30"] and merged.rejected == []


def test_a_code_both_name_is_kept_once_with_both_spans(store):
    model = proposal("E11.22", "Type 2 diabetes mellitus with diabetic CKD", "llm", 0.9)
    offline = proposal("E11.22", "diabetic CKD", "lexical", 0.7)
    (merged,) = merge_with_model([model, offline], ("E11.22",), store).proposals
    assert merged.source == "llm" and merged.confidence == 0.9
    assert [e.text for e in merged.evidence] == ["Type 2 diabetes mellitus with diabetic CKD", "diabetic CKD"]


def test_a_mostly_rejected_answer_is_set_aside(store):
    model = proposal("I12.9", "Hypertensive chronic kidney disease", "llm")
    offline = proposal("I10", "Hypertensive", "lexical")
    merged = merge_with_model([model, offline], ("I12.9", "X99.9", "I21.9"), store)
    assert [p.code for p in merged.proposals] == ["I10"]
    assert merged.unreliable is not None and "2 of its 3 codes were rejected" in merged.unreliable
    assert [(r.code, r.reason) for r in merged.rejected] == [("I12.9", merged.unreliable)]


def test_half_rejected_is_not_more_than_half(store):
    model = proposal("I12.9", "Hypertensive chronic kidney disease", "llm")
    merged = merge_with_model([model], ("I12.9", "X99.9"), store)
    assert merged.unreliable is None and [p.code for p in merged.proposals] == ["I12.9"]
