"""Tests of the CMS ICD-10-CM index and index-table parser (index/loaders/cms_index.py)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from index.errors import SourceError
from index.loaders.cms_index import detect_kind, parse_index, parse_table
from index.model import IndexEntry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cms"
MINI_INDEX = FIXTURES / "mini-index.xml"
MINI_NEOPLASM = FIXTURES / "mini-neoplasm.xml"
MINI_DRUG = FIXTURES / "mini-drug.xml"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "cms"

NEOPLASM_COLUMNS = (
    "Malignant Primary",
    "Malignant Secondary",
    "Ca in situ",
    "Benign",
    "Uncertain Behavior",
    "Unspecified Behavior",
)
DRUG_COLUMNS = (
    "Poisoning Accidental (unintentional)",
    "Poisoning Intentional self-harm",
    "Poisoning Assault",
    "Poisoning Undetermined",
    "Adverse effect",
    "Underdosing",
)


def _index_xml(body: str) -> bytes:
    return f'<?xml version="1.0"?><ICD10CM.index><letter><title>A</title>{body}</letter></ICD10CM.index>'.encode()


def _cells(
    codes: tuple[str, ...], columns: tuple[str, ...], path: tuple[str, ...], source: str, nemod: tuple[str, ...] = ()
) -> list[IndexEntry]:
    """The entries of one table row: a code per column, "" for an empty cell."""
    return [
        IndexEntry(path, code, nemod=nemod, source=source, column=col)
        for code, col in zip(codes, columns, strict=True)
        if code
    ]


# --- the main index (mini fixture) -------------------------------------------------------


def test_parse_index_fixture_gives_every_term_in_order() -> None:
    fracture = ("Fracture, traumatic", "femur, femoral")
    misadventure = "Misadventure(s) to patient(s) during surgical or medical care"
    assert parse_index(MINI_INDEX, "index") == [
        IndexEntry(
            ("Abscess",), "L02.91", see_also="Cellulitis", nemod=("(connective tissue)", "(embolic)", "(septic)")
        ),
        IndexEntry(("Abscess", "abdomen, abdominal")),
        IndexEntry(("Abscess", "abdomen, abdominal", "cavity"), "K65.1"),
        IndexEntry(("Abscess", "brain"), "G06.0", nemod=("(any part)",)),
        IndexEntry(("Amyloidosis",), "E85.9", nemod=("(generalized)", "(primary)")),
        IndexEntry(("Amyloidosis", "heart"), "E85.4 [I43]"),
        IndexEntry(("Fracture, traumatic",), "T14.8-", nemod=("(abduction)", "(adduction)", "(separation)")),
        IndexEntry(fracture, "S72.9-"),
        IndexEntry((*fracture, "neck"), see="Fracture, femur, upper end, neck"),
        IndexEntry((*fracture, "upper end")),
        IndexEntry((*fracture, "upper end", "neck"), "S72.00-", nemod=("(intracapsular)",)),
        IndexEntry(("Hypertension, hypertensive",), "I10", nemod=("(accelerated)", "(benign)", "(essential)")),
        IndexEntry(("Hypertension, hypertensive", "with")),
        IndexEntry(("Hypertension, hypertensive", "with", "heart involvement"), see="Hypertension, heart"),
        IndexEntry(("Lightning",), see="subcategory T75.0", nemod=("(shock)", "(stroke)", "(struck by)")),
        IndexEntry((misadventure,), "Y69"),
        IndexEntry(("Strangulation",), see="category T71", nemod=("(accidental)",)),
        IndexEntry(("Thrown",)),
        IndexEntry(
            ("Thrown", "against part of or object in transport vehicle NEC"),
            see_also="Accident, transport",
            nemod=("(any)", "(in motion)"),
        ),
    ]


def test_parse_index_sets_source_to_name_and_no_column() -> None:
    entries = parse_index(MINI_INDEX, "eindex")
    assert {e.source for e in entries} == {"eindex"}
    assert {e.column for e in entries} == {None}


def test_parse_index_reads_str_path_bytes_stream_and_zip_alike(tmp_path: Path) -> None:
    expected = parse_index(MINI_INDEX, "index")
    data = MINI_INDEX.read_bytes()
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Index/icd10cm-index-2026.xml", data)
    assert parse_index(str(MINI_INDEX), "index") == expected
    assert parse_index(data, "index") == expected
    assert parse_index(io.BytesIO(data), "index") == expected
    with zipfile.ZipFile(archive) as zf, zf.open("Index/icd10cm-index-2026.xml") as member:
        assert parse_index(member, "index") == expected


@pytest.mark.parametrize(
    ("title", "path", "nemod"),
    [
        ("<title>Abuse<nemod>(adult) (child)</nemod></title>", "Abuse", ("(adult)", "(child)")),
        ("<title>Abandonment<nemod>(with intent)</nemod> NEC</title>", "Abandonment NEC", ("(with intent)",)),
        ("<title>cystic<nemod>(bile) duct (common)</nemod></title>", "cystic duct", ("(bile)", "(common)")),
        ("<title>machines<nemod>((primarily) for)</nemod></title>", "machines", ("((primarily) for)",)),
        ("<title>exercise<nemod>(s)</nemod></title>", "exercise(s)", ()),
        ("<title>cigar<nemod>(s) or cigarette(s)</nemod></title>", "cigar(s) or cigarette(s)", ()),
        ("<title><nemod>(L)</nemod>-triiodothyronine</title>", "-triiodothyronine", ("(L)",)),
        ("<title>  Bite,\n   dog </title>", "Bite, dog", ()),
        ("<title><nemod>(alone)</nemod></title>", "(alone)", ()),
    ],
)
def test_titles_lose_their_nemod_groups(title: str, path: str, nemod: tuple[str, ...]) -> None:
    [entry] = parse_index(_index_xml(f"<mainTerm>{title}<code>X58</code></mainTerm>"), "index")
    assert (entry.path, entry.nemod, entry.code) == ((path,), nemod, "X58")


def test_nemod_belongs_to_the_last_title_only() -> None:
    xml = _index_xml(
        "<mainTerm><title>Burn<nemod>(acid)</nemod></title>"
        '<term level="1"><title>hand</title><code>T23.0-</code></term></mainTerm>'
    )
    assert parse_index(xml, "index")[1] == IndexEntry(("Burn", "hand"), "T23.0-")


# --- the tables (mini fixtures) ----------------------------------------------------------


def test_parse_table_neoplasm_fixture() -> None:
    root = ("Neoplasm, neoplastic",)
    adipose = (*root, "adipose tissue")
    breast = (*root, "breast")
    connective = (*root, "connective tissue NEC")
    note = "Note: For neoplasms of connective tissue, code according to the list below"
    breast_nemod = ("(connective tissue)", "(glandular tissue)")
    cols, src = NEOPLASM_COLUMNS, "neoplasm"
    assert parse_table(MINI_NEOPLASM, "neoplasm") == [
        *_cells(("C80.1", "C79.9", "D09.9", "D36.9", "D48.9", "D49.9"), cols, root, src),
        *_cells(("C49.4", "C79.89", "", "D21.9", "D48.1", "D49.2"), cols, adipose, src),
        IndexEntry(adipose, see_also="Neoplasm, connective tissue", source=src),
        *_cells(("C50.9-", "C79.81", "D05.-", "D24.-", "D48.6-", "D49.3"), cols, breast, src, nemod=breast_nemod),
        IndexEntry((*breast, "skin"), see="Neoplasm, skin, breast", source=src),
        IndexEntry(connective, source=src),
        IndexEntry((*connective, note), source=src),
        *_cells(("C49.4", "C79.89", "", "D21.4", "D48.1", "D49.2"), cols, (*connective, "abdomen"), src),
    ]


def test_parse_table_drug_fixture() -> None:
    cols, src = DRUG_COLUMNS, "drug"
    hydroxide = ("Aluminium, aluminum", "hydroxide")
    assert parse_table(MINI_DRUG, "drug") == [
        *_cells(
            ("T60.3X1", "T60.3X2", "T60.3X3", "T60.3X4", "", ""),
            cols,
            ("2,4-D",),
            src,
            nemod=("(dichlorophen-oxyacetic acid)",),
        ),
        *_cells(("T39.1X1", "T39.1X2", "T39.1X3", "T39.1X4", "T39.1X5", "T39.1X6"), cols, ("Acetaminophen",), src),
        IndexEntry(("Adrenalin",), see="Adrenaline", source=src),
        IndexEntry(("Aluminium, aluminum",), source=src),
        *_cells(
            ("T47.1X1", "T47.1X2", "T47.1X3", "T47.1X4", "T47.1X5", "T47.1X6"), cols, hydroxide, src, nemod=("(gel)",)
        ),
    ]


def test_parse_table_reads_the_headings_from_the_file() -> None:
    data = MINI_DRUG.read_bytes().replace(b">Adverse effect<", b">Side effect<")
    columns = {e.column for e in parse_table(data, "drug") if e.column}
    assert "Side effect" in columns and "Adverse effect" not in columns


def test_detect_kind_on_fixtures_and_rewinds_a_stream() -> None:
    assert detect_kind(MINI_INDEX) == "index"
    assert detect_kind(str(MINI_NEOPLASM)) == "table"
    assert detect_kind(MINI_DRUG.read_bytes()) == "table"
    stream = io.BytesIO(MINI_DRUG.read_bytes())
    assert detect_kind(stream) == "table"
    assert parse_table(stream, "drug") == parse_table(MINI_DRUG, "drug")


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("parse", [parse_index, parse_table, detect_kind])
def test_truncated_xml_is_a_source_error(parse: Callable[..., object], tmp_path: Path) -> None:
    path = tmp_path / "icd10cm-index-2026.xml"
    data = MINI_INDEX.read_bytes()
    # detect_kind stops at the first telling element, so cut its copy before that element.
    path.write_bytes(data[:200] if parse is detect_kind else data[: len(data) - 200])
    args = (path,) if parse is detect_kind else (path, "index")
    with pytest.raises(SourceError, match=r"icd10cm-index-2026\.xml: not well-formed XML"):
        parse(*args)


@pytest.mark.parametrize("data", [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", b"Abscess,L02.91\n", b""])
def test_non_xml_is_a_source_error(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "index.xml"
    path.write_bytes(data)
    with pytest.raises(SourceError, match=r"index\.xml: not well-formed XML"):
        parse_index(path, "index")
    with pytest.raises(SourceError, match=r"^drug: not well-formed XML"):
        parse_table(data, "drug")


def test_foreign_root_is_a_source_error() -> None:
    data = b'<?xml version="1.0"?><ICD10CM.tabular><chapter/></ICD10CM.tabular>'
    for call in (lambda: parse_index(data, "index"), lambda: parse_table(data, "drug"), lambda: detect_kind(data)):
        with pytest.raises(SourceError, match=r"root element is <ICD10CM\.tabular>, expected <ICD10CM\.index>"):
            call()


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    with pytest.raises(SourceError, match=r"nope\.xml: cannot be read"):
        parse_index(missing, "index")
    with pytest.raises(SourceError, match=r"nope\.xml: cannot be read"):
        detect_kind(missing)


def test_index_and_table_are_not_mixed_up() -> None:
    with pytest.raises(SourceError, match="parse_table"):
        parse_index(MINI_NEOPLASM, "neoplasm")
    with pytest.raises(SourceError, match="parse_index"):
        parse_table(MINI_INDEX, "index")


def test_table_cell_without_heading_and_empty_index_are_source_errors() -> None:
    bad_col = MINI_DRUG.read_bytes().replace(b'<cell col="7">T39.1X6', b'<cell col="9">T39.1X6')
    with pytest.raises(SourceError, match="column '9'"):
        parse_table(bad_col, "drug")
    with pytest.raises(SourceError, match="a <term> under 'Abuse' has no <title>"):
        parse_index(_index_xml('<mainTerm><title>Abuse</title><term level="1"><code>X58</code></term></mainTerm>'), "x")
    with pytest.raises(SourceError, match="no <mainTerm>"):
        parse_index(b"<ICD10CM.index><version>2026</version></ICD10CM.index>", "index")


# --- the real CMS files (skipped when ../shared/cms is absent) ----------------------------


def _real(kind: str) -> Path:
    path = SHARED / f"icd10cm-{kind}-April-1-2026-XML.xml"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


def test_real_external_cause_index() -> None:
    path = _real("eindex")
    assert detect_kind(path) == "index"
    entries = parse_index(path, "eindex")
    assert len(entries) == 8090  # 314 main terms + 7776 subterms
    assert entries[0] == IndexEntry(
        ("Abandonment NEC",),
        "X58",
        nemod=("(causing exposure to weather conditions)", "(with intent to injure or kill)"),
        source="eindex",
    )
    assert IndexEntry(("Accident", "barefoot water skier"), "V94.4", source="eindex") in entries
    assert (
        IndexEntry(("Activity", "exercise(s)", "machines", "cardiorespiratory conditioning"), "Y93.A1", source="eindex")
        in entries
    )
    lightning = IndexEntry(
        ("Lightning",), see="subcategory T75.0", nemod=("(shock)", "(stroke)", "(struck by)"), source="eindex"
    )
    assert lightning in entries
    assert all(part and part == part.strip() for e in entries for part in e.path)
    assert sum(e.code is not None for e in entries) == 6671


def test_real_table_of_neoplasms() -> None:
    path = _real("neoplasm")
    assert detect_kind(path) == "table"
    entries = parse_table(path, "neoplasm")
    assert len(entries) == 9253
    assert {e.column for e in entries} == {*NEOPLASM_COLUMNS, None}
    lung = ("Neoplasm, neoplastic", "lung")
    assert IndexEntry(lung, "C34.9-", source="neoplasm", column="Malignant Primary") in entries
    assert IndexEntry((*lung, "azygos lobe"), "C34.1-", source="neoplasm", column="Malignant Primary") in entries
    breast_nemod = ("(connective tissue)", "(glandular tissue)", "(soft parts)")
    breast = ("Neoplasm, neoplastic", "breast")
    assert IndexEntry(breast, "D05.-", nemod=breast_nemod, source="neoplasm", column="Ca in situ") in entries
    assert not [e for e in entries if e.code and e.code.strip("-") == ""]


def test_real_table_of_drugs() -> None:
    path = _real("drug")
    assert detect_kind(path) == "table"
    entries = parse_table(path, "drug")
    assert len(entries) == 40291
    assert {e.column for e in entries} == {*DRUG_COLUMNS, None}
    acetaminophen = [e for e in entries if e.path == ("Acetaminophen",)]
    assert [(e.column, e.code) for e in acetaminophen] == list(
        zip(DRUG_COLUMNS, ("T39.1X1", "T39.1X2", "T39.1X3", "T39.1X4", "T39.1X5", "T39.1X6"), strict=True)
    )
    assert IndexEntry(("Adrenalin",), see="Adrenaline", source="drug") in entries
    assert sum(e.column == "Poisoning Accidental (unintentional)" for e in entries) == 7204
