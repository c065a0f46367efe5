"""`coda codes show` and `coda codes search --system icd10pcs` on the bundled ICD-10-PCS tables."""

from __future__ import annotations

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
