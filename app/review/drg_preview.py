"""The MS-DRG preview of an inpatient case as the coder works it: the DRG the claim groups to now,
what accepting each pending suggestion would do to it ("accepting J96.01 moves DRG 872 -> 871"),
and clinical documentation (CDI) hints where a more specific code the note nearly supports would
change the DRG, each phrased as a non-leading query to the provider. Nothing here changes a code:
a hint is a question for the provider, never a code added silently.

The claim grouped is the accepted and added codes, principal first (`app.review.claim`). While the
coder has not yet accepted a principal, the agent's suggested principal stands in and the preview
says so. A diagnosis without a POA indicator is grouped as U (documentation insufficient: a
hospital-acquired condition is then not counted), and the preview says which. Without the age,
sex and discharge status of the stay there is no DRG: the preview says what to set. A discharge
outside the dates the grouper version applies to is grouped all the same and said to be a preview.

"Nearly supports": a code of the same block of the Tabular List whose title has a word, not in the title of the code
on the claim, that the note uses: for D64.9 "Anemia, unspecified", D62 "Acute posthemorrhagic
anemia" when the note says "acute" (as in "acute blood loss"), but not when it only says "anemia".
The words that tell nothing apart are data (`app/data/cdi.json`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from app.review.claim import claim_codes
from app.review.drg import GROUPER_DISCHARGES, DrgClaim, DrgGrouper, DrgResult
from app.review.records import Case, CaseCode, CaseProcedure
from index.errors import DecisionRefused
from index.model import Code
from index.store import CodeStore

RULES_PATH = Path(__file__).resolve().parents[1] / "data" / "cdi.json"


@dataclass(frozen=True)
class WhatIf:
    """What accepting one pending suggestion (a diagnosis or a procedure) does to the DRG."""

    code: str
    kind: str  # diagnosis | procedure
    before: DrgResult
    after: DrgResult

    @property
    def moves(self) -> bool:
        return self.after.drg != self.before.drg

    def line(self) -> str:
        if not self.moves:
            return f"accepting {self.code} keeps DRG {self.before.drg:03d}"
        return (
            f"accepting {self.code} moves DRG {self.before.drg:03d} -> {self.after.drg:03d}"
            f" (weight {_weight(self.before)} -> {_weight(self.after)})"
        )


@dataclass(frozen=True)
class CdiHint:
    """A code of the claim that a more specific code, nearly supported by the note, would move."""

    code: str
    title: str
    options: tuple[tuple[str, str, int], ...]  # (code, title, the DRG it would give), those that move it first
    words: tuple[str, ...]  # the note's words that nearly support them
    query: str  # the non-leading question for the provider
    drg: int  # the DRG the options are weighed against: the claim with every pending suggestion accepted

    def line(self) -> str:
        moving = [f"{code} (DRG {drg:03d})" for code, _, drg in self.options if drg != self.drg]
        said = ", ".join(repr(w) for w in self.words)
        return f"{self.code}: the note says {said}; {', '.join(moving)} would change DRG {self.drg:03d}"


@dataclass(frozen=True)
class DrgPreview:
    result: DrgResult | None  # None when the claim cannot be grouped yet (see `missing`)
    missing: tuple[str, ...] = ()  # what to set before there is a DRG
    assumed: tuple[str, ...] = ()  # what the preview took as given, said to the coder
    what_ifs: tuple[WhatIf, ...] = ()
    hints: tuple[CdiHint, ...] = ()


@dataclass(frozen=True)
class CdiRules:
    weak_words: frozenset[str]
    most_options: int
    most_siblings: int
    query: str

    @classmethod
    def from_json(cls, path: Path) -> CdiRules:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(frozenset(data["weak_words"]), int(data["most_options"]), int(data["most_siblings"]), data["query"])


@cache
def rules() -> CdiRules:
    return CdiRules.from_json(RULES_PATH)


def preview(case: Case, codes: list[CaseCode], procedures: list[CaseProcedure], book: CodeStore) -> DrgPreview:
    """The DRG preview of an inpatient case; DecisionRefused for an outpatient one."""
    if case.setting != "inpatient":
        raise DecisionRefused(f"case {case.id} is {case.setting}: an MS-DRG is for inpatient claims")
    missing = list(case.encounter.missing_for_drg())
    assumed: list[str] = []
    diagnoses = claim_codes(codes)
    if not any(c.principal for c in diagnoses):
        stand_in = next((c for c in codes if c.principal and c.status == "suggested"), None)
        if stand_in is None:
            missing.insert(0, "a principal diagnosis")
        else:
            diagnoses = [stand_in, *diagnoses]
            assumed.append(f"principal {stand_in.code} not yet accepted: grouped as if it were")
    if missing:
        return DrgPreview(None, tuple(missing), tuple(assumed))
    first, last = GROUPER_DISCHARGES
    discharged = case.encounter.discharged
    if discharged and not first <= discharged <= last:
        assumed.append(
            f"discharged {discharged}, outside {first} to {last}, the discharges MS-DRG v43.1 applies to: "
            "grouped with v43.1 all the same (the grouper for that year is not packaged), so a preview only"
        )
    pending = [c for c in codes if c.status == "suggested" and c not in diagnoses]
    assumed += [f"{c.code}: no POA indicator, grouped as U" for c in [*diagnoses, *pending] if c.poa is None]
    performed = [p.code for p in procedures if p.on_claim and len(p.code) == 7]
    waiting = [p for p in procedures if p.status == "suggested" and len(p.code) == 7]
    with DrgGrouper() as grouper:

        def grouped(dx: list[CaseCode], px: list[str]) -> DrgResult:
            return grouper.group(_claim(case, dx, px))

        result = grouped(diagnoses, performed)
        what_ifs = [WhatIf(c.code, "diagnosis", result, grouped([*diagnoses, c], performed)) for c in pending]
        what_ifs += [WhatIf(p.code, "procedure", result, grouped(diagnoses, [*performed, p.code])) for p in waiting]
        working = [*diagnoses, *pending]
        baseline = grouped(working, performed) if pending else result
        hints = _hints(case.note, working, performed, book, baseline, grouped)
    return DrgPreview(result, (), tuple(assumed), tuple(what_ifs), tuple(hints))


def _claim(case: Case, diagnoses: list[CaseCode], procedures: list[str]) -> DrgClaim:
    stay = case.encounter
    return DrgClaim(
        tuple((c.code, c.poa.indicator if c.poa else "U") for c in diagnoses),
        tuple(procedures),
        stay.age or 0,
        stay.sex or "U",
        int(stay.discharge_status or "1"),
    )


def _hints(
    note: str, working: list[CaseCode], procedures: list[str], book: CodeStore, current: DrgResult, grouped: Any
) -> list[CdiHint]:
    """The CDI hints over the working claim (the claim with every pending suggestion accepted, whose
    DRG is `current`): a code is swapped for each neighbour the note nearly supports, one at a time."""
    words_of_note = set(_words(note))
    hints = []
    for i, c in enumerate(working):
        record = book.find(c.code)
        if record is None:
            continue
        own = set(_words(record.title))
        options = []
        found: set[str] = set()
        for sibling in _neighbours(record, book):
            if sibling.key == record.key:
                continue
            telling = [w for w in _words(sibling.title) if w not in own and w not in rules().weak_words]
            said = [w for w in telling if w in words_of_note]
            if not said:
                continue
            swapped = [*working[:i], _as(c, sibling.code), *working[i + 1 :]]
            drg = grouped(swapped, procedures).drg
            options.append((sibling.code, sibling.title, drg))
            found.update(said)
        if any(drg != current.drg for _, _, drg in options):
            options.sort(key=lambda o: (o[2] == current.drg, o[0]))
            options = options[: rules().most_options]
            query = rules().query.format(
                documented=f"{record.title.lower()} ({record.code})",
                options="; ".join(title for _, title, _ in sorted(options)),
            )
            hints.append(CdiHint(c.code, record.title, tuple(options), tuple(sorted(found)), query, current.drg))
    return hints


def _neighbours(record: Code, book: CodeStore) -> list[Code]:
    """The billable codes of the code's block ("D60-D64": D60 to D64), or of its category when the
    block is not a plain range of one letter; at most `most_siblings` per category."""
    category = record.key[:3]
    categories = [category]
    found = re.fullmatch(r"([A-Z])(\d\d)-\1(\d\d)", record.block or "")
    if found:
        letter, first, last = found[1], int(found[2]), int(found[3])
        categories = [f"{letter}{n:02d}" for n in range(first, last + 1)]
    return [c for cat in categories for c in book.with_prefix(cat, limit=rules().most_siblings, billable=True)]


def _as(c: CaseCode, code: str) -> CaseCode:
    return replace(c, code=code)


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3]


def _weight(result: DrgResult) -> str:
    return f"{result.weight:.4f}" if result.weight is not None else "n/a"
