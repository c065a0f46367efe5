"""Present on admission: the POA indicator a coder reports with each diagnosis of an inpatient
claim (ICD-10-CM Official Guidelines, Appendix I), proposed from what the note says, with the
reason and the words that support it.

Each code is decided in this order: on the exempt list -> exempt; the note says the provider
cannot determine it -> W; the note dates it to the stay ("developed ... on hospital day 4",
"hospital-acquired") -> N, and a combination code is N when any part is; the note places it at
or before admission (an admission cue, a section that records the admission, or the signs it
was diagnosed from) -> Y; a condition chronic by nature, or congenital -> Y; an external cause
follows the injury it explains; the principal diagnosis -> Y (it occasioned the admission).
What is left is U: the note does not say, so the coder queries the provider rather than guess.
A sentence addressed to the software or the coder (`Analysis.non_clinical`) dates nothing.
The rule table is `agent/data/poa.json` (`agent.guidelines.poa_rules`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from agent.candidates.integral import IntegralSymptoms
from agent.guidelines.poa_rules import CueHit, PoaRules
from agent.reading.segment import Analysis
from agent.reading.statements import analyze_note
from agent.records import POA_INDICATORS, Candidate, Evidence, PresentOnAdmission, Suggestion

__all__ = ["PoaRules", "poa_summary", "present_on_admission"]

_COMBINATION = re.compile(r"\bwith\b", re.IGNORECASE)  # "COPD with (acute) exacerbation"
_EXTERNAL_CAUSES = ("V", "W", "X", "Y")
_INJURIES = ("S", "T")
_SIGN_ASSERTIONS = frozenset({"present", "uncertain"})
_FAR = 10_000  # how far a cue of the next sentence lies from the words it speaks of
MAX_EVIDENCE = 6  # the first words a reason rests on; a long note may repeat them hundreds of times


@dataclass(frozen=True)
class Reading:
    """What the note says about the timing of one evidence span: the cues that cover it (each
    with its distance), and whether its section records the patient at admission."""

    span: Evidence
    admission: tuple[tuple[CueHit, int], ...] = ()
    stay: tuple[tuple[CueHit, int], ...] = ()
    undetermined: tuple[CueHit, ...] = ()
    section: str = ""  # the admission section it stands in, "" for any other

    def verdict(self) -> tuple[str, int, tuple[CueHit, ...]] | None:
        """("N" | "Y" | "dated", strength, the cues that say so), or None when nothing dates it.
        The strongest side wins, then the nearest cue; a tie goes to the stay. Stay cues that
        only date when it was seen ("dated") prove no onset."""
        stay, admission = self.stay, self.admission
        if stay and (not admission or _rank(stay) >= _rank(admission)):
            hits = _in_order(stay)
            if any(h.cue.arises for h in hits):
                return "N", _rank(stay)[0], hits
            return "dated", _rank(stay)[0], hits
        if admission:
            return "Y", _rank(admission)[0], _in_order(admission)
        if self.section:
            return "Y", 1, ()
        return None


def _own_word(hit: CueHit, span: Evidence) -> bool:
    """A merely suggestive admission word inside the condition's own name ("chronic" in "chronic
    kidney disease") names the condition, it does not date it."""
    return hit.cue.kind == "admission" and hit.cue.strength < 2 and span.start <= hit.start and hit.end <= span.end


def _rank(hits: tuple[tuple[CueHit, int], ...]) -> tuple[int, int]:
    return max(h.cue.strength for h, _ in hits), -min(d for _, d in hits)


def _in_order(hits: Iterable[tuple[CueHit, int]]) -> tuple[CueHit, ...]:
    return tuple(sorted({h for h, _ in hits}, key=lambda h: h.start))


