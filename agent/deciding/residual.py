"""Residual codes: a condition coded in general terms when the note codes it more specifically.

A coder reports T14.90XA "Injury, unspecified" only when the note says nowhere where the
injury is; when the note's other codes report injuries by site, "the trauma" is those
injuries. Likewise I10 goes when I11.0 codes the hypertension with its heart failure. The
rules live in `agent/data/residual_codes.json`; reconcile applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from agent import DATA_DIR
from agent.code_ranges import in_ranges
from agent.records import Proposal
from index.data_files import rule_file

RESIDUAL_CODES = DATA_DIR / "residual_codes.json"


@dataclass(frozen=True)
class ResidualRule:
    residual: str  # a code, or the prefix of the codes, for the condition in general terms
    specified_by: tuple[tuple[str, str], ...]  # category ranges that code it more specifically
    why: str
    zero_shot_only: bool = False  # a convention a learned profile may find its corpus's coders do not follow

    def specifies(self, code: str) -> bool:
        return not code.startswith(self.residual) and in_ranges(code, self.specified_by)


@dataclass(frozen=True)
class ResidualRules:
    rules: tuple[ResidualRule, ...]

    @classmethod
    @cache
    def default(cls) -> ResidualRules:
        with rule_file(RESIDUAL_CODES) as raw:
            return cls(
                tuple(
                    ResidualRule(
                        r["residual"],
                        tuple((lo, hi) for lo, hi in r["specified_by"]),
                        r["why"],
                        bool(r.get("zero_shot_only", False)),
                    )
                    for r in raw["rules"]
                )
            )

    def apply(self, proposals: list[Proposal], learned: bool = False) -> tuple[list[Proposal], list[tuple[str, str]]]:
        """Drop a residual code when another proposal codes its condition more specifically;
        the rules apply in their order, each to what the ones before it kept. With a `learned`
        profile the zero-shot-only rules are left to what the profile learned."""
        dropped: list[tuple[str, str]] = []
        for rule in self.rules:
            if learned and rule.zero_shot_only:
                continue
            specific = [p.code for p in proposals if rule.specifies(p.code)]
            if not specific:
                continue
            gone = {p.code for p in proposals if p.code.startswith(rule.residual)}
            dropped += [(code, f"{rule.why} ({', '.join(specific[:3])})") for code in sorted(gone)]
            proposals = [p for p in proposals if p.code not in gone]
        return proposals, dropped
