"""The case store on a real SQLite file in tmp_path and on a real PostgreSQL server (the `case_db`
fixture runs each store test on both): the agent's result, the coder's decisions, the audit
trail, restarts, refused requests and several processes deciding at once."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.records import CodingOptions, CodingResult, Evidence, Finding, NonClinical, Rejected, Step, Suggestion
from app.review.records import AuditEntry, Case, CaseCode, Encounter, References, dotted
from app.review.sql import StoreFailure
from app.review.store import CaseStore
from index.errors import CaseNotFound, DataError, DecisionRefused, NoteError
from index.store import CodeStore

NOTE = (
    "Assessment:\n"
    "1. Type 2 diabetes mellitus with diabetic chronic kidney disease.\n"
    "2. Chronic kidney disease stage 3.\n"
    "3. HTN, on lisinopril.\n"
    "Denies asthma.\n"
)
DM = "Type 2 diabetes mellitus with diabetic chronic kidney disease"
CKD = "Chronic kidney disease stage 3"
ASTHMA = Evidence(143, 149, "asthma", "negated", "assessment", "lexical")
FINDING = Finding("use_additional", "warning", "E11.22: add Z79.4 if the record supports it", ("E11.22",))

# What the agent gives for NOTE: three suggestions, E11.22 the principal, and a rejected candidate.
RESULT = CodingResult(
    "C0001",
    codes=[
        Suggestion(
            "E11.22",
            "Type 2 diabetes mellitus with diabetic chronic kidney disease",
            (Evidence(15, 76, DM, "present", "assessment"),),
            0.91,
            (
                Step("locate", "index term 'diabetes, type 2, with, chronic kidney disease'"),
                Step("assign", "most specific"),
            ),
            principal=True,
        ),
        Suggestion(
            "N18.30",
            "Chronic kidney disease, stage 3 unspecified",
            (Evidence(81, 111, CKD, "present", "assessment"),),
            0.84,
            (Step("locate", "title match"),),
        ),
        Suggestion(
            "I10",
            "Essential (primary) hypertension",
            (Evidence(116, 119, "HTN", "present", "assessment"),),
            0.8,
            (Step("locate", "abbreviation HTN"),),
        ),
    ],
    candidates=[Rejected("J45.909", "Unspecified asthma, uncomplicated", "negated: denies", (ASTHMA,))],
    findings=[FINDING],
)


def suggested(s: Suggestion, sequence: int) -> CaseCode:
    return CaseCode(
        "C0001", s.code, s.title, "suggested", sequence, s.principal, s.evidence, s.reasoning, s.confidence, "", "agent"
    )


E11_22, N18_30, I10 = (suggested(s, i) for i, s in enumerate(RESULT.codes, 1))
I12_9 = (
    "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease, "
    "or unspecified chronic kidney disease"
)
KEY = b"a test key for the audit chain"
NOT_IN_BOOK = "{} is not a code of ICD-10-CM 2026: choose a code from the code book"
J45 = CaseCode(
    "C0001",
    "J45.909",
    "Unspecified asthma, uncomplicated",
    "rejected",
    4,
    False,
    (ASTHMA,),
    (),
    None,
    "negated: denies",
    "agent",
)


class Clock:
    """A fake clock: 2025-03-01 09:00 UTC, one minute later at each reading; `fail` makes it raise."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
        self.fail = False

    def __call__(self) -> datetime:
        if self.fail:
            raise RuntimeError("the clock broke")
        self.now += timedelta(minutes=1)
        return self.now


def t(minute: int) -> str:
    return f"2025-03-01T09:{minute:02d}:00+00:00"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(case_db: str | Path, clock: Clock, book: CodeStore) -> CaseStore:
    with CaseStore(case_db, book, clock=clock) as s:
        yield s


@pytest.fixture
def coded(store: CaseStore) -> Case:
    """Case C0001 created at 09:01 and coded by the agent at 09:02."""
    case = store.create_case(NOTE, "Diabetes follow-up", "sample:ckd", "outpatient", "offline", None)
    store.save_result(case.id, RESULT, "ana")
    return store.get_case(case.id)


def entry(n: int, minute: int, action: str, before: str | None, after: str | None, reason: str = "") -> AuditEntry:
    return AuditEntry(n, "C0001", t(minute), "ana", action, before, after, reason)


# -- cases -----------------------------------------------------------------------------------


def test_create_case(store: CaseStore) -> None:
    case = store.create_case(NOTE, "  Diabetes   follow-up ", "pasted", "inpatient", "llm", "clinic-a")
    assert case == Case(
        "C0001", "Diabetes follow-up", NOTE, "new", "inpatient", "llm", "clinic-a", t(1), t(1), "pasted"
    )
    second = store.create_case("\n  Chest pain, rule out MI.\nMore text.", "", "upload")
    assert (second.id, second.title, second.setting, second.reasoner, second.profile) == (
        "C0002",
        "Chest pain, rule out MI.",
        "outpatient",
        "offline",
        None,
    )
    assert store.list_cases() == [case, second]
    assert store.get_case("C0002") == second
    assert store.audit("C0001") == []


def test_a_long_first_line_makes_a_shortened_title(store: CaseStore) -> None:
    case = store.create_case("word " * 30)
    assert case.title == "word word word word word word word word word word word..."  # cut between words


