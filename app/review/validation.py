"""Checks a case's final claim before export: the guideline checks on the accepted and added codes,
plus what a claim itself needs (codes, one principal, no more codes than the claim form holds, the
references a FHIR Claim names), and that each procedure on an inpatient claim is a whole ICD-10-PCS
code of the tables.

Unknown codes are reported by the guideline checks' billing check (kind "unknown", an error). The
claim-size finding ("too_many": 12 codes on an outpatient 837P, 25 on an inpatient 837I), a warning
while the agent suggests, is an error here: export to X12 is blocked until the claim fits.

The guideline checks read the case's note: a missing "Code first" or "Use additional code"
partner the note documents is an error, one it does not is a query for the provider, and one asked
for only "if applicable" that the note never mentions is not reported. The principal is checked
too (`agent.guidelines.principal`): an external cause, a manifestation or (inpatient) a code on the
Medicare Code Editor's unacceptable-principal list is an error ("principal"), and a Z code that may
only be first-listed but sits lower is a warning ("first_listed"). Everything is computed from the
codes as they are now, so a finding goes as soon as the coder adds the missing code;
`code_findings` does the same over every live code, the suggestions included.

An Excludes1 pair is an error unless the coder keeps both codes with a reason
(`CaseStore.keep_excludes1`, Guidelines I.A.12.a): then it is a warning ("excludes1_kept") citing
the reason. A case without its patient, provider, insurer or coverage reference gets one warning
("references"): the FHIR Claim carries placeholders (see `app.review.exports`) and cannot be
submitted until they are set, but the other exports do not need them.

An inpatient claim needs a present-on-admission indicator on every diagnosis (an error, "poa": a
claim without one is returned unpaid); a U is a warning (query the provider: Medicare treats a
hospital-acquired condition reported U as not present on admission), and so is an indicator at odds
with the POA-exempt list (`agent/data/poa.json`). A stay without the age, sex
or discharge status the grouper reads gets a warning ("stay"): there is no MS-DRG until they are set;
so does one without its admitting diagnosis, which the 837I reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent.guidelines.checks import check_all
from agent.guidelines.poa_rules import PoaRules
from agent.guidelines.principal import principal_findings
from agent.guidelines.rules import GuidelineRules, cite
from agent.records import SETTINGS, Finding
from app.review.claim import claim_codes
from app.review.guards import one_of
from app.review.records import LIVE, Case, CaseCode, CaseProcedure, KeptPair
from index.errors import UnknownCode
from index.pcs.bundled import PcsBook
from index.store import CodeStore


@dataclass(frozen=True)
class Validation:
    errors: list[Finding]
    warnings: list[Finding]

    @property
    def blocks_export(self) -> bool:
        return bool(self.errors)


def validate_claim(
    case: Case,
    codes: list[CaseCode],
    store: CodeStore,
    setting: str | None = None,
    kept: Iterable[KeptPair] = (),
    procedures: Iterable[CaseProcedure] = (),
    pcs: PcsBook | None = None,
) -> Validation:
    """Validate the claim of `case` (in `setting`, the case's own by default) from its codes, the
    Excludes1 pairs the coder keeps and its procedures (each on the claim a whole code of the
    ICD-10-PCS tables `pcs`); DecisionRefused for a setting that is not a care setting."""
    setting = setting or case.setting
    one_of("setting", setting, SETTINGS)
    _, limit = GuidelineRules.default().for_setting(setting)
    final = claim_codes(codes)
    if not final:
        message = "The claim has no codes: accept or add at least one code."
        return Validation([Finding("no_codes", "error", message)], [])
    errors: list[Finding] = []
    warnings: list[Finding] = []
    if not any(c.principal for c in final):
        marked = [c for c in codes if c.principal]
        message = "No principal diagnosis among the accepted codes: mark the principal (first-listed) diagnosis."
        if marked:
            message += f" {marked[0].code} is marked principal but is {marked[0].status}."
        errors.append(Finding("no_principal", "error", message))
    principal = final[0].code if final[0].principal else None
    for finding in principal_findings([c.code for c in final], principal, store, setting):
        (errors if finding.severity == "error" else warnings).append(finding)
    reasons = {frozenset(pair.codes): pair.reason for pair in kept}
    for finding in check_all([c.code for c in final], store, setting, case.note):
        if finding.kind == "too_many":
            continue  # reported below, as an error
        if finding.kind == "excludes1" and frozenset(finding.codes) in reasons:
            finding = _kept(finding, reasons[frozenset(finding.codes)])
        (errors if finding.severity == "error" else warnings).append(finding)
    if len(final) > limit.limit:
        extra = tuple(c.code for c in final[limit.limit :])
        message = (
            f"{len(final)} codes, but an {limit.form} carries {limit.limit} diagnosis codes, so "
            f"{', '.join(extra)} would not fit: export to X12 is blocked until the claim holds at most "
            f"{limit.limit} (reject the least important codes)."
        )
        errors.append(Finding("too_many", "error", message, extra))
    errors += procedure_errors(case, procedures, pcs)
    if case.setting == "inpatient":
        errors += poa_errors(final)
        warnings += admission_warnings(case, final)
    missing = case.references.missing()
    if missing:
        warnings.append(_references_missing(case, missing))
    return Validation(errors, warnings)


def procedure_errors(case: Case, procedures: Iterable[CaseProcedure], pcs: PcsBook | None) -> list[Finding]:
    """An error for each procedure on the claim that no claim can carry: fewer than seven
    characters (a corpus's partial code), not a code of the tables, or on an outpatient claim."""
    errors = []
    book = pcs
    for p in procedures:
        if not p.on_claim:
            continue
        if case.setting != "inpatient":
            message = f"Procedure {p.code}: ICD-10-PCS procedures go on inpatient claims only; reject it."
        elif len(p.code) != 7:
            message = f"Procedure {p.code} is incomplete: an ICD-10-PCS code has 7 characters; choose the rest."
        else:
            book = book or PcsBook()  # opened once, and only when a whole code is to be checked
            try:
                book.describe(p.code)
                continue
            except UnknownCode as exc:
                message = f"Procedure {p.code}: {exc}"
        errors.append(Finding("procedure", "error", message, (p.code,)))
    return errors


def poa_errors(final: list[CaseCode]) -> list[Finding]:
    """An error for each diagnosis of an inpatient claim without a POA indicator."""
    return [
        Finding(
            "poa",
            "error",
            f"{c.code} has no present-on-admission indicator: set Y, N, U, W or exempt under Present on "
            "admission (an inpatient claim without one is returned unpaid).",
            (c.code,),
        )
        for c in final
        if c.poa is None
    ]


def admission_warnings(case: Case, final: list[CaseCode]) -> list[Finding]:
    """Warnings on the inpatient claim's POA indicators of U and on a stay the grouper cannot read."""
    found = [
        Finding(
            "poa",
            "warning",
            f"{c.code} is reported POA U (documentation insufficient): query the provider; Medicare treats a "
            "hospital-acquired condition reported U as not present on admission.",
            (c.code,),
        )
        for c in final
        if c.poa is not None and c.poa.indicator == "U"
    ]
    exempt = PoaRules.default().exempt
    for c in final:
        if c.poa is None:
            continue
        listed = exempt.find(c.code) is not None
        if listed and c.poa.indicator != "exempt":
            message = f"{c.code} is exempt from POA reporting (Appendix I): report it exempt, not {c.poa.indicator}."
        elif not listed and c.poa.indicator == "exempt":
            message = (
                f"{c.code} is reported exempt from POA reporting, but is not in the exempt categories of Appendix "
                "I that Coda holds: check the CMS POA-exempt list of the release in use, or report Y, N, U or W."
            )
        else:
            continue
        found.append(Finding("poa", "warning", message, (c.code,)))
    missing = case.encounter.missing_for_drg()
    if missing:
        message = f"The MS-DRG and the 837I need the patient's {', '.join(missing)}: set them under Stay."
        found.append(Finding("stay", "warning", message))
    if case.encounter.admitting is None:
        message = (
            "No admitting diagnosis: an inpatient 837I reports the condition that occasioned the admission as "
            "known then (HI ABJ), apart from the principal. Set it under Stay."
        )
        found.append(Finding("stay", "warning", message))
    return found


def code_findings(case: Case, codes: list[CaseCode], store: CodeStore) -> list[Finding]:
    """The guideline findings over every live code of the case (suggested, accepted, added), from
    the codes as they are now and the case's note: what the code panel shows for the codes the
    coder has yet to decide, in place of the findings the agent saved when it coded."""
    live = sorted((c for c in codes if c.status in LIVE), key=lambda c: (not c.principal, c.sequence))
    if not live:
        return []
    principal = live[0].code if live[0].principal else None
    found = principal_findings([c.code for c in live], principal, store, case.setting)
    found += check_all([c.code for c in live], store, case.setting, case.note)
    return [f for f in found if f.kind != "too_many"]


def _kept(finding: Finding, reason: str) -> Finding:
    a, b = finding.codes
    message = (
        f"{a} and {b} are both kept despite the Excludes1 note, for the coder's reason: {reason} "
        f"(both may be reported when the conditions are unrelated: {cite('excludes1')})."
    )
    return Finding("excludes1_kept", "warning", message, finding.codes)


def _references_missing(case: Case, missing: tuple[str, ...]) -> Finding:
    roles = ", ".join(missing[:-1]) + (" and " if len(missing) > 1 else "") + missing[-1]
    message = (
        f"The FHIR Claim cannot be submitted until the case records its {roles} "
        f'{"reference" if len(missing) == 1 else "references"}: it says "not recorded on case {case.id}" '
        "in their place. Set them under Claim references."
    )
    return Finding("references", "warning", message)