class _Reader:
    """Reads every evidence span of a note once: its sentence's cues, or those of the sentence
    after it when that one goes on about the same condition ("It developed on hospital day 4.")."""

    def __init__(self, analysis: Analysis, codes: Sequence[Suggestion], rules: PoaRules) -> None:
        self.analysis, self.rules = analysis, rules
        self._admission_section: dict[int, str] = {}
        sections = iter(analysis.sections)
        section = next(sections, None)
        for i, sentence in enumerate(analysis.sentences):  # both in note order
            while section is not None and sentence.start >= section.end:
                section = next(sections, None)
            header = section.header.text if section is not None and section.header is not None else None
            if rules.records_admission(sentence.section, header):
                self._admission_section[i] = sentence.section
        self._named = {analysis.sentence_at(e.start) for s in codes for e in s.evidence}
        self._hits: dict[int, tuple[CueHit, ...]] = {}

    def hits(self, index: int) -> tuple[CueHit, ...]:
        if index not in self._hits:
            sentence = self.analysis.sentences[index]
            clinical = index not in self.analysis.non_clinical
            admits = index in self._admission_section
            hits = self.rules.hits(sentence.text, sentence.start, sentence.section, admits) if clinical else ()
            self._hits[index] = hits
        return self._hits[index]

    def read(self, span: Evidence) -> Reading | None:
        """The span's reading; None for a span outside any clinical sentence."""
        index = self.analysis.sentence_at(span.start)
        if index is None or index in self.analysis.non_clinical:
            return None
        covering = [
            (h, d)
            for h in self.hits(index)
            if (d := h.distance(span.start, span.end)) is not None and not _own_word(h, span)
        ]
        continued = self._continued(index)
        if not covering:
            covering = [(h, _FAR) for h in continued]
        else:  # a statement that the provider cannot say outweighs any date ("found on day 3. Unable to ...")
            covering += [(h, _FAR) for h in continued if h.cue.kind == "undetermined"]
        return Reading(
            span,
            tuple((h, d) for h, d in covering if h.cue.kind == "admission"),
            tuple((h, d) for h, d in covering if h.cue.kind == "stay"),
            tuple(dict.fromkeys(h for h, _ in covering if h.cue.kind == "undetermined")),
            self._admission_section.get(index, ""),
        )

    def _continued(self, index: int) -> tuple[CueHit, ...]:
        """The cues of the next sentence when it speaks of this one's condition: it names no coded
        condition of its own, stays in the section, and opens with "it"/"this" or with a cue (an
        'undetermined' statement always speaks of the condition before it)."""
        following = index + 1
        sentences = self.analysis.sentences
        if following >= len(sentences) or following in self._named:
            return ()
        if sentences[following].section != sentences[index].section:
            return ()
        hits = self.hits(following)
        opens = bool(self.rules.continuation.match(sentences[following].text))
        if hits and (opens or hits[0].start == sentences[following].start):
            return hits
        return tuple(h for h in hits if h.cue.kind == "undetermined")


def present_on_admission(
    note: str,
    codes: Sequence[Suggestion],
    analysis: Analysis | None = None,
    candidates: Sequence[Candidate] = (),
    rules: PoaRules | None = None,
) -> list[Suggestion]:
    """The suggestions of an inpatient case with `poa` filled, in the same order. `analysis` is
    the note as the graph read it (read again when not given); `candidates` lets a diagnosis
    inherit Y from the signs and symptoms it was made from."""
    rules = rules or PoaRules.default()
    analysis = analysis if analysis is not None else analyze_note(note)[0]
    reader = _Reader(analysis, codes, rules)
    decided: dict[str, PresentOnAdmission] = {}
    for s in sorted(codes, key=lambda s: s.code.startswith(_EXTERNAL_CAUSES)):  # injuries before their causes
        readings = tuple(r for r in (reader.read(e) for e in s.evidence) if r is not None)
        case = _Case(s, readings, codes, decided, reader, candidates, rules)
        decided[s.code] = next(p for step in _STEPS if (p := step(case)) is not None)
    return [replace(s, poa=decided[s.code]) for s in codes]


@dataclass(frozen=True)
class _Case:
    """One code being decided, with what each step reads."""

    code: Suggestion
    readings: tuple[Reading, ...]
    codes: Sequence[Suggestion]
    decided: dict[str, PresentOnAdmission]
    reader: _Reader
    candidates: Sequence[Candidate]
    rules: PoaRules

    def verdicts(self, kind: str) -> list[tuple[Reading, tuple[str, int, tuple[CueHit, ...]]]]:
        return [(r, v) for r in self.readings if (v := r.verdict()) is not None and v[0] == kind]


def _exempt(case: _Case) -> PresentOnAdmission | None:
    row = case.rules.exempt.find(case.code.code)
    if row is None:
        return None
    return PresentOnAdmission(
        "exempt", f"{case.code.code} is on the POA-exempt list ({row.what}): {case.rules.cite('exempt')}"
    )


def _undetermined(case: _Case) -> PresentOnAdmission | None:
    hits = _unique(h for r in case.readings for h in r.undetermined)
    return (
        PresentOnAdmission("W", f"the note says {_quote(hits)}: {case.rules.cite('W')}", _spans(hits)) if hits else None
    )


def _onset(case: _Case) -> PresentOnAdmission | None:
    """N when the note says it began in the stay: for a combination code when any part did, for
    another code unless the note places it at admission more firmly."""
    onset, present = case.verdicts("N"), case.verdicts("Y")
    combination = bool(_COMBINATION.search(case.code.title))
    if not onset or not (combination or not present or _strongest(onset) > _strongest(present)):
        return None
    hits = _unique(h for _, v in onset for h in v[2])
    reason = f"the note says {_quote(hits)}: {case.rules.cite('N')}"
    if combination and present:
        reason += f"; {case.rules.cite('combination')}"
    return PresentOnAdmission("N", reason, _spans(hits))


def _at_admission(case: _Case) -> PresentOnAdmission | None:
    """Y from the strongest reading that places the condition at admission: a cue, or else a
    section that records the admission."""
    present = case.verdicts("Y")
    if not present:
        return None
    reading, (_, _, hits) = max(present, key=lambda rv: (rv[1][1], bool(rv[1][2]), -rv[0].span.start))
    if hits:
        return PresentOnAdmission("Y", f"the note says {_quote(hits)}: {case.rules.cite('Y')}", _spans(hits))
    where = f'the {case.rules.section_name(reading.section)} ("{reading.span.text}")'
    return PresentOnAdmission(
        "Y", f"documented in {where}, which records the patient at admission: {case.rules.cite('Y')}", (reading.span,)
    )


