"""The coder's decisions on the codes of a case: accept, reject, change, add, move, mark the
principal, and keep both codes of an Excludes1 pair for a stated reason.

Each decision changes the codes and writes its one audit entry in one transaction (`_decision` ...
`_decided` in `app.review.database`), so a crash or a refused request leaves neither a half-made
change nor an unaudited one. A code the coder brings in (add, change) must be a code of the code
book the store was opened with, and is stored with the code book's spelling and title.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.guidelines.checks import excludes1_conflicts
from agent.records import Evidence
from app.review import guards
from app.review.database import LAST, CaseDatabase
from app.review.records import ON_CLAIM, CaseCode, KeptPair
from index.errors import DecisionRefused
from index.model import code_key


class CaseDecisions(CaseDatabase):
    """The decisions of `app.review.store.CaseStore` on a case's codes."""

    def accept(self, case_id: str, code: str, coder: str) -> CaseCode:
        """Accept a suggested code, or one rejected before (it joins the end of the live codes)."""
        coder = guards.coder_name(coder)
        with self._decision(case_id, coder) as (conn, case):
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
        reason = guards.reason(reason, "a rejection needs a reason: say why the code does not apply")
        with self._decision(case_id, coder) as (conn, case):
            row = self._code(conn, case.id, code)
            if row.status == "rejected":
                raise DecisionRefused(f"{row.code} is already rejected on case {case.id}")
            self._set_rejected(conn, case.id, row.code, reason)
            self._decided(conn, case, coder, "rejected", row.code, None, reason)
            return self._code(conn, case.id, row.code)

    def change(self, case_id: str, old_code: str, new_code: str, coder: str, reason: str = "") -> CaseCode:
        """Replace a live code by another code of the code book in its place: its sequence, and the
        principal mark if it has it. The new code counts as accepted; one audit entry "changed"
        records both codes.

        A code new to the case takes over the old code's row, its evidence and reasoning, as chosen
        by the coder. A code the case holds as rejected (the agent often rejects a sibling it also
        offers as an alternative) is accepted with its own evidence, and the old code is rejected
        with the coder's reason, or "changed to NEW" without one.
        """
        coder = guards.coder_name(coder)
        record = guards.book_code(self.book, new_code)
        new_code = record.code
        reason = " ".join((reason or "").split())
        with self._decision(case_id, coder) as (conn, case):
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
                    (new_code, record.title, case.id, row.code),
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

    def add(self, case_id: str, code: str, coder: str, evidence: Sequence[Evidence] = ()) -> CaseCode:
        """Add a code of the code book the agent did not suggest, after the live codes, with the
        code book's title. Evidence offsets must index the note exactly (`note[start:end] == text`)."""
        coder = guards.coder_name(coder)
        record = guards.book_code(self.book, code)
        code, title = record.code, record.title
        with self._decision(case_id, coder) as (conn, case):
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
        with self._decision(case_id, coder) as (conn, case):
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
        with self._decision(case_id, coder) as (conn, case):
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

    def keep_excludes1(self, case_id: str, code_a: str, code_b: str, reason: str, coder: str) -> KeptPair:
        """Keep both codes of an Excludes1 pair on the claim, for the coder's reason (Guidelines
        I.A.12.a allow both when the conditions are unrelated): `validate_claim` then reports the
        pair as a warning citing the reason. Both codes must be on the claim and be an Excludes1
        pair in the code book; one audit entry "kept_excludes1" names the pair and the reason."""
        coder = guards.coder_name(coder)
        reason = guards.reason(
            reason, "keeping both codes of an Excludes1 pair needs a reason: say why the conditions are unrelated"
        )
        with self._decision(case_id, coder) as (conn, case):
            rows = [self._code(conn, case.id, code_a), self._code(conn, case.id, code_b)]
            if rows[0].code == rows[1].code:
                raise DecisionRefused(f"{rows[0].code} and {rows[1].code} are one code: an Excludes1 pair has two")
            for row, other in ((rows[0], rows[1]), (rows[1], rows[0])):
                if not row.on_claim:
                    raise DecisionRefused(
                        f"{row.code} is {row.status} on case {case.id}: accept it before keeping it with {other.code}"
                    )
            a, b = sorted(r.code for r in rows)
            if not excludes1_conflicts([a, b], self.book):
                raise DecisionRefused(
                    f"{a} and {b} are not an Excludes1 pair in {self.book.info.title} {self.book.info.release}: "
                    "there is nothing to keep"
                )
            kept = conn.execute(
                "SELECT reason FROM kept_excludes1 WHERE case_id = ? AND code_a = ? AND code_b = ?", (case.id, a, b)
            ).fetchone()
            if kept is not None:
                raise DecisionRefused(f"{a} and {b} are already kept together on case {case.id}: {kept[0]}")
            conn.execute("INSERT INTO kept_excludes1 VALUES (?,?,?,?)", (case.id, a, b, reason))
            self._decided(conn, case, coder, "kept_excludes1", a, b, reason)
            return KeptPair(case.id, (a, b), reason)
