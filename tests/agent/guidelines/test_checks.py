"""Tests of agent.guidelines.checks, against real stores: the session's mini store, and one built
here from `tests/fixtures/tabular_guidelines.xml`, whose notes are copied from the FY2026 Tabular List.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.guidelines.checks import billing_findings, check_all, claim_limit, excludes1_conflicts, missing_partners
from agent.records import Finding
from index.store import CodeStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[CodeStore]:
    """A real store built from the guideline fixture, the way `coda index build` builds one."""
    from index.build import STORE_FILE, build_index
    from index.loaders.cms import CmsReleaseLoader

    release = tmp_path_factory.mktemp("guidelines-release")
    shutil.copy(FIXTURES / "tabular_guidelines.xml", release / "icd10cm-tabular-guidelines.xml")
    built = build_index(CmsReleaseLoader(release), tmp_path_factory.mktemp("guidelines-data"), lambda: embedder)
    opened = CodeStore(built.path / STORE_FILE)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def mini(mini_search) -> CodeStore:
    return mini_search.store


def brief(findings: list[Finding]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.kind, f.severity, f.codes) for f in findings]


# --- Excludes1 -------------------------------------------------------------------------------


def test_excludes1_type_1_and_type_2_diabetes_is_one_error(store: CodeStore) -> None:
    (finding,) = excludes1_conflicts(["E10.9", "E11.9"], store)
    assert brief([finding]) == [("excludes1", "error", ("E10.9", "E11.9"))]
    # Both categories exclude the other; the pair is reported once, from the first code's note.
    assert "at E10 (Type 1 diabetes mellitus), which applies to E10.9" in finding.message
    assert '"type 2 diabetes mellitus (E11.-)"' in finding.message
    assert "I.A.12.a" in finding.message
    assert brief(excludes1_conflicts(["E11.9", "E10.9"], store)) == [("excludes1", "error", ("E11.9", "E10.9"))]


def test_excludes1_with_a_qualified_range(store: CodeStore) -> None:
    # Diabetic polyneuropathy is E11.42 alone: G63 excludes "diabetes mellitus (E08-E13 with .42)".
    (finding,) = excludes1_conflicts(["E11.42", "G63"], store)
    assert brief([finding]) == [("excludes1", "error", ("G63", "E11.42"))]
    assert "the Excludes1 note at G63 excludes" in finding.message
    assert excludes1_conflicts(["E11.9", "G63"], store) == []


def test_excludes2_and_unrelated_codes_are_no_conflict(store: CodeStore, mini: CodeStore) -> None:
    assert excludes1_conflicts(["Z79.4", "Z79.84"], store) == []  # Excludes2 both ways
    assert excludes1_conflicts(["E11.22", "N18.30", "I12.9", "Z79.4"], store) == []
    assert excludes1_conflicts(["I10", "E11.9", "E11.9", "unknown"], mini) == []


# --- Code first / Use additional code -------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        # A manifestation code without its underlying condition: an error (I.A.13).
        (["G63"], [("code_first", "error", ("G63",))]),
        (["E85.9", "G63"], []),  # amyloidosis (E85.-) is one of the alternatives
        (
            ["G63", "E11.42"],  # diabetes is not one of them ("endocrine disease, except diabetes")
            [("code_first", "error", ("G63",)), ("use_additional", "warning", ("E11.42",))],
        ),
        # CKD is no manifestation: its missing Code first partner is a warning.
        (
            ["N18.30"],
            [("code_first", "warning", ("N18.30",)), ("use_additional", "warning", ("N18.30",))],
        ),
        (["E11.22", "N18.30", "Z79.4"], [("use_additional", "warning", ("N18.30",))]),
        (
            ["I12.9", "N18.30"],  # the stage is there; the block's tobacco note is not
            [("use_additional", "warning", ("I12.9",)), ("use_additional", "warning", ("N18.30",))],
        ),
        (["I12.9"], [("use_additional", "warning", ("I12.9",)), ("use_additional", "warning", ("I12.9",))]),
        (
            ["E11.9", "E11.22"],  # E11's note is inherited by both and reported once
            [("use_additional", "warning", ("E11.9", "E11.22")), ("use_additional", "warning", ("E11.22",))],
        ),
        (["Z79.4", "E10.9", "S72.001A"], []),
    ],
)
def test_missing_partners(store: CodeStore, codes: list[str], expected: list[tuple[str, str, tuple[str, ...]]]) -> None:
    assert brief(missing_partners(codes, store)) == expected


def test_missing_partner_messages_name_the_note_and_where_it_sits(store: CodeStore) -> None:
    (code_first,) = missing_partners(["G63"], store)
    assert "the Code first note at G63" in code_first.message
    assert "amyloidosis (E85.-)" in code_first.message and "E00-E07, E15-E16, E20-E34" in code_first.message
    assert "manifestation" in code_first.message and "I.A.13" in code_first.message

    own, block = missing_partners(["I12.9"], store)
    assert "N18.1-N18.4, N18.9" in own.message and "the Use additional code note at I12.9 asks" in own.message
    assert "at I10-I1A (Hypertensive diseases), which applies to I12.9" in block.message
    assert "tobacco use (Z72.0)" in block.message


def test_missing_partners_on_the_mini_store(mini: CodeStore) -> None:
    own, inherited = missing_partners(["E11.22"], mini)
    assert brief([own, inherited]) == [("use_additional", "warning", ("E11.22",))] * 2
    assert "N18.1-N18.6" in own.message and "Z79.4" in inherited.message
    # Z79.4 is not in the mini store, and still counts as the partner it is.
    assert missing_partners(["E11.22", "N18.30", "Z79.4"], mini) == []
    assert brief(missing_partners(["N18.30"], mini)) == [("code_first", "warning", ("N18.30",))]
    # A Code also note is not checked, and neither is an unknown code.
    assert missing_partners(["I12.9", "X99.99"], mini) == []


# --- billing ---------------------------------------------------------------------------------


def test_a_code_that_needs_a_7th_character(store: CodeStore) -> None:
    (finding,) = billing_findings(["S72.001"], store)
    assert brief([finding]) == [("seventh", "error", ("S72.001",))]
    assert "defined at S72" in finding.message
    assert "A = initial encounter for closed fracture" in finding.message and "S = sequela" in finding.message
    assert "S72.001A" in finding.message
    assert billing_findings(["S72.001A", "s72001d"], store) == []


def test_seventh_characters_a_note_forbids_are_not_offered(mini: CodeStore) -> None:
    (finding,) = billing_findings(["S06.0X7"], mini)  # death before regaining consciousness: A only
    assert finding.kind == "seventh" and "A = initial encounter" in finding.message
    assert "D = " not in finding.message and "S = " not in finding.message
    (finding,) = billing_findings(["S06.0X1"], mini)
    assert all(f"{c} = " in finding.message for c in "ADS")


def test_headings_and_unknown_codes(store: CodeStore, mini: CodeStore) -> None:
    found = billing_findings(["E11", "S72.0", "X99.99", "E11.9", "E11", ""], store)
    assert brief(found) == [
        ("not_billable", "error", ("E11",)),
        ("not_billable", "error", ("S72.0",)),
        ("unknown", "error", ("X99.99",)),
        ("unknown", "error", ("(empty)",)),
    ]
    heading, fracture, unknown, _ = found
    assert "E11.2 (Type 2 diabetes mellitus with kidney complications), E11.4" in heading.message
    assert "E11.9" in heading.message and "I.B.2" in heading.message
    assert "S72.00" in fracture.message and "7th character" in fracture.message
    assert "not a code in ICD-10-CM 2026" in unknown.message
    (subcategory,) = billing_findings(["E11.2"], mini)
    assert brief([subcategory]) == [("not_billable", "error", ("E11.2",))]
    assert "E11.22" in subcategory.message and "E11.29" in subcategory.message
    assert billing_findings(["I10", "S06.0X1A", "e11.9"], mini) == []


# --- claim size ------------------------------------------------------------------------------


def test_claim_limit() -> None:
    codes = [f"Z{n:02d}.0" for n in range(13)]
    (finding,) = claim_limit(codes)
    assert brief([finding]) == [("too_many", "warning", ("Z12.0",))]
    assert "13 codes" in finding.message and "837P" in finding.message
    assert claim_limit(codes[:12]) == []
    assert claim_limit([*codes[:12], "z00.0", " Z01.0 "]) == []  # the same code twice counts once
    assert brief(claim_limit(codes[:4], limit=2)) == [("too_many", "warning", ("Z02.0", "Z03.0"))]
    with pytest.raises(ValueError):
        claim_limit(codes, limit=0)


# --- check_all -------------------------------------------------------------------------------


def test_check_all_runs_every_check_in_order(store: CodeStore) -> None:
    found = check_all(["G63", "E11.42", "S72.001", "Z99.99"], store, "outpatient")
    assert brief(found) == [
        ("excludes1", "error", ("G63", "E11.42")),
        ("code_first", "error", ("G63",)),
        ("use_additional", "warning", ("E11.42",)),
        ("seventh", "error", ("S72.001",)),
        ("unknown", "error", ("Z99.99",)),
    ]
    found = check_all(["E11.22", "N18.30", "Z79.4", "E85.9", "G63"], store, "inpatient")
    assert brief(found) == [("use_additional", "warning", ("N18.30",))]


def test_check_all_uses_the_claim_limit_of_the_setting(store: CodeStore) -> None:
    codes = ["Z79.4", "Z79.84", "E10.9", "E85.9", "N18.9", *(f"Q{n:02d}.0" for n in range(7))]
    codes.append("N18.30")  # 13 codes
    outpatient = [f for f in check_all(codes, store, "outpatient") if f.kind == "too_many"]
    assert brief(outpatient) == [("too_many", "warning", ("N18.30",))]
    assert [f for f in check_all(codes, store, "inpatient") if f.kind == "too_many"] == []
    with pytest.raises(ValueError, match="inpatient, outpatient"):
        check_all(codes, store, "emergency")
