"""The assign step's hierarchy walk: from a matched code down to the most specific code the
text supports, and the 7th character where the Tabular List requires one.

A coder who finds "Asthma" (J45) reads on to the children: a child whose own words are in
the sentence wins; otherwise the default "unspecified" child; a code needing a 7th
character gets the one the sentence's words call for, "initial encounter" by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from agent import DATA_DIR
from agent.candidates.matcher import MatchingRules, TermMatcher, make_term
from agent.reading.assertion import Assertion, assertion_of
from index.data_files import rule_file
from index.model import Code, CodeKind
from index.store import CodeStore

DATA = DATA_DIR / "seventh_character.json"
SITES = DATA_DIR / "body_sites.json"
PATIENT = DATA_DIR / "patient_cues.json"


@dataclass(frozen=True)
class SeventhRules:
    rules: tuple[tuple[re.Pattern[str], str], ...]
    default_meaning: str

    @classmethod
    def from_json(cls, path: Path) -> SeventhRules:
        with rule_file(path) as raw:
            rules = tuple(
                (re.compile(r"\b(?:" + "|".join(re.escape(c) for c in r["cues"]) + r")\b", re.IGNORECASE), r["meaning"])
                for r in raw["rules"]
            )
            return cls(rules, raw["default_meaning"])

    @classmethod
    @cache
    def default(cls) -> SeventhRules:
        return cls.from_json(DATA)


@dataclass(frozen=True)
class SiteGroups:
    """Which grouping words of the Tabular List a body site implies ("kidney" is one of the
    "genitourinary organs"); words normalised as the matcher normalises them."""

    groups: tuple[tuple[frozenset[str], frozenset[str]], ...]  # (sites, implied words)

    @classmethod
    def from_json(cls, path: Path, rules: MatchingRules) -> SiteGroups:
        with rule_file(path) as raw:
            return cls(
                tuple(
                    (frozenset(map(rules.normalise, g["sites"])), frozenset(map(rules.normalise, g["implies"])))
                    for g in raw["groups"]
                )
            )

    def implied(self, words: frozenset[str]) -> dict[str, str]:
        """Each implied word with the site of the note that implies it."""
        out: dict[str, str] = {}
        for sites, implies in self.groups:
            present = sorted(sites & words)
            if present:
                for word in implies - words:
                    out.setdefault(word, present[0])
        return out


@dataclass(frozen=True)
class PatientCues:
    """What the note says of the patient that a code may depend on: their sex, by the words
    that tell it ("she", "his", "woman"); the sex with more cues in the note wins."""

    sex: tuple[tuple[str, re.Pattern[str]], ...]  # (female | male, the pattern of its cues)

    @classmethod
    @cache
    def default(cls) -> PatientCues:
        with rule_file(PATIENT) as raw:
            return cls(
                tuple(
                    (sex, re.compile(r"\b(?:" + "|".join(map(re.escape, cues)) + r")\b", re.IGNORECASE))
                    for sex, cues in raw["sex"].items()
                )
            )

    def of(self, note: str) -> frozenset[str]:
        """The words the patient's sex adds to the walk: {"female"}, {"male"} or none."""
        counts = sorted(((len(p.findall(note)), sex) for sex, p in self.sex), reverse=True)
        if not counts or counts[0][0] == 0 or (len(counts) > 1 and counts[0][0] == counts[1][0]):
            return frozenset()
        return frozenset({counts[0][1]})


@dataclass(frozen=True)
class Walk:
    code: str
    steps: tuple[str, ...]  # what each move down the hierarchy was based on


