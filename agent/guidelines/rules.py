"""The rule tables the guideline checks cite: the guideline texts, each setting's rule for
uncertain diagnoses and each setting's claim limit, from `agent/data/guidelines.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from agent import DATA_DIR
from index.data_files import load_json, require_mapping
from index.errors import DataError

GUIDELINES_FILE = DATA_DIR / "guidelines.json"


@dataclass(frozen=True)
class Guideline:
    """A short guideline text a check cites, with where it comes from."""

    key: str
    title: str
    cite: str
    text: str

    def __str__(self) -> str:
        return f"{self.title} ({self.cite}): {self.text}"


@dataclass(frozen=True)
class UncertainRule:
    setting: str
    coded_as_established: bool
    text: str  # key of the guideline text that explains the rule


@dataclass(frozen=True)
class ClaimLimit:
    setting: str
    limit: int
    form: str


@dataclass(frozen=True)
class GuidelineRules:
    """The guideline texts, the uncertain-diagnosis rule and the claim limit of each setting."""

    texts: Mapping[str, Guideline] = field(hash=False)
    uncertain: Mapping[str, UncertainRule] = field(hash=False)
    claim_limits: Mapping[str, ClaimLimit] = field(hash=False)

    @classmethod
    def from_json(cls, path: str | Path) -> GuidelineRules:
        """Load a rule file shaped like `agent/data/guidelines.json`; raises DataError on a bad one."""
        path = Path(path)
        data = load_json(path)
        texts: dict[str, Guideline] = {}
        for key, entry in require_mapping(data, "texts", path).items():
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(f), str) and entry[f].strip() for f in ("title", "cite", "text")
            ):
                raise DataError(f"rule file {path}: text {key!r} needs non-empty 'title', 'cite' and 'text'")
            texts[key] = Guideline(key, entry["title"], entry["cite"], " ".join(entry["text"].split()))
        uncertain: dict[str, UncertainRule] = {}
        for setting, entry in require_mapping(data, "uncertain_diagnosis", path).items():
            if not isinstance(entry, dict) or not isinstance(entry.get("coded_as_established"), bool):
                raise DataError(
                    f"rule file {path}: uncertain_diagnosis {setting!r} needs a boolean 'coded_as_established'"
                )
            if entry.get("text") not in texts:
                raise DataError(f"rule file {path}: uncertain_diagnosis {setting!r} names no known text")
            uncertain[setting] = UncertainRule(setting, entry["coded_as_established"], entry["text"])
        limits: dict[str, ClaimLimit] = {}
        for setting, entry in require_mapping(data, "claim_limits", path).items():
            limit = entry.get("limit") if isinstance(entry, dict) else None
            if (
                not isinstance(limit, int)
                or isinstance(limit, bool)
                or limit < 1
                or not isinstance(entry.get("form"), str)
            ):
                raise DataError(f"rule file {path}: claim_limits {setting!r} needs a positive 'limit' and a 'form'")
            limits[setting] = ClaimLimit(setting, limit, entry["form"])
        if set(limits) != set(uncertain):
            raise DataError(f"rule file {path}: uncertain_diagnosis and claim_limits name different settings")
        return cls(MappingProxyType(texts), MappingProxyType(uncertain), MappingProxyType(limits))

    @classmethod
    @cache
    def default(cls) -> GuidelineRules:
        """The packaged rules (loaded once)."""
        return cls.from_json(GUIDELINES_FILE)

    def guideline(self, key: str) -> Guideline:
        try:
            return self.texts[key]
        except KeyError:
            raise KeyError(f"no guideline text {key!r}; known: {', '.join(sorted(self.texts))}") from None

    def for_setting(self, setting: str) -> tuple[UncertainRule, ClaimLimit]:
        """The uncertain-diagnosis rule and the claim limit of a setting; ValueError for an unknown one."""
        if setting not in self.uncertain:
            raise ValueError(f"setting must be one of {', '.join(sorted(self.uncertain))}, not {setting!r}")
        return self.uncertain[setting], self.claim_limits[setting]


def guideline_text(key: str) -> str:
    """A guideline text with its title and citation, for the LLM prompt and the UI."""
    return str(GuidelineRules.default().guideline(key))


def cite(key: str) -> str:
    """Where a guideline text comes from ("Guidelines I.A.12.a"), for a finding's message."""
    return GuidelineRules.default().guideline(key).cite
