"""ICD-10-PCS codes built from a note as a coder builds them: find each procedure the note says
was performed, take the tables its term leads to, choose the body part from the note's words,
then each remaining character from the values the table row allows, one at a time. Every
character keeps the words that chose it, or says that the note does not document it and which
value the tables leave (the only one allowed, or a stated default).

Guidelines followed: a procedure planned, refused or done before this stay is not coded; a
discontinued one is coded as an Inspection of the site (B3.3); each procedure is coded apart
(B3.2); cutting out part of a body part is an Excision, all of it a Resection (B3.8); a biopsy
is an Excision with the qualifier Diagnostic (B3.4a), and a resection after it is coded as well
(B3.4b); a procedure on both sides has the bilateral value where the table has one, else one
code per side (B4.3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from agent.procedures.lexicon import Mention, Operation, ProcedureLexicon, Word, content_words, norm
from agent.procedures.reading import NOT_CODED, status_of, windows
from agent.reading.segment import Analysis, Sentence
from agent.records import AxisChoice, Evidence, ProcedureSuggestion, Rejected, Step
from index.pcs.bundled import PcsBook
from index.pcs.model import PcsRow

MIN_BODY_SCORE = 0.6  # share of a body part's words the note must say (2 of 2, 2 of 3)
HINTED = 0.9  # a body-part word the procedure implies (a hemiarthroplasty's femoral surface) counts this much
SIDES = ("right", "left", "bilateral")
# The values that say a character has nothing to add, where the note's silence means just that: no
# device, no qualifier. Contrast is not among them: a note that does not mention it does not say none.
ABSENT = {"device": frozenset({"nodevice", "none"}), "qualifier": frozenset({"noqualifier", "none"})}
SKIPPED_SECTIONS = frozenset({"family_history", "medications", "allergies"})


@dataclass(frozen=True)
class _Part:
    """A candidate body part: the first four characters and what chose them."""

    prefix: str
    meaning: str
    score: float
    rank: int
    size: int
    evidence: tuple[Evidence, ...]
    side: str | None  # the side the value has, if any
    side_documented: bool
    rivals: tuple[str, ...] = ()  # other body parts the note's words fit as well


class ProcedureCoder:
    """Builds the ICD-10-PCS codes of a note from the tables of `book`."""

    def __init__(self, book: PcsBook, lexicon: ProcedureLexicon | None = None) -> None:
        self.book = book
        self.lexicon = lexicon or ProcedureLexicon(book)

    def code(self, note: str, analysis: Analysis) -> tuple[list[ProcedureSuggestion], list[Rejected]]:
        """The procedures performed (principal first marked), and the ones read but not coded."""
        built: dict[str, ProcedureSuggestion] = {}
        rejected: list[Rejected] = []
        for index, sentence in enumerate(analysis.sentences):
            if index in analysis.non_clinical or sentence.section in SKIPPED_SECTIONS:
                continue
            mentions = list(self.lexicon.mentions(note, sentence.start, sentence.end))
            for mention, window in zip(mentions, windows(note, sentence, mentions, self.lexicon.findings), strict=True):
                status = status_of(self.lexicon, note, sentence, mention, window)
                codes = self.build(note, sentence, mention, window)
                if not codes:
                    why = NOT_CODED.get(status) or self._unbuilt(mention)
                    span = _evidence(note, mention.start, mention.end, sentence)
                    rejected.append(Rejected("", mention.text, why, (span,), stage="procedures"))
                    continue
                if status == "discontinued":
                    codes = [self._discontinued(note, sentence, mention, window, c) for c in codes]
                for suggestion in codes:
                    if status in NOT_CODED:
                        reason = NOT_CODED[status]
                        rejected.append(
                            Rejected(suggestion.code, suggestion.title, reason, suggestion.evidence, stage="procedures")
                        )
                    else:
                        built[suggestion.code] = merge_procedure(built.get(suggestion.code), suggestion)
        return principal_first(list(built.values())), _unique(rejected)

    def _unbuilt(self, mention: Mention) -> str:
        """Why a procedure word led to no code: its tables are not in this code book, or the note
        does not say enough (a body part) to choose a row."""
        sections = self.book.sections()
        missing = sorted({p[0] for p in mention.operation.options} - sections)
        if missing and not {p[0] for p in mention.operation.options} & sections:
            return (
                f"its section ({', '.join(missing)}) is not in this code book's ICD-10-PCS tables; "
                "it is coded when a CMS ICD-10-PCS release is loaded"
            )
        return "the note does not say enough (which body part) to choose a table row"

    def build(
        self,
        note: str,
        sentence: Sentence,
        mention: Mention,
        window: tuple[int, int],
        options: Iterable[str] | None = None,
        body_words: str = "",
    ) -> list[ProcedureSuggestion]:
        """The code(s) of one procedure mention, read from the words of its `window` (the note's
        offsets): one, or one per side for a bilateral procedure whose table has no bilateral
        value; none when no table fits."""
        lo, hi = window
        words = self.lexicon.words(note, lo, hi)
        span = _evidence(note, mention.start, mention.end, sentence)
        patterns = list(options if options is not None else mention.operation.options)
        root_basis = ""
        partial = self._partial(note, lo, hi, mention)
        roots = {p[2] for p in patterns if len(p) > 2}
        if {"B", "T"} <= roots:  # B3.8: all of a body part is a Resection, part of it an Excision
            first = "B" if partial else "T"
            patterns.sort(key=lambda p: 0 if len(p) > 2 and p[2] == first else 1)
            root_basis = (
                f"'{partial.text}': only part of the body part was cut out, an Excision (B3.8)"
                if partial
                else "the whole body part was cut out, a Resection (B3.8)"
            )
        implied = f"{mention.operation.body_words} {body_words}"
        hint = [Word(w, mention.start, mention.end) for w in content_words(implied)]
        side, side_word = _side(words, mention)
        if side is None and mention.operation.both_sides:  # an examination of both eyes, unless one is named
            side = "bilateral"
        parts = [
            p
            for rank, pattern in enumerate(patterns)
            for p in self._parts(
                note, sentence, pattern, rank, words, hint, span, side, side_word, mention.operation.bilateral_value
            )
        ]
        if not parts:
            return []
        best = min(parts, key=lambda p: (*_rank(p), p.prefix))
        rivals = tuple(p.meaning for p in parts if _rank(p) == _rank(best) and not _same_part(p.meaning, best.meaning))
        if rivals:  # the note's words fit several body parts as well: the first is taken, and said so
            best = replace(best, rivals=rivals)
        chosen = [best]
        if side == "bilateral" and best.side in ("right", "left"):  # B4.3: no bilateral value, one code per side
            other = "left" if best.side == "right" else "right"
            chosen += [
                p for p in parts if p.rank == best.rank and p.side == other and _same_part(p.meaning, best.meaning)
            ][:1]
            chosen.sort(key=lambda p: SIDES.index(p.side or "right"))
        out = []
        for part in chosen:
            rows = [r for r in self.book.rows(patterns[part.rank]) if r.code.startswith(part.prefix)]
            out.append(self._complete(note, sentence, mention, span, part, rows, lo, hi, root_basis, partial))
        return out

    def _partial(self, note: str, lo: int, hi: int, mention: Mention) -> Evidence | None:
        pattern = self.lexicon.partial
        match = pattern.search(note, lo, hi) if pattern is not None else None
        if match is None:
            return None
        return Evidence(match.start(), match.end(), match.group(), source="procedure")

    def _parts(
        self,
        note: str,
        sentence: Sentence,
        pattern: str,
        rank: int,
        words: list[Word],
        hint: list[Word],
        span: Evidence,
        side: str | None,
        side_word: Word | None,
        bilateral_value: bool = False,  # no side named: a bilateral value is taken where the table has one
    ) -> list[_Part]:
        by_word: dict[str, Word] = {}
        for w in sorted(words, key=lambda w: (not w.said, abs(w.start - span.start))):  # the word itself, nearest
            by_word.setdefault(w.word, w)
        implied = {w.word for w in hint}
        groups = {r.code[:4]: r.meanings[3] for r in self.book.rows(pattern)}
        fixed = len(pattern) >= 4 and "." not in pattern[:4]
        parts = []
        for prefix, meaning in groups.items():
            tokens = content_words(meaning)
            own_side = _own_side(tokens)
            tokens = [t for t in tokens if t not in SIDES] or [norm(meaning)]
            if fixed:  # the procedure term names the body part ("appendectomy")
                matched = {t: span for t in tokens}
                said = float(len(tokens))
            else:
                matched = {
                    t: _evidence(note, by_word[t].start, by_word[t].end, sentence) for t in tokens if t in by_word
                }
                said = float(len(matched))
                for t in tokens:  # what the procedure implies counts a little less than what the note says
                    if t not in matched and t in implied:
                        matched[t] = span
                        said += HINTED
            if not matched:
                continue
            score = said / len(tokens)
            if score < MIN_BODY_SCORE:
                continue
            evidence = list(matched.values())
            documented = True
            if own_side is not None:
                if side == own_side:
                    score += 0.25
                    if side_word is not None:
                        evidence.append(_evidence(note, side_word.start, side_word.end, sentence))
                elif side == "bilateral":
                    if side_word is not None:
                        evidence.append(_evidence(note, side_word.start, side_word.end, sentence))
                elif side is None and own_side == "bilateral" and bilateral_value:
                    score += 0.25  # an imaging study of a paired organ images both unless one is named
                elif side is None:
                    documented = False
                else:
                    continue  # the other side
            parts.append(_Part(prefix, meaning, score, rank, len(tokens), _sorted(evidence), own_side, documented))
        return parts

    def _complete(
        self,
        note: str,
        sentence: Sentence,
        mention: Mention,
        span: Evidence,
        part: _Part,
        rows: list[PcsRow],
        lo: int,
        hi: int,
        root_basis: str,
        partial: Evidence | None,
    ) -> ProcedureSuggestion:
        names = self.book.axis_names(part.prefix[0])
        meanings = rows[0].meanings
        axes = [
            AxisChoice(1, names[0], part.prefix[0], meanings[0], (span,)),
            AxisChoice(2, names[1], part.prefix[1], meanings[1], part.evidence),
            AxisChoice(
                3,
                names[2],
                part.prefix[2],
                meanings[2],
                _sorted([span, *([partial] if partial is not None and "Excision" in root_basis else [])]),
                root_basis,
            ),
            AxisChoice(
                4,
                names[3],
                part.prefix[3],
                part.meaning,
                part.evidence,
                _body_basis(part),
            ),
        ]
        code = part.prefix
        undocumented = 0
        for position in range(4, 7):
            allowed: dict[str, str] = {}
            for r in rows:
                if r.code.startswith(code):
                    allowed.setdefault(r.code[position], r.meanings[position])
            choice, guessed = self._choose(
                note, sentence, names[position], position, allowed, mention.operation, span, lo, hi
            )
            undocumented += guessed
            axes.append(choice)
            code += choice.value
        unsure = not part.side_documented or bool(part.rivals)
        confidence = 0.9 * min(1.0, part.score) * 0.85**undocumented * (0.5 if unsure else 1.0)
        described = self.book.describe(code)
        reasoning = (
            Step("procedure", f"read '{mention.text}' ({sentence.section} section)"),
            *(Step("procedure", _explain(a)) for a in axes[2:]),
        )
        return ProcedureSuggestion(
            described.code, described.title, tuple(axes), (span,), round(confidence, 3), reasoning
        )

    def _choose(
        self,
        note: str,
        sentence: Sentence,
        name: str,
        position: int,
        allowed: dict[str, str],
        operation: Operation,
        span: Evidence,
        lo: int,
        hi: int,
    ) -> tuple[AxisChoice, int]:
        """One character: from the procedure itself, a cue in the note, the only value allowed, or
        a default (the last counts as undocumented: 1)."""
        by_meaning = {_key(m): v for v, m in allowed.items()}
        implied = dict(operation.implied)
        if name in implied and _key(implied[name]) in by_meaning:
            value = by_meaning[_key(implied[name])]
            return AxisChoice(position + 1, name, value, allowed[value], (span,), "what the procedure implies"), 0
        for cue, start, end in self.lexicon.cue(name, note, lo, hi, operation):
            if _key(cue.meaning) in by_meaning:
                value = by_meaning[_key(cue.meaning)]
                said = _evidence(note, start, end, sentence)
                if cue.assumed:  # "contrast", but which kind: taken, and said to be assumed
                    basis = f"not documented which: '{said.text}' taken as {allowed[value]}"
                    return AxisChoice(position + 1, name, value, allowed[value], (said,), basis), 1
                return AxisChoice(position + 1, name, value, allowed[value], (said,)), 0
        if len(allowed) == 1:
            value, meaning = next(iter(allowed.items()))
            return AxisChoice(position + 1, name, value, meaning, (), "the only value the table row allows"), 0
        for meaning in self.lexicon.defaults.get(name, ()):
            if _key(meaning) in by_meaning:
                value = by_meaning[_key(meaning)]
                if _key(meaning) in ABSENT.get(name, ()):  # nothing in the note calls for a device or a qualifier
                    basis = f"the note calls for no other value of the {len(allowed)} the row allows"
                    return AxisChoice(position + 1, name, value, allowed[value], (), basis), 0
                basis = f"not documented: {allowed[value]} taken (the row allows {len(allowed)} values)"
                return AxisChoice(position + 1, name, value, allowed[value], (), basis), 1
        value, meaning = next(iter(sorted(allowed.items())))
        basis = f"not documented: {meaning} taken of {len(allowed)} values the row allows; query the provider"
        return AxisChoice(position + 1, name, value, meaning, (), basis), 1

    def _discontinued(
        self, note: str, sentence: Sentence, mention: Mention, window: tuple[int, int], intended: ProcedureSuggestion
    ) -> ProcedureSuggestion:
        """B3.3: a procedure stopped before its objective is coded as an Inspection of the site."""
        options = [intended.code[:2] + "J"]
        inspection = self.build(note, sentence, mention, window, options, intended.axes[3].meaning)
        if not inspection:
            return intended
        found = inspection[0]
        step = Step("procedure", f"discontinued: coded as an Inspection, not {intended.code} (B3.3)")
        return replace(found, reasoning=(*found.reasoning, step), confidence=round(found.confidence * 0.8, 3))


def _side(words: list[Word], mention: Mention) -> tuple[str | None, Word | None]:
    """The side the note gives nearest the procedure word: right, left or bilateral ("both")."""
    sides = [w for w in words if w.word in SIDES or w.word == "both"]
    if not sides:
        return None, None
    nearest = min(sides, key=lambda w: abs(w.start - mention.start))
    return ("bilateral" if nearest.word == "both" else nearest.word), nearest


def _rank(part: _Part) -> tuple[float, int, int, int]:
    """Best first: the share of its words the note says, then the more of the note's words it
    rests on ("sigmoid colon" over "colon"), the procedure's likelier table, the fewer words."""
    return (-round(part.score, 3), -len(part.evidence), part.rank, part.size)


