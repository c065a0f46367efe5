"""The institutional claim of a case as an X12 837I (005010X223A2): one whole interchange, ISA to IEA,
that a clearinghouse takes, and pyx12's check of it.

The coding owns `InstitutionalClaim`: the stay's dates and discharge status, the diagnoses with their
present-on-admission (POA) indicators, the ICD-10-PCS procedures with their dates, the MS-DRG.
Everything else is not a coder's to decide and comes in `ClaimParties`, from settings or the case
(`ClaimParties.from_mapping` reads them), never invented: submitter, receiver, interchange ids,
billing provider (NPI, EIN, address), payer, subscriber (who is the patient), attending physician,
type of bill, admission type and source, revenue lines and charges, patient control number, and the
assignment and release codes. The only defaults are the interchange id qualifiers (ZZ, mutually
defined) and the usage indicator T (test): an interchange is production only when settings say so.

Refused, with one ExportError naming every problem: a party field missing or malformed (an NPI that
fails its check digit, a billing provider ZIP without its +4), no principal diagnosis, a code not
shaped like ICD-10-CM, an external-cause code (V00-Y99) as principal, a code twice, a POA other than
Y, N, U, W or "" (exempt from POA reporting: the element stays empty), a procedure that is not a
7-character ICD-10-PCS code or has no date or is dated after discharge, a discharge before
admission, and more codes than the guide carries: 24 other diagnoses (two HI segments of 12 ABF),
12 external causes (one of ABN), 24 other procedures (two of BBQ). Names and addresses are
upper-cased and lose the delimiters (~ * : ^), control characters and anything outside the X12
character set, so no name can break the file; identifiers are refused, never altered.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.review.claim_parties import Address, ClaimParties, x12_text
from index.errors import ExportError

VERSION = "005010X223A2"
HI_COMPOSITES = 12  # code composites in one HI segment
MAX_OTHER_DIAGNOSES = 24  # two HI segments of ABF
MAX_EXTERNAL_CAUSES = 12  # one HI segment of ABN
MAX_OTHER_PROCEDURES = 24  # two HI segments of BBQ
POA_VALUES = ("Y", "N", "U", "W", "")
_LIMITS = (
    (MAX_OTHER_DIAGNOSES, "other diagnoses", "two HI segments of 12 ABF"),
    (MAX_EXTERNAL_CAUSES, "external-cause codes", "one HI segment of 12 ABN"),
    (MAX_OTHER_PROCEDURES, "other procedures", "two HI segments of 12 BBQ"),
)
ICD10CM = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?")  # dotted or not
ICD10PCS = re.compile(r"[0-9A-HJ-NP-Z]{7}")  # PCS has no I and no O


@dataclass(frozen=True)
class InstitutionalClaim:
    """What the coding owns. Diagnoses are (code, POA) and procedures (ICD-10-PCS code, date), the first
    procedure the principal one; codes dotted ("S72.001A") or not, written without dots."""

    case_id: str
    admission: date
    discharge: date
    discharge_status: str  # the two-digit patient status (CL103), e.g. "01" home
    principal_diagnosis: tuple[str, str] | None
    other_diagnoses: tuple[tuple[str, str], ...] = ()
    procedures: tuple[tuple[str, date | None], ...] = ()
    admitting_diagnosis: str = ""
    drg: int | None = None  # MS-DRG
    admission_hour: int | None = None  # 0-23, when known: DTP*435 then carries it
    discharge_hour: int | None = None  # 0-23, when known: written as DTP*096


def x12_837i(claim: InstitutionalClaim, parties: ClaimParties, control_number: int, created: datetime) -> str:
    """The claim as one 837I interchange, a segment a line; `control_number` (1 to 999999999) goes into
    ISA13/IEA02, GS06/GE02 and ST02/SE02. ExportError naming every problem when the file would be wrong."""
    problems = parties.problems() + _claim_problems(claim)
    if not 1 <= control_number <= 999_999_999:
        problems.append(f"control number {control_number} is not between 1 and 999999999")
    if problems:
        raise ExportError(f"the 837I of case {claim.case_id} cannot be written: {'; '.join(problems)}")
    p, ix, bp, pat = parties, parties.interchange, parties.billing_provider, parties.subscriber
    day, time = f"{created:%Y%m%d}", f"{created:%H%M}"
    phone = ["TE", p.submitter.phone] if p.submitter.phone else []
    email = ["EM", p.submitter.email] if p.submitter.email else []
    total = _amount(sum((line.charge for line in p.revenue_lines), Decimal(0)))
    signed = (p.assignment, p.benefits_assignment, p.release_of_information)  # CLM07-09
    admitted = f"{claim.admission:%Y%m%d}" + ("" if claim.admission_hour is None else f"{claim.admission_hour:02d}00")
    stay = f"{claim.admission:%Y%m%d}-{claim.discharge:%Y%m%d}"
    body = [
        _seg("ST", "837", f"{control_number:04d}", VERSION),
        _seg("BHT", "0019", "00", f"{control_number:09d}", day, time, "CH"),
        _nm1("41", "2", p.submitter.name, "", "46", p.submitter.id),
        _seg("PER", "IC", x12_text(p.submitter.contact_name), *phone, *email),
        _nm1("40", "2", p.receiver.name, "", "46", p.receiver.id),
        _seg("HL", "1", "", "20", "1"),
        _nm1("85", "2", bp.name, "", "XX", bp.npi),
        *_address_segments(bp.address),
        _seg("REF", "EI", bp.tax_id.replace("-", "")),
        _seg("HL", "2", "1", "22", "0"),
        _seg("SBR", "P", "18", "", "", "", "", "", "", p.claim_filing_code),
        _nm1("IL", "1", pat.last_name, pat.first_name, "MI", pat.member_id),
        *_address_segments(pat.address),
        _seg("DMG", "D8", f"{pat.birth_date:%Y%m%d}", pat.sex),
        _nm1("PR", "2", p.payer.name, "", "PI", p.payer.id),
        _seg("CLM", p.patient_control_number, total, "", "", f"{p.facility_type}:A:{p.frequency}", "", *signed),
        *([_seg("DTP", "096", "TM", f"{claim.discharge_hour:02d}00")] if claim.discharge_hour is not None else []),
        _seg("DTP", "434", "RD8", stay),
        _seg("DTP", "435", "D8" if claim.admission_hour is None else "DT", admitted),
        _seg("CL1", p.admission_type, p.admission_source, claim.discharge_status),
        *_hi_segments(claim),
        _nm1("71", "1", p.attending.last_name, p.attending.first_name, "XX", p.attending.npi),
    ]
    for n, line in enumerate(p.revenue_lines, 1):
        procedure = f"HC:{line.hcpcs}" if line.hcpcs else ""
        body += [
            _seg("LX", str(n)),
            _seg("SV2", line.revenue_code, procedure, _amount(line.charge), "UN", _amount(line.units)),
            _seg("DTP", "472", "RD8", stay),
        ]
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*{ix.sender_qualifier}*{ix.sender_id:<15}*{ix.receiver_qualifier}*{ix.receiver_id:<15}"
        f"*{created:%y%m%d}*{time}*^*00501*{control_number:09d}*0*{ix.usage}*:~"
    )
    gs = _seg("GS", "HC", ix.sender_id, ix.receiver_id, day, time, str(control_number), "X", VERSION)
    trailers = [_seg("SE", str(len(body) + 1), f"{control_number:04d}"), _seg("GE", "1", str(control_number))]
    return "\n".join([isa, gs, *body, *trailers, _seg("IEA", "1", f"{control_number:09d}")]) + "\n"


def _hi_segments(claim: InstitutionalClaim) -> list[str]:
    """The 2300 HI segments in the guide's order: ABK, ABJ, ABN, DR, ABF, BBR, BBQ; at most 12 codes a
    segment, more in a repeat of the same kind. POA goes in the 9th component, empty when exempt."""
    principal = claim.principal_diagnosis or ("", "")
    externals = [_dx("ABN", *d) for d in claim.other_diagnoses if _external(d[0])]
    others = [_dx("ABF", *d) for d in claim.other_diagnoses if not _external(d[0])]
    performed = [f"{_undotted(code)}:D8:{when:%Y%m%d}" for code, when in claim.procedures if when is not None]
    return [
        _seg("HI", _dx("ABK", *principal)),
        *([_seg("HI", f"ABJ:{_undotted(claim.admitting_diagnosis)}")] if claim.admitting_diagnosis else []),
        *_chunked(externals),
        *([_seg("HI", f"DR:{claim.drg:03d}")] if claim.drg is not None else []),
        *_chunked(others),
        *_chunked([f"BBR:{c}" for c in performed[:1]]),
        *_chunked([f"BBQ:{c}" for c in performed[1:]]),
    ]


def _claim_problems(claim: InstitutionalClaim) -> list[str]:
    found: list[str] = []
    principal = (claim.principal_diagnosis or ("", ""))[0]
    if claim.discharge < claim.admission:
        found.append(f"discharge {claim.discharge} is before admission {claim.admission}")
    if not re.fullmatch(r"\d{2}", claim.discharge_status or ""):
        found.append(f"discharge status {claim.discharge_status!r} is not a two-digit patient status (01: home)")
    for name, hour in (("admission", claim.admission_hour), ("discharge", claim.discharge_hour)):
        if hour not in (None, *range(24)):
            found.append(f"{name} hour {hour} is not 0 to 23")
    if not principal:
        found.append("there is no principal diagnosis: set one before exporting")
    elif _external(principal):
        found.append(f"{principal} is an external-cause code (V00-Y99), which cannot be the principal diagnosis")
    if claim.admitting_diagnosis and not ICD10CM.fullmatch(claim.admitting_diagnosis):
        found.append(f"admitting diagnosis {claim.admitting_diagnosis!r} is not shaped like an ICD-10-CM code")
    if claim.drg is not None and not 1 <= claim.drg <= 999:
        found.append(f"MS-DRG {claim.drg} is not 1 to 999")
    externals = sum(1 for code, _ in claim.other_diagnoses if _external(code))
    counts = (len(claim.other_diagnoses) - externals, externals, len(claim.procedures) - 1)
    for count, (limit, what, where) in zip(counts, _LIMITS, strict=True):
        if count > limit:
            found.append(f"{count} {what}: the 837I carries at most {limit} ({where}); leave some off the bill")
    seen: set[str] = set()
    for code, poa in [*([claim.principal_diagnosis] if principal else []), *claim.other_diagnoses]:
        if not ICD10CM.fullmatch(code or ""):
            found.append(f"{code!r} is not shaped like an ICD-10-CM code (a letter, a digit, a character, 1-4 more)")
        if poa not in POA_VALUES:
            found.append(f"POA {poa!r} of {code} is not Y, N, U, W or '' (exempt from POA reporting)")
        if _undotted(code or "") in seen:
            found.append(f"{code} is on the claim twice")
        seen.add(_undotted(code or ""))
    for code, when in claim.procedures:
        if not ICD10PCS.fullmatch(code or ""):
            found.append(f"procedure {code!r} is not a whole ICD-10-PCS code (7 characters, no I or O)")
        if not isinstance(when, date):
            found.append(f"procedure {code} has no date")
        elif when > claim.discharge:
            found.append(f"procedure {code} is dated {when}, after discharge on {claim.discharge}")
    return found


def validate_837i(text: str) -> list[str]:
    """pyx12's error messages for an X12 interchange, read in memory (no file is written); empty when it
    validates against pyx12's map of the transaction set its GS08 names."""
    import pyx12.errors
    import pyx12.params
    import pyx12.x12n_document

    report = io.StringIO()
    try:
        valid = pyx12.x12n_document.x12n_document(
            pyx12.params.ParamsBase(), io.StringIO(text), fd_997=None, fd_html=None, fd_json=report
        )
    except (pyx12.errors.X12Error, pyx12.errors.EngineError) as exc:
        return [f"pyx12 cannot read the interchange: {exc}"]
    errors = _json_errors(json.loads(report.getvalue())) if report.getvalue() else []
    if not valid and not errors:
        errors.append("pyx12 cannot read the interchange (it must start with a 106-character ISA segment)")
    return errors


