"""The workbench page's logic without Streamlit: what the page shows and offers, computed from the
case store's records and the code book.

The panels of `app.ui` read the widgets, call these functions and render the results; here
everything is plain data in and out, tested without a browser: the worklist's labels, the code list
with its colours, the spans of the note and its sentences addressed to the software, clicks on it,
the codes a coder may change to, the coder's quotes, the reasoning by stage and the rows of the
audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.reading.quotes import find_quotes
from agent.records import Evidence, NonClinical, Step
from app.note_view import palette
from app.review.records import LIVE, AuditEntry, Case, CaseCode, CaseProcedure
from index.model import CodeKind
from index.store import CodeStore

STATUS_LABELS = {"new": "new", "coded": "coded", "in_review": "in review", "done": "done"}
STATUS_COLOURS = {"new": "gray", "coded": "blue", "in_review": "orange", "done": "green"}
CODE_STATUS_COLOURS = {"suggested": "blue", "accepted": "green", "added": "violet", "rejected": "red"}
# A rejected code is shown in the note only while it is selected, in a neutral grey.
REJECTED_COLOUR = "#e5e7eb"
REJECT_REASONS = (
    "Not documented as a current condition of the patient",
    "Negated or ruled out in the note",
    "History only: no longer present or treated",
    "Uncertain diagnosis (outpatient: code the signs and symptoms)",
    "Another code already covers it (combination or more specific code)",
    "Wrong code: another code fits the documentation better",
)
STAGE_LABELS = {
    "locate": "Locate (where the note names it)",
    "assign": "Assign (walking the Tabular List)",
    "verify": "Verify (guideline checks)",
    "reconcile": "Reconcile",
    "llm": "LLM reasoner",
}
_NO_EVIDENCE = 1 << 62  # sorts codes without evidence after every span of a note
_MARKDOWN_SPECIAL = re.compile(r"[!-/:-@\[-`{-~]")


def md_escape(text: str | None) -> str:
    """Text from a note, a file or the coder shown through Streamlit markdown exactly as written:
    every ASCII punctuation mark is backslash-escaped (no emphasis, links, images, HTML, `:red[...]`
    directives or maths), and white space is folded to single spaces."""
    return _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(0), " ".join((text or "").split()))


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Streamlit markdown table: `header` as given, every cell escaped with `md_escape`, which
    folds line breaks and escapes "|", so no cell can end early or break the table."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(md_escape(str(cell)) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# -- the worklist ---------------------------------------------------------------------------------


def case_label(case: Case) -> str:
    """A case in the worklist: its id in bold and its title (Streamlit markdown)."""
    return f"**{case.id}** {md_escape(case.title)}"


def status_counts(cases: Iterable[Case]) -> dict[str, int]:
    """How many cases are in each status, every status listed (worklist order of statuses)."""
    counts = dict.fromkeys(STATUS_LABELS, 0)
    for case in cases:
        counts[case.status] += 1
    return counts


# -- the code list and the note -------------------------------------------------------------------


def code_colours(codes: Sequence[CaseCode]) -> dict[str, str]:
    """One highlight colour per live code (suggested, accepted, added), stable while the coder works.

    Colours are handed out in note order (by each code's first evidence span; codes without evidence
    last, by code; the coder's own codes after the agent's) over every code the agent suggested or
    the coder added, including those the
    coder has since rejected: so accepting, rejecting, moving or changing a code never repaints the
    others, and highlights that sit next to each other get far-apart hues. (A suggestion keeps its
    confidence when rejected; a candidate the agent rejected has none.)
    """
    kept = [c for c in codes if c.status in LIVE or c.confidence is not None]
    # The coder's own codes come after the agent's, so adding one never repaints the agent's.
    kept.sort(key=lambda c: (c.origin == "coder", min((e.start for e in c.evidence), default=_NO_EVIDENCE), c.code))
    colours = palette([c.code for c in kept])
    return {c.code: colours[c.code] for c in codes if c.status in LIVE}


@dataclass(frozen=True)
class CodeRow:
    """One line of the code list as the coder sees it."""

    code: str
    title: str
    status: str
    sequence: int
    principal: bool
    colour: str | None  # the colour of its highlights; None for a rejected code
    reason: str  # why it was rejected; "" for a live code

    @property
    def live(self) -> bool:
        return self.status in LIVE


def code_rows(codes: Sequence[CaseCode]) -> list[CodeRow]:
    """The case's codes as list rows, in sequence order (live codes first, then the rejected)."""
    colours = code_colours(codes)
    return [CodeRow(c.code, c.title, c.status, c.sequence, c.principal, colours.get(c.code), c.reason) for c in codes]


