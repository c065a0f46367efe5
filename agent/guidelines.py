"""The verify step's guideline checks: pure functions from a list of codes (and a CodeStore) to findings.

They read the code references in the Tabular List's instructional notes ("(E10.-)", "(N18.1-N18.6)",
"(E08-E13 with .42)") to report Excludes1 conflicts, missing "Code first" and "Use additional code"
partners, codes that cannot be billed and claims with too many codes. The guideline texts they cite
and the uncertain-diagnosis rule of each setting live in `agent/data/guidelines.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from agent.records import Finding
from index.errors import DataError
from index.model import Code, CodeKind, NoteKind, code_key
from index.store import CodeStore

DATA_DIR = Path(__file__).parent / "data"
GUIDELINES_FILE = DATA_DIR / "guidelines.json"

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

# A manifestation code (Guidelines I.A.13) says so in its title: "Polyneuropathy in diseases
# classified elsewhere", "Arthropathies in other diseases classified elsewhere", "Meningitis in
# bacterial diseases classified elsewhere". B95-B97 ("as the cause of diseases classified
# elsewhere") are supplementary agent codes, not manifestations.
_MANIFESTATION = re.compile(r"\bin (?:[\w-]+ ){0,5}diseases? classified elsewhere", re.IGNORECASE)

_PARTNER_KINDS = {NoteKind.CODE_FIRST: "code_first", NoteKind.USE_ADDITIONAL_CODE: "use_additional"}
_MAX_CHILDREN_NAMED = 5


# -- code references in notes ------------------------------------------------------------------


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


# -- the rule tables --------------------------------------------------------------------------


@dataclass(frozen=True)
class Guideline:
    """A short guideline text a check cites, with where it comes from."""

    key: str
    title: str
    cite: str
    text: str

    def __str__(self) -> str:
        return f"{self.title} ({self.cite}): {self.text}"


@dataclass(frozen=True)
class UncertainRule:
    setting: str
    coded_as_established: bool
    text: str  # key of the guideline text that explains the rule


@dataclass(frozen=True)
class ClaimLimit:
    setting: str
    limit: int
    form: str


@dataclass(frozen=True)
class GuidelineRules:
    """The guideline texts, the uncertain-diagnosis rule and the claim limit of each setting."""

    texts: Mapping[str, Guideline] = field(hash=False)
    uncertain: Mapping[str, UncertainRule] = field(hash=False)
    claim_limits: Mapping[str, ClaimLimit] = field(hash=False)

    @classmethod
    def from_json(cls, path: str | Path) -> GuidelineRules:
        """Load a rule file shaped like `agent/data/guidelines.json`; raises DataError on a bad one."""
        path = Path(path)
        data = _load_json(path)
        texts: dict[str, Guideline] = {}
        for key, entry in _mapping(data, "texts", path).items():
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(f), str) and entry[f].strip() for f in ("title", "cite", "text")
            ):
                raise DataError(f"rule file {path}: text {key!r} needs non-empty 'title', 'cite' and 'text'")
            texts[key] = Guideline(key, entry["title"], entry["cite"], " ".join(entry["text"].split()))
        uncertain: dict[str, UncertainRule] = {}
        for setting, entry in _mapping(data, "uncertain_diagnosis", path).items():
            if not isinstance(entry, dict) or not isinstance(entry.get("coded_as_established"), bool):
                raise DataError(
                    f"rule file {path}: uncertain_diagnosis {setting!r} needs a boolean 'coded_as_established'"
                )
            if entry.get("text") not in texts:
                raise DataError(f"rule file {path}: uncertain_diagnosis {setting!r} names no known text")
            uncertain[setting] = UncertainRule(setting, entry["coded_as_established"], entry["text"])
        limits: dict[str, ClaimLimit] = {}
        for setting, entry in _mapping(data, "claim_limits", path).items():
            limit = entry.get("limit") if isinstance(entry, dict) else None
            if (
                not isinstance(limit, int)
                or isinstance(limit, bool)
                or limit < 1
                or not isinstance(entry.get("form"), str)
            ):
                raise DataError(f"rule file {path}: claim_limits {setting!r} needs a positive 'limit' and a 'form'")
            limits[setting] = ClaimLimit(setting, limit, entry["form"])
        if set(limits) != set(uncertain):
            raise DataError(f"rule file {path}: uncertain_diagnosis and claim_limits name different settings")
        return cls(MappingProxyType(texts), MappingProxyType(uncertain), MappingProxyType(limits))

    @classmethod
    @cache
    def default(cls) -> GuidelineRules:
        """The packaged rules (loaded once)."""
        return cls.from_json(GUIDELINES_FILE)

    def guideline(self, key: str) -> Guideline:
        try:
            return self.texts[key]
        except KeyError:
            raise KeyError(f"no guideline text {key!r}; known: {', '.join(sorted(self.texts))}") from None

    def for_setting(self, setting: str) -> tuple[UncertainRule, ClaimLimit]:
        """The uncertain-diagnosis rule and the claim limit of a setting; ValueError for an unknown one."""
        if setting not in self.uncertain:
            raise ValueError(f"setting must be one of {', '.join(sorted(self.uncertain))}, not {setting!r}")
        return self.uncertain[setting], self.claim_limits[setting]


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"rule file not found: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"rule file {path} cannot be read as JSON: {exc}") from exc


def _mapping(data: Any, key: str, path: Path) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, dict) or not value:
        raise DataError(f"rule file {path} has no non-empty {key!r} object")
    return value


def guideline_text(key: str) -> str:
    """A guideline text with its title and citation, for the LLM prompt and the UI."""
    return str(GuidelineRules.default().guideline(key))


def uncertain_rule(setting: str) -> bool:
    """Whether a diagnosis documented as uncertain ("probable", "suspected", "likely", "rule out")
    is coded as if established: True for "inpatient" (Guidelines II.H and III.C), False for
    "outpatient" (IV.H: code the signs and symptoms instead). Raises ValueError for another setting."""
    return GuidelineRules.default().for_setting(setting)[0].coded_as_established


def _cite(key: str) -> str:
    return GuidelineRules.default().guideline(key).cite


# -- the checks ------------------------------------------------------------------------------


def _resolve(codes: Iterable[str], store: CodeStore) -> list[Code]:
    """The known codes among `codes`, each once, in the order given."""
    found: dict[str, Code] = {}
    for given in codes:
        code = store.find(given.strip()) if given.strip() else None
        if code is not None and code.kind not in (CodeKind.CHAPTER, CodeKind.BLOCK):
            found.setdefault(code.code, code)
    return list(found.values())


def _at(store: CodeStore, source: str, codes: list[str]) -> str:
    """Where a note sits, for a message: "at E10 (Type 1 diabetes mellitus), which applies to E10.9"."""
    if codes == [source]:
        return f"at {source}"
    code = store.find(source)
    where = f"{source} ({code.title})" if code is not None else source
    return f"at {where}, which applies to {' and '.join(codes)},"


def excludes1_conflicts(codes: list[str], store: CodeStore) -> list[Finding]:
    """Pairs of codes where an Excludes1 note that applies at one (its own or an ancestor's) names
    the other: an error, reported once per pair (Guidelines I.A.12.a). Excludes2 is no conflict.
    A reference whose qualifier cannot be read ("S52.- with open fracture 7th character") is
    skipped rather than read as its whole range."""
    resolved = _resolve(codes, store)
    findings: list[Finding] = []
    seen: set[frozenset[str]] = set()
    for a in resolved:
        for note in store.inherited_notes(a.code):
            refs = [r for r in parse_refs(note.text) if not r.approximate] if note.kind == NoteKind.EXCLUDES1 else []
            for ref in refs:
                for b in resolved:
                    pair = frozenset((a.code, b.code))
                    if b.code == a.code or pair in seen or not ref.covers(b.code):
                        continue
                    seen.add(pair)
                    message = (
                        f"{a.code} and {b.code} cannot be coded together: the Excludes1 note "
                        f'{_at(store, note.source, [a.code])} excludes "{note.text}", and {b.code} falls under '
                        f"{ref}. Keep the one the record supports ({_cite('excludes1')})."
                    )
                    findings.append(Finding("excludes1", "error", message, (a.code, b.code)))
    return findings


def _is_manifestation(code: Code, store: CodeStore) -> bool:
    chain = [code, *store.ancestors(code.code)]
    return any(_MANIFESTATION.search(c.title) for c in chain if c.kind in (CodeKind.CATEGORY, CodeKind.SUBCATEGORY))


def _joined(texts: list[str]) -> str:
    out = texts[0]
    for text in texts[1:]:
        out += (" " if out.endswith(":") else "; ") + text
    return out


def missing_partners(codes: list[str], store: CodeStore) -> list[Finding]:
    """Findings for the "Code first" and "Use additional code" notes that apply at a code (its own
    or inherited) and name codes of which none is among `codes`.

    The notes of one kind that sit at one code are read together, as the Tabular lists them
    ("Code first underlying disease, such as:" followed by one note per alternative), so one
    present alternative satisfies them all; notes that name no code are not checked. A missing
    "Use additional code" partner is a warning (kind "use_additional"), and so is a missing
    "Code first" partner (kind "code_first"), except at a manifestation code, whose title says
    "in diseases classified elsewhere": by the etiology/manifestation convention (Guidelines
    I.A.13) it is never reported without the code of its underlying condition, so there the
    missing partner is an error. A requirement inherited by several of the codes is reported once.
    Every other code given may be a partner, even one the store does not know (billing reports it).
    """
    given = [c.strip() for c in codes if c.strip()]
    resolved = _resolve(given, store)
    missing: dict[tuple[NoteKind, str], _Missing] = {}
    for a in resolved:
        groups: dict[tuple[NoteKind, str], _Missing] = {}
        for note in store.inherited_notes(a.code):
            if note.kind in _PARTNER_KINDS:
                group = groups.setdefault((note.kind, note.source), _Missing(note.kind, note.source))
                group.texts.append(note.text)
                group.refs.extend(r for r in parse_refs(note.text) if r not in group.refs)
        # Any other code given counts as a partner, even one this store does not know.
        others = [c for c in given if code_key(c) != a.key]
        for key, group in groups.items():
            if not group.refs or any(ref.covers(b) for ref in group.refs for b in others):
                continue
            entry = missing.setdefault(key, group)
            entry.needing.append(a.code)
            entry.error = entry.error or (group.kind == NoteKind.CODE_FIRST and _is_manifestation(a, store))
    return [group.finding(store) for group in missing.values()]


@dataclass
class _Missing:
    """The partner notes of one kind at one code, and the codes that need one of their partners."""

    kind: NoteKind
    source: str
    texts: list[str] = field(default_factory=list)
    refs: list[CodeRef] = field(default_factory=list)
    needing: list[str] = field(default_factory=list)
    error: bool = False

    def finding(self, store: CodeStore) -> Finding:
        listed = ", ".join(str(r) for r in self.refs)
        who = " and ".join(self.needing)
        at = _at(store, self.source, self.needing)
        if self.kind == NoteKind.CODE_FIRST:
            message = (
                f'{who}: the Code first note {at} asks for "{_joined(self.texts)}" to be coded first, '
                f"and none of {listed} is among the codes."
            )
            if self.error:
                are = "is a manifestation code" if len(self.needing) == 1 else "are manifestation codes"
                message += (
                    f' {who} {are} ("in diseases classified elsewhere"): never reported without the '
                    f"underlying condition, which is sequenced first ({_cite('manifestation')})."
                )
            else:
                message += f" Add the underlying condition if the record documents it ({_cite('code_first')})."
        else:
            message = (
                f'{who}: the Use additional code note {at} asks for "{_joined(self.texts)}", and none of '
                f"{listed} is among the codes. Add one if the record supports it ({_cite('use_additional')})."
            )
        return Finding(
            kind=_PARTNER_KINDS[self.kind],
            severity="error" if self.error else "warning",
            message=message,
            codes=tuple(self.needing),
        )


def billing_findings(codes: list[str], store: CodeStore) -> list[Finding]:
    """Codes that cannot be reported: unknown ones ("unknown"), codes that lack only their 7th
    character ("seventh", listing the valid ones), and categories or subcategories that have more
    specific codes ("not_billable", naming up to 5 of them). All are errors (Guidelines I.B.2)."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for given in codes:
        code = store.find(given.strip()) if given.strip() else None
        if code is None:
            if given in seen:
                continue
            seen.add(given)
            shown = given.strip() or "(empty)"
            findings.append(
                Finding(
                    kind="unknown",
                    severity="error",
                    message=f"{shown} is not a code in {store.info.title} {store.info.release}.",
                    codes=(shown,),
                )
            )
            continue
        if code.code in seen or code.billable:
            seen.add(code.code)
            continue
        seen.add(code.code)
        children = store.codes(code.children)
        kids = [children[c] for c in code.children if c in children]
        seventh, where = store.seventh_characters(code.code)
        if seventh and code.kind != CodeKind.EXTENSION and kids and all(k.kind == CodeKind.EXTENSION for k in kids):
            allowed = {k.code[-1] for k in kids}
            valid = "; ".join(f"{s.char} = {s.meaning}" for s in seventh if s.char in allowed)
            findings.append(
                Finding(
                    kind="seventh",
                    severity="error",
                    message=(
                        f"{code.code} ({code.title}) needs a 7th character, defined at {where}: {valid} "
                        f"(for example {kids[0].code}) ({_cite('seventh_character')})."
                    ),
                    codes=(code.code,),
                )
            )
            continue
        named = ", ".join(f"{k.code} ({k.title})" for k in kids[:_MAX_CHILDREN_NAMED])
        more = f" and {len(kids) - _MAX_CHILDREN_NAMED} more" if len(kids) > _MAX_CHILDREN_NAMED else ""
        message = (
            f"{code.code} ({code.title}) is a heading, not a billable code; choose a more specific one: "
            f"{named or '(none listed)'}{more}"
        )
        if seventh:
            message += ". The codes under it also take a 7th character"
        message += f" ({_cite('level_of_detail')})."
        findings.append(Finding("not_billable", "error", message, (code.code,)))
    return findings


def claim_limit(codes: list[str], limit: int = 12, form: str = "837P professional claim") -> list[Finding]:
    """A warning when there are more distinct codes than one claim carries (12 on an 837P)."""
    if limit < 1:
        raise ValueError(f"limit must be positive, not {limit}")
    by_key: dict[str, str] = {}
    for c in codes:
        if c.strip():
            by_key.setdefault(code_key(c), c.strip())
    distinct = list(by_key.values())
    if len(distinct) <= limit:
        return []
    extra = distinct[limit:]
    return [
        Finding(
            kind="too_many",
            severity="warning",
            message=(
                f"{len(distinct)} codes, but an {form} carries {limit} diagnosis codes: "
                f"{', '.join(extra)} would not fit. Put the most important codes first ({_cite('claim_limit')})."
            ),
            codes=tuple(extra),
        )
    ]


def check_all(codes: list[str], store: CodeStore, setting: str) -> list[Finding]:
    """Every check, in a stable order: Excludes1 conflicts, missing partners, billing, claim size.
    The claim limit is the setting's (12 codes outpatient on an 837P, 25 inpatient on an 837I)."""
    _, limit = GuidelineRules.default().for_setting(setting)
    return [
        *excludes1_conflicts(codes, store),
        *missing_partners(codes, store),
        *billing_findings(codes, store),
        *claim_limit(codes, limit.limit, limit.form),
    ]
