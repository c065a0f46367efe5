"""The coding API (`coda serve`) over the mini code book, through Starlette's test client: bearer
tokens of enabled accounts, the same record as `coda code --json`, bad input refused with a clear
status and message, the note never in the log, and a note posted to /v1/cases on the worklist."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.records import CodingOptions
from app.api import RateLimit, create_app
from app.review.accounts import Accounts
from app.review.store import CaseStore
from app.review.tokens import ApiTokens

NOTE = "Type 2 diabetes with diabetic CKD stage 3. HTN."
SECRET_WORDS = "Type 2 diabetes with diabetic CKD"


@pytest.fixture
def store(tmp_path: Path, mini_search) -> Iterator[CaseStore]:
    with CaseStore(tmp_path / "cases.sqlite", mini_search.store) as s:
        Accounts(s).add("dana", "a long passphrase", "coder", "Dana Reyes")
        yield s


@pytest.fixture
def token(store: CaseStore) -> str:
    return ApiTokens(store).issue("dana")


@pytest.fixture
def client(mini_coder, store: CaseStore) -> TestClient:
    return TestClient(create_app(mini_coder, store))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_note_is_coded_as_coda_code_codes_it(client, token, mini_coder, caplog):
    caplog.set_level(logging.INFO, logger="coda.api")
    answer = client.post("/v1/code", json={"text": NOTE, "id": "n1"}, headers=auth(token))
    assert answer.status_code == 200
    expected = mini_coder.code(NOTE, CodingOptions("outpatient"), note_id="n1").to_json()
    assert answer.json() == json.loads(json.dumps(expected))
    assert [c["code"] for c in answer.json()["codes"]] == ["E11.22", "N18.30", "I12.9"]
    [line] = [r.getMessage() for r in caplog.records if r.name == "coda.api"]
    assert line.startswith("POST /v1/code 200 by dana,") and SECRET_WORDS not in caplog.text


@pytest.mark.parametrize(
    ("header", "why"),
    [(None, "a bearer token"), ("Bearer coda_not-a-token", "a bearer token"), ("Basic ZGFuYTp4", "a bearer token")],
)
def test_every_call_needs_a_live_token(client, header, why):
    headers = {"Authorization": header} if header else {}
    for call in (
        lambda: client.post("/v1/code", json={"text": NOTE}, headers=headers),
        lambda: client.get("/v1/codes/I10", headers=headers),
        lambda: client.get("/v1/search", params={"q": "hypertension"}, headers=headers),
        lambda: client.post("/v1/cases", json={"text": NOTE}, headers=headers),
    ):
        answer = call()
        assert answer.status_code == 401 and why in answer.json()["detail"]


def test_a_disabled_account_or_a_revoked_token_stops_working(client, store, token):
    assert client.get("/v1/codes/I10", headers=auth(token)).status_code == 200
    Accounts(store).set_disabled("dana")
    assert client.get("/v1/codes/I10", headers=auth(token)).status_code == 401
    Accounts(store).set_disabled("dana", False)
    assert ApiTokens(store).revoke("dana") == 1
    assert client.get("/v1/codes/I10", headers=auth(token)).status_code == 401


def test_bad_input_gets_its_status_and_says_what_is_wrong(client, store, token):
    headers = {**auth(token), "Content-Type": "application/json"}
    huge = client.post("/v1/code", content=b"x" * (store.max_note_bytes + 70_000), headers=headers)
    assert huge.status_code == 413 and "over the limit" in huge.json()["detail"]
    latin = client.post("/v1/code", content='{"text": "caf\xe9"}'.encode("latin-1"), headers=headers)
    assert latin.status_code == 400 and "not UTF-8" in latin.json()["detail"]
    broken = client.post("/v1/code", content=b'{"text": ', headers=headers)
    assert broken.status_code == 400 and "not JSON" in broken.json()["detail"]
    missing = client.post("/v1/code", json={"setting": "inpatient"}, headers=auth(token))
    assert missing.status_code == 422 and missing.json()["detail"].startswith("text: Field required")
    wrong = client.post("/v1/code", json={"text": NOTE, "setting": "ER"}, headers=auth(token))
    assert wrong.status_code == 422 and wrong.json()["detail"].startswith("setting:")
    empty = client.post("/v1/code", json={"text": "   "}, headers=auth(token))
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    assert client.get("/v1/codes/Q99.999", headers=auth(token)).status_code == 404
    assert client.get("/v1/search", params={"q": "  "}, headers=auth(token)).status_code == 422


def test_the_code_book_is_read_through_the_api(client, token):
    entry = client.get("/v1/codes/I10", headers=auth(token)).json()
    assert (entry["code"], entry["title"]) == ("I10", "Essential (primary) hypertension")
    hits = client.get("/v1/search", params={"q": "hypertension", "limit": 3}, headers=auth(token)).json()
    assert "I10" in [h["code"] for h in hits] and len(hits) <= 3


def test_a_note_posted_to_cases_is_on_the_worklist_under_its_account(client, store, token):
    made = client.post("/v1/cases", json={"text": NOTE, "title": "From the EHR"}, headers=auth(token))
    assert made.status_code == 201 and made.json()["status"] == "new"
    [case] = store.list_cases()
    assert (case.id, case.title, case.note, case.source) == (made.json()["id"], "From the EHR", NOTE, "api:dana")
    [entry] = store.audit(case.id)
    assert (entry.action, entry.coder) == ("created", "dana")
    # A FHIR DocumentReference with a text attachment.
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(NOTE.encode()).decode(),
                }
            }
        ],
    }
    made = client.post("/v1/cases", json={"document": document, "setting": "inpatient"}, headers=auth(token))
    assert made.status_code == 201 and store.get_case(made.json()["id"]).note == NOTE
    pdf = {**document, "content": [{"attachment": {"contentType": "application/pdf", "data": "JVBERg=="}}]}
    refused = client.post("/v1/cases", json={"document": pdf}, headers=auth(token))
    assert refused.status_code == 422 and "no text/plain attachment" in refused.json()["detail"]
    assert len(store.list_cases()) == 2


def test_an_account_over_its_rate_is_told_to_slow_down(mini_coder, store, token):
    client = TestClient(create_app(mini_coder, store, per_minute=2))
    statuses = [client.get("/v1/codes/I10", headers=auth(token)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limit = RateLimit(1)
    assert (limit.allow("a", 0.0), limit.allow("a", 30.0), limit.allow("a", 60.5)) == (True, False, True)


def test_the_openapi_document_describes_the_bodies(client):
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/code"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["text"] and "setting" in body["properties"]
    assert set(spec["paths"]) == {"/v1/code", "/v1/codes/{code}", "/v1/search", "/v1/cases"}
    assert json.dumps(spec)  # a whole, serialisable document


def test_coda_serve_answers_over_real_http(workbench_data_dir, mini_search):
    """`coda serve` in a process of its own on 127.0.0.1: the docs, then a note coded with a token."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with CaseStore(workbench_data_dir / "cases.sqlite", mini_search.store) as store:
        Accounts(store).add("dana", "a long passphrase", "coder")
        token = ApiTokens(store).issue("dana")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CODA_")},
        "CODA_DATA_DIR": str(workbench_data_dir),
    }
    server = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/openapi.json", timeout=2) as answer:
                    assert json.load(answer)["info"]["title"] == "Coda coding API"
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()
                time.sleep(0.5)
        request = urllib.request.Request(
            f"{url}/v1/code",
            data=json.dumps({"text": "HTN."}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert [c["code"] for c in json.load(answer)["codes"]] == ["I10"]
    finally:
        server.terminate()
        out = server.communicate(timeout=30)[0].decode()
    assert "HTN" not in out and "POST /v1/code 200 by dana" in out  # the call is logged, the note is not