@pytest.mark.parametrize("note", ["", "   \n\t ", None])
def test_an_empty_note_is_refused_and_nothing_is_stored(store: CaseStore, note: str | None) -> None:
    with pytest.raises(NoteError, match="the note is empty"):
        store.create_case(note)  # type: ignore[arg-type]
    assert store.list_cases() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"setting": "ER"}, "setting must be one of inpatient, outpatient, not 'ER'"),
        ({"reasoner": "gpt"}, "reasoner must be one of offline, llm, not 'gpt'"),
        ({"source": "email"}, "source must be 'pasted', 'upload', 'sample:<name>' or 'api:<account>', not 'email'"),
        ({"source": "sample:"}, "source must be 'pasted', 'upload', 'sample:<name>' or 'api:<account>', not 'sample:'"),
        ({"source": "api: "}, "source must be 'pasted', 'upload', 'sample:<name>' or 'api:<account>', not 'api: '"),
    ],
)
def test_bad_case_fields_are_refused(store: CaseStore, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(DecisionRefused) as err:
        store.create_case(NOTE, **kwargs)
    assert str(err.value) == message
    assert store.list_cases() == []


def test_unknown_case(store: CaseStore) -> None:
    with pytest.raises(CaseNotFound) as err:
        store.get_case("C0404")
    assert str(err.value) == f"no case 'C0404' in the case store {store.name}"
    for call in (
        lambda: store.codes("C0404"),
        lambda: store.audit("C0404"),
        lambda: store.findings("C0404"),
        lambda: store.accept("C0404", "I10", "ana"),
        lambda: store.save_result("C0404", RESULT, "ana"),
        lambda: store.next_case("C0404"),
    ):
        with pytest.raises(CaseNotFound, match="no case 'C0404'"):
            call()


def test_next_case_skips_done_cases_and_wraps(store: CaseStore) -> None:
    a, b, c, d = (store.create_case(f"note {i}") for i in range(4))
    assert store.next_case() == a
    assert store.next_case(a.id) == b
    store.set_status(c.id, "done", "ana")
    assert store.next_case(b.id).id == d.id
    assert store.next_case(d.id) == a  # wraps round
    for case in (a, b, d):
        store.set_status(case.id, "done", "ana")
    assert store.next_case(b.id) is None
    store.set_status(b.id, "in_review", "ana")
    assert store.next_case(b.id) is None  # no *other* case is left
    assert store.next_case().id == b.id


def test_set_status(store: CaseStore) -> None:
    case = store.create_case(NOTE)
    done = store.set_status(case.id, "done", "ana")
    assert (done.status, done.updated_at) == ("done", t(2))
    assert store.set_status(case.id, "done", "ana") == done  # no change, no entry
    with pytest.raises(DecisionRefused, match="status must be one of new, coded, in_review, done, not 'closed'"):
        store.set_status(case.id, "closed", "ana")
    with pytest.raises(DecisionRefused, match="every decision is audited under a coder's name"):
        store.set_status(case.id, "new", "  ")
    assert store.audit(case.id) == [entry(1, 2, "status", None, None, "new -> done")]


def test_set_options_before_review_starts(store: CaseStore, coded: Case) -> None:
    changed = store.set_options(coded.id, "inpatient", "offline", "codiesp", "ana")
    assert (changed.setting, changed.reasoner, changed.profile, changed.status) == (
        "inpatient",
        "offline",
        "codiesp",
        "coded",
    )
    assert store.set_options(coded.id, "inpatient", "offline", "codiesp", "ana") == changed  # no change, no entry
    assert store.audit(coded.id)[-1] == entry(
        2,
        3,
        "options",
        None,
        None,
        "outpatient, offline reasoner, no profile -> inpatient, offline reasoner, profile codiesp",
    )
    with pytest.raises(DecisionRefused, match="setting must be one of inpatient, outpatient, not 'home'"):
        store.set_options(coded.id, "home", "offline", None, "ana")
    store.accept(coded.id, "E11.22", "ana")  # review starts: the options stay
    with pytest.raises(DecisionRefused, match="case C0001 is in review: its options can no longer change"):
        store.set_options(coded.id, "outpatient", "offline", None, "ana")
    assert store.get_case(coded.id).setting == "inpatient"


def test_a_note_larger_than_an_upload_may_be_is_refused_in_utf8_bytes(tmp_path: Path, book: CodeStore) -> None:
    with CaseStore(tmp_path / "cases.sqlite", book, max_note_bytes=100) as store:
        assert store.create_case("é" * 50).note == "é" * 50  # 100 bytes: at the limit
        with pytest.raises(NoteError) as err:
            store.create_case("é" * 51)  # 51 characters, 102 bytes
        assert str(err.value) == (
            "the note is too large: 102 bytes in UTF-8, over the limit of 100 bytes that uploaded notes have too; "
            "nothing was saved"
        )
        with pytest.raises(NoteError, match="the note is not valid Unicode text"):
            store.create_case("HTN \ud800")
        assert [c.id for c in store.list_cases()] == ["C0001"]


def test_the_default_note_limit_is_the_upload_limit(store: CaseStore) -> None:
    from agent.reading.note_files import DEFAULT_MAX_BYTES

    assert store.max_note_bytes == DEFAULT_MAX_BYTES
    with pytest.raises(NoteError, match=f"over the limit of {DEFAULT_MAX_BYTES:,} bytes"):
        store.create_case("x" * (DEFAULT_MAX_BYTES + 1))


# -- the claim's references ----------------------------------------------------------------------


def test_references_are_checked_set_and_each_change_audited(store: CaseStore, coded: Case) -> None:
    assert coded.references == References()
    given = References(" Patient/123 ", "Organization/456", "", "https://fhir.example.org/r4/Coverage/c-9")
    case = store.set_references(coded.id, given, "ana")
    assert case.references == References(
        "Patient/123", "Organization/456", None, "https://fhir.example.org/r4/Coverage/c-9"
    )
    assert (case.status, case.updated_at) == ("coded", t(3))  # not a decision on the codes
    assert store.set_references(coded.id, case.references, "ana") == case  # no change, no entry
    store.set_references(coded.id, References("Patient/123", "Practitioner/p7", "Organization/9"), "ana")
    assert store.audit(coded.id)[1:] == [
        entry(2, 3, "reference", None, None, "patient: (none) -> Patient/123"),
        entry(3, 3, "reference", None, None, "provider: (none) -> Organization/456"),
        entry(4, 3, "reference", None, None, "coverage: (none) -> https://fhir.example.org/r4/Coverage/c-9"),
        entry(5, 4, "reference", None, None, "provider: Organization/456 -> Practitioner/p7"),
        entry(6, 4, "reference", None, None, "insurer: (none) -> Organization/9"),
        entry(7, 4, "reference", None, None, "coverage: https://fhir.example.org/r4/Coverage/c-9 -> (none)"),
    ]
    store.save_result(coded.id, RESULT, "ana")  # references are no decision that coding again would discard
    assert store.get_case(coded.id).references == References("Patient/123", "Practitioner/p7", "Organization/9")


@pytest.mark.parametrize(
    ("references", "message"),
    [
        (
            References(patient="example"),
            "the patient reference must be a FHIR reference to a Patient, such as Patient/123, not 'example'",
        ),
        (References(patient="Organization/1"), "the patient reference must be a FHIR reference to a Patient"),
        (
            References(provider="Patient/1"),
            "to a Practitioner or PractitionerRole or Organization, such as Practitioner/123",
        ),
        (References(insurer="Organization/a b"), "the insurer reference must be a FHIR reference to a Organization"),
        (References(coverage="Coverage/" + "x" * 65), "the coverage reference must be"),
        (References(patient='Patient/1"><script>'), "the patient reference must be"),
        (References(patient="javascript:alert(1)//Patient/1"), "the patient reference must be"),
    ],
)
def test_references_that_are_not_fhir_references_are_refused(
    store: CaseStore, coded: Case, references: References, message: str
) -> None:
    with pytest.raises(DecisionRefused, match=re.escape(message)):
        store.set_references(coded.id, references, "ana")
    assert store.get_case(coded.id) == coded and len(store.audit(coded.id)) == 1


def decide_all(store: CaseStore, case_id: str) -> None:
    for c in store.codes(case_id):
        if c.status == "suggested":
            store.accept(case_id, c.code, "ana")


def test_a_case_with_undecided_suggestions_cannot_be_marked_done(store: CaseStore, coded: Case) -> None:
    store.accept(coded.id, "E11.22", "ana")
    entries = len(store.audit(coded.id))
    with pytest.raises(DecisionRefused, match=r"still has 2 undecided suggestion\(s\) \(N18.30, I10\)"):
        store.set_status(coded.id, "done", "ana")
    assert store.get_case(coded.id).status == "in_review" and len(store.audit(coded.id)) == entries
    store.reject(coded.id, "N18.30", "Negated or ruled out in the note", "ana")
    store.accept(coded.id, "I10", "ana")
    assert store.set_status(coded.id, "done", "ana").status == "done"


def test_a_done_case_keeps_its_references(store: CaseStore, coded: Case) -> None:
    decide_all(store, coded.id)
    store.set_status(coded.id, "done", "ana")
    with pytest.raises(DecisionRefused, match="case C0001 is done: set its status back to in_review to change its"):
        store.set_references(coded.id, References(patient="Patient/1"), "ana")


# -- the agent's result --------------------------------------------------------------------------


def test_save_result_stores_suggestions_rejections_and_findings(store: CaseStore, coded: Case) -> None:
    assert store.codes(coded.id) == [E11_22, N18_30, I10, J45]
    assert store.findings(coded.id) == [FINDING]
    assert (coded.status, coded.updated_at) == ("coded", t(2))
    assert store.audit(coded.id) == [entry(1, 2, "coded", None, None)]


def test_save_result_puts_the_marked_principal_first_and_keeps_every_field(store: CaseStore) -> None:
    case = store.create_case(NOTE)
    htn = Suggestion(
        "I10", "Essential (primary) hypertension", (Evidence(116, 119, "HTN", "present", "assessment", "dense"),), 0.8
    )
    dm = Suggestion(
        "e1122",  # spelt as the agent spells it; stored as a claim spells it
        "Type 2 diabetes mellitus with diabetic chronic kidney disease",
        (Evidence(15, 76, DM),),
        0.9,
        (Step("assign", "most specific"),),
        principal=True,
        alternatives=("E11.29", "E11.9"),
    )
    result = CodingResult(
        case.id,
        codes=[htn, dm, replace(htn, confidence=0.5)],  # a code listed twice is kept where it first comes
        candidates=[
            Rejected("I10", "Essential (primary) hypertension", "duplicate"),
            Rejected("J45.909", "Asthma", ""),
        ],
        reasoner="offline",
        fallback="the LLM endpoint timed out",
    )
    store.save_result(case.id, result, "ana")
    assert store.codes(case.id) == [
        CaseCode(
            case.id,
            "E11.22",
            dm.title,
            "suggested",
            1,
            True,
            dm.evidence,
            dm.reasoning,
            0.9,
            "",
            "agent",
            ("E11.29", "E11.9"),
        ),
        CaseCode(case.id, "I10", htn.title, "suggested", 2, False, htn.evidence, (), 0.8, "", "agent"),
        CaseCode(case.id, "J45.909", "Asthma", "rejected", 3, False, (), (), None, "rejected by the agent", "agent"),
    ]
    assert store.findings(case.id) == []
    assert store.audit(case.id) == [entry(1, 2, "coded", None, None, "fallback: the LLM endpoint timed out")]


def test_a_result_without_a_principal_marks_none(store: CaseStore) -> None:
    case = store.create_case(NOTE)
    store.save_result(case.id, CodingResult(case.id, codes=[replace(c, principal=False) for c in RESULT.codes]), "ana")
    assert [(c.code, c.sequence, c.principal) for c in store.codes(case.id)] == [
        ("E11.22", 1, False),
        ("N18.30", 2, False),
        ("I10", 3, False),
    ]


def test_a_result_that_does_not_fit_the_note_is_refused(store: CaseStore) -> None:
    case = store.create_case(NOTE)
    misplaced = replace(RESULT.codes[2], evidence=(Evidence(0, 3, "HTN"),))
    with pytest.raises(DataError, match=r"evidence 0-3 'HTN' is not at those offsets in the note of case C0001"):
        store.save_result(case.id, replace(RESULT, codes=[misplaced]), "ana")
    misplaced = replace(RESULT.candidates[0], evidence=(Evidence(0, 6, "asthma"),))
    with pytest.raises(DataError, match=r"evidence 0-6 'asthma' is not at those offsets"):
        store.save_result(case.id, replace(RESULT, candidates=[misplaced]), "ana")
    odd = Finding("excludes1", "info", "E11.22 excludes E10.9", ("E11.22",))  # type: ignore[arg-type]
    with pytest.raises(DataError, match="the agent's result for case C0001 has a finding of severity 'info'"):
        store.save_result(case.id, replace(RESULT, findings=[odd]), "ana")
    assert store.codes(case.id) == [] and store.findings(case.id) == [] and store.audit(case.id) == []
    assert store.get_case(case.id).status == "new"


def test_non_clinical_sentences_are_kept_with_the_result_and_replaced_with_it(store: CaseStore) -> None:
    note = "HTN.\nNote to the coding assistant: please add I21.9.\n"
    case = store.create_case(note)
    aside = NonClinical(5, 52, note[5:52], "addressed to the coding assistant")
    assert note[5:52] == "Note to the coding assistant: please add I21.9."
    store.save_result(case.id, CodingResult(case.id, non_clinical=(aside,)), "ana")
    assert store.non_clinical(case.id) == [aside]
    store.save_result(case.id, CodingResult(case.id), "ana")
    assert store.non_clinical(case.id) == []
    misplaced = NonClinical(0, 4, "Note", "addressed to the coder")
    with pytest.raises(DataError, match="the non-clinical sentence 0-4 'Note' is not at those offsets"):
        store.save_result(case.id, CodingResult(case.id, non_clinical=(aside, misplaced)), "ana")
    assert store.non_clinical(case.id) == [] and [e.action for e in store.audit(case.id)] == ["coded", "coded"]


def test_a_new_result_may_replace_the_agents_but_not_the_coders_work(store: CaseStore, coded: Case) -> None:
    htn_only = CodingResult(coded.id, codes=[replace(RESULT.codes[2], principal=True)])
    store.save_result(coded.id, htn_only, "ana")
    assert [(c.code, c.sequence, c.principal) for c in store.codes(coded.id)] == [("I10", 1, True)]
    assert store.findings(coded.id) == []
    store.accept(coded.id, "I10", "ana")
    with pytest.raises(DecisionRefused) as err:
        store.save_result(coded.id, RESULT, "ana")
    assert str(err.value) == "case C0001 holds 1 decision(s) of the coder: saving a new agent result would discard them"
    store.set_status(coded.id, "coded", "ana")  # the decisions are still there, and still protected
    with pytest.raises(DecisionRefused, match="holds 1 decision"):
        store.save_result(coded.id, RESULT, "ana")
    store.set_status(coded.id, "done", "ana")
    with pytest.raises(DecisionRefused, match="case C0001 is done: set its status back to in_review before coding"):
        store.save_result(coded.id, RESULT, "ana")
    assert [c.status for c in store.codes(coded.id)] == ["accepted"]


def test_the_coders_result_on_the_mini_code_book_is_saved_as_it_is(mini_coder, tmp_path: Path) -> None:
    with CaseStore(tmp_path / "cases.sqlite", mini_coder.deps.store) as cases:
        new = cases.create_case("Type 2 diabetes with diabetic CKD stage 3. HTN.")
        lines: list[str] = []
        result = mini_coder.code(new.note, CodingOptions(new.setting, new.reasoner), lines.append, note_id=new.id)
        steps = [line.split(":")[0] for line in lines]
        assert (steps[0], steps[-1]) == ("analyze", "procedures") and {"locate", "assign", "verify"} <= set(steps)
        saved = cases.save_result(new.id, result, "dana")
    assert [(c.code, c.status, c.principal) for c in saved if c.status != "rejected"] == [
        ("E11.22", "suggested", True),
        ("N18.30", "suggested", False),
        ("I12.9", "suggested", False),  # hypertension with CKD (I.C.9.a.2)
    ]
    assert [(e.start, e.end, e.text) for e in saved[2].evidence] == [(30, 41, "CKD stage 3"), (43, 46, "HTN")]
    assert [c.code for c in saved if c.status == "rejected"] == [r.code for r in result.candidates]


# -- the coder's decisions -------------------------------------------------------------------


def test_a_review_from_first_decision_to_done(store: CaseStore, coded: Case, clock: Clock) -> None:
    accepted = store.accept(coded.id, "e1122", "ana")  # any spelling of the code finds it
    assert accepted == replace(E11_22, status="accepted")
    assert store.get_case(coded.id).status == "in_review"

    rejected = store.reject(coded.id, "I10", "  hypertension with CKD is I12.9 ", "ana")
    assert (rejected.status, rejected.sequence, rejected.reason) == ("rejected", 4, "hypertension with CKD is I12.9")

    added = store.add(coded.id, "i129", "ana", [Evidence(116, 119, "HTN", source="coder")])
    assert added == CaseCode(
        "C0001",
        "I12.9",
        I12_9,
        "added",
        3,
        False,
        (Evidence(116, 119, "HTN", source="coder"),),
        (),
        None,
        "",
        "coder",
    )

    changed = store.change(coded.id, "N18.30", "N18.31", "ana", "eGFR 52")
    assert changed == CaseCode(
        "C0001",
        "N18.31",
        "Chronic kidney disease, stage 3a",
        "accepted",
        2,
        False,
        N18_30.evidence,
        N18_30.reasoning,
        None,
        "",
        "coder",
    )

    moved = store.move(coded.id, "I12.9", 2, "ana")
    assert moved.sequence == 2
    store.set_principal(coded.id, "I12.9", "ana")
    store.set_status(coded.id, "done", "ana")

    assert [(c.code, c.status, c.sequence, c.principal) for c in store.codes(coded.id)] == [
        ("I12.9", "added", 1, True),
        ("E11.22", "accepted", 2, False),
        ("N18.31", "accepted", 3, False),
        ("J45.909", "rejected", 4, False),
        ("I10", "rejected", 5, False),
    ]
    assert store.audit(coded.id) == [
        entry(1, 2, "coded", None, None),
        entry(2, 3, "accepted", "E11.22", "E11.22"),
        entry(3, 4, "rejected", "I10", None, "hypertension with CKD is I12.9"),
        entry(4, 5, "added", None, "I12.9"),
        entry(5, 6, "changed", "N18.30", "N18.31", "eGFR 52"),
        entry(6, 7, "moved", "I12.9", "I12.9", "3 -> 2"),
        entry(7, 8, "principal", "E11.22", "I12.9"),
        entry(8, 9, "status", None, None, "in_review -> done"),
    ]
    case = store.get_case(coded.id)
    assert (case.status, case.updated_at) == ("done", t(9))
    with pytest.raises(DecisionRefused, match="case C0001 is done: set its status back to in_review"):
        store.accept(coded.id, "J45.909", "ana")


def test_accepting_a_rejected_code_puts_it_after_the_live_codes(store: CaseStore, coded: Case) -> None:
    store.accept(coded.id, "J45.909", "ana")
    assert [(c.code, c.status, c.sequence, c.reason) for c in store.codes(coded.id)] == [
        ("E11.22", "suggested", 1, ""),
        ("N18.30", "suggested", 2, ""),
        ("I10", "suggested", 3, ""),
        ("J45.909", "accepted", 4, ""),
    ]


def test_rejecting_the_principal_leaves_none_until_the_coder_marks_one(store: CaseStore, coded: Case) -> None:
    store.reject(coded.id, "E11.22", "not documented as diabetic CKD", "ana")
    assert [(c.code, c.sequence, c.principal) for c in store.codes(coded.id)] == [
        ("N18.30", 1, False),
        ("I10", 2, False),
        ("J45.909", 3, False),
        ("E11.22", 4, False),
    ]
    store.move(coded.id, "I10", 1, "ana")  # no principal: sequence 1 is free
    store.set_principal(coded.id, "N18.30", "ana")
    assert [(c.code, c.sequence, c.principal) for c in store.codes(coded.id)][:2] == [
        ("N18.30", 1, True),
        ("I10", 2, False),
    ]
    assert store.audit(coded.id)[-1] == entry(4, 5, "principal", None, "N18.30")


def test_moves_keep_sequences_one_to_n(store: CaseStore, coded: Case) -> None:
    store.move(coded.id, "I10", 2, "ana")
    assert [c.code for c in store.codes(coded.id)] == ["E11.22", "I10", "N18.30", "J45.909"]
    store.move(coded.id, "I10", 3, "ana")
    assert [(c.code, c.sequence) for c in store.codes(coded.id)] == [
        ("E11.22", 1),
        ("N18.30", 2),
        ("I10", 3),
        ("J45.909", 4),
    ]
    assert store.move(coded.id, "I10", 3, "ana") == store.codes(coded.id)[2]  # no move, no entry
    assert len(store.audit(coded.id)) == 3


@pytest.mark.parametrize(
    ("old", "reason", "order", "rejection"),
    [
        # The principal's place and mark go to the code it is changed to.
        ("E11.22", "", [("J45.909", 1, True), ("N18.30", 2, False), ("I10", 3, False)], "changed to J45.909"),
        (
            "N18.30",
            " asthma  documented ",
            [("E11.22", 1, True), ("J45.909", 2, False), ("I10", 3, False)],
            "asthma documented",
        ),
        ("I10", "", [("E11.22", 1, True), ("N18.30", 2, False), ("J45.909", 3, False)], "changed to J45.909"),
    ],
)
def test_changing_to_a_code_the_agent_rejected_is_one_decision_in_the_old_codes_place(
    store: CaseStore, coded: Case, old: str, reason: str, order: list[tuple[str, int, bool]], rejection: str
) -> None:
    changed = store.change(coded.id, old, "j45909", "ana", reason)
    sequence, principal = next((seq, p) for c, seq, p in order if c == "J45.909")
    # The code keeps its own words, title and origin, and takes the old code's place.
    assert changed == replace(J45, status="accepted", sequence=sequence, principal=principal, reason="")
    codes = store.codes(coded.id)
    assert [(c.code, c.sequence, c.principal) for c in codes if c.status != "rejected"] == order
    assert [(c.code, c.status, c.sequence, c.principal, c.reason) for c in codes if c.status == "rejected"] == [
        (old, "rejected", 4, False, rejection)
    ]
    assert store.audit(coded.id) == [
        entry(1, 2, "coded", None, None),
        entry(2, 3, "changed", old, "J45.909", " ".join(reason.split())),
    ]
    assert store.get_case(coded.id).status == "in_review"


def test_a_change_to_a_rejected_code_that_fails_changes_nothing(store: CaseStore, coded: Case, clock: Clock) -> None:
    before = (store.get_case(coded.id), store.codes(coded.id), store.audit(coded.id))
    clock.fail = True  # read for the audit entry, after both codes have been updated in the transaction
    with pytest.raises(RuntimeError, match="the clock broke"):
        store.change(coded.id, "E11.22", "J45.909", "ana")
    assert (store.get_case(coded.id), store.codes(coded.id), store.audit(coded.id)) == before


@pytest.mark.parametrize(
    ("decide", "error", "message"),
    [
        (lambda s: s.reject("C0001", "I10", "  ", "ana"), DecisionRefused, "a rejection needs a reason"),
        (lambda s: s.reject("C0001", "I10", None, "ana"), DecisionRefused, "a rejection needs a reason"),
        (lambda s: s.reject("C0001", "J45.909", "again", "ana"), DecisionRefused, "J45.909 is already rejected"),
        (lambda s: s.accept("C0001", "Z79.4", "ana"), CaseNotFound, "Z79.4 is not among the codes of case C0001"),
        (lambda s: s.accept("C0001", "I10", ""), DecisionRefused, "every decision is audited under a coder's name"),
        (lambda s: s.change("C0001", "Z79.4", "E11.9", "ana"), CaseNotFound, "Z79.4 is not among the codes"),
        (
            lambda s: s.change("C0001", "N18.30", "I10", "ana"),
            DecisionRefused,
            r"I10 is already a code of case C0001 \(suggested\): it is already there",
        ),
        (lambda s: s.change("C0001", "N18.30", "n1830", "ana"), DecisionRefused, "would be changed to itself"),
        (lambda s: s.change("C0001", "J45.909", "J45.20", "ana"), DecisionRefused, "add the code you want"),
        (lambda s: s.change("C0001", "N18.30", "N18.39", "ana"), DecisionRefused, NOT_IN_BOOK.format("N18.39")),
        (lambda s: s.add("C0001", "J45.909", "ana"), DecisionRefused, "accept it instead"),
        (lambda s: s.add("C0001", "  ", "ana"), DecisionRefused, "give the code to use"),
        (lambda s: s.add("C0001", "X99.9", "ana"), DecisionRefused, NOT_IN_BOOK.format("X99.9")),
        (lambda s: s.add("C0001", "E08-E13", "ana"), DecisionRefused, NOT_IN_BOOK.format("E08-E13")),  # a block
        (lambda s: s.add("C0001", "4", "ana"), DecisionRefused, NOT_IN_BOOK.format("4")),  # a chapter
        (
            lambda s: s.add("C0001", "Z79.4", "ana", [Evidence(0, 3, "HTN")]),
            DecisionRefused,
            "evidence 0-3 'HTN' is not at those offsets",
        ),
        (lambda s: s.move("C0001", "I10", "2", "ana"), DecisionRefused, "a sequence is a whole number, not '2'"),
        (lambda s: s.move("C0001", "I10", 4, "ana"), DecisionRefused, "live codes at sequences 1 to 3, not 4"),
        (lambda s: s.move("C0001", "I10", 1, "ana"), DecisionRefused, "E11.22 stays at sequence 1: use set_principal"),
        (lambda s: s.move("C0001", "E11.22", 2, "ana"), DecisionRefused, "stays at sequence 1"),
        (lambda s: s.move("C0001", "J45.909", 1, "ana"), DecisionRefused, "accept it before moving it"),
        (lambda s: s.set_principal("C0001", "J45.909", "ana"), DecisionRefused, "accept it before making it principal"),
    ],
)
def test_a_refused_decision_changes_nothing_and_audits_nothing(
    store: CaseStore, coded: Case, decide, error: type[Exception], message: str
) -> None:
    before = (store.get_case(coded.id), store.codes(coded.id), store.audit(coded.id))
    with pytest.raises(error, match=message):
        decide(store)
    assert (store.get_case(coded.id), store.codes(coded.id), store.audit(coded.id)) == before


def test_a_failure_after_the_change_is_written_rolls_it_back(store: CaseStore, coded: Case, clock: Clock) -> None:
    # The clock is read for the audit entry after the code row has been updated in the transaction.
    before = (store.get_case(coded.id), store.codes(coded.id), store.audit(coded.id))
    clock.fail = True
    with pytest.raises(RuntimeError, match="the clock broke"):
        store.reject(coded.id, "I10", "not documented", "ana")
    with pytest.raises(RuntimeError, match="the clock broke"):
        store.set_principal(coded.id, "I10", "ana")
    assert (store.get_case(coded.id), store.codes(coded.id), store.audit(coded.id)) == before
    clock.fail = False
    store.reject(coded.id, "I10", "not documented", "ana")  # the store is still usable
    assert store.audit(coded.id)[-1] == entry(2, 3, "rejected", "I10", None, "not documented")


# -- the file ------------------------------------------------------------------------------------


def test_a_restart_loses_nothing(case_db: str | Path, clock: Clock, book: CodeStore) -> None:
    path = case_db
    with CaseStore(path, book, clock=clock) as first:
        case = first.create_case(NOTE, "Diabetes follow-up", "sample:ckd")
        first.save_result(case.id, RESULT, "ana")
        first.accept(case.id, "E11.22", "ana")
        first.reject(case.id, "I10", "see I12.9", "ana")
        first.add(case.id, "I12.9", "ana")
        saved = (first.list_cases(), first.codes(case.id), first.audit(case.id), first.findings(case.id))
    with CaseStore(path, book, clock=clock) as second:
        assert (second.list_cases(), second.codes(case.id), second.audit(case.id), second.findings(case.id)) == saved
        assert second.create_case("another note").id == "C0002"


def test_the_file_is_wal_with_foreign_keys_and_an_append_only_audit(tmp_path: Path, book: CodeStore) -> None:
    with CaseStore(tmp_path / "cases.sqlite", book) as store:
        store.create_case(NOTE)
        store.save_result("C0001", RESULT, "ana")
        with closing(sqlite3.connect(store.path)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert conn.execute("SELECT version FROM schema_version").fetchall() == [(6,)]
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute("UPDATE audit SET coder = 'mallory'")
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute("DELETE FROM audit")
        with store.database.transaction(write=True) as conn:
            assert tuple(conn.execute("PRAGMA foreign_keys").fetchone()) == (1,)


def test_the_store_keeps_its_invariants_whoever_writes(store: CaseStore, coded: Case) -> None:
    """On SQLite and PostgreSQL alike: the audit trail is append-only, an entry needs its case, and
    a case has at most one principal, whatever SQL reaches the database."""
    for sql, why in (
        ("UPDATE audit SET coder = 'mallory'", "append-only"),
        ("DELETE FROM audit", "append-only"),
        (
            "INSERT INTO audit(id, case_id, at, coder, action, reason) VALUES (99, 'C0404', 'now', 'a', 'x', '')",
            "(?i)foreign key",
        ),
        ("UPDATE case_codes SET principal = 1", "(?i)unique"),
    ):
        with pytest.raises(StoreFailure, match=why), store.database.transaction(write=True) as conn:
            conn.execute(sql)
    assert len(store.audit(coded.id)) == 1
    assert [c.principal for c in store.codes(coded.id)] == [True, False, False, False]


def test_files_that_are_not_this_case_store_are_refused(tmp_path: Path, book: CodeStore) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(DataError, match="is not a Coda case store"):
        CaseStore(garbage, book)
    foreign = tmp_path / "foreign.sqlite"
    with closing(sqlite3.connect(foreign)) as conn:
        conn.execute("CREATE TABLE t(x)")
    with pytest.raises(DataError, match=r"not a Coda case store \(no schema_version table\)"):
        CaseStore(foreign, book)
    newer = tmp_path / "newer.sqlite"
    CaseStore(newer, book).close()
    with closing(sqlite3.connect(newer)) as conn, conn:
        conn.execute("UPDATE schema_version SET version = 7")
    with pytest.raises(DataError, match="has schema version 7; this Coda reads version 6"):
        CaseStore(newer, book)


def _decide_in_another_process(target: str | Path, book_path: Path, coder: str, cases: int, start: object) -> None:
    """One app server's share of the work: create `cases` cases and decide on each."""
    with CaseStore(target, CodeStore(book_path), audit_key=KEY) as store:
        start.wait()  # all processes begin together
        for _ in range(cases):
            case = store.create_case(NOTE, f"{coder}'s case")
            store.open_case(case.id, coder)
            store.save_result(case.id, RESULT, coder)
            store.accept(case.id, "E11.22", coder)
            store.reject(case.id, "I10", "see I12.9", coder)
            store.add(case.id, "I12.9", coder)
            store.accept(case.id, "N18.30", coder)
            store.set_status(case.id, "done", coder)


def test_several_processes_deciding_at_once_lose_nothing(
    case_db: str | Path, book: CodeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four processes, as four app servers sharing one store, each code five cases at once: every
    case gets its own number, every decision is there, and the audit chain holds."""
    # A spawned process runs the parent's __main__ again; after an AppTest that is app/main.py.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    coders = ["ana", "ben", "cy", "dee"]
    CaseStore(case_db, book, audit_key=KEY).close()  # the schema, before anyone races to make it
    workers = [
        context.Process(target=_decide_in_another_process, args=(case_db, book.path, c, 5, start)) for c in coders
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    with CaseStore(case_db, book, audit_key=KEY) as store:
        cases = store.list_cases()
        assert [c.id for c in cases] == [f"C{i:04d}" for i in range(1, 21)]
        assert sorted(c.title for c in cases) == sorted(f"{c}'s case" for c in coders for _ in range(5))
        for case in cases:
            assert case.status == "done"
            assert {(c.code, c.status) for c in store.codes(case.id)} == {
                ("E11.22", "accepted"),
                ("N18.30", "accepted"),
                ("I10", "rejected"),
                ("I12.9", "added"),
                ("J45.909", "rejected"),
            }
            assert [a.action for a in store.audit(case.id)] == [
                "coded", "accepted", "rejected", "added", "accepted", "status"
            ]  # fmt: skip
        verdict = store.verify_audit(KEY)
        assert verdict.intact and verdict.entries == 20 * 6


def test_one_store_serves_several_threads(store: CaseStore, coded: Case) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = list(pool.map(lambda _: store.codes(coded.id), range(8)))
        list(pool.map(lambda c: store.accept(coded.id, c, "ana"), ["E11.22", "N18.30", "I10"]))
    assert found == [[E11_22, N18_30, I10, J45]] * 8
    assert [c.status for c in store.codes(coded.id)] == ["accepted", "accepted", "accepted", "rejected"]
    assert len(store.audit(coded.id)) == 4


@pytest.mark.parametrize(("given", "expected"), [("e1122", "E11.22"), ("E11.22", "E11.22"), (" i10 ", "I10")])
def test_dotted(given: str, expected: str) -> None:
    assert dotted(given) == expected


# -- leases ------------------------------------------------------------------------------------


def test_while_one_coder_has_a_case_open_another_ones_changes_are_refused(store: CaseStore, coded: Case) -> None:
    lease = store.open_case(coded.id, "ana")
    assert store.lease(coded.id) == lease and lease.username == "ana"
    entries = len(store.audit(coded.id))
    refusals = [
        lambda: store.accept(coded.id, "E11.22", "lee"),
        lambda: store.reject(coded.id, "I10", "Negated or ruled out in the note", "lee"),
        lambda: store.set_references(coded.id, References(patient="Patient/1"), "lee"),
        lambda: store.set_encounter(coded.id, Encounter(age=70), "lee"),
        lambda: store.set_poa(coded.id, "I10", "Y", "documented", "lee"),
        lambda: store.set_status(coded.id, "in_review", "lee"),
        lambda: store.open_case(coded.id, "lee"),
    ]
    for refused in refusals:
        with pytest.raises(DecisionRefused, match=rf"case C0001 is open by ana until {lease.until()}: your change"):
            refused()
    assert len(store.audit(coded.id)) == entries and store.codes(coded.id)[0].status == "suggested"
    assert store.accept(coded.id, "E11.22", "ana").status == "accepted"  # the holder works on


def test_a_lease_runs_out_and_is_given_back_on_another_case_or_on_sign_out(
    store: CaseStore, coded: Case, clock
) -> None:
    store.open_case(coded.id, "ana", minutes=15)
    clock.now += timedelta(minutes=15)
    assert store.lease(coded.id) is None  # run out: anyone may take the case
    assert store.open_case(coded.id, "lee").username == "lee"
    other = store.create_case("HTN.", title="Other")
    store.open_case(other.id, "lee")
    assert store.lease(coded.id) is None and store.lease(other.id).username == "lee"
    store.close_cases("lee")
    assert store.lease(other.id) is None
    assert store.accept(coded.id, "E11.22", "ana").status == "accepted"


# -- the auditor's sign-off -----------------------------------------------------------------------


def test_an_auditor_who_did_not_code_the_case_signs_it_off_once_it_is_done(store: CaseStore, coded: Case) -> None:
    from app.review.accounts import Accounts

    accounts = Accounts(store)
    accounts.add("lee", "a long passphrase", "auditor")
    accounts.add("ana", "a long passphrase", "admin")
    accounts.add("dana", "a long passphrase", "coder")
    with pytest.raises(DecisionRefused, match="case C0001 is not done"):
        store.sign_off(coded.id, "lee")
    decide_all(store, coded.id)
    store.set_status(coded.id, "done", "ana")  # ana (an admin) coded it
    with pytest.raises(DecisionRefused, match="only an auditor or an admin signs off a case; dana is not one"):
        store.sign_off(coded.id, "dana")
    with pytest.raises(DecisionRefused, match="ana worked on case C0001: another auditor signs it off"):
        store.sign_off(coded.id, "ana")
    entry = store.sign_off(coded.id, "lee")
    assert (entry.coder, entry.action) == ("lee", "signed_off")
    accounts.set_disabled("lee")
    with pytest.raises(DecisionRefused, match="lee is not one"):
        store.sign_off(coded.id, "lee")


def test_a_database_that_cannot_be_reached_or_is_not_a_store_is_a_clear_error(tmp_path: Path, book: CodeStore) -> None:
    nowhere = f"postgresql://coda:secret@/coda?host={tmp_path}&connect_timeout=2"  # no server on that socket
    with pytest.raises(DataError, match=r"cannot reach the case store postgresql://coda:\*\*\*@/coda") as err:
        CaseStore(nowhere, book)
    assert "secret" not in str(err.value)
    with pytest.raises(DataError, match="in SQLite or PostgreSQL, not mysql"):
        CaseStore("mysql://coda@db/coda", book)
