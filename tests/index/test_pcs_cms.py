"""A CMS ICD-10-PCS release read from its folder or zip (tests/fixtures/pcs: four tables of the
FY2025 files in their official schema, trimmed to a row each, imaging among them), stored, and
read back like the bundled tables."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from index.errors import DataError, UnknownCode
from index.pcs.bundled import PcsBook
from index.pcs.cms import read_release, write_book

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pcs"


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("pcs") / "pcs.sqlite"
    write_book(read_release(FIXTURES), path)
    book = PcsBook(path)
    yield book
    book.close()


def test_every_row_of_every_table_becomes_its_codes(book):
    release = read_release(FIXTURES)
    assert sorted(c.code for c in release.codes) == [
        "0DBN0ZX", "0DBN0ZZ", "0DBN4ZX", "0DBN4ZZ", "0DTJ0ZZ", "0DTJ4ZZ",
        "0SRR0J9", "0SRR0JA", "0SRR0JZ", "BW01ZZZ", "BW03ZZZ",
    ]  # fmt: skip
    titles = {c.code: c.title for c in release.codes}
    assert titles["0SRR0JZ"] == (
        "Replacement of Right Hip Joint, Femoral Surface with Synthetic Substitute, Open Approach"
    )
    assert titles["0DTJ4ZZ"] == "Resection, Appendix, Percutaneous Endoscopic"  # not in the order file: from its axes


def test_an_imaging_code_names_its_characters_as_its_table_does(book):
    radiograph = book.describe("BW01ZZZ")
    assert [(a.name, a.value, a.meaning) for a in radiograph.axes] == [
        ("section", "B", "Imaging"),
        ("body system", "W", "Anatomical Regions"),
        ("type", "0", "Plain Radiography"),
        ("body part", "1", "Abdomen and Pelvis"),
        ("contrast", "Z", "None"),
        ("qualifier", "Z", "None"),
        ("qualifier", "Z", "None"),
    ]
    assert book.root_operation("B", "0").definition.startswith("Planar display of an image")
    with pytest.raises(UnknownCode, match=r"no row allows body part '5' after BW0 \(allowed: 1, 3\)"):
        book.describe("BW05ZZZ")


def test_excision_and_resection_come_with_their_definitions(book):
    excision, resection = book.root_operation("0", "B"), book.root_operation("0", "T")
    assert excision.definition == "Cutting out or off, without replacement, a portion of a body part"
    assert resection.definition == "Cutting out or off, without replacement, all of a body part"
    assert [(a.value, a.meaning) for a in book.next_values("0DBN0Z")] == [("X", "Diagnostic"), ("Z", "No Qualifier")]


def test_a_zip_of_the_release_reads_the_same(tmp_path):
    archive = tmp_path / "2025-pcs.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in FIXTURES.iterdir():
            out.write(path, f"Zip File 1 2025 PCS/{path.name}")
    assert read_release(archive) == read_release(FIXTURES)


def test_a_release_without_tables_or_with_broken_ones_is_refused(tmp_path):
    with pytest.raises(DataError, match="holds no ICD-10-PCS tables file"):
        read_release(tmp_path)
    (tmp_path / "icd10pcs_tables_2025.xml").write_text("<ICD10PCS.tabular><pcsTable>", encoding="utf-8")
    with pytest.raises(DataError, match="is not well-formed XML"):
        read_release(tmp_path)
    (tmp_path / "icd10pcs_tables_2025.xml").write_text("<ICD10CM.tabular/>", encoding="utf-8")
    with pytest.raises(DataError, match=r"not an ICD-10-PCS tables file \(root <ICD10CM.tabular>\)"):
        read_release(tmp_path)
    (tmp_path / "icd10pcs_tables_2025.xml").write_text(
        "<ICD10PCS.tabular><pcsTable><axis pos='1'><title>Section</title><label code='0'>Medical</label></axis>"
        "</pcsTable></ICD10PCS.tabular>",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="must begin with one value for each of characters 1, 2 and 3"):
        read_release(tmp_path)
    with pytest.raises(DataError, match="neither a folder nor a zip"):
        read_release(tmp_path / "icd10pcs_tables_2025.xml")


def test_the_definitions_and_index_files_give_definitions_keys_and_see_entries(tmp_path):
    release = read_release(FIXTURES)
    operations = {(o.section, o.name): o for o in release.operations}
    replacement = operations[("0", "Replacement")]
    assert replacement.explanation.startswith("The body part may have been taken out or replaced")
    assert replacement.examples == "Total hip replacement, bone graft, free skin graft"
    assert operations[("0", "Excision")].explanation.startswith("The qualifier DIAGNOSTIC")
    entries = dict(release.index)
    assert entries["Appendectomy"] == "see Excision, Appendix **0DBJ**\nsee Resection, Appendix **0DTJ**"
    assert entries["Chest x-ray"] == "see Plain Radiography, Chest **BW03**"
    assert ("Neck of femur", "use Upper Femur, Right") in release.index  # the Body Part Key
    assert ("Femoral head prosthesis", "use Synthetic Substitute") in release.index  # the Device Key
    write_book(release, tmp_path / "pcs.sqlite")
    book = PcsBook(tmp_path / "pcs.sqlite")
    assert [(u.term, u.use) for u in book.uses("femoral head")] == [
        ("Femoral head", "Upper Femur, Right"),
        ("Femoral head", "Upper Femur, Right"),
        ("Femoral head", "Upper Femur, Left"),
        ("Femoral head prosthesis", "Synthetic Substitute"),
    ]
    assert book.root_operation("0", "R").examples.startswith("Total hip replacement")


def test_a_definitions_file_not_in_the_schema_is_one_error(tmp_path):
    for source in FIXTURES.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / "icd10pcs_definitions_2025.xml").write_text("<ICD10CM.index/>", encoding="utf-8")
    with pytest.raises(DataError, match="not an ICD-10-PCS definitions file"):
        read_release(tmp_path)
