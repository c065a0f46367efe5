"""Tests of agent.learning.corpus: coded corpora in the CodiEsp layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.learning.corpus import CodedNote, load_split
from index.errors import DataError

CODIESP = Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "codiesp"


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- load_split on a tiny corpus -------------------------------------------------------------


def make_corpus(root: Path, gold_d: str, notes: dict[str, str] | None = None, gold_p: str | None = None) -> Path:
    notes_dir = root / "train" / "text_files_en"
    notes_dir.mkdir(parents=True)
    for note_id, text in (notes or {"S2": "Orchitis.\n", "S1": "Fever, pain.\n", "S3": "No findings.\n"}).items():
        (notes_dir / f"{note_id}.txt").write_text(text, encoding="utf-8")
    (root / "train" / "trainD.tsv").write_text(gold_d, encoding="utf-8")
    if gold_p is not None:
        (root / "train" / "trainP.tsv").write_text(gold_p, encoding="utf-8")
    return root


GOLD_D = "S2\tn44.8\nS1\tr50.9\nS1\tR52\n\nS2\tN44.8\nS1\tr52\n"  # duplicates in two cases


def test_load_split(tmp_path: Path) -> None:
    root = make_corpus(tmp_path, GOLD_D)
    notes = load_split(root, "train")
    assert notes == [
        CodedNote("S1", "Fever, pain.\n", frozenset({"R50.9", "R52"})),
        CodedNote("S2", "Orchitis.\n", frozenset({"N44.8"})),
        CodedNote("S3", "No findings.\n", frozenset()),  # no gold line: kept, empty set
    ]
    assert sum(len(n.codes) for n in notes) == 3
    assert [n.id for n in load_split(root, "train", limit=2)] == ["S1", "S2"]
    assert load_split(root, "train", limit=0) == []


def test_load_split_procedures(tmp_path: Path) -> None:
    root = make_corpus(tmp_path, GOLD_D, gold_p="S3\tbw03zzz\r\nS3\t3e02329\r\n")  # CRLF tolerated
    notes = load_split(root, "train", kind="P")
    assert {n.id: n.codes for n in notes} == {
        "S1": frozenset(),
        "S2": frozenset(),
        "S3": frozenset({"BW03ZZZ", "3E02329"}),
    }


def test_load_split_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="split folder not found"):
        load_split(tmp_path, "train")
    root = make_corpus(tmp_path, GOLD_D)
    with pytest.raises(DataError, match=r"gold file not found: .*trainP\.tsv"):
        load_split(root, "train", kind="P")
    (root / "dev").mkdir()
    with pytest.raises(DataError, match="notes folder not found"):
        load_split(root, "dev")
    with pytest.raises(ValueError, match="kind"):
        load_split(root, "train", kind="X")
    with pytest.raises(ValueError, match="limit"):
        load_split(root, "train", limit=-1)


@pytest.mark.parametrize(
    ("gold", "line"),
    [
        ("S1\tr52\nS2\tn44.8\nS3 r52\n", 3),  # a space, not a tab
        ("S1\tr52\n\nS2\tn44.8\textra\n", 3),  # blank lines still count
        ("S1\t\n", 1),
        ("\tr52\n", 1),
        ("S1\tr 52\n", 1),
    ],
)
def test_load_split_malformed_line(tmp_path: Path, gold: str, line: int) -> None:
    root = make_corpus(tmp_path, gold)
    with pytest.raises(DataError, match=rf"line {line}: expected 'id<TAB>code'"):
        load_split(root, "train")


def test_load_split_gold_without_note(tmp_path: Path) -> None:
    root = make_corpus(tmp_path, GOLD_D + "S9\tr52\n")
    with pytest.raises(DataError, match="1 ids without a note: S9"):
        load_split(root, "train")


def test_load_split_unreadable_note(tmp_path: Path) -> None:
    root = make_corpus(tmp_path, GOLD_D, notes={"S1": "ok", "S2": "ok", "S3": " \n"})
    with pytest.raises(DataError, match=r"S3 .*is empty"):
        load_split(root, "train")
    assert len(load_split(root, "train", limit=2)) == 2  # notes past the limit are not read


# --- the real corpus (CodiEsp, English), skipped when it is not on this machine -------------


def unique_pairs(tsv: Path) -> set[tuple[str, str]]:
    """(id, CODE) pairs of a gold file, read independently of load_split."""
    pairs = set()
    for line in tsv.read_text(encoding="utf-8").splitlines():
        if line.strip():
            note_id, code = line.split("\t")
            pairs.add((note_id, code.upper()))
    return pairs


# split: (notes, unique diagnosis pairs, unique procedure pairs, notes without procedures).
# Checked against the tsv files: they hold no duplicate (id, code) lines, every gold id has a
# note file, and every note has at least one diagnosis code.
CODIESP_FIGURES = {"train": (500, 5639, 1550, 65), "dev": (250, 2677, 817, 28)}


@pytest.mark.skipif(not CODIESP.is_dir(), reason=f"CodiEsp corpus not found at {CODIESP}")
@pytest.mark.parametrize("split", ["train", "dev"])
def test_real_codiesp(split: str) -> None:
    n_notes, n_diagnoses, n_procedures, n_without_procedures = CODIESP_FIGURES[split]
    notes = load_split(CODIESP, split)
    assert len(notes) == n_notes
    assert [n.id for n in notes] == sorted(n.id for n in notes)
    pairs = unique_pairs(CODIESP / split / f"{split}D.tsv")
    assert len(pairs) == n_diagnoses
    assert len(pairs) == len((CODIESP / split / f"{split}D.tsv").read_text().splitlines())  # no duplicates
    assert {(n.id, c) for n in notes for c in n.codes} == pairs
    assert all(n.codes for n in notes)
    assert all(c == c.upper() for n in notes for c in n.codes)
    assert any("." in c for n in notes for c in n.codes)

    procedures = load_split(CODIESP, split, kind="P")
    assert sum(len(n.codes) for n in procedures) == n_procedures == len(unique_pairs(CODIESP / split / f"{split}P.tsv"))
    assert sum(not n.codes for n in procedures) == n_without_procedures
    assert [n.text for n in procedures] == [n.text for n in notes]
