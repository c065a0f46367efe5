"""The coder's case store: notes, the agent's suggestions, the coder's decisions and their audit
trail, in one SQLite file.

Every decision changes the codes and writes its audit entry in one transaction, so a crash or a
refused request leaves neither a half-made change nor an unaudited one. A `CaseStore` holds one
connection guarded by a lock, so a Streamlit app can share one store across sessions.

Order of a case's codes: the live codes (suggested, accepted, added) hold sequences 1..n with the
principal, when one is marked, at 1; the rejected codes follow at n+1..m. Only accepted and added
codes go on the claim (`app.exports`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from agent.records import Evidence, Finding, Step
from agent.state import evidence_from, finding_from
from index.errors import DataError, NoteError
from index.model import code_key

CaseStatus = Literal["new", "coded", "in_review", "done"]
CodeStatus = Literal["suggested", "accepted", "rejected", "added"]
Origin = Literal["agent", "coder"]

CASE_STATUSES: tuple[str, ...] = get_args(CaseStatus)
CODE_STATUSES: tuple[str, ...] = get_args(CodeStatus)
SETTINGS = ("inpatient", "outpatient")
REASONERS = ("offline", "llm")
ON_CLAIM = ("accepted", "added")
SCHEMA_VERSION = 1

# A decision on a case in one of these statuses moves it to "in_review".
_REVIEW_STARTS = ("new", "coded")
_TITLE_CHARS = 60

_SCHEMA = (
    "CREATE TABLE schema_version(version INTEGER NOT NULL)",
    """CREATE TABLE cases(
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        note TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('new', 'coded', 'in_review', 'done')),
        setting TEXT NOT NULL CHECK (setting IN ('inpatient', 'outpatient')),
        reasoner TEXT NOT NULL,
        profile TEXT,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE case_codes(
        case_id TEXT NOT NULL REFERENCES cases(id),
        code TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('suggested', 'accepted', 'rejected', 'added')),
        sequence INTEGER NOT NULL,
        principal INTEGER NOT NULL CHECK (principal IN (0, 1)),
        evidence TEXT NOT NULL,
        reasoning TEXT NOT NULL,
        confidence REAL,
        reason TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('agent', 'coder')),
        alternatives TEXT NOT NULL,
        PRIMARY KEY (case_id, code)
    )""",
    # The store's own guard for "exactly one principal": never two.
    "CREATE UNIQUE INDEX case_codes_one_principal ON case_codes(case_id) WHERE principal = 1",
    """CREATE TABLE findings(
        case_id TEXT NOT NULL REFERENCES cases(id),
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),
        message TEXT NOT NULL,
        codes TEXT NOT NULL,
        PRIMARY KEY (case_id, position)
    )""",
    """CREATE TABLE audit(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id TEXT NOT NULL REFERENCES cases(id),
        at TEXT NOT NULL,
        coder TEXT NOT NULL,
        action TEXT NOT NULL,
        code_before TEXT,
        code_after TEXT,
        reason TEXT NOT NULL
    )""",
    "CREATE INDEX audit_case ON audit(case_id, id)",
    # The audit trail is append-only, whatever code opens the file.
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
)


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    note: str
    status: CaseStatus
    setting: str
    reasoner: str
    profile: str | None
    created_at: str  # UTC, ISO 8601
    updated_at: str
    source: str  # pasted | upload | sample:<name>

    @property
    def undecided(self) -> bool:
        """No decision on its codes yet: its coding options may change and it may be coded again."""
        return self.status in _REVIEW_STARTS


@dataclass(frozen=True)
class CaseCode:
    """One code of a case, as the agent suggested it or the coder decided it."""

    case_id: str
    code: str
    title: str
    status: CodeStatus
    sequence: int
    principal: bool
    evidence: tuple[Evidence, ...]
    reasoning: tuple[Step, ...]
    confidence: float | None  # the agent's; None for a code the coder added or changed to
    reason: str  # why it was rejected (by the agent or the coder); "" otherwise
    origin: Origin
    alternatives: tuple[str, ...] = ()  # codes the agent says the coder may prefer

    @property
    def on_claim(self) -> bool:
        return self.status in ON_CLAIM


@dataclass(frozen=True)
class AuditEntry:
    """One line of a case's audit trail.

    `code_before` and `code_after` are the code the entry concerns before and after it (None where
    there is none: `code_before` of "added", `code_after` of "rejected", both for case-level
    actions). `reason` is the coder's reason; for "moved" it says "3 -> 1", for "status" "in_review
    -> done". Actions: coded, accepted, rejected, changed, added, moved, principal, status. The move
    to "in_review" that a case's first decision makes has no entry of its own.
    """

    id: int
    case_id: str
    at: str  # UTC, ISO 8601
    coder: str
    action: str
    code_before: str | None
    code_after: str | None
    reason: str


def dotted(code: str) -> str:
    """An ICD-10-CM code as written on a claim: upper case, the dot after the category ("e1122" -> "E11.22")."""
    key = code_key(code)
    return f"{key[:3]}.{key[3:]}" if len(key) > 3 else key


class CaseStore:
    """The cases of one workbench, in the SQLite file at `path` (created when missing).

    Lookups raise LookupError for an unknown case or a code the case does not hold; requests that
    cannot be done (a rejection without a reason, a decision on a done case) raise ValueError; an
    empty note raises NoteError; a file that is not a case store, or an agent result that does not
    fit its note, raises DataError. None of them changes anything.
    """

    def __init__(self, path: str | Path, clock: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are begun and ended here, explicitly (see _write).
        self._conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._open_schema()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise DataError(f"{self.path} is not a Coda case store: {exc}") from exc
        except BaseException:
            self._conn.close()
            raise

    def _open_schema(self) -> None:
        with self._write() as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                return
            if "schema_version" not in tables:
                raise DataError(f"{self.path} is a SQLite file but not a Coda case store (no schema_version table)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None or row[0] != SCHEMA_VERSION:
                found = "none" if row is None else row[0]
                raise DataError(
                    f"the case store {self.path} has schema version {found}; this Coda reads version {SCHEMA_VERSION}"
                )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything in it is committed together or not at all."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat(timespec="seconds")

    # -- cases ---------------------------------------------------------------------------

    def create_case(
        self,
        note: str,
        title: str = "",
        source: str = "pasted",
        setting: str = "outpatient",
        reasoner: str = "offline",
        profile: str | None = None,
    ) -> Case:
        """A new case for `note` (kept exactly as given: evidence offsets index it). A blank title
        becomes the note's first line, shortened."""
        if not isinstance(note, str) or not note.strip():
            raise NoteError("the note is empty: paste or upload the clinical note to code")
        _one_of("setting", setting, SETTINGS)
        _one_of("reasoner", reasoner, REASONERS)
        if source not in ("pasted", "upload") and not (source.startswith("sample:") and source[7:].strip()):
            raise ValueError(f"source must be 'pasted', 'upload' or 'sample:<name>', not {source!r}")
        title = " ".join(title.split()) or _title_of(note)
        now = self._now()
        with self._write() as conn:
            seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM cases").fetchone()[0]
            case = Case(f"C{seq:04d}", title, note, "new", setting, reasoner, profile or None, now, now, source)
            conn.execute(
                "INSERT INTO cases(seq, id, title, note, status, setting, reasoner, profile, source,"
                " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (seq, case.id, title, note, case.status, setting, reasoner, case.profile, source, now, now),
            )
        return case

    def list_cases(self) -> list[Case]:
        """Every case, in worklist order (the order they were created)."""
        with self._read() as conn:
            return [_case(r) for r in conn.execute("SELECT * FROM cases ORDER BY seq")]

    def get_case(self, case_id: str) -> Case:
        with self._read() as conn:
            return self._case(conn, case_id)

    def next_case(self, after_id: str | None = None) -> Case | None:
        """The first case after `after_id` in worklist order that is not done, wrapping round to
        the start; None when no other case is left to do. Without `after_id`, the first not done."""
        cases = self.list_cases()
        start = 0
        if after_id is not None:
            ids = [c.id for c in cases]
            if after_id not in ids:
                raise LookupError(f"no case {after_id!r} in the case store {self.path}")
            start = ids.index(after_id) + 1
            cases = cases[start:] + cases[: start - 1]
        return next((c for c in cases if c.status != "done"), None)

    def set_status(self, case_id: str, status: str, coder: str) -> Case:
        coder = _coder(coder)
        _one_of("status", status, CASE_STATUSES)
        with self._write() as conn:
            case = self._case(conn, case_id)
            if case.status == status:
                return case
            at = self._now()
            conn.execute("UPDATE cases SET status = ?, updated_at = ? WHERE id = ?", (status, at, case.id))
            self._audit(conn, case.id, at, coder, "status", None, None, f"{case.status} -> {status}")
            return self._case(conn, case.id)

    def set_options(self, case_id: str, setting: str, reasoner: str, profile: str | None, coder: str) -> Case:
        """Change how the agent codes a case (care setting, reasoner, learned profile) before
        anyone has decided on its codes; "Code again" then uses them. After review has started
        the options stay, since coding again would discard the coder's decisions."""
        coder = _coder(coder)
        _one_of("setting", setting, SETTINGS)
        _one_of("reasoner", reasoner, REASONERS)
        profile = profile or None
        with self._write() as conn:
            case = self._case(conn, case_id)
            if not case.undecided:
                raise ValueError(f"case {case.id} is {case.status.replace('_', ' ')}: its options can no longer change")
            before = (case.setting, case.reasoner, case.profile)
            if before == (setting, reasoner, profile):
                return case
            at = self._now()
            conn.execute(
                "UPDATE cases SET setting = ?, reasoner = ?, profile = ?, updated_at = ? WHERE id = ?",
                (setting, reasoner, profile, at, case.id),
            )
            self._audit(
                conn,
                case.id,
                at,
                coder,
                "options",
                None,
                None,
                f"{_options(*before)} -> {_options(setting, reasoner, profile)}",
            )
            return self._case(conn, case.id)

    # -- the agent's result ----------------------------------------------------------------

    def save_result(self, case_id: str, result_json: Mapping[str, Any], coder: str) -> list[CaseCode]:
        """Store the agent's result: its suggestions (principal first), its rejected candidates
        (status "rejected", with the agent's reason) and its findings, replacing an earlier result.

        Takes `CodingResult.to_json()` (reasoning as one "stage: detail | ..." string, the first code
        principal) or the graph state's form (keys "codes", "rejected", "findings"). Refused once the
        coder has decided anything on the current result (the decisions would be lost), and on a done case.
        """
        coder = _coder(coder)
        with self._write() as conn:
            case = self._case(conn, case_id)
            if case.status == "done":
                raise ValueError(f"case {case.id} is done: set its status back to in_review before coding it again")
            decided = conn.execute(
                "SELECT count(*) FROM audit WHERE case_id = ? AND action NOT IN ('coded', 'status', 'options')"
                " AND id > coalesce((SELECT max(id) FROM audit WHERE case_id = ? AND action = 'coded'), 0)",
                (case.id, case.id),
            ).fetchone()[0]
            if decided:
                raise ValueError(
                    f"case {case.id} holds {decided} decision(s) of the coder: "
                    "saving a new agent result would discard them"
                )
            rows, findings = _agent_result(case, result_json)
            conn.execute("DELETE FROM case_codes WHERE case_id = ?", (case.id,))
            conn.execute("DELETE FROM findings WHERE case_id = ?", (case.id,))
            for row in rows:
                self._insert_code(conn, row)
            conn.executemany(
                "INSERT INTO findings VALUES (?,?,?,?,?,?)",
                [
                    (case.id, i, f.kind, f.severity, f.message, json.dumps(list(f.codes)))
                    for i, f in enumerate(findings)
                ],
            )
            at = self._now()
            conn.execute("UPDATE cases SET status = 'coded', updated_at = ? WHERE id = ?", (at, case.id))
            fallback = result_json.get("fallback")
            self._audit(conn, case.id, at, coder, "coded", None, None, f"fallback: {fallback}" if fallback else "")
            return self._codes(conn, case.id)

    # -- the coder's decisions ---------------------------------------------------------------

    def accept(self, case_id: str, code: str, coder: str) -> CaseCode:
        """Accept a suggested code, or one rejected before (it joins the end of the live codes)."""
        coder = _coder(coder)
        with self._decision(case_id) as (conn, case):
            row = self._code(conn, case.id, code)
            if row.status in ON_CLAIM:
                raise ValueError(f"{row.code} is already {row.status} on case {case.id}")
            sequence = row.sequence if row.status == "suggested" else 1_000_000
            conn.execute(
                "UPDATE case_codes SET status = 'accepted', reason = '', sequence = ? WHERE case_id = ? AND code = ?",
                (sequence, case.id, row.code),
            )
            self._decided(conn, case, coder, "accepted", row.code, row.code, "")
            return self._code(conn, case.id, row.code)

    def reject(self, case_id: str, code: str, reason: str, coder: str) -> CaseCode:
        """Reject a live code (it leaves the claim, and loses the principal mark if it had it)."""
        coder = _coder(coder)
        reason = " ".join((reason or "").split())
        if not reason:
            raise ValueError("a rejection needs a reason: say why the code does not apply")
        with self._decision(case_id) as (conn, case):
            row = self._code(conn, case.id, code)
            if row.status == "rejected":
                raise ValueError(f"{row.code} is already rejected on case {case.id}")
            conn.execute(
                "UPDATE case_codes SET status = 'rejected', reason = ?, principal = 0, sequence = 1000000"
                " WHERE case_id = ? AND code = ?",
                (reason, case.id, row.code),
            )
            self._decided(conn, case, coder, "rejected", row.code, None, reason)
            return self._code(conn, case.id, row.code)

    def change(
        self, case_id: str, old_code: str, new_code: str, new_title: str, coder: str, reason: str = ""
    ) -> CaseCode:
        """Replace a live code by another in the same place, keeping its evidence, reasoning and
        principal mark; the new code counts as accepted, chosen by the coder."""
        coder = _coder(coder)
        new_code, new_title = _new_code(new_code, new_title)
        with self._decision(case_id) as (conn, case):
            row = self._code(conn, case.id, old_code)
            if row.status == "rejected":
                raise ValueError(f"{row.code} is rejected on case {case.id}: add the code you want instead")
            if code_key(new_code) == code_key(row.code):
                raise ValueError(f"{row.code} would be changed to itself")
            self._absent(conn, case.id, new_code)
            conn.execute(
                "UPDATE case_codes SET code = ?, title = ?, status = 'accepted', confidence = NULL, origin = 'coder',"
                " alternatives = '[]' WHERE case_id = ? AND code = ?",
                (new_code, new_title, case.id, row.code),
            )
            self._decided(conn, case, coder, "changed", row.code, new_code, " ".join(reason.split()))
            return self._code(conn, case.id, new_code)

    def add(
        self,
        case_id: str,
        code: str,
        title: str,
        coder: str,
        evidence: Sequence[Evidence | Mapping[str, Any]] | None = None,
    ) -> CaseCode:
        """Add a code the agent did not suggest, after the live codes. Evidence offsets must index
        the note exactly (`note[start:end] == text`)."""
        coder = _coder(coder)
        code, title = _new_code(code, title)
        with self._decision(case_id) as (conn, case):
            self._absent(conn, case.id, code)
            spans = tuple(_coder_evidence(e) for e in evidence or ())
            _check_evidence(case, spans, ValueError)
            self._insert_code(
                conn,
                CaseCode(case.id, code, title, "added", 1_000_000, False, spans, (), None, "", "coder"),
            )
            self._decided(conn, case, coder, "added", None, code, "")
            return self._code(conn, case.id, code)

    def move(self, case_id: str, code: str, new_sequence: int, coder: str) -> CaseCode:
        """Move a live code to `new_sequence` (1..number of live codes); the others close up.
        Sequence 1 belongs to the principal: change it with `set_principal`."""
        coder = _coder(coder)
        with self._decision(case_id) as (conn, case):
            row = self._code(conn, case.id, code)
            live = [c for c in self._codes(conn, case.id) if c.status != "rejected"]
            if row.status == "rejected":
                raise ValueError(f"{row.code} is rejected on case {case.id}: accept it before moving it")
            if isinstance(new_sequence, bool) or not isinstance(new_sequence, int):
                raise ValueError(f"a sequence is a whole number, not {new_sequence!r}")
            if not 1 <= new_sequence <= len(live):
                raise ValueError(f"case {case.id} has live codes at sequences 1 to {len(live)}, not {new_sequence}")
            if new_sequence == row.sequence:
                return row
            has_principal = live[0].principal
            if has_principal and (row.principal or new_sequence == 1):
                raise ValueError(
                    f"the principal diagnosis {live[0].code} stays at sequence 1: use set_principal to change it"
                )
            order = [c.code for c in live if c.code != row.code]
            order.insert(new_sequence - 1, row.code)
            conn.executemany(
                "UPDATE case_codes SET sequence = ? WHERE case_id = ? AND code = ?",
                [(i, case.id, c) for i, c in enumerate(order, 1)],
            )
            self._decided(conn, case, coder, "moved", row.code, row.code, f"{row.sequence} -> {new_sequence}")
            return self._code(conn, case.id, row.code)

    def set_principal(self, case_id: str, code: str, coder: str) -> CaseCode:
        """Mark a live code as the principal (first-listed) diagnosis: it moves to sequence 1, and
        the former principal, if any, loses the mark and follows it at 2."""
        coder = _coder(coder)
        with self._decision(case_id) as (conn, case):
            row = self._code(conn, case.id, code)
            if row.status == "rejected":
                raise ValueError(f"{row.code} is rejected on case {case.id}: accept it before making it principal")
            if row.principal:
                return row
            before = next((c.code for c in self._codes(conn, case.id) if c.principal), None)
            conn.execute("UPDATE case_codes SET principal = 0 WHERE case_id = ?", (case.id,))
            conn.execute(
                "UPDATE case_codes SET principal = 1, sequence = 0 WHERE case_id = ? AND code = ?", (case.id, row.code)
            )
            self._decided(conn, case, coder, "principal", before, row.code, "")
            return self._code(conn, case.id, row.code)

    # -- reading ------------------------------------------------------------------------------

    def codes(self, case_id: str) -> list[CaseCode]:
        """The case's codes in sequence order: the live codes (principal first), then the rejected."""
        with self._read() as conn:
            self._case(conn, case_id)
            return self._codes(conn, case_id)

    def audit(self, case_id: str) -> list[AuditEntry]:
        """The case's audit trail, oldest first."""
        with self._read() as conn:
            self._case(conn, case_id)
            rows = conn.execute("SELECT * FROM audit WHERE case_id = ? ORDER BY id", (case_id,))
            return [AuditEntry(**dict(r)) for r in rows]

    def findings(self, case_id: str) -> list[Finding]:
        """The guideline findings the agent reported with its result (they are not recomputed)."""
        with self._read() as conn:
            self._case(conn, case_id)
            rows = conn.execute("SELECT * FROM findings WHERE case_id = ? ORDER BY position", (case_id,))
            try:
                return [Finding(r["kind"], r["severity"], r["message"], tuple(json.loads(r["codes"]))) for r in rows]
            except (TypeError, ValueError) as exc:
                raise DataError(f"the findings of case {case_id} in {self.path} are corrupt: {exc}") from exc

    # -- helpers ------------------------------------------------------------------------------

    @contextmanager
    def _decision(self, case_id: str) -> Iterator[tuple[sqlite3.Connection, Case]]:
        with self._write() as conn:
            case = self._case(conn, case_id)
            if case.status == "done":
                raise ValueError(f"case {case.id} is done: set its status back to in_review to change its codes")
            yield conn, case

    def _decided(
        self,
        conn: sqlite3.Connection,
        case: Case,
        coder: str,
        action: str,
        before: str | None,
        after: str | None,
        reason: str,
    ) -> None:
        """The common end of a decision: renumber, audit, and start the review if it had not."""
        _resequence(conn, case.id)
        at = self._now()
        status = "in_review" if case.status in _REVIEW_STARTS else case.status
        conn.execute("UPDATE cases SET status = ?, updated_at = ? WHERE id = ?", (status, at, case.id))
        self._audit(conn, case.id, at, coder, action, before, after, reason)

    @staticmethod
    def _audit(
        conn: sqlite3.Connection,
        case_id: str,
        at: str,
        coder: str,
        action: str,
        before: str | None,
        after: str | None,
        reason: str,
    ) -> None:
        conn.execute(
            "INSERT INTO audit(case_id, at, coder, action, code_before, code_after, reason) VALUES (?,?,?,?,?,?,?)",
            (case_id, at, coder, action, before, after, reason),
        )

    def _case(self, conn: sqlite3.Connection, case_id: str) -> Case:
        row = conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise LookupError(f"no case {case_id!r} in the case store {self.path}")
        return _case(row)

    def _codes(self, conn: sqlite3.Connection, case_id: str) -> list[CaseCode]:
        rows = conn.execute("SELECT * FROM case_codes WHERE case_id = ? ORDER BY sequence", (case_id,))
        try:
            return [_case_code(r) for r in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"the codes of case {case_id} in {self.path} are corrupt: {exc}") from exc

    def _code(self, conn: sqlite3.Connection, case_id: str, code: str) -> CaseCode:
        key = code_key(code)
        for row in self._codes(conn, case_id):
            if code_key(row.code) == key:
                return row
        raise LookupError(f"{code.strip() or '(empty)'} is not among the codes of case {case_id}")

    def _absent(self, conn: sqlite3.Connection, case_id: str, code: str) -> None:
        key = code_key(code)
        for row in self._codes(conn, case_id):
            if code_key(row.code) == key:
                hint = "accept it instead" if row.status == "rejected" else "it is already there"
                raise ValueError(f"{row.code} is already a code of case {case_id} ({row.status}): {hint}")

    @staticmethod
    def _insert_code(conn: sqlite3.Connection, c: CaseCode) -> None:
        conn.execute(
            "INSERT INTO case_codes VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                c.case_id,
                c.code,
                c.title,
                c.status,
                c.sequence,
                int(c.principal),
                json.dumps([asdict(e) for e in c.evidence]),
                json.dumps([asdict(s) for s in c.reasoning]),
                c.confidence,
                c.reason,
                c.origin,
                json.dumps(list(c.alternatives)),
            ),
        )


