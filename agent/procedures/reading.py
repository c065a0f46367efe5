"""Which procedures a note says were performed, and the words each is read from: a procedure
word's status (performed; planned, refused, done before or not done, which are not coded; or
discontinued, B3.3) from the words around it in its clause, and the stretch of its sentence
that belongs to it when a sentence names several procedures.
"""

from __future__ import annotations

import re

from agent.procedures.lexicon import Mention, ProcedureLexicon
from agent.reading.segment import Sentence

WINDOW = 80  # characters on each side of a procedure word, within its sentence, read for its details
NEAR = 30  # "no" or "not" this close before a procedure word says it was not done
_JOIN = re.compile(r"\b(?:followed by|and then|then|and|after|before|plus|with subsequent)\b|[,;]", re.IGNORECASE)
NOT_CODED = {
    "planned": "planned, not performed in this stay",
    "refused": "refused or deferred: not performed",
    "historical": "performed before this stay: not reported on this claim",
    "not_done": "the note says it was not done",
}


def status_of(
    lexicon: ProcedureLexicon, note: str, sentence: Sentence, mention: Mention, window: tuple[int, int]
) -> str:
    """performed, discontinued, or why it is not coded: planned, refused, historical, not_done."""
    before, after = note[window[0] : mention.start], note[mention.end : window[1]]
    for name in ("refused", "not_done", "discontinued", "planned", "historical"):
        ahead, behind = lexicon.status[name]
        near = before[-NEAR:] if name == "not_done" else before
        if (ahead is not None and ahead.search(near)) or (behind is not None and behind.search(after)):
            return name
    if sentence.section == "plan":
        return "planned"
    if sentence.section == "history":
        return "historical"
    return "performed"


def windows(
    note: str, sentence: Sentence, mentions: list[Mention], findings: re.Pattern[str] | None = None
) -> list[tuple[int, int]]:
    """The stretch of its sentence each procedure word is read in: up to WINDOW characters each
    side, and between two procedures split where the sentence joins them ("biopsy of the lesion
    followed by | laparoscopic resection"), so that each keeps its own words; it ends where the
    sentence turns to what the procedure found (`findings`: "CT of the abdomen | showed ...")."""
    bounds = []
    for i, mention in enumerate(mentions):
        lo = max(sentence.start, mention.start - WINDOW)
        hi = min(sentence.end, mention.end + WINDOW)
        if i > 0:
            lo = max(lo, _joint(note, mentions[i - 1].end, mention.start)[1])
        if i + 1 < len(mentions):
            hi = min(hi, _joint(note, mention.end, mentions[i + 1].start)[0])
        if findings is not None:
            found = findings.search(note, mention.end, hi)
            hi = found.start() if found else hi
            before = list(findings.finditer(note, lo, mention.start))
            lo = before[-1].end() if before else lo
        bounds.append((lo, hi))
    return bounds


def _joint(note: str, start: int, end: int) -> tuple[int, int]:
    """Where the text between two procedure words divides: the last joining word or comma
    between them, else nowhere (each reads up to the other)."""
    joins = list(_JOIN.finditer(note, start, end))
    if not joins:
        return end, start
    return joins[-1].start(), joins[-1].end()
