"""The verify step's guideline checks: pure functions from a list of codes (and a CodeStore) to findings.

They read the code references in the Tabular List's instructional notes (`agent.guidelines.refs`)
to report Excludes1 conflicts, missing "Code first" and "Use additional code" partners (weighed
against the note when it is given, `agent.guidelines.partners`), codes that cannot be billed and
claims with too many codes, each citing its guideline (`agent.guidelines.rules`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.guidelines.partners import PartnerWords
from agent.guidelines.principal import is_manifestation
from agent.guidelines.refs import CodeRef, parse_refs
from agent.guidelines.rules import GuidelineRules, cite
from agent.records import Finding
from index.model import Code, CodeKind, NoteKind, code_key
from index.store import CodeStore

_PARTNER_KINDS = {NoteKind.CODE_FIRST: "code_first", NoteKind.USE_ADDITIONAL_CODE: "use_additional"}
_MAX_CHILDREN_NAMED = 5


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
                        f"{ref}. Keep the one the record supports ({cite('excludes1')})."
                    )
                    findings.append(Finding("excludes1", "error", message, (a.code, b.code)))
    return findings


def _joined(texts: list[str]) -> str:
    out = texts[0]
    for text in texts[1:]:
        out += (" " if out.endswith(":") else "; ") + text
    return out


def missing_partners(codes: list[str], store: CodeStore, note: str | None = None) -> list[Finding]:
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

    With the `note` of the encounter, a missing partner is weighed against what it documents: when
    the note names the partner's condition the finding is an error (the code is missing); when it
    does not, a partner asked for only "if applicable" (or "any ...") is not reported, and any
    other is a warning phrased as a query for the provider.
    """
    words = PartnerWords.default()
    given = [c.strip() for c in codes if c.strip()]
    resolved = _resolve(given, store)
    missing: dict[tuple[NoteKind, str], _Missing] = {}
    for a in resolved:
        groups: dict[tuple[NoteKind, str], _Missing] = {}
        for tabular in store.inherited_notes(a.code):
            if tabular.kind in _PARTNER_KINDS:
                key = (tabular.kind, tabular.source)
                group = groups.setdefault(key, _Missing(tabular.kind, tabular.source))
                group.texts.append(tabular.text)
                group.refs.extend(r for r in parse_refs(tabular.text) if r not in group.refs)
        # Any other code given counts as a partner, even one this store does not know.
        others = [c for c in given if code_key(c) != a.key]
        for key, group in groups.items():
            if not group.refs or any(ref.covers(b) for ref in group.refs for b in others):
                continue
            if key not in missing and note is not None:
                group.read = True
                group.documented = words.documented(note, group.texts)
                if group.documented is None and words.is_conditional(group.texts):
                    continue
            entry = missing.setdefault(key, group)
            entry.needing.append(a.code)
            manifestation = group.kind == NoteKind.CODE_FIRST and is_manifestation(a, store)
            entry.error = entry.error or manifestation or entry.documented is not None
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
    read: bool = False  # weighed against the note of the encounter
    documented: str | None = None  # the words of the note that name the partner's condition

    def finding(self, store: CodeStore) -> Finding:
        listed = ", ".join(str(r) for r in self.refs)
        who = " and ".join(self.needing)
        at = _at(store, self.source, self.needing)
        if self.kind == NoteKind.CODE_FIRST:
            message = (
                f'{who}: the Code first note {at} asks for "{_joined(self.texts)}" to be coded first, '
                f"and none of {listed} is among the codes."
            )
            if self.documented is not None:
                message += self._documented("code_first")
            elif self.error:
                are = "is a manifestation code" if len(self.needing) == 1 else "are manifestation codes"
                message += (
                    f' {who} {are} ("in diseases classified elsewhere"): never reported without the '
                    f"underlying condition, which is sequenced first ({cite('manifestation')})."
                )
            elif self.read:
                message += self._query("the underlying condition", "code_first")
            else:
                message += f" Add the underlying condition if the record documents it ({cite('code_first')})."
        else:
            message = (
                f'{who}: the Use additional code note {at} asks for "{_joined(self.texts)}", and none of '
                f"{listed} is among the codes."
            )
            if self.documented is not None:
                message += self._documented("use_additional")
            elif self.read:
                message += self._query("it", "use_additional")
            else:
                message += f" Add one if the record supports it ({cite('use_additional')})."
        return Finding(
            kind=_PARTNER_KINDS[self.kind],
            severity="error" if self.error else "warning",
            message=message,
            codes=tuple(self.needing),
        )

    def _documented(self, guideline: str) -> str:
        return f' The note documents it ("{self.documented}"): add the code ({cite(guideline)}).'

    def _query(self, what: str, guideline: str) -> str:
        return (
            f" The note does not document it: query the provider whether {what} applies, and add the code "
            f"if they confirm it ({cite(guideline)})."
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
                        f"(for example {kids[0].code}) ({cite('seventh_character')})."
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
        message += f" ({cite('level_of_detail')})."
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
                f"{', '.join(extra)} would not fit. Put the most important codes first ({cite('claim_limit')})."
            ),
            codes=tuple(extra),
        )
    ]


def check_all(codes: list[str], store: CodeStore, setting: str, note: str | None = None) -> list[Finding]:
    """Every check, in a stable order: Excludes1 conflicts, missing partners (weighed against the
    `note` when it is given), billing, claim size. The claim limit is the setting's (12 codes
    outpatient on an 837P, 25 inpatient on an 837I)."""
    _, limit = GuidelineRules.default().for_setting(setting)
    return [
        *excludes1_conflicts(codes, store),
        *missing_partners(codes, store, note),
        *billing_findings(codes, store),
        *claim_limit(codes, limit.limit, limit.form),
    ]
