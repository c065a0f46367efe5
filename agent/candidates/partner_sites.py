"""The code a "Use additional code" note asks for, when the same sentence names it (Guidelines
I.A.13): E11.621's "Use additional code to identify site of ulcer (L97.4-, L97.5-)" beside "type
2 diabetic foot ulcer on the dorsum of the right foot, fat layer exposed" is L97.512, as a coder
reads the note's words against the codes the note points to.

Among the billable codes the note's references reach, the words that tell them apart are those
not every one of them has ("non-pressure chronic ulcer" is in all of L97.4- and L97.5-); a code
is named when the sentence has a word they all share (what the note asks for: "ulcer",
"resistance") and each of its telling words but the generic ones ("other part"), and the one
that says the most wins (a tie names none). External causes (V-Y) have their own
rules (I.C.20), and a reference that reaches more than MAX_CODES codes is too wide to read so.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from agent.candidates.matcher import MatchingRules, TermMatcher, Token
from agent.guidelines.refs import CodeRef, parse_refs
from agent.reading.segment import Analysis
from agent.reading.statements import assertion_at
from agent.records import Evidence
from index.model import Code, NoteKind
from index.store import CodeStore

__all__ = ["PartnerSite", "PartnerSites"]


MAX_CODES = 300  # billable codes a note's references may reach to be read this way
_EXTERNAL = ("V", "W", "X", "Y")
_PRESENT = "present"
_LATERAL = frozenset({"left", "right", "bilateral"})


@dataclass(frozen=True)
class Choices:
    """The codes one "Use additional code" note reaches: the words they all share (what the note
    asks for: "ulcer"), and for each code the words a sentence must have to name it."""

    shared: frozenset[str]
    codes: tuple[tuple[Code, frozenset[str]], ...]


@dataclass(frozen=True)
class PartnerSite:
    code: str
    of: str  # the code whose note asks for it
    evidence: tuple[Evidence, ...]
    cite: str


class PartnerSites:
    def __init__(self, store: CodeStore, matcher: TermMatcher) -> None:
        self.store = store
        self.matcher = matcher
        self.rules: MatchingRules = matcher.rules
        self._choices: dict[str, tuple[Choices, ...]] = {}

    def found(self, named: Mapping[str, Sequence[Evidence]], analysis: Analysis) -> Iterator[PartnerSite]:
        """A partner code for each named code whose "Use additional code" note the same sentence answers."""
        for code, spans in named.items():
            groups = self._partners_of(code)
            if not groups:
                continue
            sentences = dict.fromkeys(
                i for e in spans if e.assertion == _PRESENT and (i := analysis.sentence_at(e.start)) is not None
            )
            for i in sentences:
                tokens = self._tokens(analysis, i)
                for choices in groups:
                    site = self._read(code, choices, analysis, i, tokens)
                    if site is not None:
                        yield site

    def _tokens(self, analysis: Analysis, i: int) -> dict[str, Token]:
        """Each word of sentence `i`, normalised, at its first place."""
        sentence = analysis.sentences[i]
        tokens: dict[str, Token] = {}
        for token in self.matcher.tokens(sentence.text, sentence.start):
            tokens.setdefault(token.norm, token)
        return tokens

    def _read(
        self, of: str, choices: Choices, analysis: Analysis, i: int, tokens: dict[str, Token]
    ) -> PartnerSite | None:
        sentence = analysis.sentences[i]
        if not choices.shared & tokens.keys():
            return None  # the sentence does not name what the note asks for ("resistance", "ulcer")
        named = [(len(required), record, required) for record, required in choices.codes if required <= tokens.keys()]
        if not named:
            return None
        named.sort(key=lambda n: -n[0])
        best = named[0]
        if len(named) > 1 and named[1][0] == best[0]:
            return None  # two codes say as much: the note does not choose between them
        _, record, required = best
        evidence = []
        for word in sorted(required, key=lambda w: tokens[w].start):
            t = tokens[word]
            assertion = assertion_at(sentence, t.start - sentence.start, t.end - sentence.start).value
            if assertion != _PRESENT:
                return None
            text = sentence.text[t.start - sentence.start : t.end - sentence.start]
            evidence.append(Evidence(t.start, t.end, text, assertion, sentence.section, "rule"))
        return PartnerSite(record.code, of, tuple(evidence), f"I.A.13: the Use additional code note at {of}")

    def _partners_of(self, code: str) -> tuple[Choices, ...]:
        """For each of `code`'s "Use additional code" notes, the codes it reaches (`Choices`)."""
        if code not in self._choices:
            notes = self.store.inherited_notes(code) if self.store.find(code) is not None else []
            groups = (self._choices_of(n.text) for n in notes if n.kind is NoteKind.USE_ADDITIONAL_CODE)
            self._choices[code] = tuple(g for g in groups if g is not None)
        return self._choices[code]

    def _choices_of(self, note: str) -> Choices | None:
        records = _reached(self.store, parse_refs(note))
        if len(records) < 2 or len(records) > MAX_CODES:
            return None
        words = {r.code: self._words(r.title) for r in records}
        common = frozenset.intersection(*words.values())
        shared = frozenset(w for w in common if w not in self.rules.generic)
        out = []
        for record in records:
            telling = words[record.code] - common
            required = frozenset(w for w in telling if w in _LATERAL or w not in self.rules.generic)
            if required:
                out.append((record, required))
        return Choices(shared, tuple(out)) if shared and out else None

    def _words(self, title: str) -> frozenset[str]:
        text = self.rules.filler.sub(" ", title)
        return frozenset(t.norm for t in self.matcher.tokens(text, 0, expand=False))


def _reached(store: CodeStore, refs: Sequence[CodeRef]) -> list[Code]:
    """The billable codes the references reach, external causes aside (at most MAX_CODES + 1)."""
    found: dict[str, Code] = {}
    for ref in refs:
        if ref.first.startswith(_EXTERNAL):
            continue
        for prefix in _prefixes(ref):
            for record in store.with_prefix(prefix, limit=MAX_CODES + 1, billable=True):
                if ref.reaches(record.code):
                    found[record.code] = record
            if len(found) > MAX_CODES:
                return list(found.values())
    return list(found.values())


@cache
def _span(first: str, last: str) -> tuple[str, ...]:
    """The three-character categories from `first` to `last` ("N18" to "N18"; "L97" to "L98")."""
    if first[0] != last[0] or not (first[1:3].isdigit() and last[1:3].isdigit()):
        return (first[:3],)
    return tuple(f"{first[0]}{n:02d}" for n in range(int(first[1:3]), int(last[1:3]) + 1))


def _prefixes(ref: CodeRef) -> tuple[str, ...]:
    if ref.first == ref.last or ref.last.startswith(ref.first):
        return (ref.first.rstrip("-").rstrip("."),)
    return _span(ref.first[:3], ref.last[:3])
