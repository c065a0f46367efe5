"""The code a "Use additional code" note asks for, read from the sentence that names the code
(I.A.13), on a small real code book (tests/fixtures/tabular_partners.xml: E11.621 and the ulcer
sites L97.4- and L97.5- its note points to; an infection and the resistance codes, Z16.-)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.records import CodingOptions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def coder(tmp_path_factory: pytest.TempPathFactory, embedder):
    from agent.coder import open_coder
    from index.build import build_index
    from index.loaders.cms import CmsReleaseLoader

    release = tmp_path_factory.mktemp("partners-release")
    shutil.copy(FIXTURES / "tabular_partners.xml", release / "icd10cm-tabular-partners.xml")
    data_dir = tmp_path_factory.mktemp("partners-data")
    build_index(CmsReleaseLoader(release), data_dir, lambda: embedder)
    return open_coder(data_dir, embedder=embedder)


def coded(coder, note: str) -> dict[str, list[str]]:
    result = coder.code(note, CodingOptions("outpatient", "offline"))
    for s in result.codes:
        assert all(note[e.start : e.end] == e.text for e in s.evidence)
    return {s.code: [e.text for e in s.evidence] for s in result.codes}


def test_the_ulcer_site_the_sentence_names_is_coded_beside_the_diabetic_ulcer(coder) -> None:
    codes = coded(coder, "Type 2 diabetic foot ulcer on the dorsum of the right foot, fat layer exposed.\n")
    assert list(codes) == ["E11.621", "L97.512"]
    assert codes["L97.512"] == ["foot", "right", "fat", "layer", "exposed"]


def test_the_side_and_the_depth_choose_the_code(coder) -> None:
    assert "L97.521" in coded(coder, "Type 2 diabetic foot ulcer of the left foot, limited to breakdown of skin.\n")
    assert "L97.412" in coded(coder, "Type 2 diabetic foot ulcer of the right heel and midfoot, fat layer exposed.\n")


def test_a_sentence_that_does_not_say_enough_names_no_site(coder) -> None:
    assert list(coded(coder, "Type 2 diabetic foot ulcer, right foot.\n")) == ["E11.621"]  # depth not said
    assert list(coded(coder, "Type 2 diabetic foot ulcer, fat layer exposed.\n")) == ["E11.621"]  # no side


def test_a_site_in_another_sentence_or_denied_is_not_read(coder) -> None:
    note = "Type 2 diabetic foot ulcer.\nThe right foot has no fat layer exposed.\n"
    assert "L97.512" not in coded(coder, note)


def test_the_sentence_must_name_what_the_note_asks_for(coder) -> None:
    assert "Z16.11" not in coded(coder, "Bacterial infection, treated with penicillin.\n")  # no resistance said
    assert "Z16.11" in coded(coder, "Bacterial infection with resistance to penicillin.\n")
