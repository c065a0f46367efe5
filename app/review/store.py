"""The coder's case store: notes, the agent's suggestions, the coder's decisions and their audit
trail, in one SQLite file.

Every decision changes the codes and writes its one audit entry in one transaction, so a crash or a
refused request leaves neither a half-made change nor an unaudited one. A `CaseStore` holds one
connection guarded by a lock, so a Streamlit app can share one store across sessions.

Order of a case's codes: the live codes (suggested, accepted, added) hold sequences 1..n with the
principal, when one is marked, at 1; the rejected codes follow at n+1..m. Only accepted and added
codes go on the claim (`app.review.exports`).
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.records import REASONERS, SETTINGS, CodingResult, Evidence, Finding
from app.review import guards
from app.review.database import LAST, CaseDatabase
from app.review.records import CASE_STATUSES, ON_CLAIM, AuditEntry, Case, CaseCode
from app.review.rows import case_from_row, finding_from_row, finding_params, result_codes, result_findings
from index.errors import CaseNotFound, DataError, DecisionRefused, NoteError
from index.model import code_key


class CaseStore(CaseDatabase):
    """The cases of one workbench, in the SQLite file at `path` (created when missing).

    An unknown case, or a code the case does not hold, raises CaseNotFound; a request that cannot
    be done (a rejection without a reason, a decision on a done case) raises DecisionRefused; an
    empty note raises NoteError; a file that is not a case store, or an agent result that does not
    fit its note, raises DataError. None of them changes anything.
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
        """A new case for `note` (kept exactly as given: evidence offsets index it). A blank title
        becomes the note's first line, shortened."""
        if not isinstance(note, str) or not note.strip():
            raise NoteError("the note is empty: paste or upload the clinical note to code")
        guards.one_of("setting", setting, SETTINGS)
        guards.one_of("reasoner", reasoner, REASONERS)
        if source not in ("pasted", "upload") and not (source.startswith("sample:") and source[7:].strip()):
            raise DecisionRefused(f"source must be 'pasted', 'upload' or 'sample:<name>', not {source!r}")
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
                raise CaseNotFound(f"no case {after_id!r} in the case store {self.path}")
            start = ids.index(after_id) + 1
            cases = cases[start:] + cases[: start - 1]
        return next((c for c in cases if c.status != "done"), None)

    def set_status(self, case_id: str, status: str, coder: str) -> Case:
        coder = guards.coder_name(coder)
        guards.one_of("status", status, CASE_STATUSES)
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
        coder = guards.coder_name(coder)
        guards.one_of("setting", setting, SETTINGS)
        guards.one_of("reasoner", reasoner, REASONERS)
        profile = profile or None
        with self._write() as conn:
            case = self._case(conn, case_id)
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

    # -- the agent's result ----------------------------------------------------------------

    def save_result(self, case_id: str, result: CodingResult, coder: str) -> list[CaseCode]:
        """Store the agent's result: its suggestions (principal first), its rejected candidates
        (status "rejected", with the agent's reason) and its findings, replacing an earlier result,
        and audit "coded" (with the LLM reasoner's fallback, if it fell back). Refused once the coder
        has decided anything on the current result (the decisions would be lost), and on a done case.
        """
        coder = guards.coder_name(coder)
        with self._write() as conn:
            case = self._case(conn, case_id)
            if case.status == "done":
                raise DecisionRefused(
                    f"case {case.id} is done: set its status back to in_review before coding it again"
                )
            decided = conn.execute(
                "SELECT count(*) FROM audit WHERE case_id = ? AND action NOT IN ('coded', 'status', 'options')"
                " AND id > coalesce((SELECT max(id) FROM audit WHERE case_id = ? AND action = 'coded'), 0)",
                (case.id, case.id),
            ).fetchone()[0]
            if decided:
                raise DecisionRefused(
                    f"case {case.id} holds {decided} decision(s) of the coder: "
                    "saving a new agent result would discard them"
                )
            rows, findings = result_codes(case, result), result_findings(case, result)
            conn.execute("DELETE FROM case_codes WHERE case_id = ?", (case.id,))
            conn.execute("DELETE FROM findings WHERE case_id = ?", (case.id,))
            for row in rows:
                self._insert_code(conn, row)
            conn.executemany(
                "INSERT INTO findings VALUES (?,?,?,?,?,?)",
                [finding_params(case.id, i, f) for i, f in enumerate(findings)],
            )
            at = self._now()
            conn.execute("UPDATE cases SET status = 'coded', updated_at = ? WHERE id = ?", (at, case.id))
            reason = f"fallback: {result.fallback}" if result.fallback else ""
            self._audit(conn, case.id, at, coder, "coded", None, None, reason)
            return self._codes(conn, case.id)

    # -- the coder's decisions ---------------------------------------------------------------

    def accept(self, case_id: str, code: str, coder: str) -> CaseCode:
        """Accept a suggested code, or one rejected before (it joins the end of the live codes)."""
        coder = guards.coder_name(coder)
        with self._decision(case_id) as (conn, case):
            row = self._code(conn, case.id, code)
            if row.status in ON_CLAIM:
                raise DecisionRefused(f"{row.code} is already {row.status} on case {case.id}")
            sequence = row.sequence if row.status == "suggested" else LAST
            conn.execute(
                "UPDATE case_codes SET status = 'accepted', reason = '', sequence = ? WHERE case_id = ? AND code = ?",
                (sequence, case.id, row.code),
            )
            self._decided(conn, case, coder, "accepted", row.code, row.code, "")
            return self._code(conn, case.id, row.code)

    def reject(self, case_id: str, code: str, reason: str, coder: str) -> CaseCode:
        """Reject a live code (it leaves the claim, and loses the principal mark if it had it)."""
        coder = guards.coder_name(coder)
        reason = " ".join((reason or "").split())
        if not reason:
            raise DecisionRefused("a rejection needs a reason: say why the code does not apply")
        with self._decision(case_id) as (conn, case):
            row = self._code(conn, case.id, code)
            if row.status == "rejected":
                raise DecisionRefused(f"{row.code} is already rejected on case {case.id}")
            self._set_rejected(conn, case.id, row.code, reason)
            self._decided(conn, case, coder, "rejected", row.code, None, reason)
            return self._code(conn, case.id, row.code)

    def change(
        self, case_id: str, old_code: str, new_code: str, new_title: str, coder: str, reason: str = ""
    ) -> CaseCode:
        """Replace a live code by another in its place: its sequence, and the principal mark if it
        has it. The new code counts as accepted; one audit entry "changed" records both codes.

        A code new to the case takes over the old code's row, its evidence and reasoning, as chosen
        by the coder. A code the case holds as rejected (the agent often rejects a sibling it also
        offers as an alternative) is accepted with its own evidence, and the old code is rejected
        with the coder's reason, or "changed to NEW" without one.
        """
        coder = guards.coder_name(coder)
        new_code, new_title = guards.new_code(new_code, new_title)
        reason = " ".join((reason or "").split())
        with self._decision(case_id) as (conn, case):
            row = self._code(conn, case.id, old_code)
            if row.status == "rejected":
                raise DecisionRefused(f"{row.code} is rejected on case {case.id}: add the code you want instead")
            if code_key(new_code) == code_key(row.code):
                raise DecisionRefused(f"{row.code} would be changed to itself")
            target = self._find(conn, case.id, new_code)
            if target is None:
                conn.execute(
                    "UPDATE case_codes SET code = ?, title = ?, status = 'accepted', confidence = NULL,"
                    " origin = 'coder', alternatives = '[]' WHERE case_id = ? AND code = ?",
                    (new_code, new_title, case.id, row.code),
                )
            elif target.status == "rejected":
                new_code = target.code
                self._set_rejected(conn, case.id, row.code, reason or f"changed to {new_code}")
                conn.execute(
                    "UPDATE case_codes SET status = 'accepted', reason = '', principal = ?, sequence = ?"
                    " WHERE case_id = ? AND code = ?",
                    (int(row.principal), row.sequence, case.id, new_code),
                )
            else:
                raise DecisionRefused(
                    f"{target.code} is already a code of case {case.id} ({target.status}): it is already there"
                )
            self._decided(conn, case, coder, "changed", row.code, new_code, reason)
            return self._code(conn, case.id, new_code)

    def add(
        self,
        case_id: str,
        code: str,
        title: str,
        coder: str,
        evidence: Sequence[Evidence] = (),
    ) -> CaseCode:
        """Add a code the agent did not suggest, after the live codes. Evidence offsets must index
        the note exactly (`note[start:end] == text`)."""
        coder = guards.coder_name(coder)
        code, title = guards.new_code(code, title)
        with self._decision(case_id) as (conn, case):
            found = self._find(conn, case.id, code)
            if found is not None:
                hint = "accept it instead" if found.status == "rejected" else "it is already there"
                raise DecisionRefused(f"{found.code} is already a code of case {case.id} ({found.status}): {hint}")
            spans = tuple(evidence)
            guards.check_evidence(case, spans, DecisionRefused)
            self._insert_code(conn, CaseCode(case.id, code, title, "added", LAST, False, spans, (), None, "", "coder"))
            self._decided(conn, case, coder, "added", None, code, "")
            return self._code(conn, case.id, code)

    def move(self, case_id: str, code: str, new_sequence: int, coder: str) -> CaseCode:
        """Move a live code to `new_sequence` (1..number of live codes); the others close up.
        Sequence 1 belongs to the principal: change it with `set_principal`."""
        coder = guards.coder_name(coder)
        with self._decision(case_id) as (conn, case):
            row = self._code(conn, case.id, code)
            live = [c for c in self._codes(conn, case.id) if c.status != "rejected"]
            if row.status == "rejected":
                raise DecisionRefused(f"{row.code} is rejected on case {case.id}: accept it before moving it")
            if isinstance(new_sequence, bool) or not isinstance(new_sequence, int):
                raise DecisionRefused(f"a sequence is a whole number, not {new_sequence!r}")
            if not 1 <= new_sequence <= len(live):
                raise DecisionRefused(
                    f"case {case.id} has live codes at sequences 1 to {len(live)}, not {new_sequence}"
                )
            if new_sequence == row.sequence:
                return row
            if live[0].principal and (row.principal or new_sequence == 1):
                raise DecisionRefused(
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
        coder = guards.coder_name(coder)
        with self._decision(case_id) as (conn, case):
            row = self._code(conn, case.id, code)
            if row.status == "rejected":
                raise DecisionRefused(f"{row.code} is rejected on case {case.id}: accept it before making it principal")
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
                return [finding_from_row(r) for r in rows]
            except (TypeError, ValueError) as exc:
                raise DataError(f"the findings of case {case_id} in {self.path} are corrupt: {exc}") from exc


def _options(setting: str, reasoner: str, profile: str | None) -> str:
    return f"{setting}, {reasoner} reasoner, {f'profile {profile}' if profile else 'no profile'}"