# -- module helpers ------------------------------------------------------------------------------


def _options(setting: str, reasoner: str, profile: str | None) -> str:
    return f"{setting}, {reasoner} reasoner, {f'profile {profile}' if profile else 'no profile'}"


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def _coder(coder: str) -> str:
    name = " ".join((coder or "").split())
    if not name:
        raise ValueError("every decision is audited under a coder's name: give one")
    return name


def _new_code(code: str, title: str) -> tuple[str, str]:
    if not code_key(code or ""):
        raise ValueError("give the code to use")
    title = " ".join((title or "").split())
    if not title:
        raise ValueError(f"give the title of {dotted(code)}")
    return dotted(code), title


def _title_of(note: str) -> str:
    first = " ".join(next(line for line in note.splitlines() if line.strip()).split())
    if len(first) <= _TITLE_CHARS:
        return first
    cut = first[: _TITLE_CHARS - 2]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut[:-1]).rstrip() + "..."


def _resequence(conn: sqlite3.Connection, case_id: str) -> None:
    """Sequences 1..m again: the principal, the other live codes in their order, the rejected."""
    rows = conn.execute(
        "SELECT code FROM case_codes WHERE case_id = ? ORDER BY status = 'rejected', principal = 0, sequence, rowid",
        (case_id,),
    ).fetchall()
    conn.executemany(
        "UPDATE case_codes SET sequence = ? WHERE case_id = ? AND code = ?",
        [(i, case_id, r[0]) for i, r in enumerate(rows, 1)],
    )


