"""The offline matcher: finds code-book terms (titles, inclusion terms, index terms) in a note.

A term matches a clause when every essential word of the term occurs in the clause, in any
order: the way a coder recognises "diabetes type 2 with CKD" as E11.22. Words are
lower-cased, light-stemmed and mapped through aliases; abbreviations expand in place; every
match keeps the exact offsets of the words that made it.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from agent import DATA_DIR
from index.data_files import rule_file
from index.synonyms import Synonyms
from index.words import light_stem

DATA = DATA_DIR / "matching.json"
_FOLLOWING = 60  # characters after a word read for the service it may name ("... care team")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'s)?")
_GRADE = re.compile(r"\b(\d+)[a-zA-Z]\b")
_EXCEPT = re.compile(r",?\s*\bexcept\b.*$", re.IGNORECASE)
# A "without ..." clause runs to the next comma, or to an "in ..." phrase that qualifies the
# condition itself: "without complications in remission" leaves "in remission" (E11.A).
_WITHOUT = re.compile(r",?\s*\bwithout\b((?:[^,i]|\Bi|i(?!n\b))*)", re.IGNORECASE)
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_AND = re.compile(r"\b([A-Za-z]+) and ([A-Za-z]+)\b")
MAX_AND_PAIRS = 2
MAX_GAP = 2  # other words a term's words may have between them in a clause
MAX_SITE_WORDS = 3  # a longer phrase after "and" says more than a site ("... tissue related to radiation")


@dataclass(frozen=True)
class MatchingRules:
    stopwords: frozenset[str]
    filler: re.Pattern[str]
    optional: frozenset[str]
    generic: frozenset[str]
    aliases: dict[str, str]
    default_child: frozenset[str]  # words that mark a code as the default "unspecified" child
    weak_single: frozenset[str]  # one-word terms too common in notes to name a code alone
    single_word_excluded: tuple[str, ...]  # code prefixes never named by a one-word term
    rewrites: re.Pattern[str] | None  # code-book words read as the words notes use for them
    rewrite_to: dict[str, str]
    default_without: frozenset[str]  # a "without ..." clause naming one of these is the default
    service: frozenset[str] = frozenset()  # "clinic", "unit": after a term, the name of a service
    service_lead: frozenset[str] = frozenset()  # "care" in "wound care clinic"
    age_units: frozenset[str] = frozenset()  # "year" in "79-year-old": that "old" is an age

    @classmethod
    def from_json(cls, path: Path) -> MatchingRules:
        with rule_file(path) as raw:
            phrases = sorted(raw["filler_phrases"], key=len, reverse=True)
            filler = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b", re.IGNORECASE)
            return cls(
                stopwords=frozenset(raw["stopwords"]),
                filler=filler,
                optional=frozenset(raw["optional_words"]),
                generic=frozenset(raw["generic_words"]),
                aliases=dict(raw["token_aliases"]),
                default_child=frozenset(raw["default_child_words"]),
                weak_single=frozenset(raw["weak_single_words"]),
                single_word_excluded=tuple(raw["single_word_excluded_prefixes"]),
                rewrites=re.compile(r"\b(?:" + "|".join(map(re.escape, raw["term_rewrites"])) + r")\b", re.IGNORECASE)
                if raw["term_rewrites"]
                else None,
                rewrite_to={k.lower(): v for k, v in raw["term_rewrites"].items()},
                default_without=frozenset(raw["default_without_words"]),
                service=frozenset(raw["service_words"]),
                service_lead=frozenset(raw["service_lead_words"]),
                age_units=frozenset(raw["age_units"]),
            )

    @classmethod
    @cache
    def default(cls) -> MatchingRules:
        return cls.from_json(DATA)

    def keeps(self, word: str) -> bool:
        """Stopwords go, but a capital letter standing alone is a name ("hepatitis A")."""
        return word.lower() not in self.stopwords or (len(word) == 1 and word.isupper())

    def drop_default_without(self, text: str) -> str:
        """`text` less its "without ..." clauses that name a complication: "X without Y" is
        the code for X when Y is not documented (Hyperuricemia without signs of inflammatory
        arthritis and tophaceous disease -> E79.0), and "X with Y", a longer term, wins when
        it is. A clause that defines the code ("without rheumatoid factor", "without aura",
        "without abnormal findings") stays."""

        def drop(m: re.Match[str]) -> str:
            words = {w.lower() for w in _TOKEN.findall(m.group(1))}
            return " " if words & self.default_without else m.group(0)

        return _WITHOUT.sub(drop, text)

    def names_a_service(self, following: str) -> bool:
        """Whether the words that follow a term make it the name of a service or a place of care
        ("Wound clinic", "burn unit", "diabetes care team"): the patient's condition is not said."""
        words = [w.lower() for w in _TOKEN.findall(following[:_FOLLOWING])][:2]
        if words and words[0] in self.service:
            return True
        return len(words) == 2 and words[0] in self.service_lead and words[1] in self.service

    def normalise(self, word: str) -> str:
        w = word.lower()
        if w.endswith("'s"):
            w = w[:-2]
        w = self.aliases.get(w, w)
        w = light_stem(w)
        return self.aliases.get(w, w)