def _from_signs(case: _Case) -> PresentOnAdmission | None:
    found = _signs_at_admission(case.code.code, case.candidates, case.reader)
    if found is None:
        return None
    reading, hits = found
    how = f"with {_quote(hits)}" if hits else f"in the {case.rules.section_name(reading.section)}"
    reason = (
        f'its signs or symptoms were present at admission ("{reading.span.text}" {how}): {case.rules.cite("symptoms")}'
    )
    return PresentOnAdmission("Y", reason, tuple(sorted({reading.span, *_spans(hits)}, key=lambda e: e.start)))


def _by_nature(case: _Case) -> PresentOnAdmission | None:
    """Y for a condition chronic (or present before admission) by nature, or congenital: the
    words that name it are its evidence."""
    named = case.code.evidence[:1]
    row = case.rules.chronic.find(case.code.code)
    if row is not None:
        return PresentOnAdmission("Y", f"{row.what}: {case.rules.cite(row.text)}", named)
    if case.rules.congenital.search(case.code.title):
        return PresentOnAdmission("Y", f"a congenital condition: {case.rules.cite('congenital')}", named)
    return None


def _from_injury(case: _Case) -> PresentOnAdmission | None:
    """An external cause code takes the indicator of the injury it explains, named in the same
    sentence, when that injury's is Y or N."""
    if not case.code.code.startswith(_EXTERNAL_CAUSES):
        return None
    sentence_at = case.reader.analysis.sentence_at
    where = {sentence_at(e.start) for e in case.code.evidence} - {None}
    for s in case.codes:
        poa = case.decided.get(s.code)
        if not s.code.startswith(_INJURIES) or poa is None or poa.indicator not in ("Y", "N"):
            continue
        if where & {sentence_at(e.start) for e in s.evidence}:
            when = "present on admission" if poa.indicator == "Y" else "not present on admission"
            reason = f"the injury it explains, {s.code}, was {when}: {case.rules.cite('external_cause')}"
            return PresentOnAdmission(poa.indicator, reason, poa.evidence)
    return None


def _principal(case: _Case) -> PresentOnAdmission | None:
    return (
        PresentOnAdmission("Y", f"the principal diagnosis: {case.rules.cite('principal')}")
        if case.code.principal
        else None
    )


def _undocumented(case: _Case) -> PresentOnAdmission:
    """U: the note does not say. The words that date it to the stay without saying it began
    there are shown."""
    dated = _unique(h for _, v in case.verdicts("dated") for h in v[2])
    said = f"; it dates it ({_quote(dated)}) without saying it began in the stay" if dated else ""
    reason = f"the note does not say whether it was present when the inpatient order was written{said}"
    return PresentOnAdmission("U", f"{reason}: {case.rules.cite('U')}", _spans(dated))


_STEPS = (
    _exempt,
    _undetermined,
    _onset,
    _at_admission,
    _from_signs,
    _by_nature,
    _from_injury,
    _principal,
    _undocumented,
)


def _strongest(verdicts: list[tuple[Reading, tuple[str, int, tuple[CueHit, ...]]]]) -> int:
    return max(v[1] for _, v in verdicts)


def _signs_at_admission(
    code: str, candidates: Sequence[Candidate], reader: _Reader
) -> tuple[Reading, tuple[CueHit, ...]] | None:
    """A sign or symptom integral to `code` (I.B.5) that the note places at admission, if any."""
    integral = IntegralSymptoms.default()
    for candidate in candidates:
        if candidate.code == code or not integral.is_symptom(candidate.code):
            continue
        if integral.integral_to(candidate.code, [code]) is None:
            continue
        for e in candidate.evidence:
            reading = reader.read(e) if e.assertion in _SIGN_ASSERTIONS else None
            verdict = reading.verdict() if reading is not None else None
            if reading is not None and verdict is not None and verdict[0] == "Y":
                return reading, verdict[2]
    return None


def _unique(hits: Iterable[CueHit]) -> tuple[CueHit, ...]:
    """The cues in note order, each once, the first `MAX_EVIDENCE` of them."""
    return tuple(sorted(set(hits), key=lambda h: h.start))[:MAX_EVIDENCE]


def _quote(hits: Iterable[CueHit]) -> str:
    return ", ".join(f'"{text}"' for text in dict.fromkeys(h.text for h in hits))


def _spans(hits: Iterable[CueHit]) -> tuple[Evidence, ...]:
    return tuple(Evidence(h.start, h.end, h.text, section=h.section, source="poa") for h in hits)


def poa_summary(codes: Sequence[Suggestion]) -> str:
    """ "POA proposed for 5 codes: 3 Y, 1 N, 1 exempt" (indicators in Appendix I order)."""
    counts = Counter(s.poa.indicator for s in codes if s.poa is not None)
    total = sum(counts.values())
    parts = ", ".join(f"{counts[i]} {i}" for i in POA_INDICATORS if counts[i])
    return f"POA proposed for {total} code{'' if total == 1 else 's'}" + (f": {parts}" if parts else "")
