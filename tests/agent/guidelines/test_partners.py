"""Missing "Code first" and "Use additional code" partners weighed against the note of the
encounter (agent.guidelines.checks.missing_partners with a note, agent.guidelines.partners), on the
store built from tests/fixtures/tabular_guidelines.xml (notes copied from the FY2026 Tabular)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.guidelines.checks import check_all, missing_partners
from agent.guidelines.partners import PartnerWords
from agent.records import Finding
from index.store import CodeStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[CodeStore]:
    from index.build import STORE_FILE, build_index
    from index.loaders.cms import CmsReleaseLoader

    release = tmp_path_factory.mktemp("partners-release")
    shutil.copy(FIXTURES / "tabular_guidelines.xml", release / "icd10cm-tabular-guidelines.xml")
    built = build_index(CmsReleaseLoader(release), tmp_path_factory.mktemp("partners-data"), lambda: embedder)
    opened = CodeStore(built.path / STORE_FILE)
    yield opened
    opened.close()


def brief(findings: list[Finding]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.kind, f.severity, f.codes) for f in findings]


def test_if_applicable_partners_the_note_never_mentions_are_not_reported(store: CodeStore) -> None:
    # N18: "Code first any associated: diabetic CKD (...), hypertensive CKD (...)" and "Use additional
    # code, if applicable, to identify: associated cachexia (E88.A), kidney transplant status (Z94.0)".
    assert brief(missing_partners(["N18.30"], store)) == [
        ("code_first", "warning", ("N18.30",)),
        ("use_additional", "warning", ("N18.30",)),
    ]  # without the note: as before
    assert missing_partners(["N18.30"], store, "CKD stage 3, stable. Follow up in 3 months.") == []


def test_a_partner_the_note_documents_is_an_error(store: CodeStore) -> None:
    note = "Stage 3 CKD from hypertensive chronic kidney disease. Marked cachexia."
    code_first, use_additional = missing_partners(["N18.30"], store, note)
    assert brief([code_first, use_additional]) == [
        ("code_first", "error", ("N18.30",)),
        ("use_additional", "error", ("N18.30",)),
    ]
    assert 'The note documents it ("hypertensive chronic kidney")' in code_first.message
    assert 'The note documents it ("cachexia")' in use_additional.message and "add the code" in use_additional.message
    # Once the partners are on the list, nothing is left to report for N18.30.
    assert [f for f in missing_partners(["I12.9", "N18.30", "E88.A"], store, note) if "N18.30" in f.codes] == []


def test_a_partner_asked_for_but_not_documented_is_a_query_for_the_provider(store: CodeStore) -> None:
    (finding,) = [
        f for f in missing_partners(["E11.9"], store, "Type 2 diabetes, diet controlled.") if "Z79.4" in f.message
    ]
    assert (finding.kind, finding.severity) == ("use_additional", "warning")
    assert "The note does not document it: query the provider" in finding.message
    (documented,) = [
        f for f in missing_partners(["E11.9"], store, "Type 2 diabetes on insulin.") if "Z79.4" in f.message
    ]
    assert documented.severity == "error" and '("insulin")' in documented.message
    # The finding follows the code list: with Z79.4 added, it is gone.
    assert [
        f for f in missing_partners(["E11.9", "Z79.4"], store, "Type 2 diabetes on insulin.") if "Z79.4" in f.message
    ] == []


def test_a_manifestation_without_its_cause_stays_an_error(store: CodeStore) -> None:
    assert brief(missing_partners(["G63"], store, "Polyneuropathy.")) == [("code_first", "error", ("G63",))]


def test_check_all_passes_the_note_on(store: CodeStore) -> None:
    assert brief(check_all(["N18.30"], store, "outpatient", "CKD 3.")) == []
    assert brief(check_all(["N18.30"], store, "outpatient")) == [
        ("code_first", "warning", ("N18.30",)),
        ("use_additional", "warning", ("N18.30",)),
    ]


def test_partner_words() -> None:
    words = PartnerWords.default()
    assert words.is_conditional(["code, if applicable, for associated cachexia (E88.A)"])
    assert words.is_conditional(["any follow-up examination after treatment (Z09)"])
    assert not words.is_conditional(["code to identify control using: insulin (Z79.4)"])
    assert words.phrases(["to identify any retained foreign body, if applicable (Z18.-)"]) == [
        ("retained", "foreign", "body")
    ]
    assert words.documented("Retained foreign bodies in the left thigh.", ["retained foreign body (Z18.-)"])
    assert words.documented("Cachectic and frail.", ["associated cachexia (E88.A)"]) == "cachexia"
    assert words.documented("No complaints.", ["associated cachexia (E88.A)"]) is None
