"""The guideline texts Coda holds as data, found by key, by section citation or by words: the
texts the checks cite (`agent/data/guidelines.json`), the present-on-admission rules
(`agent/data/poa.json`) and the rules of who may be principal (`agent/data/principal_edits.json`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from agent.guidelines.poa_rules import PoaRules
from agent.guidelines.principal import PrincipalRules
from agent.guidelines.rules import Guideline, GuidelineRules

__all__ = ["all_guidelines", "find_guidelines", "section_of"]

MAX_FOUND = 3
# A section of the Official Guidelines: "I.C.9.a.2", "IV.H", "II"; "Appendix I".
_SECTION = re.compile(r"\b(?:[IV]{1,3}(?:\.[A-Za-z0-9]{1,3})*|appendix\s+i)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "by", "code", "codes", "coding", "for", "from", "guideline")
) | frozenset(("guidelines", "in", "is", "it", "of", "on", "or", "the", "to"))


@cache
def all_guidelines() -> tuple[Guideline, ...]:
    """Every guideline text held as data, the checks' own texts first."""
    found = list(GuidelineRules.default().texts.values())
    for key, (text, cite) in PoaRules.default().texts.items():
        found.append(Guideline(f"poa_{key}", f"Present on admission: {key}", cite, text))
    principal = PrincipalRules.default()
    named = [
        (rule, "_".join(w for w in _WORD.findall(rule.what.lower()) if w not in _STOP)) for rule in principal.never
    ]
    named += [(principal.manifestation, "manifestation"), (principal.inpatient, "inpatient")]
    for rule, name in named:
        key = f"principal_{name}"
        found.append(Guideline(key, f"Not principal: {rule.what}", rule.cite, rule.reason))
    first = principal.first_listed_only
    found.append(
        Guideline("principal_first_listed_only", "Codes that may only be first-listed", first.cite, first.reason)
    )
    return tuple(found)


def section_of(topic: str) -> str | None:
    """The guideline section a topic names ("Section I.C.9.a.2" -> "I.C.9.a.2"), if it names one."""
    text = topic.strip()
    match = re.fullmatch(r"(?:(?:icd-10-cm\s+)?(?:official\s+)?guidelines?,?\s+)?(?:section\s+)?(.+?)\.?", text, re.I)
    body = match.group(1) if match else text
    found = _SECTION.fullmatch(body)
    return found.group(0) if found else None


def _cited_sections(cite: str) -> list[str]:
    return [m.group(0).lower() for m in _SECTION.finditer(cite)]


def _by_section(section: str, texts: Sequence[Guideline]) -> tuple[list[Guideline], str]:
    """Texts citing `section` or a subsection of it; failing that, its nearest parent's."""
    parts = section.lower().split(".")
    # "I.C" is too broad a parent to stand for "I.C.9": parents keep three parts at least.
    for n in range(len(parts), min(len(parts), 3) - 1, -1):
        wanted = ".".join(parts[:n])
        hits = [g for g in texts if any(s == wanted or s.startswith(wanted + ".") for s in _cited_sections(g.cite))]
        if hits:
            return hits, wanted
    return [], ""


def _terms(text: str) -> set[str]:
    return {w[:-1] if len(w) > 4 and w.endswith("s") else w for w in _WORD.findall(text.lower())} - _STOP


def find_guidelines(topic: str, texts: Sequence[Guideline] | None = None) -> tuple[list[Guideline], str]:
    """The texts (at most MAX_FOUND) a topic names, best first, and how they were found:
    "key", "section X" (or its parent's), or "words"; ([], "") when none."""
    texts = all_guidelines() if texts is None else texts
    key = "".join(_WORD.findall(topic.lower()))
    exact = [g for g in texts if "".join(_WORD.findall(g.key.lower())) == key]
    if exact:
        return exact, "key"
    section = section_of(topic)
    if section is not None:
        hits, at = _by_section(section, texts)
        return hits[:MAX_FOUND], f"section {at}" if hits else ""
    wanted = _terms(topic)
    if not wanted:
        return [], ""
    scored = []
    for i, g in enumerate(texts):
        title, body = _terms(f"{g.key.replace('_', ' ')} {g.title}"), _terms(g.text)
        score = 2 * len(wanted & title) + len(wanted & body)
        if score:
            scored.append((-score, -len(wanted & title), i, g))
    scored.sort(key=lambda s: s[:3])
    best = scored[0][0] if scored else 0
    # Texts that share only a fraction of the best match's words are noise.
    return [g for s, _, _, g in scored if s * 2 <= best][:MAX_FOUND], "words" if scored else ""