def _json_errors(node: dict[str, Any], where: str = "") -> list[str]:
    """The messages of pyx12's JSON error report (interchanges > groups > transactions > segments >
    elements), each with the line and segment it is about."""
    if "seg_id" in node:
        where = f"line {node['cur_line']} {node['seg_id']}"
    elif "ele_pos" in node:
        where = f"{where} {node['name']}"
    elif "cur_line" in node:
        where = "ST" if "trn_set_id" in node else "GS" if "gs_control_num" in node else "ISA"
    found = [f"{where}: {e['err_str']}" for e in node.get("errors", [])]
    for key in ("interchanges", "groups", "transactions", "segments", "elements"):
        found += [m for child in node.get(key, []) for m in _json_errors(child, where)]
    return found


def _seg(*elements: str) -> str:
    return "*".join(elements).rstrip("*") + "~"


def _chunked(composites: list[str]) -> list[str]:
    return [_seg("HI", *composites[i : i + HI_COMPOSITES]) for i in range(0, len(composites), HI_COMPOSITES)]


def _dx(qualifier: str, code: str, poa: str) -> str:
    return f"{qualifier}:{_undotted(code)}" + (f":::::::{poa}" if poa else "")


def _nm1(entity: str, kind: str, name: str, first: str, qualifier: str, ident: str) -> str:
    return _seg("NM1", entity, kind, x12_text(name), x12_text(first), "", "", "", qualifier, ident)


def _address_segments(a: Address) -> list[str]:
    return [_seg("N3", x12_text(a.street)), _seg("N4", x12_text(a.city), a.state, a.zip.replace("-", ""))]


def _undotted(code: str) -> str:
    return code.replace(".", "")


def _external(code: str) -> bool:
    return (code or "")[:1] in ("V", "W", "X", "Y")  # V00-Y99, ICD-10-CM chapter 20


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")
