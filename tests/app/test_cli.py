from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import EXIT_ERROR, run
from app.settings import Settings

FIXTURES = Path(__file__).parents[1] / "fixtures"


def coda(capsys, data_dir: Path, *argv: str) -> tuple[int, str, str]:
    code = run(list(argv), settings_factory=lambda: Settings(data_dir=data_dir, _env_file=None))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_prints_ranked_codes(capsys, mini_data_dir):
    code, out, _ = coda(capsys, mini_data_dir, "codes", "search", "high blood pressure")
    assert code == 0
    assert out.splitlines()[0].split()[:2] == ["1.", "I10"]


def test_search_json(capsys, mini_data_dir):
    code, out, _ = coda(
        capsys, mini_data_dir, "codes", "search", "type 2 diabetes with diabetic chronic kidney disease", "--json"
    )
    hits = json.loads(out)
    assert code == 0 and hits[0]["code"] == "E11.22"
    assert set(hits[0]) == {"code", "title", "score", "billable", "matched", "sources"}


def test_show_prints_the_tabular_entry(capsys, mini_data_dir):
    code, out, _ = coda(capsys, mini_data_dir, "codes", "show", "S72.001")
    assert code == 0
    assert out.splitlines()[0] == "S72.001  Fracture of unspecified part of neck of right femur"
    assert "  Excludes1: traumatic amputation of hip and thigh (S78.-)  (from S72)" in out
    assert "  7th characters (defined at S72):" in out
    assert "    A  initial encounter for closed fracture" in out


def test_show_json(capsys, mini_data_dir):
    code, out, _ = coda(capsys, mini_data_dir, "codes", "show", "e11.22", "--json")
    entry = json.loads(out)
    assert code == 0 and entry["code"] == "E11.22"
    assert [n["source"] for n in entry["notes"]] == ["E11.22", "E11", "E11", "E11"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("codes", "show", "Q99.999"), "error: Q99.999 is not a code in ICD-10-CM 2026"),
        (("codes", "search", "   "), "error: the search is empty"),
    ],
)
def test_bad_input_gets_one_message_and_exit_2(capsys, mini_data_dir, argv, message):
    code, out, err = coda(capsys, mini_data_dir, *argv)
    assert code == EXIT_ERROR
    assert err.startswith(message) and "Traceback" not in err
    assert out == ""


def test_missing_index_says_how_to_build_it(capsys, tmp_path):
    code, _, err = coda(capsys, tmp_path, "codes", "search", "asthma")
    assert code == EXIT_ERROR
    assert err.strip() == f"error: no index for icd10cm in {tmp_path}; run: coda index build --system icd10cm"


def test_build_from_csv_then_search_a_second_system(capsys, tmp_path):
    source = FIXTURES / "csv" / "pcs_mini.csv"
    code, out, _ = coda(
        capsys, tmp_path, "index", "build", "--system", "icd10pcs", "--source", str(source), "--release", "2026"
    )
    assert code == 0 and json.loads(out)["counts"]["codes"] == 7
    code, out, _ = coda(
        capsys, tmp_path, "codes", "search", "appendix resection open", "--system", "icd10pcs", "--json"
    )
    assert code == 0 and json.loads(out)[0]["code"] == "0DTJ0ZZ"
    code, out, _ = coda(capsys, tmp_path, "index", "list")
    assert "icd10pcs" in out and "2026" in out


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("corrupt.xml", b"<ICD10CM.tabular><chapter><name>1", "not well-formed XML"),
        ("foreign.xml", b"<html><body>hello</body></html>", "root element is <html>"),
    ],
)
def test_bad_cms_source_builds_nothing(capsys, tmp_path, name, content, message):
    source = tmp_path / "release"
    source.mkdir()
    (source / f"icd10cm-tabular-{name}").write_bytes(content)
    data_dir = tmp_path / "data"
    code, _, err = coda(capsys, data_dir, "index", "build", "--source", str(source))
    assert code == EXIT_ERROR and message in err and "Traceback" not in err
    assert not data_dir.exists() or not any(data_dir.rglob("*.sqlite"))


def test_corrupt_csv_builds_nothing(capsys, tmp_path):
    source = tmp_path / "broken.csv"
    source.write_text("code,title,parent\nA,Alpha,MISSING\n")
    code, _, err = coda(capsys, tmp_path / "data", "index", "build", "--system", "mine", "--source", str(source))
    assert code == EXIT_ERROR and "names parent MISSING" in err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'code,title\nA,Alpha\nB,"Beta\n', "broken.csv, line 3: a quote opened on this line is never closed"),
        (b"code,title\nA,Alpha\nB,Be\x00ta\n", "broken.csv, line 3: a control character ('\\x00') at column 5"),
    ],
)
def test_a_csv_with_an_open_quote_or_a_control_character_builds_nothing(capsys, tmp_path, content, message):
    source = tmp_path / "broken.csv"
    source.write_bytes(content)
    code, out, err = coda(capsys, tmp_path / "data", "index", "build", "--system", "mine", "--source", str(source))
    assert code == EXIT_ERROR and out == "" and "Traceback" not in err
    last = err.splitlines()[-1]  # after the loader's "reading ..." line
    assert last.startswith(f"error: {source}") and message in last
    assert not (tmp_path / "data").exists()
