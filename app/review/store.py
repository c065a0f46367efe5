"""The coder's case store: notes, the agent's suggestions, the coder's decisions and their audit
trail, in one SQLite file.

Every decision changes the codes and writes its one audit entry in one transaction, so a crash or a
refused request leaves neither a half-made change nor an unaudited one. A `CaseStore` holds one
connection guarded by a lock, so a Streamlit app can share one store across sessions. It is opened
with the code book (`index.store.CodeStore`) that the codes a coder brings in are taken from.

Order of a case's codes: the live codes (suggested, accepted, added) hold sequences 1..n with the
principal, when one is marked, at 1; the rejected codes follow at n+1..m. Only accepted and added
codes go on the claim (`app.review.exports`).
"""

from __future__ import annotations

from agent.records import REASONERS, SETTINGS, CodingResult, Finding, NonClinical
from app.review import audit_chain, guards, leases
from app.review.decisions import CaseDecisions
from app.review.inpatient import CaseInpatient
from app.review.records import (
    CASE_STATUSES,
    REFERENCE_TYPES,
    AgentRun,
    AuditEntry,
    Case,
    CaseCode,
    KeptPair,
    References,
)
from app.review.rows import (
    agent_run_from_row,
    agent_run_params,
    case_from_row,
    finding_from_row,
    finding_params,
    kept_from_row,
    non_clinical_from_row,
    result_codes,
    result_findings,
    result_non_clinical,
    result_procedures,
)
from index.errors import CaseNotFound, DataError, DecisionRefused

# Audit actions that are not decisions on the codes: coding again does not discard them.
_NOT_DECISIONS = ("created", "coded", "status", "options", "reference", "encounter")
LEASE_MINUTES = 15


