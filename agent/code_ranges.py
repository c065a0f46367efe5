"""Code ranges as rule tables write them: ("I20", "I25"), ("R65.1", "R65.2"), each end compared
with a code at the precision it is written (I25.10 lies in I20-I25; R65.21 in R65.1-R65.2)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Ranges", "in_ranges", "ranges"]

Ranges = tuple[tuple[str, str], ...]


def ranges(raw: Iterable[Iterable[str]]) -> Ranges:
    """Ranges from a rule file's [[first, last], ...]."""
    return tuple((lo, hi) for lo, hi in raw)


def in_ranges(code: str, within: Ranges) -> bool:
    """Whether a code lies in one of the ranges."""
    return any(code[: len(lo)] >= lo and code[: len(hi)] <= hi for lo, hi in within)