def note_spans(
    codes: Sequence[CaseCode], selected: str | None = None
) -> tuple[list[tuple[int, int, str]], dict[str, str]]:
    """The spans to highlight in the note and their colours: every evidence span of the live codes,
    and those of `selected` when it is a rejected code (in grey), so its words can be seen too."""
    colours: dict[str, str] = code_colours(codes)
    spans = []
    for c in codes:
        if c.status in LIVE or c.code == selected:
            spans += [(e.start, e.end, c.code) for e in c.evidence]
            if c.code not in colours:
                colours[c.code] = REJECTED_COLOUR
    return spans, colours


def aside_spans(sentences: Iterable[NonClinical]) -> list[tuple[int, int, str]]:
    """The note's sentences addressed to the software, as the note view's asides (start, end, why)."""
    return [(s.start, s.end, s.why) for s in sentences]


def asides_summary(count: int) -> str:
    """What the case page says of them: "2 sentences addressed to the software were ignored"."""
    if count == 1:
        return "1 sentence addressed to the software was ignored"
    return f"{count} sentences addressed to the software were ignored"


def click_codes(value: Any) -> list[str]:
    """The codes of a click from the note view's state (`{"click": {"codes": [...], ...}}` or the
    click itself); [] for anything else."""
    if isinstance(value, Mapping) and "click" in value:
        value = value["click"]
    if not isinstance(value, Mapping):
        return []
    codes = value.get("codes")
    if not isinstance(codes, list):
        return []
    return [c for c in codes if isinstance(c, str)]


def pick_from_click(clicked: Sequence[str], selected: str | None, known: Iterable[str]) -> str | None:
    """The code a click on a highlight selects: the first of its codes, or, when the selected code
    is among them (overlapping highlights), the next one round. Unknown codes are ignored."""
    have = set(known)
    codes = [c for c in clicked if c in have]
    if not codes:
        return selected
    if selected in codes:
        return codes[(codes.index(selected) + 1) % len(codes)]
    return codes[0]


def next_undecided(codes: Sequence[CaseCode], after: str) -> str | None:
    """The next code still only suggested after `after` in the list, wrapping round; None when the
    coder has decided every code."""
    order = [c.code for c in codes]
    start = order.index(after) + 1 if after in order else 0
    return next((c.code for c in [*codes[start:], *codes[:start]] if c.status == "suggested"), None)


def neighbour(codes: Sequence[CaseCode], selected: str | None, step: int) -> str | None:
    """The code `step` places after (or before, when negative) `selected` in the list, stopping at
    the ends; the first code when nothing is selected."""
    order = [c.code for c in codes]
    if not order:
        return None
    if selected not in order:
        return order[0]
    i = min(max(order.index(selected) + step, 0), len(order) - 1)
    return order[i]


def move_target(codes: Sequence[CaseCode], code: str, step: int) -> int | None:
    """The sequence a live code moves to one place up (`step` -1) or down (+1), or None when it
    cannot: a rejected code, the ends of the live codes, and sequence 1 while a principal holds it."""
    live = [c for c in codes if c.status in LIVE]
    row = next((c for c in live if c.code == code), None)
    if row is None:
        return None
    target = row.sequence + step
    if not 1 <= target <= len(live):
        return None
    if live[0].principal and (row.principal or target == 1):
        return None
    return target


@dataclass(frozen=True)
class ChangeOption:
    code: str
    title: str
    relation: str  # "more specific", "7th character", "sibling", or "alternative" (the agent's only)
    billable: bool
    agent: bool = False  # the agent offers it as an alternative

    @property
    def label(self) -> str:
        notes = [self.relation] + (["the agent's alternative"] if self.agent and self.relation != "alternative" else [])
        if not self.billable:
            notes.append("not billable")
        return f"{self.code} {self.title} ({', '.join(notes)})"


def change_options(store: CodeStore, code: str, alternatives: Iterable[str] = ()) -> list[ChangeOption]:
    """The codes a coder may change `code` to, each once: the agent's alternatives first, then the
    code's children (more specific codes, or the 7th-character codes it still needs), then its
    siblings (for a code with a 7th character: the same code with another 7th character)."""
    record = store.find(code)
    if record is None:
        return []
    relation: dict[str, str] = {}
    for child in record.children:
        relation.setdefault(child, "more specific")
    parent = store.find(record.parent) if record.parent else None
    for other in parent.children if parent is not None else ():
        relation.setdefault(other, "7th character" if record.kind == CodeKind.EXTENSION else "sibling")
    offered = [a for a in dict.fromkeys(alternatives) if a != record.code]
    order = [*offered, *(c for c in relation if c not in offered and c != record.code)]
    found = store.codes(order)
    options = []
    for c in order:
        if c not in found:
            continue
        kind = relation.get(c, "alternative")
        if kind == "more specific" and found[c].kind == CodeKind.EXTENSION:
            kind = "7th character"
        options.append(ChangeOption(found[c].code, found[c].title, kind, found[c].billable, c in offered))
    return options


MAX_QUOTE = 500  # characters of evidence a coder may quote for a code they add


