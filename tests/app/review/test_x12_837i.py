"""The institutional claim as an X12 837I (005010X223A2): a hip-fracture stay written in full and
validated by pyx12, its exact HI segments, the control numbers and SE count, the guide's limits,
the parties a coder cannot invent (named all at once when missing), names that carry delimiters,
and a broken interchange that pyx12 must refuse."""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from datetime import date, datetime

import pytest

from app.review.claim_parties import ClaimParties
from app.review.x12_837i import InstitutionalClaim, validate_837i, x12_837i
from index.errors import ExportError

CREATED = datetime(2025, 3, 6, 14, 30)
PARTIES = {
    "submitter": {
        "name": "Coda General Hospital",
        "id": "CGH0001",
        "contact_name": "Billing Office",
        "phone": "5551234567",
        "email": "billing@cgh.example",
    },
    "receiver": {"name": "Example Clearinghouse", "id": "ECH0001"},
    "interchange": {"sender_id": "CGH0001", "receiver_id": "ECH0001"},
    "billing_provider": {
        "name": "Coda General Hospital",
        "npi": "1234567893",
        "tax_id": "12-3456789",
        "address": {"street": "100 Main Street", "city": "Springfield", "state": "IL", "zip": "62701-1234"},
    },
    "payer": {"name": "Medicare Part A", "id": "00120"},
    "subscriber": {
        "last_name": "Doe",
        "first_name": "Jane",
        "member_id": "1EG4TE5MK73",
        "birth_date": "1940-05-17",
        "sex": "F",
        "address": {"street": "12 Elm Street", "city": "Springfield", "state": "IL", "zip": "62704"},
    },
    "attending": {"last_name": "Smith", "first_name": "John", "npi": "1245319599"},
    "facility_type": "11",
    "frequency": "1",
    "admission_type": "1",
    "admission_source": "7",
    "patient_control_number": "PCN-C0001",
    "assignment": "A",
    "benefits_assignment": "Y",
    "release_of_information": "Y",
    "claim_filing_code": "MA",
    "revenue_lines": [
        {"revenue_code": "0120", "charge": "8000.00", "units": "4"},
        {"revenue_code": "0360", "charge": "24500.50", "units": "1"},
    ],
}
HIP_FRACTURE = InstitutionalClaim(
    case_id="C0001",
    admission=date(2025, 3, 1),
    discharge=date(2025, 3, 5),
    discharge_status="01",
    principal_diagnosis=("S72.001A", "Y"),
    other_diagnoses=(("I10", "Y"), ("L89.154", "N"), ("Z79.01", ""), ("W19.XXXA", "Y")),
    procedures=(("0SRR0JZ", date(2025, 3, 2)),),
    admitting_diagnosis="S72.001A",
    drg=522,
)


def parties(**changes: object) -> ClaimParties:
    return ClaimParties.from_mapping({**PARTIES, **changes})


def segments(text: str, tag: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"{tag}*")]


def test_hip_fracture_claim_validates_and_carries_the_coding_in_hi_segments():
    text = x12_837i(HIP_FRACTURE, parties(), 1, CREATED)

    assert validate_837i(text) == []
    assert segments(text, "HI") == [
        "HI*ABK:S72001A:::::::Y~",
        "HI*ABJ:S72001A~",
        "HI*ABN:W19XXXA:::::::Y~",
        "HI*DR:522~",
        "HI*ABF:I10:::::::Y*ABF:L89154:::::::N*ABF:Z7901~",
        "HI*BBR:0SRR0JZ:D8:20250302~",
    ]
    assert segments(text, "CLM") == ["CLM*PCN-C0001*32500.5***11:A:1**A*Y*Y~"]
    assert segments(text, "CL1") == ["CL1*1*7*01~"]
    assert segments(text, "DTP")[:2] == ["DTP*434*RD8*20250301-20250305~", "DTP*435*D8*20250301~"]
    assert segments(text, "NM1")[2] == "NM1*85*2*CODA GENERAL HOSPITAL*****XX*1234567893~"
    assert "N4*SPRINGFIELD*IL*627011234~" in text.splitlines()


def test_control_numbers_match_and_se_counts_the_segments_from_st_to_se():
    text = x12_837i(HIP_FRACTURE, parties(), 4711, CREATED)
    lines = text.splitlines()
    isa, gs, st, se, ge, iea = (
        segments(text, tag)[0].rstrip("~").split("*") for tag in ("ISA", "GS", "ST", "SE", "GE", "IEA")
    )

    assert len(lines[0]) == 106  # the ISA is fixed-width
    assert isa[13] == iea[2] == "000004711"
    assert gs[6] == ge[2] == "4711"
    assert st[2] == se[2] == "4711"
    assert st[3] == gs[8] == "005010X223A2"
    assert int(se[1]) == lines.index(segments(text, "SE")[0]) - lines.index(segments(text, "ST")[0]) + 1
    assert validate_837i(text) == []


def test_more_than_twelve_other_diagnoses_go_into_a_second_abf_segment():
    others = tuple((f"E{n}", "Y") for n in range(10, 23))  # 13 codes
    text = x12_837i(replace(HIP_FRACTURE, other_diagnoses=others), parties(), 2, CREATED)

    abf = [s for s in segments(text, "HI") if s.startswith("HI*ABF")]
    assert [s.count("ABF:") for s in abf] == [12, 1]
    assert abf[1] == "HI*ABF:E22:::::::Y~"
    assert validate_837i(text) == []


def test_thirty_other_diagnoses_exceed_the_guide():
    others = tuple((f"E{n}", "Y") for n in range(10, 40))
    with pytest.raises(
        ExportError, match=r"30 other diagnoses: the 837I carries at most 24 \(two HI segments of 12 ABF\)"
    ):
        x12_837i(replace(HIP_FRACTURE, other_diagnoses=others), parties(), 1, CREATED)


