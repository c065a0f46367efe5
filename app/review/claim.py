"""The final claim of a case, checked line by line before any export writes it.

The claim holds the accepted and added codes, principal first, then in sequence order
(`claim_codes`). `claim_lines` refuses, with an ExportError naming every problem it finds, a claim
that would make an export wrong: no codes, no principal or two, a code of another case, a code
not written as ICD-10-CM writes it, a code the code book does not hold or cannot bill, a code
listed twice. It does not run the guideline checks (`app.review.validation` does): a claim can be
well formed and still break a guideline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.review.records import CaseCode
from index.errors import ExportError
from index.model import Code
from index.store import CodeStore

# An ICD-10-CM code as a claim writes it: letter, digit, alphanumeric, then a dot and 1-4 more.
ICD10CM_CODE = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")


@dataclass(frozen=True)
class ClaimLine:
    """One diagnosis of the claim, in claim order, with the code book's spelling and title."""

    sequence: int  # 1, 2, ... in claim order; the principal is 1
    code: str
    title: str
    principal: bool
    row: CaseCode  # the case's code it comes from


def claim_codes(codes: Iterable[CaseCode]) -> list[CaseCode]:
    """The codes that go on the claim (accepted and added), principal first, then by sequence."""
    return sorted((c for c in codes if c.on_claim), key=lambda c: (not c.principal, c.sequence))


def claim_lines(case_id: str, codes: Iterable[CaseCode], book: CodeStore) -> list[ClaimLine]:
    """The claim of case `case_id` as lines to export, each code checked against the code book;
    ExportError naming the problems when the claim would be wrong."""
    final = claim_codes(codes)
    if not final:
        raise ExportError("the claim has no codes: accept or add at least one code before exporting")
    principals = [c.code for c in final if c.principal]
    if len(principals) != 1:
        which = "none" if not principals else ", ".join(principals)
        raise ExportError(f"a claim needs exactly one principal diagnosis among its accepted codes, not {which}")
    problems: list[str] = []
    lines: list[ClaimLine] = []
    seen: set[str] = set()
    for c in final:
        record = _record(case_id, c, book)
        if isinstance(record, str):
            problems.append(record)
        elif record.key in seen:
            problems.append(f"{record.code} is on the claim twice")
        else:
            seen.add(record.key)
            lines.append(ClaimLine(len(lines) + 1, record.code, record.title, c.principal, c))
    if problems:
        raise ExportError(f"the claim of case {case_id} cannot be exported: {'; '.join(problems)}")
    return lines


def _record(case_id: str, c: CaseCode, book: CodeStore) -> Code | str:
    """The code book's record of one code of the claim, or what makes the code wrong there."""
    shown = repr(c.code) if not c.code.isprintable() or c.code != c.code.strip() else c.code
    if c.case_id != case_id:
        return f"{shown} is a code of case {c.case_id}, not of {case_id}"
    if not ICD10CM_CODE.fullmatch(c.code):
        return f"{shown} is not written as an ICD-10-CM code (a letter, two characters, a dot and the rest: E11.22)"
    record = book.find(c.code)
    if record is None or record.code != c.code:
        return f"{shown} is not a code of {book.info.title} {book.info.release}"
    if not record.billable:
        return f"{shown} ({record.title}) is a heading, not a billable code"
    return record
