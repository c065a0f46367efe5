"""The coding API (`coda serve`): the agent, the code book and the worklist for an EHR or any
program, over HTTP with OpenAPI docs at /docs.

- `POST /v1/code` codes a note and answers the record `coda code --json` prints (codes with their
  evidence offsets, candidates, procedures when present).
- `GET /v1/codes/{code}` is a code's whole Tabular entry; `GET /v1/search?q=` the encoder.
- `POST /v1/cases` puts a note, or a FHIR DocumentReference with a text attachment, on the
  workbench's worklist.

Every call needs a bearer token issued to an enabled account (`coda users token NAME`) and is
attributed to it: the log line names the account, route, status and the note's size, never its
text; a case put on the worklist is audited ("created") under the account. A body over the note
limit is refused (413) before it is read whole, one that is not UTF-8 JSON with 400, and an
account's calls beyond its rate (per minute) with 429. TLS is left to a reverse proxy in front of
127.0.0.1, as for the workbench.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
from collections import defaultdict, deque
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from agent.records import CodingOptions
from app.review import guards
from app.review.accounts import Account
from app.review.store import CaseStore
from app.review.tokens import ApiTokens
from index.errors import CodaError, NoteError, UnknownCode

log = logging.getLogger("coda.api")
BODY_OVERHEAD = 64_000  # room for the JSON around a note of the largest size


class CodeRequest(BaseModel):
    text: str = Field(description="The note, as plain text; evidence offsets index it exactly as sent.")
    setting: Literal["inpatient", "outpatient"] = Field("outpatient", description="The care setting.")
    reasoner: Literal["offline", "llm"] = Field("offline", description="Which reasoner decides.")
    profile: str | None = Field(None, description="A learned profile of this release, by name.")
    id: str = Field("note", description="The note's id, echoed in the answer.")


class CaseRequest(BaseModel):
    text: str | None = Field(None, description="The note as plain text (or give `document`).")
    document: dict[str, Any] | None = Field(
        None, description="A FHIR DocumentReference whose content holds a text/plain attachment (data, base64)."
    )
    title: str = Field("", description="The worklist title; the note's first line when blank.")
    setting: Literal["inpatient", "outpatient"] = Field("outpatient", description="The care setting.")


class RateLimit:
    """At most `per_minute` calls per account in any minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._calls: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, who: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            calls = self._calls[who]
            while calls and calls[0] <= now - 60:
                calls.popleft()
            if len(calls) >= self.per_minute:
                return False
            calls.append(now)
            return True


