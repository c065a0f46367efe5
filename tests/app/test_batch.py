"""`coda batch` on the mini code book: notes from a folder, JSONL or Parquet, the same records as
`coda code --json`, a second run that skips every note coded before, failures reported per note,
and the Ray engine giving the local engine's records on a local Ray instance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.batch import BatchNote, RunIdentity, read_batch, read_output, workers_for_memory
from app.cli import run
from app.settings import Settings
from index.errors import NoteError

NOTES = {
    "a": "Type 2 diabetes with diabetic CKD stage 3.",
    "b": "HTN.",
    "c": "Closed fracture of the right femoral neck after a fall.",
}


def coda(capsys, data_dir: Path, *argv: str) -> tuple[int, str, str]:
    code = run(list(argv), settings_factory=lambda: Settings(data_dir=data_dir, _env_file=None))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    notes = tmp_path / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / f"{name}.txt").write_text(text, encoding="utf-8")
    return notes


def without_keys(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "key"} for r in records]


def test_the_records_are_coda_codes_and_a_second_run_skips_every_note(capsys, mini_data_dir, folder, tmp_path):
    out = tmp_path / "coded.jsonl"
    code, said, err = coda(capsys, mini_data_dir, "batch", str(folder), str(out))
    assert code == 0 and said.strip().endswith(
        "3 notes: 3 coded, 0 skipped (coded before with the same text, index, profile, setting and reasoner), "
        f"0 failed -> {out}"
    )
    assert "coded 3/3 notes" in err
    records = read_output(out)
    _, printed, _ = coda(capsys, mini_data_dir, "code", str(folder), "--json")
    assert without_keys(records) == [json.loads(line) for line in printed.splitlines()]
    assert len({r["key"] for r in records}) == 3
    code, said, _ = coda(capsys, mini_data_dir, "batch", str(folder), str(out))
    assert code == 0 and "0 coded, 3 skipped" in said
    assert len(read_output(out)) == 3  # nothing written twice
    # Another setting decides other codes: nothing is skipped.
    code, said, _ = coda(capsys, mini_data_dir, "batch", str(folder), str(out), "--setting", "inpatient")
    assert "3 coded, 0 skipped" in said


def test_a_note_that_fails_is_reported_and_tried_again(capsys, mini_data_dir, folder, tmp_path):
    (folder / "empty.txt").write_text("   \n", encoding="utf-8")
    out = tmp_path / "coded.jsonl"
    code, said, _ = coda(capsys, mini_data_dir, "batch", str(folder), str(out))
    assert code == 2 and "3 coded, 0 skipped" in said and "1 failed" in said
    [failed] = [r for r in read_output(out) if "error" in r]
    assert failed["id"] == "empty" and "empty" in failed["error"]
    (folder / "empty.txt").write_text("Essential hypertension.", encoding="utf-8")
    code, said, _ = coda(capsys, mini_data_dir, "batch", str(folder), str(out))
    assert code == 0 and "1 coded, 3 skipped" in said


def test_jsonl_and_parquet_in_and_out(capsys, mini_data_dir, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    source = tmp_path / "notes.parquet"
    pq.write_table(pa.table({"id": list(NOTES), "text": list(NOTES.values())}), source)
    out = tmp_path / "coded.parquet"
    code, said, _ = coda(capsys, mini_data_dir, "batch", str(source), str(out))
    assert code == 0 and "3 coded" in said
    table = pq.read_table(out)
    assert table.column_names == ["id", "key", "error", "record"] and table.column("id").to_pylist() == list(NOTES)
    lines = tmp_path / "notes.jsonl"
    lines.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in NOTES.items()), encoding="utf-8")
    code, said, _ = coda(capsys, mini_data_dir, "batch", str(lines), str(out))
    assert code == 0 and "0 coded, 3 skipped" in said  # the same notes, whatever the input's format


def test_bad_input_is_named_note_by_note(tmp_path):
    lines = tmp_path / "notes.jsonl"
    lines.write_bytes(
        b'{"id": "a", "text": "HTN."}\n'
        b"not json\n"
        b'{"id": "b"}\n'
        b'["a list"]\n'
        b'{"id": "a", "text": "again"}\n'
        b'{"id": "c", "text": "\xff\xfe"}\n'
    )
    notes = read_batch(lines)
    assert notes[0] == BatchNote("a", "HTN.")
    assert [n.error.split(":")[0] for n in notes[1:]] == [
        "line 2",
        "line 3",
        "line 4",
        "the id 'a' is given twice",
        "line 6",
    ]
    assert all(n.text is None for n in notes[1:])
    with pytest.raises(NoteError, match=r"is not a folder of \.txt notes, a \.jsonl file or a \.parquet file"):
        read_batch(tmp_path / "notes.csv")


def test_an_output_that_is_not_jsonl_or_parquet_is_refused_before_anything_is_coded(
    capsys, mini_data_dir, folder, tmp_path
):
    code, _, err = coda(capsys, mini_data_dir, "batch", str(folder), str(tmp_path / "out.csv"))
    assert code == 2 and "the output is a .jsonl or a .parquet file" in err


def test_the_key_is_the_text_and_everything_that_decides_its_codes():
    base = RunIdentity("icd10cm 2026 built t", "", "outpatient", "offline")
    keys = {
        base.key("HTN."),
        base.key("HTN. "),
        RunIdentity("icd10cm 2026 built t2", "", "outpatient", "offline").key("HTN."),
        RunIdentity("icd10cm 2026 built t", "p1 abc", "outpatient", "offline").key("HTN."),
        RunIdentity("icd10cm 2026 built t", "", "inpatient", "offline").key("HTN."),
        RunIdentity("icd10cm 2026 built t", "", "outpatient", "llm").key("HTN."),
    }
    assert len(keys) == 6 and base.key("HTN.") == base.key("HTN.")


@pytest.mark.parametrize(
    ("cpus", "gigabytes", "workers"),
    [(2, 24, 2), (8, 6, 3), (2, 1, 1), (16, 0, 1)],
)
def test_the_pool_fits_the_cores_and_the_memory(cpus, gigabytes, workers):
    assert workers_for_memory(cpus, int(gigabytes * 1e9)) == workers


def test_the_ray_engine_gives_the_local_engines_records(capsys, mini_data_dir, folder, tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'ray[data]'")
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert coda(capsys, mini_data_dir, "batch", str(folder), str(local))[0] == 0
    code, said, _ = coda(capsys, mini_data_dir, "batch", str(folder), str(remote), "--engine", "ray", "--workers", "1")
    assert code == 0 and "3 coded" in said
    assert read_output(remote) == read_output(local)


def test_ray_workers_share_the_index_on_a_chroma_server(capsys, mini_data_dir, server_data_dir, chroma_server, folder):
    """Ray's worker processes read the vectors from the server (the release they are given has no
    `chroma/` folder) and code as a local run on the release's own folder does."""
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'ray[data]'")
    local, remote = folder.parent / "local.jsonl", folder.parent / "ray-server.jsonl"
    assert coda(capsys, mini_data_dir, "batch", str(folder), str(local))[0] == 0
    settings = Settings(data_dir=server_data_dir, chroma_url=chroma_server.url, _env_file=None)
    argv = ["batch", str(folder), str(remote), "--engine", "ray", "--workers", "1"]
    assert run(argv, settings_factory=lambda: settings) == 0
    capsys.readouterr()
    assert without_keys(read_output(remote)) == without_keys(read_output(local))
