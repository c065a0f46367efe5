"""The records of the case store: a case (`Case`) with the FHIR references its claim names
(`References`), one of its codes (`CaseCode`) or procedures (`CaseProcedure`), an Excludes1 pair
the coder keeps (`KeptPair`) and one line of its audit trail (`AuditEntry`), with the statuses
they move through and the claim spelling of a code (`dotted`).

A case is "new", then "coded" once the agent's result is saved, "in_review" from the coder's
first decision, and "done" when the coder closes it. A code is "suggested" or "rejected" by the
agent, then "accepted", "rejected" or "added" by the coder; only accepted and added codes go on
the claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from agent.records import AxisChoice, Evidence, Step
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
