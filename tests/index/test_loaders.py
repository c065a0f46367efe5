from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.errors import SourceError
from index.loaders.choose import loader_for
from index.loaders.cms import CmsReleaseLoader, release_files
from index.loaders.csv_loader import CsvLoader
from index.loaders.packages import SimpleIcd10CmLoader, WhoIcd10Loader
from index.model import CodeKind, NoteKind

FIXTURES = Path(__file__).parents[1] / "fixtures"
SHARED_CMS = Path(__file__).resolve().parents[2].parent / "shared" / "cms"


@pytest.fixture(scope="module")
def icd10cm():
    return SimpleIcd10CmLoader().load()


def test_default_loader_reads_fy2026_from_the_package(icd10cm):
    import simple_icd_10_cm as cm

    assert (icd10cm.info.system, icd10cm.info.release) == ("icd10cm", "2026")
    # Every code the package knows (categories, codes, 7th-character extensions) and no other.
    package_codes = {c for c in cm.get_all_codes(False) if not c.isdigit() and "-" not in c}
    kinds = (CodeKind.CHAPTER, CodeKind.BLOCK)
    ours = {c.replace(".", "") for c, rec in icd10cm.codes.items() if rec.kind not in kinds}
    assert ours == package_codes
    assert sum(c.billable for c in icd10cm.codes.values()) == 74719  # the FY2026 count of billable codes


def test_a_block_of_one_category_does_not_hide_the_category(icd10cm):
    b20 = icd10cm.codes["B20"]
    assert (b20.kind, b20.billable, b20.parent) == (CodeKind.CATEGORY, True, "B20-B20")
    assert icd10cm.codes["B20-B20"].title == "Human immunodeficiency virus [HIV] disease"
    assert icd10cm.codes["C50"].kind is CodeKind.CATEGORY and icd10cm.codes["C50"].children


@pytest.mark.parametrize("code", ["E11.22", "I10", "S72.001", "N18", "O31", "T36.0X1", "J44"])
def test_default_loader_agrees_with_the_package_api(icd10cm, code):
    import simple_icd_10_cm as cm

    record = icd10cm.codes[code]
    assert record.title == cm.get_description(code)
    assert record.notes_of(NoteKind.EXCLUDES1) == tuple(" ".join(n.split()) for n in cm.get_excludes1(code))
    # The package joins the lines of a "Use additional code" note with newlines.
    lines = cm.get_use_additional_code(code).split("\n")
    assert record.notes_of(NoteKind.USE_ADDITIONAL_CODE) == tuple(" ".join(n.split()) for n in lines if n.strip())
    assert sorted(c.replace(".", "") for c in record.children) == sorted(
        c.replace(".", "") for c in cm.get_children(code)
    )


def test_who_icd10_loads_from_its_package():
    data = WhoIcd10Loader().load()
    assert data.info.system == "who-icd10"
    i10 = data.codes["I10"]
    assert (i10.title, i10.parent, i10.chapter, i10.block) == (
        "Essential (primary) hypertension",
        "I10-I15",
        "IX",
        "I10-I15",
    )
    assert data.codes["E11"].children[:2] == ("E11.0", "E11.1")
    assert data.codes["E11.2"].billable and not data.codes["E11"].billable


def test_csv_loader_builds_the_hierarchy():
    data = CsvLoader(FIXTURES / "csv" / "pcs_mini.csv", system="icd10pcs", release="2026").load()
    appendix = data.codes["0DTJ4ZZ"]
    assert appendix.title == "Resection of Appendix, Percutaneous Endoscopic Approach"
    assert (appendix.parent, appendix.chapter, appendix.block) == ("0DTJ", "0", "0D")
    assert appendix.billable and not data.codes["0DTJ"].billable
    assert data.codes["0DT"].notes_of(NoteKind.INCLUDES) == (
        "Cutting out or off, without replacement, all of a body part",
    )
    assert data.codes["0DTJ"].children == ("0DTJ4ZZ", "0DTJ0ZZ", "0DTJ8ZZ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("code,name\nA,B\n", "missing column"),
        ("code,title,parent\nA,Alpha,Z\n", "names parent Z"),
        ("code,title\nA,Alpha\nA,Again\n", "appears twice"),
        ("code,title\n,Alpha\n", "empty code or title"),
        ("code,title\n", "no codes"),
        ("code,title,parent\nA,Alpha,B\nB,Beta,A\n", "cycle"),
        ("code,title,billable\nA,Alpha,maybe\n", "billable must be"),
    ],
)
def test_csv_loader_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match=message):
        CsvLoader(path, system="x").load()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'code,title\nA,Alpha\nB,"Beta\nC,Gamma\n', r"line 3: a quote opened on this line is never closed"),
        (b'code,title\nA,Alpha\nB,"Beta\nC,Gamma"\nD,Delta\n', r"line 3: a quoted value runs on to line 4"),
        (b'code,title\nA,"Al"pha\n', r"line 2: malformed CSV"),
        (b"code,title\nA,Alpha\n\nB,Be\x00ta\n", r"line 4: a control character \('\\x00'\) at column 5"),
        (b"code,title\r\nA,Alpha\r\nB,Beta\x1b[31m\r\n", r"line 3: a control character \('\\x1b'\) at column 7"),
        (b"code,title\x0c\nA,Alpha\n", r"line 1: a control character \('\\x0c'\)"),
        (b"code,title\nA,Alpha\nB,Beta,extra\n", r"line 3: 3 values where the header names 2 columns"),
        (b"code,title\nA,Alpha\nB,Beta\nA,Again\n", r"line 4: code A appears twice \(first on line 2\)"),
        (b'code,title,billable\nA,"Alpha,\nstill alpha"\n', r"line 2: a quoted value runs on to line 3"),
        (b"code,title\nA,Alpha\nB,Caf\xe9\n", r"line 3: not UTF-8 text"),
    ],
)
def test_csv_loader_names_the_line_of_bad_data(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=rf"^{re.escape(str(path))}, {message}"):
        CsvLoader(path, system="x").load()


