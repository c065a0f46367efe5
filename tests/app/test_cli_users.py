"""`coda users`: the workbench's accounts from the command line, kept in the case store."""

from __future__ import annotations

import io
import sqlite3
from contextlib import closing
from pathlib import Path

from app.cli import EXIT_ERROR, run
from app.review.accounts import Accounts
from app.review.store import CaseStore
from app.settings import Settings
from index.store import CodeStore


def coda(capsys, monkeypatch, data_dir: Path, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = run(list(argv), settings_factory=lambda: Settings(data_dir=data_dir, _env_file=None))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_disable_and_enable_an_account(capsys, monkeypatch, workbench_data_dir, mini_search):
    add = ("users", "add", "dana", "--role", "coder", "--name", "Dana Reyes", "--password-stdin")
    code, out, _ = coda(capsys, monkeypatch, workbench_data_dir, *add, stdin="a long passphrase\n")
    assert code == 0 and out.strip() == "added dana (coder)"
    with CaseStore(workbench_data_dir / "cases.sqlite", CodeStore(mini_search.store.path)) as store:
        assert Accounts(store).sign_in("dana", "a long passphrase").display_name == "Dana Reyes"

    code, out, err = coda(capsys, monkeypatch, workbench_data_dir, *add, stdin="another passphrase\n")
    assert code == EXIT_ERROR and "already an account 'dana'" in err

    code, out, _ = coda(capsys, monkeypatch, workbench_data_dir, "users", "disable", "dana")
    assert code == 0 and out.strip() == "dana is disabled"
    code, out, _ = coda(capsys, monkeypatch, workbench_data_dir, "users", "list")
    assert code == 0 and out.split()[:3] == ["dana", "coder", "disabled"] and "Dana Reyes" in out
    code, out, _ = coda(capsys, monkeypatch, workbench_data_dir, "users", "enable", "dana")
    assert code == 0 and out.strip() == "dana is enabled"


def test_a_short_password_or_an_unknown_account_is_an_error_that_changes_nothing(
    capsys, monkeypatch, workbench_data_dir
):
    add = ("users", "add", "lee", "--role", "auditor", "--password-stdin")
    code, _, err = coda(capsys, monkeypatch, workbench_data_dir, *add, stdin="short\n")
    assert code == EXIT_ERROR and "too short" in err
    code, _, err = coda(capsys, monkeypatch, workbench_data_dir, "users", "disable", "lee")
    assert code == EXIT_ERROR and "no account 'lee'" in err
    code, out, _ = coda(capsys, monkeypatch, workbench_data_dir, "users", "list")
    assert code == 0 and out == ""


def test_coda_app_binds_to_this_machine_and_offers_a_setup_code_until_an_account_exists(
    capsys, monkeypatch, workbench_data_dir
):
    started: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr("app.cli_team.subprocess.call", lambda command, env: started.append((command, env)) or 0)
    code, _, err = coda(capsys, monkeypatch, workbench_data_dir, "app", "--port", "8600")
    command, env = started[-1]
    assert code == 0 and command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--client.toolbarMode") + 1] == "viewer"  # no developer menu, no Deploy
    assert command[command.index("--runner.postScriptGC") + 1] == "false"  # no 0.5 s collection per click
    assert command[command.index("--server.port") + 1] == "8600"
    setup = env["CODA_SETUP_CODE"]
    assert len(setup) >= 12 and f"setup code: {setup}" in err

    add = ("users", "add", "ana", "--role", "admin", "--password-stdin")
    assert coda(capsys, monkeypatch, workbench_data_dir, *add, stdin="a long passphrase\n")[0] == 0
    monkeypatch.delenv("CODA_SETUP_CODE", raising=False)
    coda(capsys, monkeypatch, workbench_data_dir, "app")
    assert "CODA_SETUP_CODE" not in started[-1][1]


def test_audit_verify_holds_until_an_entry_is_changed_behind_the_stores_back(
    capsys, monkeypatch, workbench_data_dir, mini_search
):
    settings = Settings(data_dir=workbench_data_dir, _env_file=None)
    key = settings.audit_key_bytes()
    assert (workbench_data_dir / "audit.key").stat().st_mode & 0o777 == 0o600 and len(key) == 64
    with CaseStore(workbench_data_dir / "cases.sqlite", mini_search.store, audit_key=key) as store:
        case = store.create_case("HTN.")
        store.set_status(case.id, "in_review", "dana")
        store.set_status(case.id, "new", "dana")
    code, out, _ = coda(capsys, monkeypatch, workbench_data_dir, "audit", "verify")
    assert code == 0 and out.startswith("the audit trail holds: 2 entries")
    with closing(sqlite3.connect(workbench_data_dir / "cases.sqlite")) as conn, conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET reason = 'new -> done' WHERE id = 1")
    code, out, _ = coda(capsys, monkeypatch, workbench_data_dir, "audit", "verify")
    assert code == 1 and out.startswith("the audit trail is broken at entry 1: its seal does not match")


def test_a_team_on_postgresql_adds_accounts_and_verifies_the_trail_there(
    capsys, monkeypatch, workbench_data_dir, mini_search, postgres
):
    url = postgres.database()

    def team(*argv: str, key: str | None = "the team's key", stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        settings = Settings(data_dir=workbench_data_dir, database_url=url, audit_key=key, _env_file=None)
        code = run(list(argv), settings_factory=lambda: settings)
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = team("users", "list", key=None)
    assert code == EXIT_ERROR and "set CODA_AUDIT_KEY too, the same on every app server" in err
    code, out, _ = team("users", "add", "lee", "--role", "auditor", "--password-stdin", stdin="a long passphrase\n")
    assert code == 0 and out.strip() == "added lee (auditor)"
    with CaseStore(url, CodeStore(mini_search.store.path), audit_key=b"the team's key") as store:
        assert Accounts(store).sign_in("lee", "a long passphrase").role == "auditor"
        store.create_case("Hypertension.")
        store.set_status("C0001", "in_review", "lee")
    assert not (workbench_data_dir / "cases.sqlite").exists()  # nothing went to the embedded file
    code, out, _ = team("audit", "verify")
    assert code == 0 and out.startswith("the audit trail holds: 1 entries"), out


def test_a_coding_api_token_is_issued_once_and_revoked(capsys, monkeypatch, workbench_data_dir, mini_search):
    from app.review.tokens import ApiTokens

    add = ("users", "add", "dana", "--role", "coder", "--password-stdin")
    assert coda(capsys, monkeypatch, workbench_data_dir, *add, stdin="a long passphrase\n")[0] == 0
    code, out, err = coda(capsys, monkeypatch, workbench_data_dir, "users", "token", "dana")
    token = out.strip()
    assert code == 0 and token.startswith("coda_") and "shown once" in err
    with CaseStore(workbench_data_dir / "cases.sqlite", CodeStore(mini_search.store.path)) as store:
        assert ApiTokens(store).account(token).username == "dana"
    path = workbench_data_dir / "cases.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        [(kept,)] = conn.execute("SELECT token_hash FROM api_tokens").fetchall()
    assert token not in kept and len(kept) == 64  # only its SHA-256 is kept
    code, out, _ = coda(capsys, monkeypatch, workbench_data_dir, "users", "revoke-tokens", "dana")
    assert code == 0 and out.strip() == "revoked 1 token(s) of dana"
    with CaseStore(path, CodeStore(mini_search.store.path)) as store:
        assert ApiTokens(store).account(token) is None
    code, _, err = coda(capsys, monkeypatch, workbench_data_dir, "users", "token", "nobody")
    assert code == EXIT_ERROR and "no account 'nobody'" in err
