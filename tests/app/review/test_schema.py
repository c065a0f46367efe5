"""The case store's schema: a version-1 file (made with the version-1 schema, kept as
tests/app/fixtures/case_store_v1.sql) is migrated to the current version in place, in one
transaction, and keeps everything it held."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from agent.records import CodingResult, Evidence, NonClinical
from app.review.records import AuditEntry, CaseCode, Encounter, References
from app.review.schema import SCHEMA_VERSION, V5_COLUMNS
from app.review.store import CaseStore
from index.errors import DataError
from index.store import CodeStore

V1_SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "case_store_v1.sql"
NOTE = "Type 2 diabetes with diabetic CKD.\nHTN.\n"
AT = "2025-03-01T09:00:00+00:00"


def v1_store(path: Path) -> None:
    """A version-1 case store holding one case in review: two codes, a finding, two audit entries."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(V1_SCHEMA.read_text(encoding="utf-8"))
        conn.execute(
            "INSERT INTO cases VALUES (1, 'C0001', 'Diabetes', ?, 'in_review', 'outpatient', 'offline', NULL,"
            " 'pasted', ?, ?)",
            (NOTE, AT, AT),
        )
        evidence = json.dumps([{"start": 0, "end": 33, "text": NOTE[:33], "assertion": "present",
                                "section": "body", "source": "lexical"}])  # fmt: skip
        conn.execute(
            "INSERT INTO case_codes VALUES ('C0001', 'E11.22', 'T2DM with diabetic CKD', 'accepted', 1, 1, ?, '[]',"
            " 0.9, '', 'agent', '[]')",
            (evidence,),
        )
        conn.execute(
            "INSERT INTO case_codes VALUES ('C0001', 'I10', 'Essential (primary) hypertension', 'suggested', 2, 0,"
            " '[]', '[]', 0.8, '', 'agent', '[]')"
        )
        conn.execute("INSERT INTO findings VALUES ('C0001', 0, 'use_additional', 'warning', 'add Z79.4', '[]')")
        conn.execute(
            "INSERT INTO audit(case_id, at, coder, action, reason) VALUES ('C0001', ?, 'ana', 'coded', '')", (AT,)
        )
        conn.execute(
            "INSERT INTO audit(case_id, at, coder, action, code_before, code_after, reason)"
            " VALUES ('C0001', ?, 'ana', 'accepted', 'E11.22', 'E11.22', '')",
            (AT,),
        )


def columns(path: Path, table: str) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT version FROM schema_version").fetchone()[0]


def test_a_version_1_store_is_migrated_in_place_and_keeps_everything(tmp_path: Path, book: CodeStore) -> None:
    path = tmp_path / "cases.sqlite"
    v1_store(path)
    assert version(path) == 1 and "patient_ref" not in columns(path, "cases")
    with CaseStore(path, book) as store:
        [case] = store.list_cases()
        assert (case.id, case.title, case.note, case.status, case.references) == (
            "C0001",
            "Diabetes",
            NOTE,
            "in_review",
            References(),
        )
        assert [(c.code, c.status, c.principal, c.evidence) for c in store.codes("C0001")] == [
            ("E11.22", "accepted", True, (Evidence(0, 33, NOTE[:33]),)),
            ("I10", "suggested", False, ()),
        ]
        assert [f.message for f in store.findings("C0001")] == ["add Z79.4"]
        assert store.audit("C0001") == [
            AuditEntry(1, "C0001", AT, "ana", "coded", None, None, ""),
            AuditEntry(2, "C0001", AT, "ana", "accepted", "E11.22", "E11.22", ""),
        ]
        assert store.non_clinical("C0001") == [] and store.kept_pairs("C0001") == []
        # What version 2 adds works on the migrated case.
        store.set_references("C0001", References(patient="Patient/123"), "ana")
        assert store.get_case("C0001").references.patient == "Patient/123"
        added = store.add("C0001", "N18.30", "ana")
        assert added == CaseCode(
            "C0001",
            "N18.30",
            "Chronic kidney disease, stage 3 unspecified",
            "added",
            3,
            False,
            (),
            (),
            None,
            "",
            "coder",
        )
    assert version(path) == SCHEMA_VERSION == 6
    assert columns(path, "users")[:3] == ["username", "display_name", "role"]
    assert columns(path, "cases")[-10:-6] == ["patient_ref", "provider_ref", "insurer_ref", "coverage_ref"]
    assert columns(path, "cases")[-6:] == ["age", "sex", "discharge_status", "admitted", "discharged", "admitting"]
    with CaseStore(path, book) as again:  # opens as it is, once migrated
        assert again.get_case("C0001").references == References(patient="Patient/123")


