"""What the code book says of one code, as the explore and instructions tools show it: its place
in the hierarchy, its 7th characters, and the instructional notes that apply at it."""

from __future__ import annotations

from itertools import combinations

from agent.tools.results import clip
from index.entry import NOTE_LABELS
from index.model import Code, CodeKind, code_key
from index.store import CodeStore

__all__ = ["describe_code", "find_code", "note_lines", "placeholder_forms"]

MAX_CHILDREN = 30
MAX_SIBLINGS = 20
TITLE_CHARS = 90
NOTE_CHARS = 160
NOTES_PER_KIND = 8


def placeholder_forms(code: str) -> list[str]:
    """The 7-character codes `code` may have meant without its X placeholders ("T38.05A" ->
    "T38.0X5A" ...): an X put in each way that makes seven characters, the 7th kept last."""
    key = code_key(code)
    if not 4 <= len(key) < 7 or not key[-1].isalpha():
        return []
    body, last = key[:-1], key[-1]
    missing = 6 - len(body)
    forms = []
    for spots in combinations(range(3, 6), missing):
        chars = list(body)
        for spot in spots:
            chars.insert(spot, "X")
        bare = "".join(chars) + last
        forms.append(f"{bare[:3]}.{bare[3:]}")
    return forms


def find_code(store: CodeStore, code: str) -> tuple[Code | None, str]:
    """The record of `code` and, when there is none, a hint: the code with its X placeholders
    when that is a code, else where to look."""
    given = " ".join(code.split())
    record = store.find(given) if given else None
    if record is not None:
        return record, ""
    for form in placeholder_forms(given):
        if store.find(form) is not None:
            return None, f"did you mean {form} (with placeholder X)?"
    return None, "try search_codes"


def _line(record: Code) -> str:
    return f"{record.code}  {clip(record.title, TITLE_CHARS)}"


def status(record: Code, store: CodeStore) -> str:
    """[billable], [needs a 7th character], or [category/subcategory: go deeper]."""
    if record.billable:
        return "[billable]"
    if record.kind in (CodeKind.CHAPTER, CodeKind.BLOCK):
        return f"[{record.kind.value}]"
    if needs_seventh(record, store):
        return "[needs a 7th character]"
    return f"[{record.kind.value}: go deeper]"


def needs_seventh(record: Code, store: CodeStore) -> bool:
    """True for a code that is complete but for its 7th character."""
    if record.billable or record.kind is CodeKind.EXTENSION or not record.children:
        return False
    children = store.codes(record.children)
    return bool(children) and all(c.kind is CodeKind.EXTENSION for c in children.values())


def _listed(label: str, codes: list[Code], limit: int) -> list[str]:
    if not codes:
        return []
    lines = [f"{label} ({len(codes)}):"]
    lines += [f"  {_line(c)}" for c in codes[:limit]]
    if len(codes) > limit:
        lines.append(f"  ... ({len(codes) - limit} more)")
    return lines


def describe_code(store: CodeStore, record: Code) -> list[str]:
    """The explore tool's lines for `record`."""
    lines = [f"{_line(record)}  {status(record, store)}"]
    parent = store.find(record.parent) if record.parent else None
    if parent is not None:
        lines.append(f"parent: {_line(parent)}")
    found = store.codes(record.children)
    children = [found[c] for c in record.children if c in found]
    seventh, defined_at = store.seventh_characters(record.code)
    if needs_seventh(record, store):
        meanings = {s.char: s.meaning for s in seventh}
        choices = "; ".join(f"{c.code} ({meanings.get(c.code[-1], c.title)})" for c in children)
        lines.append(f"{record.code} needs a 7th character: {choices}")
    else:
        lines += _listed("children", children, MAX_CHILDREN)
    if parent is not None:
        known = store.codes(parent.children)
        siblings = [known[c] for c in parent.children if c in known and c != record.code]
        lines += _listed("siblings", siblings, MAX_SIBLINGS)
    if seventh and record.kind is CodeKind.EXTENSION:
        meaning = next((s.meaning for s in seventh if s.char == record.code[-1]), "")
        lines.append(f"7th character {record.code[-1]} = {meaning} (defined at {defined_at})")
    elif seventh:
        shown = "; ".join(f"{s.char} = {s.meaning}" for s in seventh)
        lines.append(f"7th characters (defined at {defined_at}, apply to every code below it): {shown}")
    return lines


def note_lines(store: CodeStore, record: Code) -> tuple[list[str], int]:
    """The instructions tool's lines: the notes that apply at `record`, by kind, each marked
    with the code that carries it; and how many notes there are."""
    notes = store.inherited_notes(record.code)
    lines = [f"{_line(record)}: instructional notes (own and inherited), each with the code it is from"]
    for kind, label in NOTE_LABELS.items():  # in the order a coder reads them
        of_kind = [n for n in notes if n.kind == kind]
        if not of_kind:
            continue
        lines.append(f"{label}:")
        lines += [f"  - {clip(n.text, NOTE_CHARS)} [{n.source}]" for n in of_kind[:NOTES_PER_KIND]]
        if len(of_kind) > NOTES_PER_KIND:
            lines.append(f"  ... ({len(of_kind) - NOTES_PER_KIND} more)")
    if not notes:
        lines.append("(no instructional notes apply at this code or above it)")
    return lines, len(notes)