def quote_evidence(note: str, quote: str) -> list[Evidence]:
    """Where the words a coder quotes stand in the note, as evidence: every place, found as
    `agent.evidence.find_quotes` finds them (case, runs of whitespace and typographic marks
    aside), with exact offsets (`note[start:end] == text`). Empty when the quote is too
    long, says too little or is not in the note."""
    if len(quote) > MAX_QUOTE:
        return []
    return [Evidence(s.start, s.end, s.text, source="coder") for s in find_quotes(note, quote)]


def steps_by_stage(steps: Iterable[Step]) -> list[tuple[str, list[str]]]:
    """The reasoning steps grouped by stage, stages in the order they first appear."""
    grouped: dict[str, list[str]] = {}
    for step in steps:
        grouped.setdefault(step.stage, []).append(step.detail)
    return [(STAGE_LABELS.get(stage, stage.capitalize()), details) for stage, details in grouped.items()]


# -- coding ---------------------------------------------------------------------------------------


def llm_unavailable(llm_base_url: str | None) -> str | None:
    """Why the LLM reasoner cannot be chosen, or None when it can."""
    if llm_base_url:
        return None
    return (
        "The LLM reasoner needs an OpenAI-compatible endpoint: set CODA_LLM_BASE_URL "
        "(and CODA_LLM_MODEL, CODA_LLM_API_KEY) and restart the app."
    )


def profile_names(release_dir: Path) -> list[str]:
    """The learned profiles of a release: the folders under <release>/profiles, by name."""
    folder = Path(release_dir) / "profiles"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


# -- the audit trail and exports ------------------------------------------------------------------


def audit_rows(entries: Iterable[AuditEntry]) -> list[dict[str, str]]:
    """The audit trail as table rows, oldest first, times in UTC to the second."""
    rows = []
    for e in entries:
        at = datetime.fromisoformat(e.at).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(
            {
                "time (UTC)": at,
                "coder": e.coder,
                "action": e.action,
                "code": _change(e.code_before, e.code_after, e.action),
                "reason": e.reason,
            }
        )
    return rows


def _change(before: str | None, after: str | None, action: str = "") -> str:
    if action == "kept_excludes1":
        return f"{before} + {after}"
    if before and after and before != after:
        return f"{before} → {after}"
    return after or before or ""


def rejected_by(code: str, entries: Iterable[AuditEntry]) -> str | None:
    """The coder who rejected `code`, from the audit trail; None when the agent rejected it (a
    rejection older than the last coding run or than the code's last acceptance does not count)."""
    who = None
    for e in entries:
        if e.action == "coded" or (e.action == "accepted" and e.code_after == code):
            who = None
        elif e.action == "rejected" and e.code_before == code:
            who = e.coder
    return who


def split_rejected(rows: Iterable[CodeRow], entries: Iterable[AuditEntry]) -> tuple[list[CodeRow], list[CodeRow]]:
    """The rejected rows in two lists: those a coder rejected (from the audit trail), then the
    candidates the agent rejected, each in list order; the coder's own decisions are shown apart."""
    entries = list(entries)
    rejected = [r for r in rows if not r.live]
    mine = [r for r in rejected if rejected_by(r.code, entries) is not None]
    return mine, [r for r in rejected if r not in mine]


def export_name(case: Case, kind: str) -> str:
    """The file name of an export: "C0001-claim.json", "C0001-hi-segment.txt", "C0001-837i.x12",
    "C0001-codes.csv", "C0001-audit.csv"."""
    names = {
        "fhir": "claim.json",
        "x12": "hi-segment.txt",
        "837i": "837i.x12",
        "csv": "codes.csv",
        "audit": "audit.csv",
    }
    return f"{case.id}-{names[kind]}"


# -- procedures ------------------------------------------------------------------------------------

PROCEDURE_COLOUR = "#a7f3d0"  # every procedure's words, in one colour of their own (diagnoses take the palette)


def procedure_spans(procedures: Sequence[CaseProcedure]) -> list[tuple[int, int, str]]:
    """The words of the live procedures, each character's and the procedure's, for the note view."""
    spans: dict[tuple[int, int], str] = {}
    for p in procedures:
        if p.status in LIVE:
            for e in (*p.evidence, *(e for a in p.axes for e in a.evidence)):
                spans.setdefault((e.start, e.end), p.code)
    return [(start, end, code) for (start, end), code in sorted(spans.items())]


AXIS_HEADER = ("#", "character", "from the note, or why")


def axis_rows(procedure: CaseProcedure) -> list[tuple[str, str, str]]:
    """A procedure's characters as rows of a narrow table: position and value, what the character
    says and its meaning, and the note's words that chose it (quoted) or why it holds without them."""
    rows = []
    for a in procedure.axes:
        said = ", ".join(f"“{e.text}”" for e in a.evidence)
        why = f"{said}; {a.basis}" if said and a.basis else (said or a.basis)
        rows.append((f"{a.position} {a.value}", f"{a.name}: {a.meaning}" if a.meaning else a.name, why))
    return rows
