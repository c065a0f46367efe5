"""Code references in the Tabular List's instructional notes, read as a coder reads them:
"(E10.-)", "(N18.1-N18.6)", "(E08-E13 with .42)". A reference covers the codes it names and
every code under them; a qualifier narrows it when it can be read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

from index.model import code_key

__all__ = ["CodeRef", "parse_refs"]

# A code as the Tabular writes it in a note: letter, digit, alphanumeric, then optionally a dot
# and up to four more characters ("Z79.4", "S06.0X", "M05.8A"), never inside a longer word.
_CODE = r"(?<![0-9A-Za-z.])[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?(?![0-9A-Za-z])"
_CODE_AT = re.compile(rf"\s*(?P<code>{_CODE})")
# What joins the two ends of a range, as the Tabular writes it: "O10-O11", "S00 - S09",
# "I70.2--I70.7-", "F11.-F17.-", "P28.3- - P28.4-", "M05.00 to M05.8A".
_RANGE_TO = re.compile(rf"\.?-?\s*(?:-+|to)\s*(?P<code>{_CODE})")
_DASH = re.compile(r"\.?-(?![0-9A-Z])")  # "E10.-", "I27.2-": more characters follow
_LIST_SEP = re.compile(r"\s*(?:,|;|&|\band\b|\bor\b)\s*")
# A parenthesised or bracketed group; a group the Tabular forgot to close runs to the end
# ("(Z89.52-") or to a stray brace ("(E87.8}").
_GROUP = re.compile(r"[(\[](?P<body>[^()\[\]]*)(?:[)\]}]|$)")

# "with fifth or sixth character 5", "with 7th character B", "with fifth to sixth characters 51",
# "with final characters -23", "with 5th character .6".
_ORDINALS = {"fourth": 4, "4th": 4, "fifth": 5, "5th": 5, "sixth": 6, "six": 6, "6th": 6, "seventh": 7, "7th": 7}
_ORDINAL = r"(?:fourth|fifth|sixth|six|seventh|final|[4-7]th)"
_CHARACTER_QUALIFIER = re.compile(
    rf"with (?P<where>{_ORDINAL}(?: (?:or|to) {_ORDINAL})*) characters? (?P<value>[.-]?[0-9a-z]+(?:-[0-9a-z]+)?)"
)
# "with .42", "with .62-", "with .51-.52": the characters after the category.
_SUFFIX_QUALIFIER = re.compile(r"with \.(?P<lo>[0-9a-z]{1,4})-?(?:-\.(?P<hi>[0-9a-z]{1,4})-?)?")


@dataclass(frozen=True)
class CodeRef:
    """One code reference in a Tabular note: a code, a dashed code, or a range, maybe qualified.

    `first` and `last` are the two ends as written (equal for a single code). ICD-10-CM codes
    nest by prefix, so a reference covers the codes it names and every code under them: "Z79.4"
    covers Z79.4, "E10.-" covers E10 and all of E10.x, and "N18.1-N18.6" covers N18.1 ... N18.6
    with their subcodes (N18.30 lies in it), comparing code keys at the precision written. `dash`
    says the reference was written with a trailing dash ("more characters follow"); it does not
    change what is covered. `qualifier` is any text after the codes ("with .42", "with fifth or
    sixth character 5"), which narrows the range when it can be read (see `approximate`).
    """

    first: str
    last: str
    dash: bool = False
    qualifier: str = ""

    def __str__(self) -> str:
        text = self.first if self.first == self.last else f"{self.first}-{self.last}"
        if self.dash:
            text += "-" if "." in self.last else ".-"
        return f"{text} {self.qualifier}" if self.qualifier else text

    @property
    def approximate(self) -> bool:
        """True when the qualifier cannot be read; `covers` then answers for the whole range."""
        return bool(self.qualifier) and _qualifier_test(self.qualifier) is None

    def reaches(self, code: str) -> bool:
        """Whether this reference names `code` or any code under it ("(N18.1-N18.6)" reaches
        N18): what a partner note asks for may be more specific than the code found."""
        key = code_key(code)
        low, high = code_key(self.first), code_key(self.last)
        return self.covers(code) or low[: len(key)] <= key <= high[: len(key)]

    def covers(self, code: str) -> bool:
        """Whether `code` (dotted or not) is one of the codes this reference names."""
        key = code_key(code)
        low, high = code_key(self.first), code_key(self.last)
        if key[: len(low)] < low or key[: len(high)] > high:
            return False
        test = _qualifier_test(self.qualifier) if self.qualifier else None
        return test is None or test(key)


def parse_refs(note_text: str) -> tuple[CodeRef, ...]:
    """The code references in a note's parenthesised or bracketed groups, in order, without repeats.

    A group counts only when it starts with a code ("(E08.22, E09.22)", "(O10-O11, O13-O16)",
    "(T36-T50 with fifth or sixth character 5)"); prose groups ("[E. coli]", "(in)") and codes
    outside any group ("from category E11", "- see body system-related chapters") give nothing.
    """
    return _parse_refs(note_text)


@lru_cache(maxsize=16384)
def _parse_refs(note_text: str) -> tuple[CodeRef, ...]:
    refs: list[CodeRef] = []
    for group in _GROUP.finditer(note_text):
        for ref in _parse_group(group["body"]):
            if ref not in refs:
                refs.append(ref)
    return tuple(refs)


def _parse_group(body: str) -> list[CodeRef]:
    ends: list[tuple[str, str, bool]] = []
    pos = 0
    while True:
        first = _CODE_AT.match(body, pos)
        if first is None:
            break
        last, pos = first, first.end()
        if (to := _RANGE_TO.match(body, pos)) is not None:
            last, pos = to, to.end()
        dash = _DASH.match(body, pos)
        if dash is not None:
            pos = dash.end()
        ends.append((first["code"], last["code"], dash is not None))
        sep = _LIST_SEP.match(body, pos)
        if sep is None:
            break
        pos = sep.end()
    qualifier = " ".join(body[pos:].split()).strip(" ,;.}") if ends else ""
    return [CodeRef(a, b, dash, qualifier) for a, b, dash in ends]


@cache
def _qualifier_test(qualifier: str) -> Callable[[str], bool] | None:
    """A test on a code key for a qualifier such as "with .42"; None when it cannot be read."""
    q = re.sub(r"-(?=characters?\b)", " ", " ".join(qualifier.lower().split()))
    if (m := _SUFFIX_QUALIFIER.fullmatch(q)) is not None:
        low = m["lo"].upper()
        high = (m["hi"] or m["lo"]).upper()
        return lambda key: len(key) > 3 and low <= key[3 : 3 + len(low)] and key[3 : 3 + len(high)] <= high
    if (m := _CHARACTER_QUALIFIER.fullmatch(q)) is None:
        return None
    words = re.split(r" (or|to) ", m["where"])
    places, joiners = words[::2], set(words[1::2])
    value = m["value"].strip(".-").upper()
    if "final" in places:
        if len(places) > 1:
            return None

        # The final characters of the code before any 7th character, after at least one more
        # character than the category: "I69. with final characters -23" is I69.x23, not I69.23.
        def final(key: str) -> bool:
            base = key[:6] if len(key) == 7 else key
            return len(base) > 3 + len(value) and base.endswith(value)

        return final
    positions = [_ORDINALS[p] for p in places]
    if joiners == {"to"}:  # "fifth to sixth characters 51": one value over consecutive places
        start = positions[0]
        if len(value) != positions[-1] - start + 1:
            return None
        return lambda key: key[start - 1 : start - 1 + len(value)] == value
    if joiners - {"or"}:
        return None
    span = re.fullmatch(r"([0-9A-Z])-([0-9A-Z])", value)
    values = {chr(c) for c in range(ord(span[1]), ord(span[2]) + 1)} if span else {value}
    return lambda key: any(key[p - 1 : p - 1 + len(v)] == v for p in positions for v in values)
