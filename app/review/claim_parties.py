"""Who an 837I names besides the codes: the parties a coding tool does not own (submitter, receiver,
billing provider, payer, subscriber, attending physician, type of bill, revenue lines and charges),
each field with the rule its value must pass, and where a site keeps them.

`load_parties` reads them from files: `parties.json` in the folder `CODA_CLAIM_PARTIES_DIR` holds
what is the same on every claim (submitter, receiver, billing provider, payer, type of bill) and
`<case id>.json` beside it what is the case's (subscriber, attending physician, patient control
number, revenue lines and charges), as a registration or billing system would write them; the
case's file wins field by field. Nothing is invented: `ClaimParties.from_mapping` names every
field that is missing or malformed, in one ExportError.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from index.errors import ExportError

SITE_FILE = "parties.json"
_OUTSIDE_X12 = re.compile(r"""[^A-Z0-9 !"&'()+,\-./;?=%@\[\]_{}\\|<>#$]""")  # extended set less ~ * : ^


def _rule(test: Callable[[Any], bool] | str, shape: str, default: str | None = None) -> Any:
    """A field with the test its value must pass (a regex for text) and the shape a problem names; with a
    default it may be left out of the mapping, and a default of "" makes it optional."""
    rx = re.compile(test) if isinstance(test, str) else None
    check = test if rx is None else (lambda v: isinstance(v, str) and rx.fullmatch(v) is not None)
    meta = {"rule": (check, shape)}
    return field(metadata=meta) if default is None else field(default=default, metadata=meta)


def _text(most: int, least: int = 1) -> Any:
    """A name or address: `least` to `most` characters once cleaned for X12."""
    return _rule(
        lambda v: isinstance(v, str) and least <= len(x12_text(v)) <= most, f"{least} to {most} characters of X12 text"
    )


def _npi_ok(npi: Any) -> bool:
    """The NPI check digit: Luhn over "80840" and the NPI's ten digits."""
    if not isinstance(npi, str) or not re.fullmatch(r"\d{10}", npi):
        return False
    digits = [int(d) for d in reversed("80840" + npi)]
    return sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d) for i, d in enumerate(digits)) % 10 == 0


def _amount_ok(value: Any) -> bool:
    return isinstance(value, Decimal) and value.is_finite() and value >= 0


_IDENT = r"[A-Za-z0-9][A-Za-z0-9./-]{1,49}", "2 to 50 letters, digits, '.', '/' or '-'"
_ISA_ID = r"[A-Za-z0-9][A-Za-z0-9./-]{1,14}", "2 to 15 letters, digits, '.', '/' or '-'"
_NPI = _npi_ok, "a 10-digit NPI that passes its check digit (Luhn with prefix 80840)"
_DATE = (lambda v: isinstance(v, date)), "a date (YYYY-MM-DD)"
_CHARGE = (lambda v: _amount_ok(v) and v == round(v, 2)), "an amount of 0 or more, in cents"
_UNITS = (lambda v: _amount_ok(v) and v > 0), "a number above 0"
_STATE = r"[A-Z]{2}", "a two-letter state code"
_QUALIFIER = r"01|14|20|27|28|29|30|33|ZZ", "an ISA id qualifier (ZZ, 01, 14, 20, 27, 28, 29, 30, 33)"


@dataclass(frozen=True)
class Address:
    street: str = _text(55)
    city: str = _text(30, 2)
    state: str = _rule(*_STATE)
    zip: str = _rule(r"\d{5}(?:-?\d{4})?", "a ZIP of 5 or 9 digits")


@dataclass(frozen=True)
class Organisation:
    name: str = _text(60)
    id: str = _rule(*_IDENT)


@dataclass(frozen=True)
class Submitter:
    name: str = _text(60)
    id: str = _rule(*_IDENT)
    contact_name: str = _text(60)
    phone: str = _rule(r"\d{10}", "ten digits (5551234567)", "")  # a phone or an email, or both
    email: str = _rule(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "an email address", "")


@dataclass(frozen=True)
class Interchange:
    sender_id: str = _rule(*_ISA_ID)  # ISA06, GS02
    receiver_id: str = _rule(*_ISA_ID)  # ISA08, GS03
    sender_qualifier: str = _rule(*_QUALIFIER, "ZZ")
    receiver_qualifier: str = _rule(*_QUALIFIER, "ZZ")
    usage: str = _rule("[PT]", "P (production) or T (test)", "T")  # ISA15


@dataclass(frozen=True)
class BillingProvider:
    name: str = _text(60)
    npi: str = _rule(*_NPI)
    tax_id: str = _rule(r"\d{2}-?\d{7}", "an EIN of 9 digits (12-3456789)")
    address: Address  # its ZIP with the +4, which 5010 asks of a billing provider


@dataclass(frozen=True)
class Subscriber:
    """The insured, who is also the patient (SBR02 18, self)."""

    last_name: str = _text(60)
    first_name: str = _text(35)
    member_id: str = _rule(*_IDENT)
    birth_date: date = field(metadata={"rule": _DATE})
    sex: str = _rule("[FMU]", "F, M or U")
    address: Address


@dataclass(frozen=True)
class Attending:
    last_name: str = _text(60)
    first_name: str = _text(35)
    npi: str = _rule(*_NPI)