def test_missing_parties_are_named_all_at_once():
    data = copy.deepcopy(PARTIES)
    del data["billing_provider"]["npi"], data["payer"]["id"], data["subscriber"]["birth_date"]
    data["attending"]["npi"] = "1234567890"  # fails the NPI check digit
    del data["revenue_lines"]

    with pytest.raises(ExportError) as caught:
        ClaimParties.from_mapping(data)
    message = str(caught.value)
    assert message.startswith("the 837I cannot be written: ")
    for problem in (
        "billing_provider.npi is missing",
        "payer.id is missing",
        "subscriber.birth_date is missing",
        "attending.npi is '1234567890', not a 10-digit NPI that passes its check digit",
        "revenue_lines is missing",
    ):
        assert problem in message
    assert message.count(";") == 4


def test_an_empty_mapping_names_every_required_field_and_defaults_only_the_qualifiers():
    with pytest.raises(ExportError) as caught:
        ClaimParties.from_mapping({})
    message = str(caught.value)
    assert "submitter.name is missing" in message and "patient_control_number is missing" in message
    assert "interchange.sender_qualifier" not in message and "interchange.usage" not in message
    assert "claim_filing_code" not in message  # optional: SBR09 is left out
    assert parties().interchange.sender_qualifier == "ZZ" and parties().interchange.usage == "T"


def test_a_billing_provider_zip_without_its_plus_four_is_refused():
    provider = {**PARTIES["billing_provider"], "address": {**PARTIES["billing_provider"]["address"], "zip": "62701"}}
    with pytest.raises(ExportError, match=r"billing_provider\.address\.zip has 5 digits"):
        parties(billing_provider=provider)


def test_delimiters_and_control_characters_in_names_are_cleaned_and_the_file_still_validates():
    patient = {
        **PARTIES["subscriber"],
        "last_name": "O'Brien*Smith~",
        "first_name": "Zoë^:",
        "address": {**PARTIES["subscriber"]["address"], "street": "12 Elm\x07 Street\nApt 4"},
    }
    text = x12_837i(HIP_FRACTURE, parties(subscriber=patient), 3, CREATED)

    assert segments(text, "NM1")[3] == "NM1*IL*1*O'BRIENSMITH*ZOE****MI*1EG4TE5MK73~"
    assert "N3*12 ELM STREET APT 4~" in text.splitlines()
    assert validate_837i(text) == []


def test_pyx12_refuses_a_broken_interchange():
    text = x12_837i(HIP_FRACTURE, parties(), 1, CREATED)
    se = segments(text, "SE")[0]
    count = int(se.split("*")[1])

    errors = validate_837i(text.replace(se, f"SE*{count + 1}*0001~"))
    assert errors == [f"ST: SE count of {count + 1} for SE02=0001 is wrong. I count {count}"]
    assert validate_837i(text.replace("CL1*1*7*01~\n", ""))  # a required segment missing
    assert validate_837i("not an interchange")


def test_the_output_follows_the_claim():
    before = x12_837i(HIP_FRACTURE, parties(), 1, CREATED)
    changed = replace(
        HIP_FRACTURE,
        principal_diagnosis=("S72.002A", "N"),
        procedures=(("0SRR0JZ", date(2025, 3, 3)), ("0QS604Z", date(2025, 3, 3))),
        drg=470,
        admission_hour=7,
        discharge_hour=11,
    )
    after = x12_837i(changed, parties(), 1, CREATED)

    assert segments(after, "HI")[0] == "HI*ABK:S72002A:::::::N~"
    assert "HI*DR:470~" in after.splitlines()
    assert segments(after, "HI")[-2:] == ["HI*BBR:0SRR0JZ:D8:20250303~", "HI*BBQ:0QS604Z:D8:20250303~"]
    assert segments(after, "DTP")[:3] == [
        "DTP*096*TM*1100~",
        "DTP*434*RD8*20250301-20250305~",
        "DTP*435*DT*202503010700~",
    ]
    assert before != after and validate_837i(after) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"principal_diagnosis": None}, "there is no principal diagnosis"),
        ({"principal_diagnosis": ("W19.XXXA", "Y")}, "W19.XXXA is an external-cause code"),
        ({"principal_diagnosis": ("s72.001a", "Y")}, "'s72.001a' is not shaped like an ICD-10-CM code"),
        ({"other_diagnoses": (("I10", "1"),)}, "POA '1' of I10 is not Y, N, U, W or ''"),
        ({"other_diagnoses": (("S72001A", "Y"),)}, "S72001A is on the claim twice"),
        ({"procedures": (("0SRR0J", date(2025, 3, 2)),)}, "procedure '0SRR0J' is not a whole ICD-10-PCS code"),
        ({"procedures": (("0SRR0JZ", None),)}, "procedure 0SRR0JZ has no date"),
        ({"procedures": (("0SRR0JZ", date(2025, 3, 9)),)}, "procedure 0SRR0JZ is dated 2025-03-09, after discharge"),
        ({"discharge": date(2025, 2, 28)}, "discharge 2025-02-28 is before admission 2025-03-01"),
        ({"discharge_status": "1"}, "discharge status '1' is not a two-digit patient status"),
        ({"discharge_hour": 24}, "discharge hour 24 is not 0 to 23"),
        ({"drg": 0}, "MS-DRG 0 is not 1 to 999"),
    ],
)
def test_a_claim_that_would_make_the_file_wrong_is_refused(change, problem):
    with pytest.raises(ExportError, match=re.escape(problem)):
        x12_837i(replace(HIP_FRACTURE, **change), parties(), 1, CREATED)
