"""Fixtures for the workbench tests: a data folder of its own (an empty case store) that shares the
session's mini code book through a symlink, so tests never see each other's cases."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workbench_data_dir(tmp_path: Path, mini_data_dir: Path) -> Path:
    data_dir = tmp_path / "coda-data"
    data_dir.mkdir()
    (data_dir / "icd10cm").symlink_to(mini_data_dir / "icd10cm", target_is_directory=True)
    return data_dir