@dataclass(frozen=True)
class Term:
    code: str
    text: str
    field: str  # title, inclusion, includes, index
    essential: frozenset[str]
    optional: frozenset[str]  # words in parentheses or optional: a bonus when present


@dataclass(frozen=True)
class Token:
    norm: str
    start: int
    end: int


@dataclass(frozen=True)
class Match:
    term: Term
    start: int  # exact offsets into the note of the matched words' extent
    end: int
    clause_index: int
    optional_hits: int

    @property
    def size(self) -> int:
        return len(self.term.essential)


def _without_classification_other(terms: list[Term]) -> list[Term]:
    """A title's leading "Other" is the classification's word, never the note's: "Other seasonal
    allergic rhinitis" (J30.2) is the code for seasonal allergic rhinitis. It is dropped when the rest of the
    title extends the words of another term in its category (J30.9 "Allergic rhinitis") and no term
    of the category says just those words (K85.9 "Acute pancreatitis" keeps K85.8 "Other acute
    pancreatitis" as written); "Other hypertension" stays as written."""
    by_category: dict[str, list[frozenset[str]]] = defaultdict(list)
    for t in terms:
        by_category[t.code[:3]].append(t.essential)
    kept = []
    for t in terms:
        if t.field == "title" and "other" in t.essential and t.text.lower().startswith("other "):
            rest = t.essential - {"other"}
            same = by_category[t.code[:3]]
            if len(rest) >= 2 and rest not in same and any(w < rest and "other" not in w for w in same):
                t = replace(t, essential=rest)
        kept.append(t)
    return kept


