"""Text that addresses the software rather than describing the patient (prompt injection):
such text is not clinical, and no code rests on it. The patterns live in
`agent/data/injection_patterns.json`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agent import DATA_DIR
from index.data_files import rule_file
from index.errors import DataError

__all__ = ["InjectionPatterns", "instruction_in"]

INJECTION_PATTERNS_FILE = DATA_DIR / "injection_patterns.json"


@dataclass(frozen=True)
class InjectionPatterns:
    """Patterns of text that addresses the model (prompt injection), each with why it does."""

    patterns: tuple[tuple[re.Pattern[str], str], ...]

    @classmethod
    def from_json(cls, path: str | Path) -> InjectionPatterns:
        """Load the patterns; raises DataError on a bad file or a pattern that does not compile."""
        path = Path(path)
        with rule_file(path) as data:
            entries = data.get("patterns") if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries:
            raise DataError(f"rule file {path}: 'patterns' must be a non-empty list")
        compiled: list[tuple[re.Pattern[str], str]] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str):
                raise DataError(f"rule file {path}, pattern {i}: needs a 'pattern' string")
            try:
                pattern = re.compile(entry["pattern"], re.IGNORECASE)
            except re.error as exc:
                raise DataError(f"rule file {path}, pattern {i}: {exc}") from exc
            compiled.append((pattern, str(entry.get("why", "addresses the model"))))
        return cls(tuple(compiled))

    @classmethod
    @cache
    def default(cls) -> InjectionPatterns:
        return cls.from_json(INJECTION_PATTERNS_FILE)

    def match(self, text: str) -> str | None:
        """Why `text` reads as an instruction aimed at the model, or None when it does not."""
        for pattern, why in self.patterns:
            if pattern.search(text):
                return why
        return None


def instruction_in(text: str, patterns: InjectionPatterns | None = None) -> str | None:
    """Why `text` reads as an instruction aimed at the model (packaged patterns), or None."""
    return (patterns or InjectionPatterns.default()).match(text)
