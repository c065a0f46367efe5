"""The code index on a real Chroma server (`chroma run` on 127.0.0.1): built there, copied there
from a folder, replaced whole, opened by several processes, and refused clearly when the server
is not set, misnamed or silent. The search tests themselves run on both (tests/index/test_search.py)."""

from __future__ import annotations

import json

import pytest

from app.cli import run
from app.settings import Settings
from index.build import COLLECTION_KEY, MANIFEST, VECTOR_DIR, build_index, find_release, read_manifest, vectors_at
from index.chroma import BUILDING, ChromaServer, Remote, collection_name
from index.errors import IndexUnavailable
from index.loaders.cms import CmsReleaseLoader
from index.vectors import VectorIndex
from tests.chroma import free_port

NAME = collection_name("icd10cm", "2026")


class FailingEmbedder:
    """An embedding model that breaks on its first batch: the build fails half-way."""

    name = "broken"

    def encode(self, texts):
        raise RuntimeError("the model broke")


def leftovers(server: ChromaServer) -> list[str]:
    return [n for n in server.names() if BUILDING in n]


def test_a_build_with_a_server_puts_the_vectors_there_and_names_them(server_data_dir, chroma_server):
    path = find_release(server_data_dir, "icd10cm")
    manifest = read_manifest(path)
    assert manifest[COLLECTION_KEY] == NAME == "coda-icd10cm-2026"
    assert not (path / VECTOR_DIR).exists()  # nothing beside the code book but its manifest
    held = VectorIndex(Remote(chroma_server, NAME), None)
    assert held.export().ids and len(held.export().ids) == manifest["counts"]["vectors"] == 20
    assert held.metadata()["release"] == "2026"
    assert leftovers(chroma_server) == []


def test_the_vectors_of_a_server_build_need_the_server(server_data_dir):
    with pytest.raises(IndexUnavailable, match="set CODA_CHROMA_URL"):
        vectors_at(find_release(server_data_dir, "icd10cm"), None)


def test_a_folder_build_is_copied_to_the_server_without_embedding_again(
    tmp_path, mini_release, embedder, chroma_server
):
    server = ChromaServer(chroma_server.url)
    build_index(CmsReleaseLoader(mini_release), tmp_path, lambda: embedder)
    path = find_release(tmp_path, "icd10cm")
    assert COLLECTION_KEY not in read_manifest(path)
    assert vectors_at(path, server) == path / VECTOR_DIR  # not on the server yet: its own folder

    def no_model():
        raise AssertionError("a copy embeds nothing")

    messages: list[str] = []
    result = build_index(CmsReleaseLoader(mini_release), tmp_path, no_model, say=messages.append, server=server)
    assert not result.built and result.manifest[COLLECTION_KEY] == NAME
    assert any("copied 20 vectors" in m for m in messages)
    assert json.loads((path / MANIFEST).read_text())[COLLECTION_KEY] == NAME
    assert vectors_at(path, server) == Remote(server, NAME)
    folder, remote = VectorIndex(path / VECTOR_DIR, embedder), VectorIndex(Remote(server, NAME), embedder)
    assert [h.code for h in remote.query("high blood pressure", 5)] == [
        h.code for h in folder.query("high blood pressure", 5)
    ]
    again: list[str] = []
    build_index(CmsReleaseLoader(mini_release), tmp_path, no_model, say=again.append, server=server)
    assert any("already on" in m for m in again)


def test_a_forced_rebuild_replaces_the_collection_whole(tmp_path, mini_release, embedder, chroma_server):
    build_index(CmsReleaseLoader(mini_release), tmp_path, lambda: embedder, force=True, server=chroma_server)
    assert chroma_server.names().count(NAME) == 1 and leftovers(chroma_server) == []
    assert VectorIndex(Remote(chroma_server, NAME), None).export().ids


def test_a_failed_build_leaves_no_collection_behind(tmp_path, mini_release, embedder, chroma_server):
    before = VectorIndex(Remote(chroma_server, NAME), None).export().ids
    with pytest.raises(RuntimeError, match="the model broke"):
        build_index(CmsReleaseLoader(mini_release), tmp_path, FailingEmbedder, force=True, server=chroma_server)
    assert leftovers(chroma_server) == []
    assert sorted(VectorIndex(Remote(chroma_server, NAME), None).export().ids) == sorted(before)  # the old one stays
    assert not list((tmp_path / "icd10cm").iterdir())


def test_the_coder_on_the_server_codes_as_the_coder_on_the_folder(server_data_dir, embedder, chroma_server, mini_coder):
    from agent.coder import open_coder

    on_server = open_coder(server_data_dir, embedder=embedder, chroma=chroma_server)
    note = "Assessment: type 2 diabetes with diabetic chronic kidney disease, stage 3. Hypertension."
    got, expected = on_server.code(note), mini_coder.code(note)
    assert got.codes and [c.to_json() for c in got.codes] == [c.to_json() for c in expected.codes]
    assert [c.code for c in got.candidates] == [c.code for c in expected.candidates]
    assert got.codes[0].evidence == expected.codes[0].evidence


def test_several_processes_share_the_server(capsys, server_data_dir, chroma_server):
    def coda(*argv: str) -> str:
        settings = Settings(data_dir=server_data_dir, chroma_url=chroma_server.url, _env_file=None)
        assert run(list(argv), settings_factory=lambda: settings) == 0
        return capsys.readouterr().out

    first = coda("codes", "search", "brain shaken after a blow to the head").splitlines()[0]
    assert first.split()[1].startswith("S06.0")
    assert f"vectors: server:{NAME}" in coda("index", "list")


def test_a_server_that_does_not_answer_is_named(server_data_dir, embedder):
    from agent.coder import open_coder

    silent = ChromaServer(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(IndexUnavailable, match="does not answer"):
        open_coder(server_data_dir, embedder=embedder, chroma=silent)


@pytest.mark.parametrize("url", ["chroma.internal:8000", "ftp://chroma.internal", "http://chroma.internal/api/v2"])
def test_a_server_address_is_checked(url):
    with pytest.raises(IndexUnavailable, match=r"Chroma server|without a path"):
        ChromaServer(url)


def test_the_settings_name_the_server():
    assert Settings(_env_file=None).chroma_server() is None
    server = Settings(chroma_url="http://chroma.internal:8000/", chroma_token="s3cret", _env_file=None).chroma_server()
    assert server == ChromaServer("http://chroma.internal:8000", "s3cret")