def _body_basis(part: _Part) -> str:
    if part.rivals:
        shown = "; ".join(part.rivals[:3]) + (" ..." if len(part.rivals) > 3 else "")
        return f"the note's words fit other body parts as well ({shown}): query the provider"
    if not part.side_documented:
        return "the note does not say which side: query the provider"
    return ""


def _own_side(tokens: list[str]) -> str | None:
    """The side a body-part value names: "Kidney, Right" right; "Right and Left Heart" bilateral."""
    sides = {t for t in tokens if t in SIDES}
    if "bilateral" in sides or {"right", "left"} <= sides:
        return "bilateral"
    return next(iter(sides), None)


def _same_part(a: str, b: str) -> bool:
    return [t for t in content_words(a) if t not in SIDES] == [t for t in content_words(b) if t not in SIDES]


def _evidence(note: str, start: int, end: int, sentence: Sentence) -> Evidence:
    return Evidence(start, end, note[start:end], section=sentence.section, source="procedure")


def _sorted(evidence: Iterable[Evidence]) -> tuple[Evidence, ...]:
    return tuple(sorted({(e.start, e.end): e for e in evidence}.values(), key=lambda e: (e.start, e.end)))


def _key(meaning: str) -> str:
    return "".join(ch for ch in meaning.lower() if ch.isalnum())