def test_a_migration_that_fails_leaves_the_version_1_file_as_it_was(tmp_path: Path, book: CodeStore) -> None:
    path = tmp_path / "cases.sqlite"
    v1_store(path)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE kept_excludes1(x)")  # in the way of the migration's last table
    before = columns(path, "cases")
    with pytest.raises(DataError, match="is not a Coda case store: table kept_excludes1 already exists"):
        CaseStore(path, book)
    assert version(path) == 1
    assert columns(path, "cases") == before  # the columns added before the failure were rolled back
    assert "non_clinical" not in {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}


def test_a_new_store_is_made_at_version_6_with_every_table(tmp_path: Path, book: CodeStore) -> None:
    path = tmp_path / "cases.sqlite"
    with CaseStore(path, book) as store:
        case = store.create_case(NOTE)
        aside = NonClinical(35, 39, "HTN.", "a test")
        store.save_result(case.id, CodingResult(case.id, non_clinical=(aside,)), "ana")
        assert store.non_clinical(case.id) == [aside]
    assert version(path) == 6
    assert columns(path, "cases")[-6:] == ["age", "sex", "discharge_status", "admitted", "discharged", "admitting"]
    assert columns(path, "case_codes")[-3:] == ["poa", "poa_reason", "poa_evidence"]
    assert columns(path, "case_procedures")[-1] == "performed_on"
    assert "password_hash" in columns(path, "users")
    assert columns(path, "case_procedures")[:3] == ["case_id", "code", "title"] and "axes" in columns(
        path, "case_procedures"
    )
    assert columns(path, "non_clinical") == ["case_id", "position", "start", "end", "text", "why"]
    assert columns(path, "kept_excludes1") == ["case_id", "code_a", "code_b", "reason"]


def test_a_version_2_store_gains_the_accounts_table_and_keeps_its_cases(tmp_path: Path, book: CodeStore) -> None:
    path = tmp_path / "cases.sqlite"
    with CaseStore(path, book) as store:
        store.create_case(NOTE, title="Kept")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DROP TABLE users")
        conn.execute("DROP TABLE leases")
        conn.execute("ALTER TABLE audit DROP COLUMN chain")
        as_version_4(conn)
        conn.execute("DROP TABLE case_procedures")
        conn.execute("UPDATE schema_version SET version = 2")
    with CaseStore(path, book) as store:
        assert [c.title for c in store.list_cases()] == ["Kept"]
    assert version(path) == 6 and columns(path, "users")[0] == "username"
    assert columns(path, "audit")[-1] == "chain"


def test_a_version_3_store_gains_the_procedures_table_and_keeps_its_cases(tmp_path: Path, book: CodeStore) -> None:
    path = tmp_path / "cases.sqlite"
    with CaseStore(path, book) as store:
        store.create_case(NOTE, title="Kept")
    with closing(sqlite3.connect(path)) as conn, conn:
        as_version_4(conn)
        conn.execute("DROP TABLE case_procedures")
        conn.execute("UPDATE schema_version SET version = 3")
    with CaseStore(path, book) as store:
        assert [c.title for c in store.list_cases()] == ["Kept"]
        assert store.procedures(store.list_cases()[0].id) == []
    assert version(path) == 6 and "axes" in columns(path, "case_procedures")


def as_version_4(conn: sqlite3.Connection) -> None:
    """Take a current store back to version 4: without the columns version 5 added."""
    for table, column in V5_COLUMNS:
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column.split()[0]}")
    conn.execute("DROP TABLE api_tokens")
    conn.execute("DROP TABLE agent_runs")
    conn.execute("UPDATE schema_version SET version = 4")


def test_a_version_4_store_gains_the_inpatient_claim_columns_and_keeps_its_codes(
    tmp_path: Path, book: CodeStore
) -> None:
    path = tmp_path / "cases.sqlite"
    with CaseStore(path, book) as store:
        case = store.create_case(NOTE, title="Kept", setting="inpatient")
        store.save_result(case.id, CodingResult(case.id), "ana")
        store.add(case.id, "I10", "ana")
    with closing(sqlite3.connect(path)) as conn, conn:
        as_version_4(conn)
    assert "poa" not in columns(path, "case_codes")
    with CaseStore(path, book) as store:
        [code] = store.codes(case.id)
        assert (code.code, code.poa) == ("I10", None)
        assert store.get_case(case.id).encounter == Encounter()
    assert version(path) == 6 and columns(path, "case_codes")[-3:] == ["poa", "poa_reason", "poa_evidence"]


def test_a_version_5_store_gains_the_agent_runs_and_keeps_its_cases(tmp_path: Path, book: CodeStore) -> None:
    path = tmp_path / "cases.sqlite"
    with CaseStore(path, book) as store:
        case = store.create_case(NOTE, title="Kept")
        store.save_result(case.id, CodingResult(case.id), "ana")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DROP TABLE agent_runs")
        conn.execute("UPDATE schema_version SET version = 5")
    with CaseStore(path, book) as store:
        assert [c.title for c in store.list_cases()] == ["Kept"]
        assert store.agent_run(case.id) is None
    assert version(path) == 6 and columns(path, "agent_runs")[:3] == ["case_id", "model", "usage"]
