"""The team's work, per coder and per day, from the audit trail: the cases they worked, the codes
they accepted, rejected, changed and added, how often they accepted the agent's suggestions, and
the time they spent on a case (from their first to their last action on it that day)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from statistics import median

from app.review.records import AuditEntry

_COUNTED = ("accepted", "rejected", "changed", "added")
_WORK = frozenset({*_COUNTED, "moved", "principal", "kept_excludes1", "status", "reference", "options", "coded"})


@dataclass(frozen=True)
class TeamRow:
    day: str  # UTC date
    coder: str
    cases: int  # cases they acted on that day
    done: int  # cases they marked done that day
    accepted: int
    rejected: int
    changed: int
    added: int
    acceptance: float | None  # accepted / (accepted + rejected + changed); None when they decided none
    minutes_per_case: float  # median of first-to-last action per case


def team_rows(entries: Iterable[AuditEntry]) -> list[TeamRow]:
    """One row per coder and day, days newest first, coders by name."""
    groups: dict[tuple[str, str], list[AuditEntry]] = defaultdict(list)
    for e in entries:
        if e.action in _WORK:
            groups[e.at[:10], e.coder].append(e)
    rows = []
    for (day, coder), done_by in groups.items():
        counts = {a: sum(e.action == a for e in done_by) for a in _COUNTED}
        decided = counts["accepted"] + counts["rejected"] + counts["changed"]
        spans: dict[str, list[datetime]] = defaultdict(list)
        for e in done_by:
            spans[e.case_id].append(datetime.fromisoformat(e.at))
        minutes = median((max(t) - min(t)).total_seconds() / 60 for t in spans.values())
        rows.append(
            TeamRow(
                day,
                coder,
                len(spans),
                sum(e.action == "status" and e.reason.endswith("-> done") for e in done_by),
                **counts,
                acceptance=round(counts["accepted"] / decided, 3) if decided else None,
                minutes_per_case=round(minutes, 1),
            )
        )
    by_coder = sorted(rows, key=lambda r: r.coder)
    return sorted(by_coder, key=lambda r: r.day, reverse=True)  # stable: coders stay in order


def team_csv(rows: Iterable[TeamRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[f.name for f in fields(TeamRow)], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in asdict(row).items()})
    return out.getvalue()
