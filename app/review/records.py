"""The records of the case store: a case (`Case`) with the FHIR references its claim names
(`References`) and, for an inpatient stay, the facts the grouper and the 837I read (`Encounter`),
one of its codes (`CaseCode`) or procedures (`CaseProcedure`), an Excludes1 pair
the coder keeps (`KeptPair`) and one line of its audit trail (`AuditEntry`), with the statuses
they move through and the claim spelling of a code (`dotted`).

A case is "new", then "coded" once the agent's result is saved, "in_review" from the coder's
first decision, and "done" when the coder closes it. A code is "suggested" or "rejected" by the
agent, then "accepted", "rejected" or "added" by the coder; only accepted and added codes go on
the claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from agent.records import AxisChoice, Evidence, PresentOnAdmission, Step
from index.model import code_key

CaseStatus = Literal["new", "coded", "in_review", "done"]
CodeStatus = Literal["suggested", "accepted", "rejected", "added"]
Origin = Literal["agent", "coder"]

CASE_STATUSES: tuple[CaseStatus, ...] = get_args(CaseStatus)
LIVE: tuple[CodeStatus, ...] = ("suggested", "accepted", "added")  # the codes not rejected
ON_CLAIM: tuple[CodeStatus, ...] = ("accepted", "added")
# A decision on a case in one of these statuses moves it to "in_review".
REVIEW_STARTS: tuple[CaseStatus, ...] = ("new", "coded")


# The references a FHIR Claim names, and the resource types each may point to.
REFERENCE_TYPES: dict[str, tuple[str, ...]] = {
    "patient": ("Patient",),
    "provider": ("Practitioner", "PractitionerRole", "Organization"),
    "insurer": ("Organization",),
    "coverage": ("Coverage",),
}


@dataclass(frozen=True)
class References:
    """Who the claim is for, from and to, as FHIR references ("Patient/123"); None until recorded."""

    patient: str | None = None
    provider: str | None = None
    insurer: str | None = None
    coverage: str | None = None

    def missing(self) -> tuple[str, ...]:
        """The roles (in `REFERENCE_TYPES` order) with no reference recorded."""
        return tuple(role for role in REFERENCE_TYPES if getattr(self, role) is None)


# The UB-04 patient discharge status codes a coder picks from (CMS, "Patient Discharge Status Codes").
DISCHARGE_STATUSES: dict[str, str] = {
    "01": "Discharged to home or self care",
    "02": "Discharged to a short-term general hospital for inpatient care",
    "03": "Discharged to a skilled nursing facility (SNF)",
    "04": "Discharged to a facility that provides custodial or supportive care",
    "05": "Discharged to a designated cancer center or children's hospital",
    "06": "Discharged to home under a home health service organization",
    "07": "Left against medical advice",
    "20": "Expired",
    "21": "Discharged to court or law enforcement",
    "43": "Discharged to a federal health care facility",
    "50": "Discharged to hospice, home",
    "51": "Discharged to hospice, medical facility",
    "61": "Discharged to a hospital-based swing bed",
    "62": "Discharged to an inpatient rehabilitation facility (IRF)",
    "63": "Discharged to a long-term care hospital (LTCH)",
    "64": "Discharged to a nursing facility certified under Medicaid only",
    "65": "Discharged to a psychiatric hospital or unit",
    "66": "Discharged to a critical access hospital (CAH)",
    "69": "Discharged to a designated disaster alternative care site",
    "70": "Discharged to another type of health care institution",
}
SEXES = ("F", "M", "U")


@dataclass(frozen=True)
class Encounter:
    """What an inpatient claim needs of the stay beyond its codes: the patient's age and sex, the
    discharge status, the dates of admission and discharge (ISO dates) and the admitting diagnosis
    (the condition that occasioned the admission as known then, which the 837I reports apart from
    the principal). Each is None until proposed from the note or set by the coder; nothing is
    assumed for a missing one."""

    age: int | None = None
    sex: str | None = None  # F, M or U
    discharge_status: str | None = None  # two digits, a key of DISCHARGE_STATUSES
    admitted: str | None = None
    discharged: str | None = None
    admitting: str | None = None  # an ICD-10-CM code, as the code book spells it

    def missing_for_drg(self) -> tuple[str, ...]:
        """What the grouper needs and the case has not recorded."""
        needed = {"age": self.age, "sex": self.sex, "discharge status": self.discharge_status}
        return tuple(name for name, value in needed.items() if value is None)


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
    references: References = References()
    encounter: Encounter = Encounter()

    @property
    def undecided(self) -> bool:
        """No decision on its codes yet: its coding options may change and it may be coded again."""
        return self.status in REVIEW_STARTS


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
    # Present on admission (inpatient only): the agent's proposal, or the coder's choice with their reason.
    poa: PresentOnAdmission | None = None

    @property
    def on_claim(self) -> bool:
        return self.status in ON_CLAIM


@dataclass(frozen=True)
class CaseProcedure:
    """One ICD-10-PCS procedure of an inpatient case, as the agent built it (each character with
    its evidence, `axes`) or as the coder decided it; its statuses are a code's."""

    case_id: str
    code: str  # seven characters (a profile may report fewer; such a code cannot go on a claim)
    title: str
    status: CodeStatus
    sequence: int
    principal: bool
    evidence: tuple[Evidence, ...]
    axes: tuple[AxisChoice, ...]
    reasoning: tuple[Step, ...]
    confidence: float | None
    reason: str
    origin: Origin
    performed_on: str | None = None  # the ISO date it was performed, set by the coder (the 837I needs it)

    @property
    def on_claim(self) -> bool:
        return self.status in ON_CLAIM


@dataclass(frozen=True)
class KeptPair:
    """Two codes of a case that an Excludes1 note forbids together, kept by the coder with a reason
    (Guidelines I.A.12.a: both may be reported when the conditions are unrelated). `codes` is sorted."""

    case_id: str
    codes: tuple[str, str]
    reason: str


@dataclass(frozen=True)
class AgentRun:
    """The LLM agent's run behind a case's current result: the model, what it cost (calls, tool
    calls, tokens), its steps as the coder reads them, and the transcript that replays it."""

    model: str
    usage: dict[str, int]
    trace: tuple[str, ...]
    transcript: dict[str, Any] | None
    seconds: float | None


@dataclass(frozen=True)
class AuditEntry:
    """One line of a case's audit trail.

    `code_before` and `code_after` are the code the entry concerns before and after it (None where
    there is none: `code_before` of "added", `code_after` of "rejected", both for case-level
    actions); for "kept_excludes1" they are the pair, in code order. `reason` is the coder's
    reason; for "moved" it says "3 -> 1", for "status" "in_review -> done", for "reference"
    "patient: (none) -> Patient/123". Actions: coded, options, reference, accepted, rejected,
    changed, added, moved, principal, kept_excludes1, status, signed_off (an auditor's sign-off).
    The move to "in_review" that a case's first decision makes has no entry of its own.
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