class TermMatcher:
    def __init__(self, terms: Iterable[Term], rules: MatchingRules, synonyms: Synonyms) -> None:
        self.rules = rules
        self.synonyms = synonyms
        # One term per code and words: a title and its "and" readings may come to the same,
        # and the first (the title as the Tabular writes it) is the one shown to the coder.
        unique: dict[tuple[str, str, frozenset[str]], Term] = {}
        for t in terms:
            unique.setdefault((t.code, t.field, t.essential), t)
        self.terms = _without_classification_other(list(unique.values()))
        frequency: dict[str, int] = defaultdict(int)
        for term in self.terms:
            for word in term.essential:
                frequency[word] += 1
        # Each term is filed under its rarest essential word: a clause only checks terms
        # whose rarest word it contains.
        self._by_word: dict[str, list[Term]] = defaultdict(list)
        for term in self.terms:
            rarest = min(term.essential, key=lambda w: (frequency[w], w))
            self._by_word[rarest].append(term)

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[str, str, str]],
        rules: MatchingRules | None = None,
        synonyms: Synonyms | None = None,
        leaves: Collection[str] = (),
    ) -> TermMatcher:
        """Terms from (text, code, field) rows. The titles of `leaves` (billable codes) are
        also read with their "and" as "or"; a category's "and" stays, since its children
        tell the conditions apart ("Nausea and vomiting": R11.0 Nausea, R11.1- Vomiting)."""
        rules = rules or MatchingRules.default()
        terms = (
            t
            for text, code, field in rows
            for variant in (
                and_variants(text) if field == "title" and code in leaves and not _encounter(code) else (text,)
            )
            if (t := make_term(variant, code, field, rules)) is not None
        )
        return cls(terms, rules, synonyms or Synonyms.default())

    def tokens(self, text: str, offset: int = 0, expand: bool = True) -> list[Token]:
        """Normalised words of `text` with offsets (shifted by `offset`); with `expand`,
        abbreviations add the words they stand for, at the abbreviation's offsets."""
        out = [
            Token(self.rules.normalise(m.group(0)), offset + m.start(), offset + m.end())
            for m in _TOKEN.finditer(text)
            if self.rules.keeps(m.group(0))
        ]
        # "3a" (a stage, a grade) also says "3".
        if not expand:
            return out
        out += [Token(m.group(1), offset + m.start(), offset + m.end()) for m in _GRADE.finditer(text)]
        if self.synonyms.pattern is not None:
            for m in self.synonyms.pattern.finditer(text):
                expansion = self.synonyms.terms[m.group(0).lower()][0]
                for w in _TOKEN.findall(expansion):
                    if self.rules.keeps(w):
                        out.append(Token(self.rules.normalise(w), offset + m.start(), offset + m.end()))
        return out

    def _condition_words(self, tokens: list[Token], text: str, start: int) -> list[Token]:
        """The clause's words less those that name no condition there: a word followed by
        "clinic", "unit" ... (the name of a service), and the "old" of an age ("79-year-old")."""
        kept = []
        previous = ""
        for t in sorted(tokens, key=lambda t: t.start):
            age = t.norm == "old" and previous in self.rules.age_units
            previous = t.norm
            if not age and not self.rules.names_a_service(text[t.end - start : t.end - start + _FOLLOWING]):
                kept.append(t)
        return kept

    def match(self, clauses: Iterable[tuple[int, int, str]]) -> list[Match]:
        """Matches in each clause, given as (start, end, text) with note offsets. A term's
        words must lie close together: within the term's own words (its optional ones among
        them) plus `MAX_GAP` other words of the clause, stopwords aside ("abdominal CT ...
        could correspond to metastases" is not "malignant neoplasm of abdomen")."""
        found: list[Match] = []
        for index, (start, _end, text) in enumerate(clauses):
            every = self.tokens(text, start)
            kept = self._condition_words(every, text, start)
            here = self._in_clause(index, kept, lambda term: True)
            if len(kept) < len(every):  # "Palliative Care Unit" names the care given: a Z code still reads it
                seen = {id(m.term) for m in here}
                here += self._in_clause(
                    index, every, lambda term, seen=seen: term.code.startswith("Z") and id(term) not in seen
                )
            found += here
        return found

    def _in_clause(self, index: int, tokens: list[Token], wanted: Callable[[Term], bool]) -> list[Match]:
        """The terms `wanted` whose words lie close together among the clause's `tokens`."""
        found: list[Match] = []
        # A word's place in the clause; an abbreviation's expansion shares its place.
        place = {offset: i for i, offset in enumerate(sorted({t.start for t in tokens}))}
        positions: dict[str, list[Token]] = defaultdict(list)
        for tok in sorted(tokens, key=lambda t: t.start):
            positions[tok.norm].append(tok)
        for word in list(positions):
            for term in self._by_word.get(word, ()):
                if not wanted(term) or not all(w in positions for w in term.essential):
                    continue
                spans = _closest(term.essential, word, positions, place)
                first = min(place[t.start] for t in spans)
                last = max(place[t.start] for t in spans)
                # The term's own optional words between its essential words are not "other" words.
                own = {
                    place[t.start] for w in term.optional for t in positions.get(w, ()) if first < place[t.start] < last
                }
                if last - first + 1 > len(term.essential) + len(own) + MAX_GAP:
                    continue
                optional = sum(1 for w in term.optional if w in positions)
                found.append(Match(term, min(t.start for t in spans), max(t.end for t in spans), index, optional))
        return found