class HierarchyWalker:
    def __init__(
        self,
        store: CodeStore,
        matcher: TermMatcher,
        seventh: SeventhRules | None = None,
        sites: SiteGroups | None = None,
    ) -> None:
        self.store = store
        self.matcher = matcher
        self.seventh = seventh or SeventhRules.default()
        self.sites = sites or SiteGroups.from_json(SITES, matcher.rules)

    def walk(self, code: str, sentence: str, patient: frozenset[str] = frozenset()) -> Walk:
        """The most specific code under `code` that `sentence` supports; `patient` holds what
        the note says of the patient elsewhere (`PatientCues.of`), read when no child is
        named by the sentence itself."""
        current = self._record(code)
        steps: list[str] = []
        if current.billable or not current.children:
            return Walk(current.code, ())
        words = self._sentence_words(sentence)
        while not current.billable and current.children:
            children = [c for c in (self._find(child) for child in current.children) if c is not None]
            if current.kind is not CodeKind.EXTENSION and children and children[0].kind is CodeKind.EXTENSION:
                chosen, why = self._seventh(current, children, sentence)
            else:
                chosen, why = self._child(current, children, words, patient)
            if chosen is None:
                break
            steps.append(f"{current.code} -> {chosen.code}: {why}")
            current = chosen
        return Walk(current.code, tuple(steps))

    def _child(
        self, parent: Code, children: list[Code], words: frozenset[str], patient: frozenset[str] = frozenset()
    ) -> tuple[Code | None, str]:
        parent_words = self._words(parent.title)
        own = {c.code: self._words(c.title) - parent_words for c in children}
        # A child the sentence names: its own words, less words like "complications" that
        # only say how the child differs in kind, are all in the sentence.
        named = {code: words_ - self.matcher.rules.default_child for code, words_ in own.items()}
        supported = [c for c in children if named[c.code] and named[c.code] <= words]
        if supported:
            best = max(supported, key=lambda c: (len(named[c.code]), -len(own[c.code])))
            return best, f"the note says {', '.join(sorted(named[best.code]))}"
        # Else a child named by a grouping the note's body site belongs to: "kidney" names
        # "other genitourinary organs", "cervical" (lymph nodes) names "localized".
        implied = self._implied(words)
        known = words | implied.keys() | patient
        through = [c for c in children if named[c.code] and named[c.code] <= known]
        if through:
            best = max(through, key=lambda c: (len(named[c.code] & words), len(named[c.code]), -len(own[c.code])))
            sites = sorted({implied[w] for w in named[best.code] if w in implied and w not in words})
            reasons = [f"the patient is {w}" for w in sorted(named[best.code] & patient - words)]
            if sites:
                reasons.insert(
                    0, f"the note says {', '.join(sites)}: {'a site' if len(sites) == 1 else 'sites'} of '{best.title}'"
                )
            return best, "; ".join(reasons)
        defaults = [c for c in children if own[c.code] <= self.matcher.rules.default_child]
        # Children that only rearrange the parent's words ("Hepatomegaly and splenomegaly":
        # R16.0 Hepatomegaly, R16.1 Splenomegaly, R16.2 Hepatomegaly with splenomegaly): the
        # one whose words the note says, the fullest first.
        said = [c for c in defaults if self._words(c.title) and self._words(c.title) <= words]
        if said and any(self._words(c.title) != self._words(said[0].title) for c in defaults):
            best = max(said, key=lambda c: (len(self._words(c.title)), -len(c.code)))
            return best, f"the note says {', '.join(sorted(self._words(best.title)))}"
        if defaults:
            best = min(
                defaults,
                key=lambda c: (
                    len(own[c.code]),
                    "unspecified" not in c.title.lower(),
                    not c.code.endswith("9"),
                    c.code,
                ),
            )
            return best, "nothing more specific in the note: the default subdivision"
        return None, ""

    def _seventh(self, parent: Code, extensions: list[Code], sentence: str) -> tuple[Code | None, str]:
        defined, _ = self.store.seventh_characters(parent.code)
        meanings = {s.char: s.meaning.lower() for s in defined}
        for pattern, meaning in self.seventh.rules:
            cue = pattern.search(sentence)
            if cue is None:
                continue
            for ext in extensions:
                if meanings.get(ext.code[-1], "").startswith(meaning):
                    return (
                        ext,
                        f"7th character {ext.code[-1]} ({meanings[ext.code[-1]]}): the note says '{cue.group(0)}'",
                    )
        for ext in extensions:
            if meanings.get(ext.code[-1], "").startswith(self.seventh.default_meaning):
                return ext, f"7th character {ext.code[-1]} ({meanings[ext.code[-1]]}): the default"
        if not extensions:
            return None, ""
        return extensions[0], f"7th character {extensions[0].code[-1]}: the first defined"

    @lru_cache(maxsize=4096)  # noqa: B019 - one walker per store; sentences repeat within a note
    def _implied(self, words: frozenset[str]) -> dict[str, str]:
        return self.sites.implied(words)

    @lru_cache(maxsize=4096)  # noqa: B019 - one walker per store; sentences repeat within a note
    def _sentence_words(self, sentence: str) -> frozenset[str]:
        """The words the sentence affirms: a word in the scope of a negation ("without
        complications", "no hematuria") names no child."""
        return frozenset(
            t.norm for t in self.matcher.tokens(sentence) if assertion_of(sentence, t.start, t.end) != Assertion.NEGATED
        )

    def _record(self, code: str) -> Code:
        found = self._find(code)
        if found is None:
            return self.store.get(code)  # raises UnknownCode with the store's message
        return found

    @cache  # noqa: B019 - codes are immutable and the walker lives as long as the store
    def _find(self, code: str) -> Code | None:
        return self.store.find(code)

    @cache  # noqa: B019 - titles are few and the walker lives as long as the store
    def _words(self, title: str) -> frozenset[str]:
        # Essential words only: words in parentheses are nonessential modifiers.
        term = make_term(title, "", "title", self.matcher.rules)
        return term.essential if term is not None else frozenset()
