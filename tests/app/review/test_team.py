"""Tests of app.review.team: per coder and per day, from the audit trail."""

from __future__ import annotations

from app.review.records import AuditEntry
from app.review.team import TeamRow, team_csv, team_rows


def entry(n: int, case: str, at: str, coder: str, action: str, reason: str = "") -> AuditEntry:
    return AuditEntry(n, case, f"2026-11-{at}+00:00", coder, action, None, None, reason)


ENTRIES = [
    entry(1, "C0001", "28T09:00:00", "dana", "coded"),
    entry(2, "C0001", "28T09:02:00", "dana", "accepted"),
    entry(3, "C0001", "28T09:03:00", "dana", "rejected", "Negated or ruled out in the note"),
    entry(4, "C0001", "28T09:04:00", "dana", "accepted"),
    entry(5, "C0001", "28T09:06:00", "dana", "status", "in_review -> done"),
    entry(6, "C0002", "28T10:00:00", "dana", "added"),
    entry(7, "C0002", "28T10:02:00", "dana", "changed"),
    entry(8, "C0002", "29T08:00:00", "lee", "status", "done -> in_review"),
]


def test_a_row_per_coder_and_day_newest_day_first():
    rows = team_rows(ENTRIES)
    assert [(r.day, r.coder) for r in rows] == [("2026-11-29", "lee"), ("2026-11-28", "dana")]
    dana = rows[1]
    assert (dana.cases, dana.done, dana.accepted, dana.rejected, dana.changed, dana.added) == (2, 1, 2, 1, 1, 1)
    assert dana.acceptance == 0.5  # 2 accepted of 4 decided (accepted, rejected, changed)
    assert dana.minutes_per_case == 4.0  # C0001 took 6 minutes, C0002 2: the median
    assert rows[0].acceptance is None and rows[0].minutes_per_case == 0.0


def test_the_team_view_exports_as_csv():
    text = team_csv(team_rows(ENTRIES))
    lines = text.splitlines()
    assert lines[0] == ",".join(TeamRow.__dataclass_fields__)
    assert lines[1] == "2026-11-29,lee,1,0,0,0,0,0,,0.0"
    assert lines[2] == "2026-11-28,dana,2,1,2,1,1,1,0.5,4.0"