def current_account(request: Request) -> Account:
    """The enabled account whose bearer token the call carries, within its rate; 401 or 429 else."""
    tokens: ApiTokens = request.app.state.tokens
    limit: RateLimit = request.app.state.limit
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    found = tokens.account(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise HTTPException(401, "a bearer token issued to an enabled account is needed (coda users token NAME)")
    if not limit.allow(found.username):
        raise HTTPException(429, f"over {limit.per_minute} calls a minute for {found.username}: slow down")
    request.state.account = found.username
    return found


Caller = Annotated[Account, Depends(current_account)]


def create_app(coder: Any, store: CaseStore, per_minute: int = 120) -> FastAPI:
    """The API over `coder` (`agent.coder.Coder`) and the case store `store` (its code book too)."""
    from index.search import CodeSearch, require_query

    app = FastAPI(title="Coda coding API", version="1", summary="Medical coding with evidence, for programs.")
    app.state.tokens, app.state.limit = ApiTokens(store), RateLimit(per_minute)
    encoder = CodeSearch(coder.deps.store, coder.deps.locator.vectors)
    coding = threading.Lock()
    most = store.max_note_bytes + BODY_OVERHEAD

    @app.middleware("http")
    async def bounded(request: Request, call_next: Any) -> Any:
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > most):
            return JSONResponse({"detail": f"the body is over the limit of {most:,} bytes"}, status_code=413)
        started = time.perf_counter()
        response = await call_next(request)
        who = getattr(request.state, "account", "-")
        log.info(
            "%s %s %s by %s, %s bytes, %.0f ms",
            request.method,
            request.url.path,
            response.status_code,
            who,
            size or 0,
            (time.perf_counter() - started) * 1000,
        )
        return response

    async def body(request: Request, model: type[BaseModel]) -> Any:
        raw = await request.body()
        if len(raw) > most:
            raise HTTPException(413, f"the body is over the limit of {most:,} bytes")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise HTTPException(400, "the body is not UTF-8: send the note as UTF-8 JSON") from None
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"the body is not JSON: {exc}") from None
        try:
            return model.model_validate(data)
        except ValueError as exc:
            raise HTTPException(422, _first_error(exc)) from None

    @app.post("/v1/code", summary="Code a note", openapi_extra=_body_schema(CodeRequest))
    async def code(request: Request, who: Caller) -> dict[str, Any]:
        asked: CodeRequest = await body(request, CodeRequest)
        if len(asked.text.encode("utf-8")) > store.max_note_bytes:
            raise HTTPException(413, f"the note is over the limit of {store.max_note_bytes:,} bytes")
        options = CodingOptions(asked.setting, asked.reasoner, asked.profile)

        def coded() -> dict[str, Any]:
            guards.note_text(asked.text, store.max_note_bytes)  # refused as the worklist refuses it: empty
            with coding:  # one note at a time through the one coder; the event loop stays free meanwhile
                if asked.profile:
                    coder.load_profile(asked.profile)
                answer: dict[str, Any] = coder.code(asked.text, options, note_id=asked.id).to_json()
            return answer

        try:
            return await run_in_threadpool(coded)
        except CodaError as exc:
            raise HTTPException(400, str(exc)) from None

    @app.get("/v1/codes/{code}", summary="A code's Tabular entry")
    def show(code: str, who: Caller) -> dict[str, Any]:
        from index.entry import describe

        try:
            return describe(store.book, code)
        except UnknownCode as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/v1/search", summary="Search the code book")
    def search(who: Caller, q: str, limit: int = 20) -> list[dict[str, Any]]:
        try:
            hits = encoder.search(require_query(q), limit=max(1, min(limit, 100)))
        except CodaError as exc:
            raise HTTPException(422, str(exc)) from None
        return [{"code": h.code, "title": h.title, "score": h.score, "billable": h.billable} for h in hits]

    @app.post(
        "/v1/cases", status_code=201, summary="Put a note on the worklist", openapi_extra=_body_schema(CaseRequest)
    )
    async def new_case(request: Request, who: Caller) -> dict[str, Any]:
        asked: CaseRequest = await body(request, CaseRequest)
        text = asked.text if asked.document is None else _document_text(asked.document)
        if text is None:
            raise HTTPException(422, "give the note as `text` or as a FHIR DocumentReference in `document`")
        try:
            case = store.create_case(text, asked.title, f"api:{who.username}", asked.setting)
        except NoteError as exc:
            raise HTTPException(400, str(exc)) from None
        store.audit_created(case.id, who.username, "put on the worklist through the coding API")
        return {"id": case.id, "title": case.title, "status": case.status, "setting": case.setting}

    return app


def _document_text(document: dict[str, Any]) -> str:
    """The text of a FHIR DocumentReference's first text/plain attachment (base64 `data`)."""
    if document.get("resourceType") != "DocumentReference":
        raise HTTPException(422, "document must be a FHIR DocumentReference")
    for content in document.get("content") or []:
        attachment = (content or {}).get("attachment") or {}
        if str(attachment.get("contentType", "")).split(";")[0].strip() != "text/plain":
            continue
        try:
            return base64.b64decode(attachment.get("data", ""), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise HTTPException(400, "the attachment's data is not base64 of UTF-8 text") from None
    raise HTTPException(422, "the DocumentReference has no text/plain attachment with its data")


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", lambda: [])()
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    return f"{where}: {first.get('msg', 'is not valid')}"


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The request body in the OpenAPI docs (the body is read by hand, to bound and check it first)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
