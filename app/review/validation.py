"""Checks a case's final claim before export: the guideline checks on the accepted and added codes,
plus what a claim itself needs (codes, one principal, no more codes than the claim form holds).

Unknown codes are reported by the guideline checks' billing check (kind "unknown", an error). The
claim-size finding ("too_many": 12 codes on an outpatient 837P, 25 on an inpatient 837I), a warning
while the agent suggests, is an error here: export to X12 is blocked until the claim fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.guidelines.checks import check_all
from agent.guidelines.rules import GuidelineRules
from agent.records import SETTINGS, Finding
from app.review.exports import claim_codes
from app.review.guards import one_of
from app.review.records import Case, CaseCode
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
) -> Validation:
    """Validate the claim of `case` (in `setting`, the case's own by default) from its codes;
    DecisionRefused for a setting that is not a care setting."""
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
    for finding in check_all([c.code for c in final], store, setting):
        if finding.kind == "too_many":
            continue  # reported below, as an error
        (errors if finding.severity == "error" else warnings).append(finding)
    if len(final) > limit.limit:
        extra = tuple(c.code for c in final[limit.limit :])
        message = (
            f"{len(final)} codes, but an {limit.form} carries {limit.limit} diagnosis codes, so "
            f"{', '.join(extra)} would not fit: export to X12 is blocked until the claim holds at most "
            f"{limit.limit} (reject the least important codes)."
        )
        errors.append(Finding("too_many", "error", message, extra))
    return Validation(errors, warnings)
