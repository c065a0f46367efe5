"""Which code may be the principal (inpatient) or first-listed (outpatient) diagnosis.

Two sources, read from data: the Guidelines (external causes never, I.C.20; manifestations never,
I.A.13; supplementary codes such as B95-B97, Z3A and Z68 only as additional codes; the Z codes that
may only be first-listed, I.C.21.c.16), kept in `agent/data/principal_edits.json`, and the
Medicare Code Editor's manifestation and unacceptable-principal lists (`agent.guidelines.mce`),
the latter for inpatient claims only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agent import DATA_DIR
from agent.guidelines.mce import CodePrefixes, MceEdits
from agent.records import Finding
from index.data_files import rule_file
from index.model import Code, CodeKind
from index.store import CodeStore

PRINCIPAL_FILE = DATA_DIR / "principal_edits.json"

# A manifestation code (Guidelines I.A.13) says so in its title: "Polyneuropathy in diseases
# classified elsewhere", "Arthropathies in other diseases classified elsewhere", "Meningitis in
# bacterial diseases classified elsewhere". B95-B97 ("as the cause of diseases classified
# elsewhere") are supplementary agent codes, not manifestations.
_MANIFESTATION = re.compile(r"\bin (?:[\w-]+ ){0,5}diseases? classified elsewhere", re.IGNORECASE)


def is_manifestation(code: Code, store: CodeStore) -> bool:
    """True for a code whose own title or a heading above it says "in ... diseases classified elsewhere"."""
    chain = [code, *store.ancestors(code.code)]
    return any(_MANIFESTATION.search(c.title) for c in chain if c.kind in (CodeKind.CATEGORY, CodeKind.SUBCATEGORY))


@dataclass(frozen=True)
class PrincipalRule:
    """Codes that may not be principal, with what they are, why not and where it is written."""

    codes: CodePrefixes
    what: str
    reason: str
    cite: str

    def explain(self, shown: str) -> str:
        return f"{shown} is {self.what}: {self.reason} ({self.cite})."


@dataclass(frozen=True)
class FirstListedOnly:
    """The Z codes that may only be principal or first-listed (Guidelines I.C.21.c.16), less the
    exceptions the table names (Z00 except Z00.6)."""

    codes: CodePrefixes
    except_: CodePrefixes
    reason: str
    cite: str

    def __contains__(self, code: object) -> bool:
        return code in self.codes and code not in self.except_


@dataclass(frozen=True)
class PrincipalRules:
    """The rules of the data file, with the MCE lists they name."""

    never: tuple[PrincipalRule, ...]  # in every setting: external causes, supplementary codes
    manifestation: PrincipalRule  # the MCE's manifestation list, in every setting
    inpatient: PrincipalRule  # the MCE's unacceptable principal diagnoses, inpatient only
    first_listed_only: FirstListedOnly

    @classmethod
    def from_json(cls, path: str | Path, mce: MceEdits) -> PrincipalRules:
        """Load a rule file shaped like `agent/data/principal_edits.json`; DataError for a bad one."""
        with rule_file(path) as raw:
            never = tuple(_rule(CodePrefixes.of(e["codes"]), e) for e in [*raw["never"], *raw["additional_only"]])
            first = raw["first_listed_only"]
            return cls(
                never,
                _rule(mce.principal["manifestation"], raw["mce"]["manifestation"]),
                _rule(mce.principal["unacceptable_principal"], raw["mce"]["unacceptable_principal"]),
                FirstListedOnly(
                    CodePrefixes.of(first["codes"]),
                    CodePrefixes.of(first["except"]),
                    " ".join(first["reason"].split()),
                    first["cite"],
                ),
            )

    @classmethod
    @cache
    def default(cls) -> PrincipalRules:
        return cls.from_json(PRINCIPAL_FILE, MceEdits.default())

    def refusal(
        self, code: str, setting: str, record: Code | None = None, store: CodeStore | None = None
    ) -> str | None:
        """Why `code` may not be principal in `setting`, or None (see `may_be_principal`)."""
        shown = f"{record.code} ({record.title})" if record is not None else code
        for rule in self.never:
            if code in rule.codes:
                return rule.explain(shown)
        titled = record is not None and store is not None and is_manifestation(record, store)
        if code in self.manifestation.codes or titled:
            return self.manifestation.explain(shown)
        if setting == "inpatient" and code in self.inpatient.codes:
            return self.inpatient.explain(shown)
        return None


def _rule(codes: CodePrefixes, entry: dict[str, str]) -> PrincipalRule:
    return PrincipalRule(codes, entry["what"], " ".join(entry["reason"].split()), entry["cite"])


def may_be_principal(code: str, setting: str, store: CodeStore | None = None) -> str | None:
    """None when `code` may be the principal (inpatient) or first-listed (outpatient) diagnosis in
    `setting`, else why not, citing the guideline or the Medicare Code Editor edit. With a store,
    the reason names the code's title, and a title "in diseases classified elsewhere" also counts
    as a manifestation."""
    record = store.find(code) if store is not None else None
    return PrincipalRules.default().refusal(code.strip(), setting, record, store)


def only_first_listed(code: str) -> bool:
    """True for a Z code that may only be the principal or first-listed diagnosis (I.C.21.c.16)."""
    return code in PrincipalRules.default().first_listed_only


def principal_findings(codes: list[str], principal: str | None, store: CodeStore, setting: str) -> list[Finding]:
    """The claim's sequencing findings: an error ("principal") when the principal may not be
    principal, and a warning ("first_listed") for each code of the store that may only be
    first-listed but is not the principal (an unknown code is the billing check's)."""
    findings: list[Finding] = []
    if principal:
        why = may_be_principal(principal, setting, store)
        if why is not None:
            findings.append(Finding("principal", "error", f"{why} Mark another code as principal.", (principal,)))
    rule = PrincipalRules.default().first_listed_only
    for code in codes:
        if code != principal and code in rule and store.find(code) is not None:
            message = (
                f"{code} is listed after the principal, but {rule.reason} ({rule.cite}). Make it the principal, "
                "or remove it if another code is the reason for the encounter."
            )
            findings.append(Finding("first_listed", "warning", message, (code,)))
    return findings
