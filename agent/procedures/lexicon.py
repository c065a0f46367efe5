"""The words Coda reads procedures by: procedure terms and the tables they lead to, the words
that choose an approach, a device or a qualifier, and the body-part words of the note mapped to
the words the tables use. Built from `agent/data/pcs_procedures.json` and from the PCS Index of
the code book ("Appendectomy: see Resection, Appendix 0DTJ"; "Femoral head: use Upper Femur").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent import DATA_DIR
from index.data_files import rule_file
from index.pcs.bundled import PcsBook

RULES_FILE = DATA_DIR / "pcs_procedures.json"
STATUSES = ("planned", "refused", "historical", "not_done", "discontinued")
_PREFIX = re.compile(r"\*\*([0-9A-HJ-NP-Z]{3,7})\*\*")
_SIDES = ("right", "left", "bilateral")
_WORD = re.compile(r"[A-Za-z]+")
_STOP = frozenset({"and", "of", "the", "or", "with", "a", "an", "to", "in", "on", "for", "using"})


@dataclass(frozen=True)
class Cue:
    words: tuple[str, ...]
    meaning: str
    assumed: bool = False  # the words say the character's kind, not its value ("contrast": which?)


@dataclass(frozen=True)
class Operation:
    """A procedure term's tables, as patterns of a code's first characters ("0DTJ", "B.2"), most
    likely first; and what the procedure itself implies for an axis, by meaning."""

    terms: tuple[str, ...]
    options: tuple[str, ...]
    body_words: str = ""
    implied: tuple[tuple[str, str], ...] = ()  # (axis name, meaning): ("device", "Synthetic Substitute")
    cues: tuple[tuple[str, Cue], ...] = ()  # (axis name, cue): words that choose a value for this procedure only
    both_sides: bool = False  # done on both sides unless the note names one (an eye examination)
    bilateral_value: bool = False  # no side named: the table's bilateral value, where it has one (imaging)
    source: str = "rules"  # rules | pcs index


@dataclass(frozen=True)
class Mention:
    """A procedure term found in the note."""

    start: int
    end: int
    text: str
    operation: Operation


@dataclass(frozen=True)
class Word:
    """A word of the note (normalised) or a table word a body-part phrase stands for."""

    word: str
    start: int
    end: int
    said: bool = True  # False: a table word a phrase of the note stands for ("colon" -> intestine)


def norm(word: str) -> str:
    """A word as compared with the tables' words: lower case, a plural's s dropped."""
    word = word.lower()
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_words(text: str) -> list[str]:
    return [norm(w) for w in _WORD.findall(text) if w.lower() not in _STOP]


def phrase_pattern(phrases: list[str], hyphen_ends: bool = True) -> re.Pattern[str] | None:
    """One pattern for all `phrases` as whole words, the longest tried first. With `hyphen_ends`
    a hyphen also ends a word ("CT" is not found in "CT-guided"); without, a hyphenated compound's
    parts are found ("abdominal" in "abdominal-pelvic")."""
    unique = sorted({p.strip().lower() for p in phrases if p.strip()}, key=lambda p: (-len(p), p))
    if not unique:
        return None
    body = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in unique)
    edge = r"\w-" if hyphen_ends else r"\w"
    return re.compile(rf"(?<![{edge}])(?:{body})(?![{edge}])", re.IGNORECASE)


class ProcedureLexicon:
    def __init__(self, book: PcsBook, path: Path = RULES_FILE) -> None:
        with rule_file(path) as data:
            operations = [
                Operation(
                    tuple(o["terms"]),
                    tuple(o["options"]),
                    o.get("body_words", ""),
                    tuple((axis, o[axis]) for axis in ("approach", "device", "qualifier") if axis in o),
                    tuple(
                        (axis, Cue(tuple(c["words"]), c["meaning"], bool(c.get("assumed", False))))
                        for axis, cues in o.get("cues", {}).items()
                        for c in cues
                    ),
                    bool(o.get("both_sides", False)),
                    bool(o.get("bilateral_value", False)),
                )
                for o in data["operations"]
            ]
            self.partial = phrase_pattern(list(data["partial"]))
            self.findings = phrase_pattern(list(data["findings"]))
            self.cues = {
                axis: [Cue(tuple(c["words"]), c["meaning"], bool(c.get("assumed", False))) for c in cues]
                for axis, cues in data["cues"].items()
            }
            self.defaults: dict[str, tuple[str, ...]] = {a: tuple(v) for a, v in data["defaults"].items()}
            body_words = {k.lower(): v.lower() for k, v in data["body_words"].items()}
            self.status = {
                name: (phrase_pattern(data["status"][name]["before"]), phrase_pattern(data["status"][name]["after"]))
                for name in STATUSES
            }
        index_operations, uses = _read_index(book)
        known = {t.lower() for o in operations for t in o.terms}
        operations += [o for o in index_operations if o.terms[0] not in known]
        self._operations = {t.lower(): o for o in reversed(operations) for t in o.terms}
        self._terms = phrase_pattern(list(self._operations))
        self._cue_patterns = {
            axis: [(phrase_pattern(list(c.words)), c) for c in cues] for axis, cues in self.cues.items()
        }
        self._body = {**uses, **body_words}  # the data file's words over the index's
        self._body_pattern = phrase_pattern(list(self._body), hyphen_ends=False)

    def mentions(self, text: str, start: int = 0, end: int | None = None) -> Iterator[Mention]:
        """The procedure terms in text[start:end], left to right, the longest at each place."""
        if self._terms is None:
            return
        for m in self._terms.finditer(text, start, len(text) if end is None else end):
            operation = self._operations[" ".join(m.group().lower().split())]
            yield Mention(m.start(), m.end(), m.group(), operation)

    def words(self, text: str, start: int, end: int) -> list[Word]:
        """The words of text[start:end], and for each body-part phrase there the table words it
        stands for ("colon" -> large, intestine), at the phrase's offsets."""
        found = [Word(norm(m.group()), m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
        if self._body_pattern is not None:
            for m in self._body_pattern.finditer(text, start, end):
                target = self._body[" ".join(m.group().lower().split())]
                found += [Word(norm(w), m.start(), m.end(), said=False) for w in re.findall(r"[a-z]+", target)]
        return found

    def cue(
        self, axis: str, text: str, start: int, end: int, operation: Operation | None = None
    ) -> list[tuple[Cue, int, int]]:
        """(cue, start, end) of each cue for `axis` in text[start:end]: the procedure's own cues
        first, then the rest, each group longest first."""
        own = [(phrase_pattern(list(c.words)), c) for a, c in (operation.cues if operation else ()) if a == axis]
        found: list[tuple[Cue, int, int]] = []
        for group in (own, self._cue_patterns.get(axis, [])):
            hits = []
            for pattern, cue in group:
                if pattern is not None:
                    hits += [(cue, m.start(), m.end()) for m in pattern.finditer(text, start, end)]
            found += sorted(hits, key=lambda f: (-(f[2] - f[1]), f[1]))
        return found


def _read_index(book: PcsBook) -> tuple[list[Operation], dict[str, str]]:
    """The PCS Index's procedure terms with the tables their "see" entries name, and its "use"
    entries' terms with the table words they stand for (sides left out: the note says them)."""
    operations: list[Operation] = []
    uses: dict[str, str] = {}
    for term, content in book.index_entries():
        name = " ".join(re.sub(r"\([^)]*\)", " ", term).lower().split())
        if not name or "," in name or len(name) < 4:
            continue
        # Only the surgical and obstetric tables: the index's other terms ("Blood pressure",
        # "Rehabilitation") name measurements and services that notes mention as findings.
        prefixes = tuple(dict.fromkeys(p for p in _PREFIX.findall(content) if p[0] in "01"))
        if prefixes and content.lstrip().startswith(("see ", "**")):
            operations.append(Operation((name,), prefixes, source="pcs index"))
        elif content.lstrip().startswith("use "):
            targets = {
                " ".join(w for w in re.findall(r"[a-z]+", line.lower()[4:].split(" in ")[0]) if w not in _SIDES)
                for line in content.splitlines()
                if line.strip().startswith("use ")
            }
            if len(targets) == 1:
                uses[name] = targets.pop()
    return operations, uses