def test_csv_loader_keeps_tabs_quotes_crlf_and_trailing_empty_values(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(b'code,title,parent\r\nA,"Alpha, ""the first""\tletter",\r\nB,Beta,A,\r\n')
    data = CsvLoader(path, system="x").load()
    assert data.codes["A"].title == 'Alpha, "the first"\tletter'
    assert data.codes["B"].parent == "A" and data.codes["A"].children == ("B",)


def test_csv_loader_rejects_non_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("code,title\nA,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(SourceError, match="not UTF-8"):
        CsvLoader(path, system="x").load()


def test_release_files_are_found_by_their_cms_names():
    names = [
        "icd10cm-tabular-April-1-2026.xml",
        "icd10cm-index-April-1-2026.xml",
        "icd10cm-eindex-April-1-2026.xml",
        "icd10cm-neoplasm-April-1-2026.xml",
        "icd10cm-drug-April-1-2026.xml",
        "__MACOSX/._icd10cm-tabular-April-1-2026.xml",
        "icd10cm-order-April-1-2026.txt",
    ]
    assert release_files(names) == {
        "tabular": "icd10cm-tabular-April-1-2026.xml",
        "index": "icd10cm-index-April-1-2026.xml",
        "eindex": "icd10cm-eindex-April-1-2026.xml",
        "neoplasm": "icd10cm-neoplasm-April-1-2026.xml",
        "drug": "icd10cm-drug-April-1-2026.xml",
    }


def test_cms_release_from_a_folder_and_from_a_zip(mini_release, tmp_path):
    import zipfile

    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in mini_release.iterdir():
            z.write(f, f"2026-code-descriptions/{f.name}")
    for source in (mini_release, archive):
        data = CmsReleaseLoader(source).load()
        assert data.codes["E11.22"].title == "Type 2 diabetes mellitus with diabetic chronic kidney disease"
        sources = {e.source for e in data.index_entries}
        assert sources == {"index", "neoplasm", "drug"}
        hypertension = [e for e in data.index_entries if e.path == ("Hypertension, hypertensive",)]
        assert hypertension[0].code == "I10"


def test_cms_release_without_tabular_is_refused(tmp_path):
    (tmp_path / "icd10cm-index-2026.xml").write_text("<ICD10CM.index/>")
    with pytest.raises(SourceError, match="no Tabular List"):
        CmsReleaseLoader(tmp_path).load()


def test_cms_release_source_must_exist(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        CmsReleaseLoader(tmp_path / "missing").load()


def test_cms_real_release_files(tmp_path):
    """The official CMS index files, with the official Tabular List that simple-icd-10-cm ships."""
    if not SHARED_CMS.is_dir():
        pytest.skip("../shared/cms is not here")
    from importlib import resources

    tabular = next(f for f in (resources.files("simple_icd_10_cm") / "data").iterdir() if "tabular" in f.name)
    (tmp_path / tabular.name).write_bytes(tabular.read_bytes())
    for f in SHARED_CMS.glob("*.xml"):
        (tmp_path / f.name).symlink_to(f)
    data = CmsReleaseLoader(tmp_path).load()
    assert data.info.release == "2026"
    by_source: dict[str, int] = {}
    for e in data.index_entries:
        by_source[e.source] = by_source.get(e.source, 0) + 1
    assert by_source == {"eindex": 8090, "neoplasm": 9253, "drug": 40291}
    lung = [
        e
        for e in data.index_entries
        if e.source == "neoplasm" and e.path[-1] == "lung" and e.column == "Malignant Primary"
    ]
    assert lung[0].code == "C34.9-"


def test_loader_for_picks_by_system_and_source(tmp_path):
    assert isinstance(loader_for("icd10cm"), SimpleIcd10CmLoader)
    assert isinstance(loader_for("icd10cm", tmp_path), CmsReleaseLoader)
    assert isinstance(loader_for("who-icd10"), WhoIcd10Loader)
    assert isinstance(loader_for("icd10pcs", tmp_path / "x.csv"), CsvLoader)
    with pytest.raises(SourceError, match="unknown system"):
        loader_for("snomed")