def _explain(axis: AxisChoice) -> str:
    said = ", ".join(f"'{e.text}'" for e in axis.evidence)
    why = said if said else axis.basis
    if said and axis.basis:
        why = f"{said}; {axis.basis}"
    return f"{axis.name} {axis.value} {axis.meaning}: {why}"


def merge_procedure(old: ProcedureSuggestion | None, new: ProcedureSuggestion) -> ProcedureSuggestion:
    """The same code read twice: one suggestion with the evidence of both."""
    if old is None:
        return new
    return replace(
        old, evidence=_sorted([*old.evidence, *new.evidence]), confidence=max(old.confidence, new.confidence)
    )


def principal_first(procedures: list[ProcedureSuggestion]) -> list[ProcedureSuggestion]:
    """The principal procedure: the first definitive one (not diagnostic, not an inspection, not
    imaging) the note documents, as UHDDS defines it; else the first."""
    if not procedures:
        return procedures

    def definitive(p: ProcedureSuggestion) -> bool:
        return p.code[0] in "01" and p.code[2] != "J" and all(a.meaning != "Diagnostic" for a in p.axes[6:])

    first = next((i for i, p in enumerate(procedures) if definitive(p)), 0)
    return [replace(p, principal=i == first) for i, p in enumerate(procedures)]


def _unique(rejected: list[Rejected]) -> list[Rejected]:
    seen: dict[tuple[str, str], Rejected] = {}
    for r in rejected:
        seen.setdefault((r.code, r.title), r)
    return list(seen.values())
