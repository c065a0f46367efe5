"""The case store on a real SQLite file in tmp_path: the agent's result, the coder's decisions,
the audit trail, restarts and refused requests."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.records import CodingResult, Evidence, Finding, Rejected, Step, Suggestion
from agent.state import rejected_to, suggestion_to
from app.cases import AuditEntry, Case, CaseCode, CaseStore, dotted
from index.errors import DataError, NoteError

NOTE = (
    "Assessment:\n"
    "1. Type 2 diabetes mellitus with diabetic chronic kidney disease.\n"
    "2. Chronic kidney disease stage 3.\n"
    "3. HTN, on lisinopril.\n"
    "Denies asthma.\n"
)
DM = "Type 2 diabetes mellitus with diabetic chronic kidney disease"
CKD = "Chronic kidney disease stage 3"

# What `CodingResult.to_json()` gives for NOTE.
RESULT = {
    "id": "C0001",
    "codes": [
        {
            "code": "E11.22",
            "title": "Type 2 diabetes mellitus with diabetic chronic kidney disease",
            "evidence": [{"start": 15, "end": 76, "text": DM}],
            "reasoning": "locate: index term 'diabetes, type 2, with, chronic kidney disease' | assign: most specific",
            "confidence": 0.91,
        },
        {
            "code": "N18.30",
            "title": "Chronic kidney disease, stage 3 unspecified",
            "evidence": [{"start": 81, "end": 111, "text": CKD}],
            "reasoning": "locate: title match",
            "confidence": 0.84,
        },
        {
            "code": "I10",
            "title": "Essential (primary) hypertension",
            "evidence": [{"start": 116, "end": 119, "text": "HTN"}],
            "reasoning": "locate: abbreviation HTN",
            "confidence": 0.8,
        },
    ],
    "candidates": [{"code": "J45.909", "title": "Unspecified asthma, uncomplicated", "reason": "negated: denies"}],
    "findings": [
        {
            "kind": "use_additional",
            "severity": "warning",
            "message": "E11.22: add Z79.4 if the record supports it",
            "codes": ["E11.22"],
        }
    ],
    "reasoner": "offline",
}

E11_22 = CaseCode(
    "C0001",
    "E11.22",
    "Type 2 diabetes mellitus with diabetic chronic kidney disease",
    "suggested",
    1,
    True,
    (Evidence(15, 76, DM, source=""),),
    (Step("locate", "index term 'diabetes, type 2, with, chronic kidney disease'"), Step("assign", "most specific")),
    0.91,
    "",
    "agent",
)
N18_30 = CaseCode(
    "C0001",
    "N18.30",
    "Chronic kidney disease, stage 3 unspecified",
    "suggested",
    2,
    False,
    (Evidence(81, 111, CKD, source=""),),
    (Step("locate", "title match"),),
    0.84,
    "",
    "agent",
)
I10 = CaseCode(
    "C0001",
    "I10",
    "Essential (primary) hypertension",
    "suggested",
    3,
    False,
    (Evidence(116, 119, "HTN", source=""),),
    (Step("locate", "abbreviation HTN"),),
    0.8,
    "",
    "agent",
)
J45 = CaseCode(
    "C0001",
    "J45.909",
    "Unspecified asthma, uncomplicated",
    "rejected",
    4,
    False,
    (),
    (),
    None,
    "negated: denies",
    "agent",
)
FINDING = Finding("use_additional", "warning", "E11.22: add Z79.4 if the record supports it", ("E11.22",))


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
def store(tmp_path: Path, clock: Clock) -> CaseStore:
    with CaseStore(tmp_path / "cases.sqlite", clock=clock) as s:
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
        ({"source": "email"}, "source must be 'pasted', 'upload' or 'sample:<name>', not 'email'"),
        ({"source": "sample:"}, "source must be 'pasted', 'upload' or 'sample:<name>', not 'sample:'"),
    ],
)
def test_bad_case_fields_are_refused(store: CaseStore, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as err:
        store.create_case(NOTE, **kwargs)
    assert str(err.value) == message
    assert store.list_cases() == []


def test_unknown_case(store: CaseStore) -> None:
    with pytest.raises(LookupError) as err:
        store.get_case("C0404")
    assert str(err.value) == f"no case 'C0404' in the case store {store.path}"
    for call in (
        lambda: store.codes("C0404"),
        lambda: store.audit("C0404"),
        lambda: store.findings("C0404"),
        lambda: store.accept("C0404", "I10", "ana"),
        lambda: store.save_result("C0404", RESULT, "ana"),
        lambda: store.next_case("C0404"),
    ):
        with pytest.raises(LookupError, match="no case 'C0404'"):
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
    with pytest.raises(ValueError, match="status must be one of new, coded, in_review, done, not 'closed'"):
        store.set_status(case.id, "closed", "ana")
    with pytest.raises(ValueError, match="every decision is audited under a coder's name"):
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
    with pytest.raises(ValueError, match="setting must be one of inpatient, outpatient, not 'home'"):
        store.set_options(coded.id, "home", "offline", None, "ana")
    store.accept(coded.id, "E11.22", "ana")  # review starts: the options stay
    with pytest.raises(ValueError, match="case C0001 is in review: its options can no longer change"):
        store.set_options(coded.id, "outpatient", "offline", None, "ana")
    assert store.get_case(coded.id).setting == "inpatient"


# -- the agent's result --------------------------------------------------------------------------


def test_save_result_stores_suggestions_rejections_and_findings(store: CaseStore, coded: Case) -> None:
    assert store.codes(coded.id) == [E11_22, N18_30, I10, J45]
    assert store.findings(coded.id) == [FINDING]
    assert (coded.status, coded.updated_at) == ("coded", t(2))
    assert store.audit(coded.id) == [entry(1, 2, "coded", None, None)]


def test_save_result_reads_the_graph_state_form(store: CaseStore) -> None:
    case = store.create_case(NOTE)
    htn = Suggestion(
        "I10", "Essential (primary) hypertension", (Evidence(116, 119, "HTN", "present", "assessment", "lexical"),), 0.8
    )
    dm = Suggestion(
        "E11.22",
        "Type 2 diabetes mellitus with diabetic chronic kidney disease",
        (Evidence(15, 76, DM),),
        0.9,
        (Step("assign", "most specific"),),
        principal=True,
        alternatives=("E11.29", "E11.9"),
    )
    state = {
        "codes": [suggestion_to(htn), suggestion_to(dm)],
        "rejected": [rejected_to(Rejected("J45.909", "Unspecified asthma, uncomplicated", "negated: denies"))],
        "findings": [],
        "fallback": "the LLM endpoint timed out",
    }
    store.save_result(case.id, state, "ana")
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
        CaseCode(
            case.id,
            "J45.909",
            "Unspecified asthma, uncomplicated",
            "rejected",
            3,
            False,
            (),
            (),
            None,
            "negated: denies",
            "agent",
        ),
    ]
    assert store.findings(case.id) == []
    assert store.audit(case.id) == [entry(1, 2, "coded", None, None, "fallback: the LLM endpoint timed out")]


def test_a_result_that_does_not_fit_the_note_is_refused(store: CaseStore) -> None:
    case = store.create_case(NOTE)
    wrong = {**RESULT, "codes": [{**RESULT["codes"][2], "evidence": [{"start": 0, "end": 3, "text": "HTN"}]}]}
    with pytest.raises(DataError, match=r"evidence 0-3 'HTN' is not at those offsets in the note of case C0001"):
        store.save_result(case.id, wrong, "ana")
    with pytest.raises(DataError, match="the agent's result for case C0001 is malformed"):
        store.save_result(case.id, {"codes": [{"title": "no code"}]}, "ana")
    assert store.codes(case.id) == [] and store.audit(case.id) == []
    assert store.get_case(case.id).status == "new"


def test_a_new_result_may_replace_the_agents_but_not_the_coders_work(store: CaseStore, coded: Case) -> None:
    store.save_result(coded.id, {**RESULT, "codes": RESULT["codes"][2:], "candidates": [], "findings": []}, "ana")
    assert [(c.code, c.sequence, c.principal) for c in store.codes(coded.id)] == [("I10", 1, True)]
    store.accept(coded.id, "I10", "ana")
    with pytest.raises(ValueError) as err:
        store.save_result(coded.id, RESULT, "ana")
    assert str(err.value) == "case C0001 holds 1 decision(s) of the coder: saving a new agent result would discard them"
    store.set_status(coded.id, "coded", "ana")  # the decisions are still there, and still protected
    with pytest.raises(ValueError, match="holds 1 decision"):
        store.save_result(coded.id, RESULT, "ana")
    store.set_status(coded.id, "done", "ana")
    with pytest.raises(ValueError, match="case C0001 is done: set its status back to in_review before coding it again"):
        store.save_result(coded.id, RESULT, "ana")
    assert [c.status for c in store.codes(coded.id)] == ["accepted"]


# -- the coder's decisions -------------------------------------------------------------------


def test_a_review_from_first_decision_to_done(store: CaseStore, coded: Case, clock: Clock) -> None:
    accepted = store.accept(coded.id, "e1122", "ana")  # any spelling of the code finds it
    assert accepted == replace(E11_22, status="accepted")
    assert store.get_case(coded.id).status == "in_review"

    rejected = store.reject(coded.id, "I10", "  hypertension with CKD is I12.9 ", "ana")
    assert (rejected.status, rejected.sequence, rejected.reason) == ("rejected", 4, "hypertension with CKD is I12.9")

    added = store.add(
        coded.id, "i129", "Hypertensive chronic kidney disease", "ana", [{"start": 116, "end": 119, "text": "HTN"}]
    )
    assert added == CaseCode(
        "C0001",
        "I12.9",
        "Hypertensive chronic kidney disease",
        "added",
        3,
        False,
        (Evidence(116, 119, "HTN", source="coder"),),
        (),
        None,
        "",
        "coder",
    )

    changed = store.change(coded.id, "N18.30", "N18.31", "Chronic kidney disease, stage 3a", "ana", "eGFR 52")
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
    with pytest.raises(ValueError, match="case C0001 is done: set its status back to in_review"):
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
    ("decide", "error", "message"),
    [
        (lambda s: s.reject("C0001", "I10", "  ", "ana"), ValueError, "a rejection needs a reason"),
        (lambda s: s.reject("C0001", "I10", None, "ana"), ValueError, "a rejection needs a reason"),
        (lambda s: s.reject("C0001", "J45.909", "again", "ana"), ValueError, "J45.909 is already rejected"),
        (lambda s: s.accept("C0001", "Z79.4", "ana"), LookupError, "Z79.4 is not among the codes of case C0001"),
        (lambda s: s.accept("C0001", "I10", ""), ValueError, "every decision is audited under a coder's name"),
        (
            lambda s: s.change("C0001", "N18.30", "I10", "Essential", "ana"),
            ValueError,
            r"I10 is already a code of case C0001 \(suggested\): it is already there",
        ),
        (lambda s: s.change("C0001", "N18.30", "n1830", "Same", "ana"), ValueError, "would be changed to itself"),
        (lambda s: s.change("C0001", "J45.909", "J45.20", "Mild", "ana"), ValueError, "add the code you want"),
        (lambda s: s.add("C0001", "J45.909", "Asthma", "ana"), ValueError, "accept it instead"),
        (lambda s: s.add("C0001", "Z79.4", "", "ana"), ValueError, "give the title of Z79.4"),
        (
            lambda s: s.add("C0001", "Z79.4", "Insulin", "ana", [{"start": 0, "end": 3, "text": "HTN"}]),
            ValueError,
            "evidence 0-3 'HTN' is not at those offsets",
        ),
        (lambda s: s.add("C0001", "Z79.4", "Insulin", "ana", [{"begin": 0}]), ValueError, "evidence needs"),
        (lambda s: s.move("C0001", "I10", 4, "ana"), ValueError, "live codes at sequences 1 to 3, not 4"),
        (lambda s: s.move("C0001", "I10", 1, "ana"), ValueError, "E11.22 stays at sequence 1: use set_principal"),
        (lambda s: s.move("C0001", "E11.22", 2, "ana"), ValueError, "stays at sequence 1"),
        (lambda s: s.move("C0001", "J45.909", 1, "ana"), ValueError, "accept it before moving it"),
        (lambda s: s.set_principal("C0001", "J45.909", "ana"), ValueError, "accept it before making it principal"),
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


def test_a_restart_loses_nothing(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "cases.sqlite"
    with CaseStore(path, clock=clock) as first:
        case = first.create_case(NOTE, "Diabetes follow-up", "sample:ckd")
        first.save_result(case.id, RESULT, "ana")
        first.accept(case.id, "E11.22", "ana")
        first.reject(case.id, "I10", "see I12.9", "ana")
        first.add(case.id, "I12.9", "Hypertensive chronic kidney disease", "ana")
        saved = (first.list_cases(), first.codes(case.id), first.audit(case.id), first.findings(case.id))
    with CaseStore(path, clock=clock) as second:
        assert (second.list_cases(), second.codes(case.id), second.audit(case.id), second.findings(case.id)) == saved
        assert second.create_case("another note").id == "C0002"


def test_the_file_is_wal_with_foreign_keys_and_an_append_only_audit(store: CaseStore, coded: Case) -> None:
    with closing(sqlite3.connect(store.path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit SET coder = 'mallory'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit")
    assert tuple(store._conn.execute("PRAGMA foreign_keys").fetchone()) == (1,)
    with pytest.raises(sqlite3.IntegrityError):
        store._conn.execute(
            "INSERT INTO audit(case_id, at, coder, action, reason) VALUES ('C0404', 'now', 'ana', 'x', '')"
        )


def test_files_that_are_not_this_case_store_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(DataError, match="is not a Coda case store"):
        CaseStore(garbage)
    foreign = tmp_path / "foreign.sqlite"
    with closing(sqlite3.connect(foreign)) as conn:
        conn.execute("CREATE TABLE t(x)")
    with pytest.raises(DataError, match=r"not a Coda case store \(no schema_version table\)"):
        CaseStore(foreign)
    newer = tmp_path / "newer.sqlite"
    CaseStore(newer).close()
    with closing(sqlite3.connect(newer)) as conn, conn:
        conn.execute("UPDATE schema_version SET version = 2")
    with pytest.raises(DataError, match="has schema version 2; this Coda reads version 1"):
        CaseStore(newer)


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


def test_result_is_what_coding_result_to_json_gives() -> None:
    # RESULT above is written out by hand; it must stay the shape the agent really produces.
    steps = (
        Step("locate", "index term 'diabetes, type 2, with, chronic kidney disease'"),
        Step("assign", "most specific"),
    )
    result = CodingResult(
        "C0001",
        codes=[
            Suggestion(E11_22.code, E11_22.title, E11_22.evidence, 0.91, steps, principal=True),
            Suggestion(N18_30.code, N18_30.title, N18_30.evidence, 0.84, N18_30.reasoning),
            Suggestion(I10.code, I10.title, I10.evidence, 0.8, I10.reasoning),
        ],
        candidates=[Rejected("J45.909", "Unspecified asthma, uncomplicated", "negated: denies")],
        findings=[FINDING],
    )
    assert json.loads(json.dumps(result.to_json())) == RESULT  # to_json() itself holds finding codes as a tuple
