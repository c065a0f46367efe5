"""Fixtures for the workbench tests: a data folder of its own (an empty case store) that shares the
session's mini code book through a symlink, so tests never see each other's cases; and the review
code book (tests/app/fixtures/tabular_review.xml: the mini Tabular List with E10, J45, more N18
stages and Z79), as a store alone for the review core and as a whole index for the app; and where
a case store lives, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.store import CodeStore
from tests.postgres import Server
from tests.postgres import missing as postgres_missing

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def workbench_data_dir(tmp_path: Path, mini_data_dir: Path) -> Path:
    data_dir = tmp_path / "coda-data"
    data_dir.mkdir()
    (data_dir / "icd10cm").symlink_to(mini_data_dir / "icd10cm", target_is_directory=True)
    return data_dir


@pytest.fixture(scope="session")
def review_release(tmp_path_factory: pytest.TempPathFactory, mini_release: Path) -> Path:
    """A CMS release folder: the review Tabular List with the mini index and tables."""
    folder = tmp_path_factory.mktemp("review-release")
    shutil.copy(FIXTURES / "tabular_review.xml", folder / "icd10cm-tabular-review.xml")
    for path in mini_release.iterdir():
        if "tabular" not in path.name:
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def book(tmp_path_factory: pytest.TempPathFactory, review_release: Path) -> Iterator[CodeStore]:
    """The review code book as a store alone (no vectors): what the case store takes codes from."""
    from index.loaders.cms import CmsReleaseLoader
    from index.store import write_store

    path = tmp_path_factory.mktemp("review-book") / "store.sqlite"
    write_store(path, CmsReleaseLoader(review_release).load())
    store = CodeStore(path)
    yield store
    store.close()


@pytest.fixture(scope="session")
def review_index_dir(tmp_path_factory: pytest.TempPathFactory, review_release: Path, embedder) -> Path:
    """The review code book built as `coda index build` builds one, for the app."""
    from index.build import build_index
    from index.loaders.cms import CmsReleaseLoader

    data_dir = tmp_path_factory.mktemp("review-data")
    build_index(CmsReleaseLoader(review_release), data_dir, lambda: embedder)
    return data_dir


@pytest.fixture
def review_data_dir(tmp_path: Path, review_index_dir: Path) -> Path:
    """A data folder of its own over the review code book."""
    data_dir = tmp_path / "coda-review-data"
    data_dir.mkdir()
    (data_dir / "icd10cm").symlink_to(review_index_dir / "icd10cm", target_is_directory=True)
    return data_dir


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """One real PostgreSQL server for the session (see tests/postgres.py); skipped, saying why,
    on a machine without PostgreSQL (`.ci/run` makes sure CI has it)."""
    why = postgres_missing()
    if why and os.environ.get("CODA_REQUIRE_POSTGRES") == "1":  # set by .ci/run: CI never skips these
        pytest.fail(why)
    if why:
        pytest.skip(why)
    server = Server().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def case_db(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a case store lives: a SQLite file in tmp_path, or an empty database on the real
    PostgreSQL server. Store tests that take it run on both."""
    if request.param == "sqlite":
        return tmp_path / "cases.sqlite"
    return request.getfixturevalue("postgres").database()
