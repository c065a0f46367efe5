"""The coder's decisions on an inpatient case's ICD-10-PCS procedures: accept, reject, change one
character to another value its table row allows, and add a procedure built in the PCS encoder.

A procedure code a coder brings in or changes to must be a whole code of the ICD-10-PCS tables the
store was opened with (`index.pcs.bundled.PcsBook`); a combination no table row allows is refused
with the values the row does allow. Each decision writes its one audit entry ("procedure_accepted",
"procedure_rejected", "procedure_changed", "procedure_added") in the same transaction.
"""

from __future__ import annotations

from dataclasses import replace

from agent.records import AxisChoice, Step
from app.review import guards
from app.review.database import LAST, CaseDatabase, resequence
from app.review.records import ON_CLAIM, Case, CaseProcedure
from app.review.rows import PROCEDURE_MARKS, procedure_from_row, procedure_params
from app.review.sql import Connection
from index.errors import CaseNotFound, DataError, DecisionRefused, UnknownCode
from index.pcs.model import PcsCode, pcs_key


class CaseProcedures(CaseDatabase):
    """The procedures of `app.review.store.CaseStore`'s cases."""

    def procedures(self, case_id: str) -> list[CaseProcedure]:
        """The case's procedures: the live ones (principal first), then the rejected."""
        with self._read() as conn:
            self._case(conn, case_id)
            return self._procedures(conn, case_id)

    def accept_procedure(self, case_id: str, code: str, coder: str) -> CaseProcedure:
        coder = guards.coder_name(coder)
        with self._decision(case_id, coder) as (conn, case):
            row = self._procedure(conn, case.id, code)
            if row.status in ON_CLAIM:
                raise DecisionRefused(f"{row.code} is already {row.status} on case {case.id}")
            if len(row.code) != 7:
                raise DecisionRefused(
                    f"{row.code} is not a whole ICD-10-PCS code: choose its last characters before accepting it"
                )
            sequence = row.sequence if row.status == "suggested" else LAST
            conn.execute(
                "UPDATE case_procedures SET status = 'accepted', reason = '', sequence = ?"
                " WHERE case_id = ? AND code = ?",
                (sequence, case.id, row.code),
            )
            self._procedure_decided(conn, case, coder, "procedure_accepted", row.code, row.code, "")
            return self._procedure(conn, case.id, row.code)

    def reject_procedure(self, case_id: str, code: str, reason: str, coder: str) -> CaseProcedure:
        coder = guards.coder_name(coder)
        reason = guards.reason(reason, "a rejection needs a reason: say why the procedure does not apply")
        with self._decision(case_id, coder) as (conn, case):
            row = self._procedure(conn, case.id, code)
            if row.status == "rejected":
                raise DecisionRefused(f"{row.code} is already rejected on case {case.id}")
            self._set_rejected(conn, case.id, row.code, reason, "case_procedures")
            self._procedure_decided(conn, case, coder, "procedure_rejected", row.code, None, reason)
            return self._procedure(conn, case.id, row.code)

    def change_procedure(self, case_id: str, code: str, position: int, value: str, coder: str) -> CaseProcedure:
        """Change one character (1-7) of a procedure to another value; the rest stay. Refused, with
        the values allowed there, when no table row holds the new combination. The changed
        procedure counts as accepted and keeps the evidence of its other characters."""
        coder = guards.coder_name(coder)
        if not 1 <= position <= 7:
            raise DecisionRefused(f"an ICD-10-PCS code has characters 1 to 7, not {position}")
        with self._decision(case_id, coder) as (conn, case):
            row = self._procedure(conn, case.id, code)
            if row.status == "rejected":
                raise DecisionRefused(f"{row.code} is rejected on case {case.id}: accept it before changing it")
            full = row.code.ljust(7, "?")
            new_code = full[: position - 1] + pcs_key(value)[:1] + full[position:]
            described = self._describe(new_code)
            if self._find_procedure(conn, case.id, described.code) is not None:
                raise DecisionRefused(f"case {case.id} already holds {described.code}")
            kept = {a.position: a for a in row.axes}
            axes = tuple(
                kept[a.position]
                if a.position in kept and kept[a.position].value == a.value
                else AxisChoice(a.position, a.name, a.value, a.meaning, (), f"chosen by {coder}")
                for a in described.axes
            )
            step = Step("coder", f"{coder} changed character {position} of {row.code}: {described.code}")
            conn.execute("DELETE FROM case_procedures WHERE case_id = ? AND code = ?", (case.id, row.code))
            changed = replace(
                row,
                code=described.code,
                title=described.title,
                status="accepted",
                axes=axes,
                reasoning=(*row.reasoning, step),
                confidence=None,
                reason="",
            )
            conn.execute(f"INSERT INTO case_procedures VALUES ({PROCEDURE_MARKS})", procedure_params(changed))
            self._procedure_decided(conn, case, coder, "procedure_changed", row.code, described.code, "")
            return self._procedure(conn, case.id, described.code)

    def add_procedure(self, case_id: str, code: str, coder: str) -> CaseProcedure:
        """Add a whole ICD-10-PCS code the coder built (the PCS encoder) to the case's procedures."""
        coder = guards.coder_name(coder)
        described = self._describe(code)
        with self._decision(case_id, coder) as (conn, case):
            if case.setting != "inpatient":
                raise DecisionRefused(
                    f"case {case.id} is outpatient: ICD-10-PCS procedures go on inpatient claims only"
                )
            if self._find_procedure(conn, case.id, described.code) is not None:
                raise DecisionRefused(f"case {case.id} already holds {described.code}")
            axes = tuple(
                AxisChoice(a.position, a.name, a.value, a.meaning, (), f"chosen by {coder}") for a in described.axes
            )
            added = CaseProcedure(
                case.id, described.code, described.title, "added", LAST, False, (), axes, (), None, "", "coder"
            )
            conn.execute(f"INSERT INTO case_procedures VALUES ({PROCEDURE_MARKS})", procedure_params(added))
            self._procedure_decided(conn, case, coder, "procedure_added", None, described.code, "")
            return self._procedure(conn, case.id, described.code)

    # -- rows ----------------------------------------------------------------------------

    def _describe(self, code: str) -> PcsCode:
        try:
            return self.pcs_book().describe(code)
        except UnknownCode as exc:
            raise DecisionRefused(str(exc)) from None

    def _procedure_decided(
        self, conn: Connection, case: Case, coder: str, action: str, before: str | None, after: str | None, reason: str
    ) -> None:
        resequence(conn, case.id, "case_procedures")
        self._decided(conn, case, coder, action, before, after, reason)

    def _procedures(self, conn: Connection, case_id: str) -> list[CaseProcedure]:
        rows = conn.execute("SELECT * FROM case_procedures WHERE case_id = ? ORDER BY sequence", (case_id,))
        try:
            return [procedure_from_row(r) for r in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"the procedures of case {case_id} in {self.name} are corrupt: {exc}") from exc

    def _find_procedure(self, conn: Connection, case_id: str, code: str) -> CaseProcedure | None:
        key = pcs_key(code)
        return next((p for p in self._procedures(conn, case_id) if p.code == key), None)

    def _procedure(self, conn: Connection, case_id: str, code: str) -> CaseProcedure:
        row = self._find_procedure(conn, case_id, code)
        if row is None:
            raise CaseNotFound(f"{code.strip() or '(empty)'} is not among the procedures of case {case_id}")
        return row

    @staticmethod
    def _insert_procedures(conn: Connection, case_id: str, rows: list[CaseProcedure]) -> None:
        conn.execute("DELETE FROM case_procedures WHERE case_id = ?", (case_id,))
        conn.executemany(f"INSERT INTO case_procedures VALUES ({PROCEDURE_MARKS})", [procedure_params(r) for r in rows])
