"""The coder's decisions that need the code book, on a real SQLite file and the review code book
(tests/app/fixtures/tabular_review.xml): codes taken from the code book, and an Excludes1 pair kept
with a reason, from the decision to validation and the exports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.records import CodingResult, Evidence, Suggestion
from app.review.exports import audit_csv, claim_csv
from app.review.records import AuditEntry, Case, KeptPair
from app.review.store import CaseStore
from app.review.validation import validate_claim
from index.errors import CaseNotFound, DecisionRefused
from index.store import CodeStore

NOTE = "Type 1 diabetes since childhood per old records.\nType 2 diabetes with diabetic CKD.\nHTN.\n"
T1DM = Evidence(0, 15, "Type 1 diabetes")
T2DM = Evidence(49, 82, "Type 2 diabetes with diabetic CKD")
HTN = Evidence(84, 87, "HTN")
RESULT = CodingResult(
    "C0001",
    codes=[
        Suggestion("E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease", (T2DM,), 0.9, (), True),
        Suggestion("E10.9", "Type 1 diabetes mellitus without complications", (T1DM,), 0.7),
        Suggestion("I10", "Essential (primary) hypertension", (HTN,), 0.8),
    ],
)
REASON = "Type 1 diabetes is a transcription error in the old records; the two are unrelated here"
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(case_db: str | Path, book: CodeStore) -> Iterator[CaseStore]:
    ticks = iter(range(1, 1000))
    with CaseStore(case_db, book, clock=lambda: START + timedelta(minutes=next(ticks))) as s:
        yield s


@pytest.fixture
def case(store: CaseStore) -> Case:
    """C0001 coded, with E11.22 (principal) and E10.9 accepted: an Excludes1 pair on the claim."""
    made = store.create_case(NOTE, "Diabetes")
    store.save_result(made.id, RESULT, "ana")
    store.accept(made.id, "E11.22", "ana")
    store.accept(made.id, "E10.9", "ana")
    return store.get_case(made.id)


def test_added_and_changed_codes_take_the_code_books_spelling_and_title(store: CaseStore, case: Case) -> None:
    added = store.add(case.id, " z794 ", "ana")
    assert (added.code, added.title, added.status, added.origin) == (
        "Z79.4",
        "Long term (current) use of insulin",
        "added",
        "coder",
    )
    changed = store.change(case.id, "I10", "i12.9", "ana", "CKD documented")
    assert (changed.code, changed.title) == (
        "I12.9",
        "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease, "
        "or unspecified chronic kidney disease",
    )
    # A heading is a code of the code book: it may be added, and validation says it cannot be billed.
    assert store.add(case.id, "N18.3", "ana").title == "Chronic kidney disease, stage 3 (moderate)"


def test_keeping_an_excludes1_pair_turns_its_error_into_a_warning_with_the_reason(
    store: CaseStore, case: Case, book: CodeStore
) -> None:
    before = validate_claim(case, store.codes(case.id), book)
    assert [(f.kind, f.codes) for f in before.errors] == [("excludes1", ("E11.22", "E10.9"))]

    kept = store.keep_excludes1(case.id, "e109", "E11.22", f"  {REASON}  ", "ana")
    assert kept == KeptPair(case.id, ("E10.9", "E11.22"), REASON)
    assert store.kept_pairs(case.id) == [kept]
    assert store.audit(case.id)[-1] == AuditEntry(
        4, case.id, "2025-03-01T09:05:00+00:00", "ana", "kept_excludes1", "E10.9", "E11.22", REASON
    )
    codes = store.codes(case.id)
    after = validate_claim(case, codes, book, kept=store.kept_pairs(case.id))
    assert after.errors == [] and not after.blocks_export
    [warning] = [f for f in after.warnings if f.kind == "excludes1_kept"]
    assert warning.codes == ("E11.22", "E10.9")
    assert warning.message == (
        f"E11.22 and E10.9 are both kept despite the Excludes1 note, for the coder's reason: {REASON} "
        "(both may be reported when the conditions are unrelated: ICD-10-CM Official Guidelines, Section I.A.12.a)."
    )
    # The reason travels with the exports: in the codes CSV next to both codes, and in the audit CSV.
    rows = claim_csv(case, codes, book, "ana", "2025-03-01T10:00:00Z", store.kept_pairs(case.id)).splitlines()
    assert (
        rows[1] == f"C0001,1,E11.22,{book.get('E11.22').title},accepted,49-82,E10.9: {REASON},ana,2025-03-01T10:00:00Z"
    )
    assert rows[2].startswith(
        f"C0001,2,E10.9,Type 1 diabetes mellitus without complications,accepted,0-15,E11.22: {REASON},ana,"
    )
    assert audit_csv(case, store.audit(case.id)).splitlines()[-1] == (
        f"C0001,4,2025-03-01T09:05:00+00:00,ana,kept_excludes1,E10.9,E11.22,{REASON}"
    )


def test_a_kept_pair_is_a_decision_coding_again_would_discard(store: CaseStore, case: Case) -> None:
    store.keep_excludes1(case.id, "E11.22", "E10.9", REASON, "ana")
    store.set_status(case.id, "coded", "ana")
    with pytest.raises(DecisionRefused, match="holds 3 decision"):
        store.save_result(case.id, RESULT, "ana")


@pytest.mark.parametrize(
    ("keep", "error", "message"),
    [
        (("E11.22", "E10.9", "  ", "ana"), DecisionRefused, "needs a reason: say why the conditions are unrelated"),
        (("E11.22", "E10.9", REASON, " "), DecisionRefused, "every decision is audited under a coder's name"),
        (("E11.22", "I10", REASON, "ana"), DecisionRefused, "I10 is suggested on case C0001: accept it before"),
        (("E11.22", "e1122", REASON, "ana"), DecisionRefused, "E11.22 and E11.22 are one code"),
        (("E11.22", "Z79.4", REASON, "ana"), CaseNotFound, "Z79.4 is not among the codes of case C0001"),
    ],
)
def test_a_refused_keep_changes_nothing(
    store: CaseStore, case: Case, keep: tuple[str, ...], error: type[Exception], message: str
) -> None:
    before = (store.get_case(case.id), store.codes(case.id), store.audit(case.id))
    with pytest.raises(error, match=message):
        store.keep_excludes1(case.id, *keep)
    assert (store.get_case(case.id), store.codes(case.id), store.audit(case.id)) == before
    assert store.kept_pairs(case.id) == []


def test_only_an_excludes1_pair_can_be_kept_and_only_once(store: CaseStore, case: Case) -> None:
    store.accept(case.id, "I10", "ana")
    with pytest.raises(DecisionRefused) as err:
        store.keep_excludes1(case.id, "E11.22", "I10", REASON, "ana")
    assert str(err.value) == "E11.22 and I10 are not an Excludes1 pair in ICD-10-CM 2026: there is nothing to keep"
    store.keep_excludes1(case.id, "E11.22", "E10.9", REASON, "ana")
    with pytest.raises(DecisionRefused, match=f"E10.9 and E11.22 are already kept together on case C0001: {REASON}"):
        store.keep_excludes1(case.id, "E10.9", "E11.22", "again", "ana")
    store.set_status(case.id, "done", "ana")
    with pytest.raises(DecisionRefused, match="case C0001 is done"):
        store.keep_excludes1(case.id, "E10.9", "E11.22", "again", "ana")
    assert [e.action for e in store.audit(case.id)].count("kept_excludes1") == 1


def test_a_kept_pair_applies_only_while_both_codes_are_on_the_claim(
    store: CaseStore, case: Case, book: CodeStore
) -> None:
    store.keep_excludes1(case.id, "E11.22", "E10.9", REASON, "ana")
    store.reject(case.id, "E10.9", "not documented after all", "ana")
    validation = validate_claim(case, store.codes(case.id), book, kept=store.kept_pairs(case.id))
    assert not [f for f in validation.errors + validation.warnings if f.kind.startswith("excludes1")]
    assert "E10.9" not in claim_csv(case, store.codes(case.id), book, "ana", "t", store.kept_pairs(case.id))