def _case(row: sqlite3.Row) -> Case:
    return Case(
        id=row["id"],
        title=row["title"],
        note=row["note"],
        status=row["status"],
        setting=row["setting"],
        reasoner=row["reasoner"],
        profile=row["profile"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        source=row["source"],
    )


def _case_code(row: sqlite3.Row) -> CaseCode:
    return CaseCode(
        case_id=row["case_id"],
        code=row["code"],
        title=row["title"],
        status=row["status"],
        sequence=row["sequence"],
        principal=bool(row["principal"]),
        evidence=tuple(evidence_from(e) for e in json.loads(row["evidence"])),
        reasoning=tuple(Step(**s) for s in json.loads(row["reasoning"])),
        confidence=row["confidence"],
        reason=row["reason"],
        origin=row["origin"],
        alternatives=tuple(json.loads(row["alternatives"])),
    )


def _coder_evidence(e: Evidence | Mapping[str, Any]) -> Evidence:
    if isinstance(e, Evidence):
        return e
    try:
        return Evidence(int(e["start"]), int(e["end"]), str(e["text"]), source=str(e.get("source", "coder")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"evidence needs 'start', 'end' and 'text', not {e!r}") from exc


def _check_evidence(case: Case, spans: tuple[Evidence, ...], error: type[Exception]) -> None:
    for e in spans:
        if not (0 <= e.start <= e.end <= len(case.note)) or case.note[e.start : e.end] != e.text:
            raise error(f"evidence {e.start}-{e.end} {e.text!r} is not at those offsets in the note of case {case.id}")


def _steps(reasoning: Any) -> tuple[Step, ...]:
    """Reasoning steps from the state's list of {stage, detail} or to_json's "stage: detail | ..."."""
    if isinstance(reasoning, str):
        steps = []
        for part in (p.strip() for p in reasoning.split(" | ")):
            if part:
                stage, sep, detail = part.partition(": ")
                steps.append(Step(stage, detail) if sep else Step("agent", part))
        return tuple(steps)
    return tuple(Step(str(s["stage"]), str(s["detail"])) for s in reasoning or ())


def _agent_result(case: Case, result: Mapping[str, Any]) -> tuple[list[CaseCode], list[Finding]]:
    try:
        suggested = list(result.get("codes") or [])
        rejected = list(result.get("rejected", result.get("candidates")) or [])
        marked = [i for i, d in enumerate(suggested) if d.get("principal")]
        if any("principal" in d for d in suggested):
            principal = marked[0] if marked else None
        else:
            principal = 0 if suggested else None  # to_json() lists the principal first
        if principal is not None:
            suggested.insert(0, suggested.pop(principal))
        rows: list[CaseCode] = []
        seen: set[str] = set()
        for i, d in enumerate(suggested):
            code = dotted(str(d["code"]))
            if code_key(code) in seen:
                continue
            seen.add(code_key(code))
            spans = tuple(evidence_from(e) for e in d.get("evidence") or ())
            rows.append(
                CaseCode(
                    case.id,
                    code,
                    str(d.get("title", "")),
                    "suggested",
                    len(rows) + 1,
                    principal is not None and i == 0,
                    spans,
                    _steps(d.get("reasoning")),
                    float(d["confidence"]) if d.get("confidence") is not None else None,
                    "",
                    "agent",
                    tuple(str(a) for a in d.get("alternatives") or ()),
                )
            )
        for d in rejected:
            code = dotted(str(d["code"]))
            if code_key(code) in seen:
                continue
            seen.add(code_key(code))
            spans = tuple(evidence_from(e) for e in d.get("evidence") or ())
            reason = str(d.get("reason") or "rejected by the agent")
            title = str(d.get("title", ""))
            sequence = len(rows) + 1
            rows.append(CaseCode(case.id, code, title, "rejected", sequence, False, spans, (), None, reason, "agent"))
        findings = [finding_from(f) for f in result.get("findings") or []]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"the agent's result for case {case.id} is malformed: {exc!r}") from exc
    for row in rows:
        _check_evidence(case, row.evidence, DataError)
    bad = [f for f in findings if f.severity not in ("error", "warning")]
    if bad:
        raise DataError(f"the agent's result for case {case.id} has a finding of severity {bad[0].severity!r}")
    return rows, findings
