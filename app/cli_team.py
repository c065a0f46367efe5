"""The workbench's edge commands: `coda app` starts it for a team (bound to the settings' address,
the first admin made with a one-time setup code), `coda users` manages its accounts and
`coda audit verify` checks its audit trail's seals."""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.settings import Settings
from index.errors import AccountError


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _case_store(settings: Settings) -> Any:
    from app.review.store import CaseStore
    from index.build import STORE_FILE, find_release
    from index.pcs.book import book_path
    from index.store import CodeStore

    book = CodeStore(find_release(settings.data_dir, settings.system, settings.release) / STORE_FILE)
    pcs = book_path(settings.data_dir)
    return CaseStore(settings.case_store_target(), book, audit_key=settings.audit_key_bytes(), pcs_book=pcs)


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """Accounts of the workbench, in the case store: add (password asked twice, or one line on
    stdin with --password-stdin), list, disable and enable, and the coding API's tokens (issue one,
    revoke them all)."""
    from app.review.accounts import Accounts

    with _case_store(settings) as store:
        accounts = Accounts(store, settings.sign_in_policy())
        if args.action == "add":
            added = accounts.add(args.username, _new_password(args.password_stdin), args.role, args.name or "")
            print(f"added {added.username} ({added.role})")
        elif args.action in ("disable", "enable"):
            changed = accounts.set_disabled(args.username, args.action == "disable")
            print(f"{changed.username} is {'disabled' if changed.disabled else 'enabled'}")
        elif args.action == "token":
            from app.review.tokens import ApiTokens

            token = ApiTokens(store).issue(args.username)
            _say(f"a coding API token for {args.username} (shown once; keep it in a secret store):")
            print(token)
        elif args.action == "revoke-tokens":
            from app.review.tokens import ApiTokens

            print(f"revoked {ApiTokens(store).revoke(args.username)} token(s) of {args.username}")
        else:
            now = datetime.now(UTC)
            for a in accounts.list():
                print(f"{a.username:<20} {a.role:<8} {a.state(now):<9} {a.display_name}  (since {a.created_at[:10]})")
    return 0


# Streamlit collects all garbage after every run by default: with the code book, the models and the
# index in memory that takes about 0.5 s, which every click would wait for (Python's own collector
# still runs as usual).
SERVE_OPTIONS = ["--runner.postScriptGC", "false"]


def cmd_app(args: argparse.Namespace, settings: Settings) -> int:
    """Start the workbench on the settings' address (127.0.0.1 unless they say otherwise), with
    Streamlit's developer menu hidden. While no account exists, print a one-time setup code that
    the page asks for to make the first admin."""
    from app.review.accounts import Accounts

    with _case_store(settings) as store:
        has_accounts = bool(Accounts(store).list())
    env = dict(os.environ)
    if not has_accounts:
        code = secrets.token_urlsafe(9)
        env["CODA_SETUP_CODE"] = code
        _say(f"No account can sign in yet. Make the first admin in the browser with the setup code: {code}")
    command = [sys.executable, "-m", "streamlit", "run", str(Path(__file__).parent / "main.py")]
    command += ["--server.address", settings.server_address, "--server.port", str(args.port)]
    command += ["--server.headless", "true", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"]
    command += SERVE_OPTIONS
    _say(f"Coda workbench on http://{settings.server_address}:{args.port} (a team puts a TLS reverse proxy in front)")
    return subprocess.call(command, env=env)


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Check the whole audit trail's seals with the settings' key; name the first broken entry."""
    with _case_store(settings) as store:
        verdict = store.verify_audit(settings.audit_key_bytes())
    if verdict.intact:
        print(f"the audit trail holds: {verdict.entries} entries, each sealed and chained to the one before")
        return 0
    print(f"the audit trail is broken at entry {verdict.broken}: {verdict.why}")
    return 1


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ; nothing was added")
    return first


def add_team_commands(sub: Any) -> None:
    app = sub.add_parser("app", help="start the workbench (on the settings' address, 127.0.0.1 by default)")
    app.add_argument("--port", type=int, default=8501)
    app.set_defaults(func=cmd_app)

    audit = sub.add_parser("audit", help="the case store's audit trail").add_subparsers(dest="action", required=True)
    audit.add_parser("verify", help="check every entry's seal; name the first broken one").set_defaults(
        func=cmd_audit_verify
    )

    accounts = sub.add_parser("users", help="the workbench's accounts")
    accounts.set_defaults(func=cmd_users)
    users = accounts.add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="add an account (the password is asked for)")
    add.add_argument("username")
    add.add_argument("--role", choices=("coder", "auditor", "admin"), required=True)
    add.add_argument("--name", help="the name shown in the workbench and its audit trail")
    add.add_argument("--password-stdin", action="store_true", help="read the password as one line of stdin")
    users.add_parser("list", help="list the accounts")
    for action in ("disable", "enable"):
        users.add_parser(action, help=f"{action} an account").add_argument("username")
    users.add_parser("token", help="issue a bearer token of the coding API (coda serve) to an account").add_argument(
        "username"
    )
    users.add_parser("revoke-tokens", help="revoke every coding API token of an account").add_argument("username")
