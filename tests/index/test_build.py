"""Tests of index.build's temporary build folders: a build in progress holds a lock; the next
build removes what killed builds left behind, and never a build that is running."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.build import BUILDING, LOCK, build_folder, build_index, clear_stale_builds, is_built
from index.embeddings import DIMENSIONS
from index.loaders.csv_loader import CsvLoader

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


class FakeEmbedder:
    """Unit vectors from a text's hash: enough to build a store without loading a model."""

    name = "fake"

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=DIMENSIONS) for t in texts]
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(texts), DIMENSIONS)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-9)


def _leftover(parent: Path, token: str, lock: str | None) -> Path:
    """What a build killed mid-way leaves: its folder, half written, and its lock file (with the
    build's process id) unless it was from before locks."""
    folder = parent / f".2026{BUILDING}{token}"
    (folder / "chroma").mkdir(parents=True)
    (folder / "codes.sqlite").write_bytes(b"half a store")
    if lock is not None:
        folder.with_name(folder.name + LOCK).write_text(lock)
    return folder


def test_a_build_folder_is_locked_while_in_use_and_gone_after(tmp_path):
    with build_folder(tmp_path, "2026") as folder:
        (folder / "codes.sqlite").write_text("building")
        assert folder.name.startswith(f".2026{BUILDING}")
        assert folder.with_name(folder.name + LOCK).read_text() == f"{os.getpid()}\n"
        assert clear_stale_builds(tmp_path) == [] and folder.is_dir()  # ours, running
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="boom"), build_folder(tmp_path, "2026") as folder:
        (folder / "codes.sqlite").write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_only_leftovers_of_interrupted_builds_are_removed(tmp_path):
    before_locks = _leftover(tmp_path, "aaaa", None)
    killed = _leftover(tmp_path, "bbbb", "4194999\n")
    running = _leftover(tmp_path, "cccc", f"{os.getpid()}\n")
    orphan_lock = tmp_path / f".2026{BUILDING}dddd{LOCK}"
    orphan_lock.write_text("4194998\n")
    kept = [tmp_path / "2026", tmp_path / ".2026.old-x1y2", tmp_path / "2025.building-notours", running]
    for folder in kept[:3]:
        folder.mkdir()
    said: list[str] = []
    held = os.open(running.with_name(running.name + LOCK), os.O_RDWR)
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a build running in another process would
        assert clear_stale_builds(tmp_path, said.append) == [before_locks, killed]
    finally:
        os.close(held)
    assert said == [
        f"removed {before_locks}, left by an interrupted build",
        f"removed {killed}, left by an interrupted build (process 4194999, no longer running)",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(p.name for p in kept), running.name + LOCK])


def test_a_killed_build_is_removed_and_a_running_one_is_not(tmp_path):
    script = (
        "import sys\nfrom pathlib import Path\nfrom index.build import build_folder\n"
        "with build_folder(Path(sys.argv[1]), '2026') as folder:\n"
        "    print(folder, flush=True)\n    sys.stdin.read()\n"
    )
    build = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        folder = Path(build.stdout.readline().strip())
        assert folder.parent == tmp_path and folder.is_dir()
        assert clear_stale_builds(tmp_path) == [] and folder.is_dir()
    finally:
        build.kill()  # SIGKILL: no finally block of the build's runs
        build.wait()
    assert folder.is_dir()
    said: list[str] = []
    assert clear_stale_builds(tmp_path, said.append) == [folder]
    assert said == [f"removed {folder}, left by an interrupted build (process {build.pid}, no longer running)"]
    assert list(tmp_path.iterdir()) == []


def test_the_next_build_removes_leftovers_and_leaves_only_the_release(tmp_path):
    system = tmp_path / "data" / "icd10pcs"
    left = _leftover(system, "eeee", "4194997\n")
    loader = CsvLoader(FIXTURES / "csv" / "pcs_mini.csv", system="icd10pcs", release="2026")
    said: list[str] = []
    result = build_index(loader, tmp_path / "data", FakeEmbedder, say=said.append)
    assert result.built and is_built(result.path)
    assert f"removed {left}, left by an interrupted build (process 4194997, no longer running)" in said
    assert [p.name for p in system.iterdir()] == ["2026"]

    again = _leftover(system, "ffff", None)
    said.clear()
    assert not build_index(loader, tmp_path / "data", FakeEmbedder, say=said.append).built  # kept, and cleaned
    assert said[-2:] == [
        f"removed {again}, left by an interrupted build",
        f"icd10pcs 2026 is already built at {result.path}; kept (use --force to rebuild)",
    ]
    assert [p.name for p in system.iterdir()] == ["2026"]