@dataclass(frozen=True)
class RevenueLine:
    revenue_code: str = _rule(r"\d{4}", "four digits (0120)")
    charge: Decimal = field(metadata={"rule": _CHARGE})
    units: Decimal = field(metadata={"rule": _UNITS})
    hcpcs: str = _rule(r"[A-Z0-9]{5}", "a five-character HCPCS code", "")


@dataclass(frozen=True)
class ClaimParties:
    """What the 837I needs beyond the coding, from settings or the case; `problems()` checks it."""

    submitter: Submitter
    receiver: Organisation
    interchange: Interchange
    billing_provider: BillingProvider
    payer: Organisation
    subscriber: Subscriber
    attending: Attending
    facility_type: str = _rule(r"\d{2}", "the type of bill's facility type and class (11: hospital inpatient)")
    frequency: str = _rule(r"[0-9A-Z]", "one claim frequency code (1: admit through discharge)")
    admission_type: str = _rule(r"[0-9]", "one NUBC admission type digit (1 emergency, 3 elective, ...)")
    admission_source: str = _rule(r"[0-9A-Z]", "one NUBC point-of-origin code")
    patient_control_number: str = _rule(r"[A-Za-z0-9][A-Za-z0-9./-]{0,37}", "1 to 38 letters, digits, '.', '/', '-'")
    revenue_lines: tuple[RevenueLine, ...]
    assignment: str = _rule("[ABC]", "A, B or C (provider accepts assignment, CLM07)")
    benefits_assignment: str = _rule("[NWY]", "Y, N or W (benefits assigned to the provider, CLM08)")
    release_of_information: str = _rule("[IY]", "Y or I (release of information, CLM09)")
    claim_filing_code: str = _rule(r"[0-9A-Z]{2}", "a claim filing indicator (MA, MB, CI, ...)", "")  # SBR09

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ClaimParties:
        """The parties from a plain dict (a JSON file of settings), keys named as the fields are;
        ExportError naming every missing or malformed field."""
        parties = _build(cls, data)
        problems = parties.problems()
        if problems:
            raise ExportError(f"the 837I cannot be written: {'; '.join(problems)}")
        return parties

    def problems(self) -> list[str]:
        """What is missing or malformed, a sentence a field, named by its path in the mapping."""
        found = _problems(self)
        if not self.submitter.phone and not self.submitter.email:
            found.append("submitter.phone or submitter.email is missing (the EDI contact needs one)")
        if len(self.billing_provider.address.zip.replace("-", "")) == 5:
            found.append("billing_provider.address.zip has 5 digits, not the 9 of a ZIP+4, which 5010 asks of it")
        if not self.revenue_lines:
            found.append("revenue_lines is missing (at least one revenue line with its charge)")
        return found


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    """`cls` from a mapping, leniently: what is missing stays empty and what does not parse stays raw,
    for `problems()` to name."""
    hints, values = get_type_hints(cls), {}
    for f in fields(cls):
        kind, raw = hints[f.name], data.get(f.name)
        if is_dataclass(kind):
            values[f.name] = _build(kind, raw if isinstance(raw, Mapping) else {})
        elif get_origin(kind) is tuple:
            items = raw if isinstance(raw, list | tuple) else []
            values[f.name] = tuple(_build(get_args(kind)[0], r if isinstance(r, Mapping) else {}) for r in items)
        elif kind in (date, Decimal):
            values[f.name] = _parse(raw, date.fromisoformat if kind is date else Decimal)
        elif raw in (None, "") and f.default is not MISSING:
            continue
        else:
            values[f.name] = "" if raw is None else str(raw).strip()
    return cls(**values)


def _problems(record: Any, prefix: str = "") -> list[str]:
    found: list[str] = []
    for f in fields(record):
        value, path = getattr(record, f.name), prefix + f.name
        if is_dataclass(value):
            found += _problems(value, f"{path}.")
        elif isinstance(value, tuple | list):
            found += [p for i, item in enumerate(value) for p in _problems(item, f"{path}[{i}].")]
        elif value is None or value == "":
            found += [] if f.default == "" else [f"{path} is missing"]
        elif "rule" in f.metadata and not f.metadata["rule"][0](value):
            found.append(f"{path} is {str(value)!r}, not {f.metadata['rule'][1]}")
    return found


def x12_text(text: str) -> str:
    """Text as X12 carries it: ASCII, upper case, no delimiters or control characters, single spaces."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()
    return " ".join(_OUTSIDE_X12.sub("", " ".join(plain.split())).split())


def _parse(value: Any, parse: Callable[[str], Any]) -> Any:
    """The parsed value, or the raw one for `problems()` to name; None when missing."""
    if value is None or value == "":
        return None
    if isinstance(value, date | Decimal):
        return value
    try:
        return parse(str(value).strip())
    except (ValueError, InvalidOperation):
        return value


def load_parties(folder: Path | None, case_id: str) -> ClaimParties:
    """The parties of case `case_id`'s 837I; ExportError saying what to provide when they are not all there."""
    if folder is None:
        raise ExportError(
            "the 837I names a submitter, billing provider, payer, subscriber and charges that a coding tool does "
            f"not own: set CODA_CLAIM_PARTIES_DIR to a folder holding {SITE_FILE} and <case id>.json (see README)"
        )
    merged: dict[str, Any] = {}
    for path in (folder / SITE_FILE, folder / f"{case_id}.json"):
        merged = _merged(merged, _read(path))
    return ClaimParties.from_mapping(merged)


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{path} cannot be read as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ExportError(f"{path} must hold a JSON object, not {type(data).__name__}")
    return data


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out
