"""The code list keeps the coder's own rejections apart from the candidates the agent rejected
(app.workbench.split_rejected)."""

from __future__ import annotations

from app.review.records import AuditEntry
from app.workbench import CodeRow, split_rejected


def row(code: str, status: str, sequence: int, reason: str = "") -> CodeRow:
    return CodeRow(code, f"title of {code}", status, sequence, False, None, reason)


def entry(action: str, before: str | None, coder: str = "dana") -> AuditEntry:
    return AuditEntry(1, "C0001", "2026-01-02T03:04:05+00:00", coder, action, before, None, "")


def test_the_coders_rejections_are_apart_from_the_agents():
    rows = [
        row("E11.22", "accepted", 1),
        row("N18.30", "rejected", 2, "Stage 3a is documented"),
        row("Y36.431A", "rejected", 3, "no statement in this note supports it"),
        row("I10", "rejected", 4, "Not documented as a current condition"),
        row("E11.9", "rejected", 5, "a more specific code is coded"),
    ]
    entries = [entry("coded", None), entry("rejected", "N18.30"), entry("rejected", "I10", "lee")]
    mine, agents = split_rejected(rows, entries)
    assert [r.code for r in mine] == ["N18.30", "I10"]
    assert [r.code for r in agents] == ["Y36.431A", "E11.9"]
    # A new coding run starts over: every rejection is the agent's again.
    mine, agents = split_rejected(rows, [*entries, entry("coded", None)])
    assert mine == [] and [r.code for r in agents] == ["N18.30", "Y36.431A", "I10", "E11.9"]