def _closest(
    words: frozenset[str], anchor: str, positions: dict[str, list[Token]], place: dict[int, int]
) -> list[Token]:
    """One occurrence of each word, as close together as a greedy choice gets them: for
    each occurrence of `anchor`, the nearest occurrence of every other word (`positions`
    lists each word's occurrences in the clause's order). Stops at the first choice with no
    other word between its words, so a long run-on clause costs no more than a short one."""
    others = [w for w in words if w != anchor]
    places = {w: [place[t.start] for t in positions[w]] for w in others}
    best: list[Token] = []
    best_width = -1
    for a in positions[anchor]:
        here = place[a.start]
        chosen = [a] + [_nearest(positions[w], places[w], here) for w in others]
        width = max(place[t.start] for t in chosen) - min(place[t.start] for t in chosen)
        if best_width < 0 or width < best_width:
            best, best_width = chosen, width
            if best_width < len(words):
                break
    return best


def _nearest(tokens: list[Token], places: list[int], here: int) -> Token:
    """The occurrence nearest to `here` of a word whose occurrences sit at `places` (sorted)."""
    i = bisect.bisect_left(places, here)
    if i == 0:
        return tokens[0]
    if i == len(places):
        return tokens[-1]
    return tokens[i] if places[i] - here < here - places[i - 1] else tokens[i - 1]


def _encounter(code: str) -> bool:
    """Factors influencing health status (Z codes) name encounters and statuses: their "and"
    joins what the encounter covers ("examination of eyes and vision"), not alternatives."""
    return code.startswith("Z")


def and_variants(text: str) -> tuple[str, ...]:
    """A Tabular title and the readings its "and" allows: "and" in a title means "and/or"
    (Official Guidelines I.A.14).

    Two words joined by "and" are read one at a time: "Embolism and thrombosis of renal
    vein" is also "Embolism of renal vein" and "thrombosis of renal vein". Two sites joined
    by "and" after "of", the second of at most three words up to a comma or the end, are
    read one at a time as well: "Secondary malignant neoplasm of liver and intrahepatic bile
    duct" is also "... of liver" and "... of intrahepatic bile duct". At most the first two
    "and"s are read this way; lists ("bone, soft tissue, and skin") stay as they are."""
    masked = _PARENS.sub(lambda p: " " * len(p.group(0)), text)
    pairs = list(_AND.finditer(masked))[:MAX_AND_PAIRS]
    if not pairs:
        return (text,)
    pieces: list[tuple[str, ...]] = []
    position = 0
    for m in pairs:
        if m.start() < position:
            continue
        pieces.append((text[position : m.start()],))
        stop = masked.find(",", m.end())
        stop = len(text) if stop < 0 else stop
        after_of = " of " in masked[: m.start()]
        if after_of and len(masked[m.start(2) : stop].split()) <= MAX_SITE_WORDS:
            pieces.append((text[m.start() : stop], m.group(1), text[m.start(2) : stop]))
            position = stop
        else:
            pieces.append((text[m.start() : m.end()], m.group(1), m.group(2)))
            position = m.end()
    pieces.append((text[position:],))
    return tuple(dict.fromkeys("".join(choice) for choice in itertools.product(*pieces)))


def make_term(text: str, code: str, field: str, rules: MatchingRules) -> Term | None:
    """A code-book text as a term; None when nothing specific is left to match. A "without
    <complication>" clause is not required of the note; its words are optional, so a note that
    says them ("without complications in remission") still has the term's words close together."""
    if rules.rewrites is not None:
        text = rules.rewrites.sub(lambda m: rules.rewrite_to[m.group(0).lower()], text)
    # "except ..." names what the code leaves out: not words the note must contain.
    kept = rules.drop_default_without(_EXCEPT.sub("", text))
    core = rules.filler.sub(" ", _PARENS.sub(" ", kept))
    words = [rules.normalise(w) for w in _TOKEN.findall(core) if rules.keeps(w)]
    essential = frozenset(w for w in words if w not in rules.optional)
    if not essential or essential <= rules.generic:
        return None
    if len(essential) == 1 and (essential <= rules.weak_single or code.startswith(rules.single_word_excluded)):
        return None
    extra = {rules.normalise(w) for w in _TOKEN.findall(text) if rules.keeps(w)}
    return Term(code, text, field, essential, frozenset(extra - essential))
