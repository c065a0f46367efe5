"""What an inpatient claim needs beyond its codes, as the coder sets it on a case: the stay's facts
(`Encounter`: age, sex, discharge status, dates, admitting diagnosis; an outpatient case's age and
sex too, for its risk score), the present-on-admission indicator of each diagnosis, and the date each procedure
was performed.

Each change writes one audit entry in the same transaction: "encounter" (what changed, old -> new),
"poa" (the code, the old and new indicator and the coder's reason) and "procedure_date". The stay's
facts are not decisions on the codes: coding the case again keeps them. An indicator the coder sets
replaces the agent's proposal and its reason; its evidence is the coder's word, so it has none.
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from datetime import date

from agent.records import POA_INDICATORS, PresentOnAdmission
from app.review import guards, leases
from app.review.encounter import propose_encounter
from app.review.procedures import CaseProcedures
from app.review.records import DISCHARGE_STATUSES, SEXES, Case, CaseCode, CaseProcedure, Encounter
from app.review.rows import poa_params
from app.review.sql import Connection
from index.errors import DecisionRefused


class CaseInpatient(CaseProcedures):
    """The inpatient claim's facts of `app.review.store.CaseStore`'s cases."""

    def set_encounter(self, case_id: str, encounter: Encounter, coder: str, reason: str = "") -> Case:
        """Record the stay's facts; each change audited as "encounter" with `reason` (where it came from)."""
        coder = guards.coder_name(coder)
        encounter = checked_encounter(encounter)
        if encounter.admitting is not None:
            record = guards.book_code(self.book, encounter.admitting)
            if not record.billable:
                raise DecisionRefused(f"the admitting diagnosis {record.code} is a heading, not a billable code")
            encounter = replace(encounter, admitting=record.code)
        with self._write() as conn:
            case = self._case(conn, case_id)
            leases.check(conn, case.id, coder, self._utc)  # as for the claim's references: the holder's alone
            if case.status == "done":
                raise DecisionRefused(f"case {case.id} is done: set its status back to in_review to change its stay")
            return self._store_encounter(conn, case, encounter, coder, reason)

    def _store_encounter(self, conn: Connection, case: Case, encounter: Encounter, coder: str, reason: str) -> Case:
        old, new = asdict(case.encounter), asdict(encounter)
        changed = [name for name in new if old[name] != new[name]]
        if not changed:
            return case
        at = self._now()
        conn.execute(
            "UPDATE cases SET age = ?, sex = ?, discharge_status = ?, admitted = ?, discharged = ?, admitting = ?,"
            " updated_at = ? WHERE id = ?",
            (*(new[f.name] for f in fields(Encounter)), at, case.id),
        )
        change = "; ".join(f"{name}: {_shown(old[name])} -> {_shown(new[name])}" for name in changed)
        self._audit(conn, case.id, at, coder, "encounter", None, None, f"{change}{f' ({reason})' if reason else ''}")
        return self._case(conn, case.id)

    def _propose_encounter(self, conn: Connection, case: Case, coder: str) -> None:
        """Fill the facts the case has not recorded with those the note states: for an outpatient
        case only the age and sex (the HCC risk score reads them), for an inpatient one the stay too."""
        proposal = propose_encounter(case.note)
        found, reasons = asdict(proposal.encounter), proposal.reasons
        if case.setting != "inpatient":
            found = {name: value if name in ("age", "sex") else None for name, value in found.items()}
            reasons = tuple(r for r in reasons if r.startswith(("age ", "sex ")))
        have = asdict(case.encounter)
        merged = Encounter(**{name: have[name] if have[name] is not None else found[name] for name in have})
        self._store_encounter(conn, case, merged, coder, "proposed from the note: " + "; ".join(reasons))

    def set_poa(self, case_id: str, code: str, indicator: str, reason: str, coder: str) -> CaseCode:
        """Set a diagnosis's present-on-admission indicator (Y, N, U, W or exempt), with the coder's reason."""
        coder = guards.coder_name(coder)
        guards.one_of("a POA indicator", indicator, POA_INDICATORS)
        reason = guards.reason(reason, "a POA indicator set by the coder needs a reason: say what documents it")
        with self._decision(case_id, coder) as (conn, case):
            if case.setting != "inpatient":
                raise DecisionRefused(f"case {case.id} is {case.setting}: POA indicators are for inpatient claims")
            row = self._code(conn, case.id, code)
            before = row.poa.indicator if row.poa else "(none)"
            poa = PresentOnAdmission(indicator, f"set by {coder}: {reason}")
            conn.execute(
                "UPDATE case_codes SET poa = ?, poa_reason = ?, poa_evidence = ? WHERE case_id = ? AND code = ?",
                (*poa_params(poa), case.id, row.code),
            )
            self._decided(conn, case, coder, "poa", row.code, row.code, f"POA {before} -> {indicator}: {reason}")
            return self._code(conn, case.id, row.code)

    def set_procedure_date(self, case_id: str, code: str, performed_on: str | None, coder: str) -> CaseProcedure:
        """Record the date (ISO) a procedure was performed; None clears it."""
        coder = guards.coder_name(coder)
        day = _iso_date(performed_on, "the date a procedure was performed") if performed_on else None
        with self._decision(case_id, coder) as (conn, case):
            row = self._procedure(conn, case.id, code)
            stay = case.encounter
            if day and stay.admitted and day < stay.admitted:
                raise DecisionRefused(
                    f"{row.code} cannot be performed on {day}, before the admission on {stay.admitted}"
                )
            if day and stay.discharged and day > stay.discharged:
                raise DecisionRefused(
                    f"{row.code} cannot be performed on {day}, after the discharge on {stay.discharged}"
                )
            conn.execute(
                "UPDATE case_procedures SET performed_on = ? WHERE case_id = ? AND code = ?", (day, case.id, row.code)
            )
            change = f"{_shown(row.performed_on)} -> {_shown(day)}"
            self._decided(conn, case, coder, "procedure_date", row.code, row.code, change)
            return self._procedure(conn, case.id, row.code)


def checked_encounter(encounter: Encounter) -> Encounter:
    """The stay's facts, checked; DecisionRefused saying which one is wrong and what it may be."""
    if encounter.age is not None and not 0 <= encounter.age <= 124:
        raise DecisionRefused(f"age must be 0 to 124, not {encounter.age}")
    if encounter.sex is not None:
        guards.one_of("sex", encounter.sex, SEXES)
    if encounter.discharge_status is not None:
        guards.one_of("a discharge status", encounter.discharge_status, DISCHARGE_STATUSES)
    admitted = _iso_date(encounter.admitted, "the admission date") if encounter.admitted else None
    discharged = _iso_date(encounter.discharged, "the discharge date") if encounter.discharged else None
    if admitted and discharged and discharged < admitted:
        raise DecisionRefused(f"the discharge ({discharged}) cannot come before the admission ({admitted})")
    return replace(encounter, admitted=admitted, discharged=discharged)


def _iso_date(text: str, what: str) -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise DecisionRefused(f"{what} must be a date written 2026-03-02, not {text!r}") from None


def _shown(value: object) -> str:
    return "(none)" if value is None else str(value)