class CaseStore(CaseDecisions, CaseInpatient):
    """The cases of one workbench, in the SQLite file at `path` (created when missing, migrated
    from an older schema), with codes from the code book `book`.

    An unknown case, or a code the case does not hold, raises CaseNotFound; a request that cannot
    be done (a rejection without a reason, a code not in the code book, a decision on a done case)
    raises DecisionRefused; an empty or oversized note raises NoteError; a file that is not a case
    store, or an agent result that does not fit its note, raises DataError. None of them changes
    anything.
    """

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
        """A new case for `note` (kept exactly as given: evidence offsets index it), refused when
        it is empty or larger than the store's limit in UTF-8 bytes. A blank title becomes the
        note's first line, shortened."""
        note = guards.note_text(note, self.max_note_bytes)
        guards.one_of("setting", setting, SETTINGS)
        guards.one_of("reasoner", reasoner, REASONERS)
        named = any(source.startswith(kind) and source[len(kind) :].strip() for kind in ("sample:", "api:"))
        if source not in ("pasted", "upload") and not named:
            raise DecisionRefused(
                f"source must be 'pasted', 'upload', 'sample:<name>' or 'api:<account>', not {source!r}"
            )
        title = " ".join(title.split()) or guards.title_of(note)
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

    def audit_created(self, case_id: str, by: str, reason: str) -> None:
        """Audit who put a case on the worklist when it came from a program ("created")."""
        with self._write() as conn:
            case = self._case(conn, case_id)
            self._audit(conn, case.id, self._now(), guards.coder_name(by), "created", None, None, reason)

    def open_case(self, case_id: str, coder: str, minutes: int = LEASE_MINUTES) -> leases.Lease:
        """Take (or renew) the case's lease for `coder`: while it runs, only they change the case.
        Refused, with who holds it and until when, while another account's lease runs."""
        coder = guards.coder_name(coder)
        with self._write() as conn:
            case = self._case(conn, case_id)
            return leases.take(conn, case.id, coder, self._utc, minutes)

    def lease(self, case_id: str) -> leases.Lease | None:
        """Who has the case open now, if anyone."""
        with self._read() as conn:
            return leases.holder(conn, case_id, self._utc)

    def close_cases(self, coder: str) -> None:
        """Give back the lease `coder` holds, if any (signing out)."""
        with self._write() as conn:
            leases.release(conn, coder)

    def list_cases(self) -> list[Case]:
        """Every case, in worklist order (the order they were created)."""
        with self._read() as conn:
            return [case_from_row(r) for r in conn.execute("SELECT * FROM cases ORDER BY seq")]

    def get_case(self, case_id: str) -> Case:
        with self._read() as conn:
            return self._case(conn, case_id)

    def next_case(self, after_id: str | None = None) -> Case | None:
        """The first case after `after_id` in worklist order that is not done, wrapping round to
        the start; None when no other case is left to do. Without `after_id`, the first not done."""
        cases = self.list_cases()
        if after_id is not None:
            ids = [c.id for c in cases]
            if after_id not in ids:
                raise CaseNotFound(f"no case {after_id!r} in the case store {self.name}")
            start = ids.index(after_id) + 1
            cases = cases[start:] + cases[: start - 1]
        return next((c for c in cases if c.status != "done"), None)

    def sign_off(self, case_id: str, auditor: str) -> AuditEntry:
        """The second-level review's sign-off of a done case, by an auditor or admin account that
        took no part in coding it (no entry of theirs on the case but status changes, such as
        reopening it for its coder, and earlier sign-offs)."""
        auditor = guards.coder_name(auditor)
        with self._write() as conn:
            case = self._case(conn, case_id)
            role = conn.execute("SELECT role FROM users WHERE username = ? AND disabled = 0", (auditor,)).fetchone()
            if role is None or role[0] not in ("auditor", "admin"):
                raise DecisionRefused(f"only an auditor or an admin signs off a case; {auditor} is not one")
            if case.status != "done":
                raise DecisionRefused(f"case {case.id} is not done: it is signed off once its coder marks it done")
            worked = conn.execute(
                "SELECT count(*) FROM audit WHERE case_id = ? AND coder = ? AND action NOT IN ('signed_off', 'status')",
                (case.id, auditor),
            ).fetchone()[0]
            if worked:
                raise DecisionRefused(f"{auditor} worked on case {case.id}: another auditor signs it off")
            self._audit(conn, case.id, self._now(), auditor, "signed_off", None, None, "")
        return self.audit(case.id)[-1]

    def set_status(self, case_id: str, status: str, coder: str) -> Case:
        coder = guards.coder_name(coder)
        guards.one_of("status", status, CASE_STATUSES)
        with self._write() as conn:
            case = self._case(conn, case_id)
            leases.check(conn, case.id, coder, self._utc)
            if case.status == status:
                return case
            if status == "done":
                undecided = [c.code for c in self._codes(conn, case.id) if c.status == "suggested"]
                if undecided:
                    raise DecisionRefused(
                        f"case {case.id} still has {len(undecided)} undecided suggestion(s) "
                        f"({', '.join(undecided[:5])}{', ...' if len(undecided) > 5 else ''}): accept or reject "
                        "each before marking it done, so that none drops off the claim unseen"
                    )
            at = self._now()
            conn.execute("UPDATE cases SET status = ?, updated_at = ? WHERE id = ?", (status, at, case.id))
            self._audit(conn, case.id, at, coder, "status", None, None, f"{case.status} -> {status}")
            return self._case(conn, case.id)

    def set_options(self, case_id: str, setting: str, reasoner: str, profile: str | None, coder: str) -> Case:
        """Change how the agent codes a case (care setting, reasoner, learned profile) before
        anyone has decided on its codes; "Code again" then uses them. After review has started
        the options stay, since coding again would discard the coder's decisions."""
        coder = guards.coder_name(coder)
        guards.one_of("setting", setting, SETTINGS)
        guards.one_of("reasoner", reasoner, REASONERS)
        profile = profile or None
        with self._write() as conn:
            case = self._case(conn, case_id)
            leases.check(conn, case.id, coder, self._utc)
            if not case.undecided:
                status = case.status.replace("_", " ")
                raise DecisionRefused(f"case {case.id} is {status}: its options can no longer change")
            before = (case.setting, case.reasoner, case.profile)
            if before == (setting, reasoner, profile):
                return case
            at = self._now()
            conn.execute(
                "UPDATE cases SET setting = ?, reasoner = ?, profile = ?, updated_at = ? WHERE id = ?",
                (setting, reasoner, profile, at, case.id),
            )
            change = f"{_options(*before)} -> {_options(setting, reasoner, profile)}"
            self._audit(conn, case.id, at, coder, "options", None, None, change)
            return self._case(conn, case.id)

    def set_references(self, case_id: str, references: References, coder: str) -> Case:
        """Record who the claim is for, from and to: FHIR references ("Patient/123",
        "Organization/456"), each checked for its shape and resource type; a blank one clears it.
        Each reference that changes gets its own audit entry "reference"; the case's status stays.
        Refused on a done case, whose claim is final."""
        coder = guards.coder_name(coder)
        given = {role: guards.reference(role, getattr(references, role)) for role in REFERENCE_TYPES}
        with self._write() as conn:
            case = self._case(conn, case_id)
            leases.check(conn, case.id, coder, self._utc)
            if case.status == "done":
                raise DecisionRefused(
                    f"case {case.id} is done: set its status back to in_review to change its references"
                )
            changed = {r: v for r, v in given.items() if getattr(case.references, r) != v}
            if not changed:
                return case
            at = self._now()
            for role, value in changed.items():
                conn.execute(f"UPDATE cases SET {role}_ref = ?, updated_at = ? WHERE id = ?", (value, at, case.id))
                change = f"{role}: {getattr(case.references, role) or '(none)'} -> {value or '(none)'}"
                self._audit(conn, case.id, at, coder, "reference", None, None, change)
            return self._case(conn, case.id)

    # -- the agent's result ----------------------------------------------------------------

    def save_result(self, case_id: str, result: CodingResult, coder: str) -> list[CaseCode]:
        """Store the agent's result: its suggestions (principal first), its rejected candidates
        (status "rejected", with the agent's reason), its procedures, its findings and the note's sentences it
        found addressed to the software (`non_clinical`), replacing an earlier result, and audit
        "coded" (with the LLM reasoner's fallback, if it fell back). Refused once the coder has
        decided anything on the current result (the decisions would be lost), and on a done case.
        """
        coder = guards.coder_name(coder)
        with self._write() as conn:
            case = self._case(conn, case_id)
            leases.check(conn, case.id, coder, self._utc)
            if case.status == "done":
                raise DecisionRefused(
                    f"case {case.id} is done: set its status back to in_review before coding it again"
                )
            marks = ",".join("?" * len(_NOT_DECISIONS))
            decided = conn.execute(
                f"SELECT count(*) FROM audit WHERE case_id = ? AND action NOT IN ({marks})"
                " AND id > coalesce((SELECT max(id) FROM audit WHERE case_id = ? AND action = 'coded'), 0)",
                (case.id, *_NOT_DECISIONS, case.id),
            ).fetchone()[0]
            if decided:
                raise DecisionRefused(
                    f"case {case.id} holds {decided} decision(s) of the coder: "
                    "saving a new agent result would discard them"
                )
            rows, findings = result_codes(case, result), result_findings(case, result)
            asides = result_non_clinical(case, result)
            self._insert_procedures(conn, case.id, result_procedures(case, result))
            for table in ("case_codes", "findings", "non_clinical", "agent_runs"):
                conn.execute(f"DELETE FROM {table} WHERE case_id = ?", (case.id,))
            run = agent_run_params(case.id, result)
            if run is not None:
                conn.execute("INSERT INTO agent_runs VALUES (?,?,?,?,?,?)", run)
            for row in rows:
                self._insert_code(conn, row)
            conn.executemany(
                "INSERT INTO findings VALUES (?,?,?,?,?,?)",
                [finding_params(case.id, i, f) for i, f in enumerate(findings)],
            )
            conn.executemany("INSERT INTO non_clinical VALUES (?,?,?,?,?,?)", asides)
            at = self._now()
            conn.execute("UPDATE cases SET status = 'coded', updated_at = ? WHERE id = ?", (at, case.id))
            reason = f"fallback: {result.fallback}" if result.fallback else ""
            self._audit(conn, case.id, at, coder, "coded", None, None, reason)
            self._propose_encounter(conn, case, coder)
            return self._codes(conn, case.id)

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
            fields = ", ".join(audit_chain.FIELDS)
            rows = conn.execute(f"SELECT {fields} FROM audit WHERE case_id = ? ORDER BY id", (case_id,))
            return [AuditEntry(**dict(r)) for r in rows]

    def all_audit(self) -> list[AuditEntry]:
        """Every case's audit trail, oldest first (what the team view counts)."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {', '.join(audit_chain.FIELDS)} FROM audit ORDER BY id")
            return [AuditEntry(**dict(r)) for r in rows]

    def findings(self, case_id: str) -> list[Finding]:
        """The guideline findings the agent reported with its result (they are not recomputed)."""
        with self._read() as conn:
            self._case(conn, case_id)
            rows = conn.execute("SELECT * FROM findings WHERE case_id = ? ORDER BY position", (case_id,))
            try:
                return [finding_from_row(r) for r in rows]
            except (TypeError, ValueError) as exc:
                raise DataError(f"the findings of case {case_id} in {self.name} are corrupt: {exc}") from exc

    def non_clinical(self, case_id: str) -> list[NonClinical]:
        """The sentences of the note the agent found addressed to the software or the coder, in
        note order: no code rests on them."""
        with self._read() as conn:
            self._case(conn, case_id)
            rows = conn.execute("SELECT * FROM non_clinical WHERE case_id = ? ORDER BY start, position", (case_id,))
            return [non_clinical_from_row(r) for r in rows]

    def agent_run(self, case_id: str) -> AgentRun | None:
        """The LLM agent's run behind the case's current result, or None (the offline reasoner)."""
        with self._read() as conn:
            self._case(conn, case_id)
            row = conn.execute("SELECT * FROM agent_runs WHERE case_id = ?", (case_id,)).fetchone()
            return agent_run_from_row(row) if row is not None else None

    def kept_pairs(self, case_id: str) -> list[KeptPair]:
        """The Excludes1 pairs the coder keeps on the case, with their reasons, in code order."""
        with self._read() as conn:
            self._case(conn, case_id)
            rows = conn.execute("SELECT * FROM kept_excludes1 WHERE case_id = ? ORDER BY code_a, code_b", (case_id,))
            return [kept_from_row(r) for r in rows]


def _options(setting: str, reasoner: str, profile: str | None) -> str:
    return f"{setting}, {reasoner} reasoner, {f'profile {profile}' if profile else 'no profile'}"
