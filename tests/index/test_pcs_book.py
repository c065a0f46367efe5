"""The ICD-10-PCS book in the versioned layout: the bundled tables with the Imaging section added,
or a CMS release; kept when built, found by the coder and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import IndexNotBuilt
from index.pcs.book import BOOK_FILE, book_path, build_book
from index.pcs.bundled import PcsBook

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    return data, build_book(data)


def test_the_default_book_holds_the_bundled_tables_and_imaging(built):
    data, result = built
    assert result.built and result.path == data / "icd10pcs" / "2025"
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["sections"] == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "B", "C", "D", "F", "G", "H", "X"]
    assert manifest["counts"]["imaging codes"] == 2978 and manifest["counts"]["other ancillary codes"] > 7000
    book = PcsBook(result.path / BOOK_FILE)
    assert {"0", "1", "B", "4", "5"} <= book.sections()
    xray = book.describe("BW03ZZZ")
    assert xray.title == "Plain Radiography of Chest"
    assert [a.name for a in xray.axes][2:5] == ["type", "body part", "contrast"]
    assert book.describe("0SRR0JZ").axes[1].name == "body system"  # the surgical tables as bundled
    assert book.search("radiography chest", 3)[0] == ("BW03ZZZ", "Plain Radiography of Chest")
    assert [a.value for a in book.next_values("BW0")][:2] == ["0", "1"]
    # Another ancillary section: its characters as far as its titles show them.
    ecg = book.describe("4A02X4Z")
    assert ecg.title == "Measurement of Cardiac Electrical Activity, External Approach"
    assert [(a.name, a.meaning) for a in ecg.axes][:5] == [
        ("section", "Measurement and Monitoring"),
        ("body system", "Physiological Systems"),
        ("root operation", "Measurement"),
        ("body system", "Cardiac"),
        ("approach", "External Approach"),
    ]


def test_a_built_book_is_kept_and_found(built):
    data, result = built
    again = build_book(data)
    assert not again.built and again.manifest == result.manifest
    assert book_path(data) == result.path / BOOK_FILE
    assert book_path(data / "nothing") is None
    with pytest.raises(IndexNotBuilt, match="coda index build --system icd10pcs"):
        book_path(data, "2031")


def test_a_cms_release_makes_a_book_of_its_own_year(tmp_path):
    result = build_book(tmp_path, FIXTURES / "pcs")
    assert result.path == tmp_path / "icd10pcs" / "2025"
    book = PcsBook(result.path / BOOK_FILE)
    assert book.sections() == {"0", "B"} and book.describe("0SRR0J9").title.endswith("Cemented, Open Approach")
    assert json.loads((result.path / "manifest.json").read_text())["sources"] == ["CMS ICD-10-PCS release pcs"]
