"""The claim exports: FHIR R4 (R4B models) Claim, 837P HI segment and CSV, with exact output, on
the review code book; what each export refuses; the placeholder policy for missing references;
CSV cells a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fhir.resources.R4B.claim import Claim

from agent.records import CodingResult, Evidence, PresentOnAdmission, Suggestion
from app.review.claim import claim_codes
from app.review.claim_parties import ClaimParties, load_parties
from app.review.drg import DrgResult
from app.review.exports import audit_csv, claim_csv, csv_cell, fhir_claim, institutional_837i, x12_hi_segment
from app.review.records import AuditEntry, Case, CaseCode, CaseProcedure, Encounter, References
from app.review.store import CaseStore
from app.review.x12_837i import validate_837i
from index.errors import ExportError
from index.store import CodeStore
from tests.app.review.test_x12_837i import PARTIES

NOTE = (
    "Assessment:\n"
    "1. Type 2 diabetes mellitus with diabetic chronic kidney disease.\n"
    "2. Chronic kidney disease stage 3.\n"
    "3. HTN, on lisinopril.\n"
    "Denies asthma.\n"
)
I12_9 = (
    "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease, "
    "or unspecified chronic kidney disease"
)
CASE = Case(
    "C0007",
    "Diabetes follow-up",
    NOTE,
    "in_review",
    "outpatient",
    "offline",
    None,
    "2025-03-01T09:00:00+00:00",
    "2025-03-01T09:30:00+00:00",
    "pasted",
    References("Patient/p-1", "Organization/clinic", "Organization/payer", "Coverage/cov-1"),
)
AT = datetime(2025, 3, 1, 10, 15, tzinfo=UTC)


def code(
    code: str, title: str, status: str, sequence: int, principal: bool = False, spans: tuple[int, ...] = ()
) -> CaseCode:
    evidence = tuple(Evidence(a, b, NOTE[a:b]) for a, b in zip(spans[::2], spans[1::2], strict=True))
    return CaseCode("C0007", code, title, status, sequence, principal, evidence, (), None, "", "agent")


# The coder's final state: I10 was rejected, J45.909 is still only suggested, I12.9 was added.
CODES = [
    code("N18.30", "Chronic kidney disease, stage 3 unspecified", "accepted", 2, spans=(81, 111)),
    code(
        "E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease", "accepted", 1, True, (15, 57, 71, 74)
    ),
    code("J45.909", "Unspecified asthma, uncomplicated", "suggested", 3),
    code("I12.9", "Hypertensive CKD (the title the coder saw)", "added", 4),
    code("I10", "Essential (primary) hypertension", "rejected", 5, spans=(116, 119)),
]


def test_claim_codes_are_the_accepted_and_added_principal_first() -> None:
    assert [c.code for c in claim_codes(CODES)] == ["E11.22", "N18.30", "I12.9"]


def test_fhir_claim(book: CodeStore) -> None:
    claim = fhir_claim(CASE, CODES, book, created=AT)
    assert claim == {
        "resourceType": "Claim",
        "id": "C0007",
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "professional",
                    "display": "Professional",
                }
            ]
        },
        "use": "claim",
        "patient": {"reference": "Patient/p-1"},
        "created": "2025-03-01T10:15:00Z",
        "insurer": {"reference": "Organization/payer"},
        "provider": {"reference": "Organization/clinic"},
        "priority": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/processpriority",
                    "code": "normal",
                    "display": "Normal",
                }
            ]
        },
        "diagnosis": [
            {
                "sequence": 1,
                "diagnosisCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/sid/icd-10-cm",
                            "code": "E11.22",
                            "display": "Type 2 diabetes mellitus with diabetic chronic kidney disease",
                        }
                    ]
                },
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                "code": "principal",
                                "display": "Principal Diagnosis",
                            }
                        ]
                    }
                ],
            },
            {
                "sequence": 2,
                "diagnosisCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/sid/icd-10-cm",
                            "code": "N18.30",
                            "display": "Chronic kidney disease, stage 3 unspecified",
                        }
                    ]
                },
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                "code": "clinical",
                                "display": "Clinical Diagnosis",
                            }
                        ]
                    }
                ],
            },
            {
                "sequence": 3,
                "diagnosisCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/sid/icd-10-cm",
                            "code": "I12.9",
                            "display": I12_9,  # the code book's title, whatever the case's row says
                        }
                    ]
                },
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                "code": "clinical",
                                "display": "Clinical Diagnosis",
                            }
                        ]
                    }
                ],
            },
        ],
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov-1"}}],
    }
    # What it returns reads back as a valid R4B Claim, unchanged.
    assert Claim.model_validate(claim).model_dump(mode="json") == claim


def test_missing_references_are_display_only_placeholders_never_invented(book: CodeStore) -> None:
    bare = replace(CASE, setting="inpatient", references=References(patient="Patient/p-1"))
    claim = fhir_claim(bare, CODES, book, created="2025-03-01T10:15:00+00:00")
    assert claim["type"]["coding"][0]["code"] == "institutional"
    assert (claim["patient"], claim["provider"], claim["insurer"], claim["insurance"][0]["coverage"]) == (
        {"reference": "Patient/p-1"},
        {"display": "Provider not recorded on case C0007"},
        {"display": "Insurer not recorded on case C0007"},
        {"display": "Coverage not recorded on case C0007"},
    )
    assert "example" not in str(claim)
    assert claim["created"] == "2025-03-01T10:15:00Z"  # FHIR writes UTC as Z


def test_a_reference_that_is_not_reference_shaped_is_refused_at_export(book: CodeStore) -> None:
    forged = replace(CASE, references=References(patient="Patient/1 OR 1=1"))  # not through the store
    with pytest.raises(ExportError) as err:
        fhir_claim(forged, CODES, book, created=AT)
    assert str(err.value) == (
        "the FHIR Claim of case C0007 cannot be built: the patient reference must be a FHIR reference to a "
        "Patient, such as Patient/123, not 'Patient/1 OR 1=1'"
    )


def test_fhir_claim_created_defaults_to_now(book: CodeStore) -> None:
    created = datetime.fromisoformat(fhir_claim(CASE, CODES, book)["created"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60


def test_x12_hi_segment(book: CodeStore) -> None:
    assert x12_hi_segment(CASE, CODES, book) == "HI*ABK:E1122*ABF:N1830*ABF:I129~"
    assert x12_hi_segment(CASE, CODES[:2], book) == "HI*ABK:E1122*ABF:N1830~"
    assert x12_hi_segment(CASE, [CODES[1]], book) == "HI*ABK:E1122~"


BILLABLE = ["E10.9", "E11.29", "E11.9", "I10", "I12.9", "J45.20", "J45.909", "N18.30", "N18.31", "N18.32", "N18.4"]


def test_x12_hi_segment_holds_twelve_codes(book: CodeStore) -> None:
    twelve = [code("E11.22", "t", "accepted", 1, True)] + [code(c, "t", "added", n) for n, c in enumerate(BILLABLE, 2)]
    assert x12_hi_segment(CASE, twelve, book) == (
        "HI*ABK:E1122*ABF:E109*ABF:E1129*ABF:E119*ABF:I10*ABF:I129*ABF:J4520*ABF:J45909*ABF:N1830*ABF:N1831"
        "*ABF:N1832*ABF:N184~"
    )
    with pytest.raises(ExportError) as err:
        x12_hi_segment(CASE, [*twelve, code("N18.5", "t", "added", 13)], book)
    assert str(err.value) == (
        "an 837P HI segment carries at most 12 diagnosis codes, not 13: reject or remove codes before exporting to X12"
    )


def test_claim_csv(book: CodeStore) -> None:
    assert claim_csv(CASE, CODES, book, "ana", AT) == (
        "case,sequence,code,title,status,evidence_offsets,excludes1_kept,coder,time\n"
        "C0007,1,E11.22,Type 2 diabetes mellitus with diabetic chronic kidney disease,accepted,15-57;71-74,,ana,"
        "2025-03-01T10:15:00+00:00\n"
        'C0007,2,N18.30,"Chronic kidney disease, stage 3 unspecified",accepted,81-111,,ana,2025-03-01T10:15:00+00:00\n'
        f'C0007,3,I12.9,"{I12_9}",added,,,ana,2025-03-01T10:15:00+00:00\n'
    )


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ([], "the claim has no codes: accept or add at least one code before exporting"),
        ([CODES[2], CODES[4]], "the claim has no codes"),  # suggested and rejected codes are not on the claim
        ([CODES[0]], "a claim needs exactly one principal diagnosis among its accepted codes, not none"),
        (
            [CODES[1], replace(CODES[0], principal=True)],
            "a claim needs exactly one principal diagnosis among its accepted codes, not E11.22, N18.30",
        ),
        (
            [*CODES, code("X99.9", "Made up", "added", 6), code("E11.2", "Heading", "added", 7)],
            re.escape(
                "the claim of case C0007 cannot be exported: X99.9 is not a code of ICD-10-CM 2026; "
                "E11.2 (Type 2 diabetes mellitus with kidney complications) is a heading, not a billable code"
            ),
        ),
        (
            [*CODES, code("e1122", "lower case", "added", 6), code("I129", "no dot", "added", 7)],
            re.escape(
                "the claim of case C0007 cannot be exported: e1122 is not written as an ICD-10-CM code (a letter, "
                "two characters, a dot and the rest: E11.22); I129 is not written as an ICD-10-CM code"
            ),
        ),
        (
            [*CODES, code("E11.22~", "x12 delimiter", "added", 6), code(" I10", "space", "added", 7)],
            "E11.22~ is not written as an ICD-10-CM code .*; ' I10' is not written as an ICD-10-CM code",
        ),
        ([*CODES, code("N18.30", "twice", "added", 6)], "cannot be exported: N18.30 is on the claim twice$"),
        ([*CODES, replace(code("I10", "t", "added", 6), case_id="C0008")], "I10 is a code of case C0008, not of C0007"),
    ],
)
def test_every_export_refuses_a_claim_that_would_be_wrong(book: CodeStore, codes: list[CaseCode], message: str) -> None:
    for export in (
        lambda: fhir_claim(CASE, codes, book, created=AT),
        lambda: x12_hi_segment(CASE, codes, book),
        lambda: claim_csv(CASE, codes, book, "ana", AT),
    ):
        with pytest.raises(ExportError, match=message):
            export()


def test_the_csv_refuses_evidence_off_the_note_and_a_blank_coder(book: CodeStore) -> None:
    moved = [replace(CODES[1], evidence=(Evidence(0, 4, "Type"),)), *CODES[2:]]
    with pytest.raises(ExportError, match="evidence 0-4 'Type' is not at those offsets in the note of case C0007"):
        claim_csv(CASE, moved, book, "ana", AT)
    with pytest.raises(ExportError, match="the CSV names the coder who exports it"):
        claim_csv(CASE, CODES, book, "  ", AT)


def test_a_fhir_claim_that_does_not_validate_is_refused(book: CodeStore) -> None:
    with pytest.raises(ExportError) as err:
        fhir_claim(CASE, CODES, book, created="the first of March")
    assert str(err.value) == (
        "the FHIR Claim of case C0007 does not validate: "
        "created: Value error, DateTime value string does not match spec regex."
    )


# -- CSV injection --------------------------------------------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize(
    ("given", "written"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1+1", "'  =1+1"),  # after leading white space too
        ("\n@x", "'\n@x"),
        ("Chronic kidney disease, stage 3a", "Chronic kidney disease, stage 3a"),
        ("15-57;71-74", "15-57;71-74"),
        ("", ""),
        (3, 3),  # a number is written as one
    ],
)
def test_csv_cells_that_would_start_a_formula_get_a_quote(given: object, written: object) -> None:
    assert csv_cell(given) == written


def test_no_csv_cell_can_run_in_a_spreadsheet(book: CodeStore) -> None:
    hostile = replace(CASE, id="=C1", title=HYPERLINK)  # case fields are not the store's: the CSV guards anyway
    codes = [replace(c, case_id="=C1") for c in CODES]
    rows = list(csv.reader(io.StringIO(claim_csv(hostile, codes, book, HYPERLINK, "-1"))))
    assert rows[1][0] == "'=C1" and rows[1][7] == "'" + HYPERLINK and rows[1][8] == "'-1"
    entries = [AuditEntry(1, "=C1", "2025-03-01", HYPERLINK, "rejected", "@I10", None, "+" + HYPERLINK)]
    [_, row] = list(csv.reader(io.StringIO(audit_csv(hostile, entries))))
    assert row == ["'=C1", "1", "2025-03-01", "'" + HYPERLINK, "rejected", "'@I10", "", "'+" + HYPERLINK]
    for text in (claim_csv(hostile, codes, book, HYPERLINK, "-1"), audit_csv(hostile, entries)):
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert not [c for c in cells if c.lstrip().startswith(("=", "+", "-", "@")) or c.startswith(("\t", "\r"))]


def test_a_code_title_from_the_code_book_is_neutralised_too(book: CodeStore, tmp_path: Path) -> None:
    """A code book whose title is a formula (a tampered release) still writes a CSV that runs nothing."""
    from index.loaders.cms import CmsReleaseLoader
    from index.store import write_store

    release = tmp_path / "release"
    release.mkdir()
    xml = (Path(__file__).resolve().parents[1] / "fixtures" / "tabular_review.xml").read_text(encoding="utf-8")
    hostile = xml.replace(
        "<desc>Essential (primary) hypertension</desc>", "<desc>=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)</desc>"
    )
    (release / "icd10cm-tabular-hostile.xml").write_text(hostile, encoding="utf-8")
    write_store(tmp_path / "store.sqlite", CmsReleaseLoader(release).load())
    tampered = CodeStore(tmp_path / "store.sqlite")
    try:
        codes = [code("I10", "t", "accepted", 1, True)]
        [_, row] = list(csv.reader(io.StringIO(claim_csv(CASE, codes, tampered, "ana", AT))))
    finally:
        tampered.close()
    assert row[3] == "'" + HYPERLINK


# -- the audit trail ------------------------------------------------------------------------------------------


def test_audit_csv() -> None:
    entries = [
        AuditEntry(1, "C0007", "2025-03-01T09:00:00+00:00", "ana", "coded", None, None, ""),
        AuditEntry(2, "C0007", "2025-03-01T09:01:00+00:00", "ana", "rejected", "I10", None, "see I12.9, not I10"),
        AuditEntry(3, "C0008", "2025-03-01T09:02:00+00:00", "ana", "accepted", "J45.909", "J45.909", ""),
    ]
    assert audit_csv(CASE, entries) == (
        "case,entry,time,coder,action,code_before,code_after,reason\n"
        "C0007,1,2025-03-01T09:00:00+00:00,ana,coded,,,\n"
        'C0007,2,2025-03-01T09:01:00+00:00,ana,rejected,I10,,"see I12.9, not I10"\n'
    )  # an entry of another case is left out


def test_exports_of_a_case_reviewed_in_the_store(tmp_path: Path, book: CodeStore) -> None:
    note = "Type 2 diabetes with diabetic CKD. CKD stage 3. HTN."
    with CaseStore(tmp_path / "cases.sqlite", book) as store:
        case = store.create_case(note, "Review")
        dm = Suggestion("E11.22", "T2DM with diabetic CKD", (Evidence(0, 33, note[:33]),), 0.9, principal=True)
        htn = Suggestion("I10", "Essential (primary) hypertension", (Evidence(48, 51, "HTN"),), 0.8)
        store.save_result(case.id, CodingResult(case.id, codes=[dm, htn]), "ana")
        store.accept(case.id, "E11.22", "ana")
        store.reject(case.id, "I10", "hypertension with CKD is I12.9", "ana")
        store.add(case.id, "n1830", "ana", [Evidence(35, 47, "CKD stage 3.")])
        store.add(case.id, "I12.9", "ana", [Evidence(48, 51, "HTN")])
        store.move(case.id, "I12.9", 2, "ana")
        codes = store.codes(case.id)
    assert x12_hi_segment(case, codes, book) == "HI*ABK:E1122*ABF:I129*ABF:N1830~"
    assert claim_csv(case, codes, book, "ana", "2025-03-01T10:15:00Z").splitlines()[1:] == [
        "C0001,1,E11.22,Type 2 diabetes mellitus with diabetic chronic kidney disease,accepted,0-33,,ana,"
        "2025-03-01T10:15:00Z",
        f'C0001,2,I12.9,"{I12_9}",added,48-51,,ana,2025-03-01T10:15:00Z',
        'C0001,3,N18.30,"Chronic kidney disease, stage 3 unspecified",added,35-47,,ana,2025-03-01T10:15:00Z',
    ]
    claim = fhir_claim(case, codes, book)
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]] == [
        "E11.22",
        "I12.9",
        "N18.30",
    ]
    assert claim["patient"] == {"display": "Patient not recorded on case C0001"}


# -- the inpatient claim: POA, MS-DRG, procedure dates, the 837I -------------------------------------

STAY = Encounter(79, "F", "62", "2026-03-02", "2026-03-07", "I12.9")
Y = PresentOnAdmission("Y", "on admission")
INPATIENT = replace(CASE, setting="inpatient", encounter=STAY)
DIAGNOSES = [
    replace(CODES[1], poa=Y),
    replace(CODES[0], poa=PresentOnAdmission("N", "developed on day 3")),
    replace(CODES[3], poa=PresentOnAdmission("exempt", "exempt")),
]
PROCEDURE = CaseProcedure(
    "C0007", "0SRR0JZ", "Replacement of Right Hip Joint", "accepted", 1, True, (), (), (), None, "", "agent",
    "2026-03-03",
)  # fmt: skip


def test_an_institutional_fhir_claim_carries_poa_the_drg_dates_and_the_stay(book: CodeStore) -> None:
    drg = DrgResult(522, "Hip Replacement", 8, "Musculoskeletal", 2.1177, "CC", (), 431, "OK")
    claim = fhir_claim(INPATIENT, DIAGNOSES, book, AT, [PROCEDURE], drg)
    Claim.model_validate(claim)
    assert claim["type"]["coding"][0]["code"] == "institutional"
    admission = [d.get("onAdmission", {}).get("coding", [{}])[0].get("code") for d in claim["diagnosis"]]
    assert admission == ["y", "n", None]  # an exempt code carries none
    assert {d["packageCode"]["coding"][0]["code"] for d in claim["diagnosis"]} == {"522"}
    assert claim["procedure"][0]["date"] == "2026-03-03"
    assert claim["billablePeriod"] == {"start": "2026-03-02", "end": "2026-03-07"}
    # An outpatient claim has none of them.
    plain = fhir_claim(CASE, DIAGNOSES, book, AT, [PROCEDURE], drg)
    assert "onAdmission" not in plain["diagnosis"][0] and "billablePeriod" not in plain and "procedure" not in plain


def test_the_837i_of_a_case_is_an_interchange_pyx12_accepts(book: CodeStore) -> None:
    parties = ClaimParties.from_mapping(PARTIES)
    drg = DrgResult(522, "Hip Replacement", 8, "Musculoskeletal", 2.1177, "CC", (), 431, "OK")
    text = institutional_837i(INPATIENT, DIAGNOSES, book, [PROCEDURE], parties, drg, AT)
    assert validate_837i(text) == []
    hi = [line for line in text.splitlines() if line.startswith("HI*")]
    assert hi == [
        "HI*ABK:E1122:::::::Y~",
        "HI*ABJ:I129~",
        "HI*DR:522~",
        "HI*ABF:N1830:::::::N*ABF:I129~",
        "HI*BBR:0SRR0JZ:D8:20260303~",
    ]
    assert text.splitlines()[0].split("*")[13] == "250601015"  # the control number: the minute written, YYDDDHHMM


@pytest.mark.parametrize(
    ("case", "codes", "why"),
    [
        (
            replace(INPATIENT, encounter=Encounter(79, "F")),
            DIAGNOSES,
            "needs the stay's admission date, discharge date",
        ),
        (INPATIENT, [CODES[1], *DIAGNOSES[1:]], "needs a POA indicator for E11.22"),
        (CASE, DIAGNOSES, "an 837I is an inpatient claim"),
    ],
)
def test_the_837i_says_what_it_lacks(book: CodeStore, case: Case, codes: list[CaseCode], why: str) -> None:
    with pytest.raises(ExportError, match=why):
        institutional_837i(case, codes, book, [PROCEDURE], ClaimParties.from_mapping(PARTIES), None, AT)


def test_the_parties_come_from_the_sites_file_and_the_cases_own(tmp_path: Path) -> None:
    site = {k: v for k, v in PARTIES.items() if k not in ("subscriber", "patient_control_number")}
    (tmp_path / "parties.json").write_text(json.dumps(site), encoding="utf-8")
    with pytest.raises(ExportError, match=r"subscriber\.last_name is missing"):
        load_parties(tmp_path, "C0007")
    own = {"subscriber": PARTIES["subscriber"], "patient_control_number": "PCN-7", "payer": {"name": "Other Payer"}}
    (tmp_path / "C0007.json").write_text(json.dumps(own), encoding="utf-8")
    parties = load_parties(tmp_path, "C0007")
    assert (parties.patient_control_number, parties.payer.name, parties.payer.id) == (
        "PCN-7",
        "Other Payer",
        PARTIES["payer"]["id"],  # the case's file wins field by field
    )
    with pytest.raises(ExportError, match="set CODA_CLAIM_PARTIES_DIR"):
        load_parties(None, "C0007")
    (tmp_path / "C0008.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot be read as JSON"):
        load_parties(tmp_path, "C0008")
