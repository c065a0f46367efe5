"""Shared fixtures: a real store (SQLite + Chroma) built once per session from small files, and
the same store with its vectors on a real Chroma server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def embedder():
    from index.embeddings import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def mini_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small CMS release folder: the mini Tabular List with the mini index and tables."""
    folder = tmp_path_factory.mktemp("release")
    shutil.copy(FIXTURES / "tabular_mini.xml", folder / "icd10cm-tabular-mini.xml")
    for name in ("mini-index.xml", "mini-neoplasm.xml", "mini-drug.xml"):
        shutil.copy(FIXTURES / "cms" / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def mini_data_dir(tmp_path_factory: pytest.TempPathFactory, mini_release: Path, embedder) -> Path:
    from index.build import build_index
    from index.loaders.cms import CmsReleaseLoader

    data_dir = tmp_path_factory.mktemp("coda-data")
    build_index(CmsReleaseLoader(mini_release), data_dir, lambda: embedder)
    return data_dir


@pytest.fixture(scope="session")
def guideline_data_dir(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """A release built from tests/fixtures/tabular_guidelines.xml: E10 and E11 exclude each other,
    G63 is a manifestation, S72 takes a 7th character, Z79 holds long-term drug codes."""
    from index.build import build_index
    from index.loaders.cms import CmsReleaseLoader

    release = tmp_path_factory.mktemp("guidelines-release")
    shutil.copy(FIXTURES / "tabular_guidelines.xml", release / "icd10cm-tabular-guidelines.xml")
    data_dir = tmp_path_factory.mktemp("coda-data-guidelines")
    build_index(CmsReleaseLoader(release), data_dir, lambda: embedder)
    return data_dir


@pytest.fixture(scope="session")
def chroma_server():
    """A real Chroma server (`chroma run`) on 127.0.0.1 for this session."""
    from index.chroma import ChromaServer
    from tests.chroma import ChromaProcess

    process = ChromaProcess()
    yield ChromaServer(process.url)
    process.stop()


@pytest.fixture(scope="session")
def server_data_dir(tmp_path_factory: pytest.TempPathFactory, mini_release: Path, embedder, chroma_server) -> Path:
    """The mini release built with its vectors on the Chroma server (no `chroma/` folder)."""
    from index.build import build_index
    from index.loaders.cms import CmsReleaseLoader

    data_dir = tmp_path_factory.mktemp("coda-data-server")
    build_index(CmsReleaseLoader(mini_release), data_dir, lambda: embedder, server=chroma_server)
    return data_dir


@pytest.fixture(scope="session")
def server_search(server_data_dir: Path, embedder, chroma_server):
    from index.search import CodeSearch

    return CodeSearch.open(server_data_dir, "icd10cm", embedder, chroma=chroma_server)


@pytest.fixture(scope="session")
def mini_search(mini_data_dir: Path, embedder):
    from index.search import CodeSearch

    return CodeSearch.open(mini_data_dir, "icd10cm", embedder)


@pytest.fixture(scope="session")
def mini_coder(mini_data_dir: Path, embedder):
    from agent.coder import open_coder

    return open_coder(mini_data_dir, embedder=embedder)
