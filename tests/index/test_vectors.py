"""Tests of index.vectors' collections of given vectors: written, read back whole in pages, and
searched exactly in memory as Chroma searches them on disk; each in a folder and on a real Chroma
server."""

from __future__ import annotations

import numpy as np
import pytest

import index.vectors as vectors_module
from index.chroma import Remote
from index.errors import IndexNotBuilt
from index.vectors import CodeVectors, MatrixIndex, VectorIndex, write_code_vectors


@pytest.fixture
def codes() -> CodeVectors:
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(10, 8)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = [f"A{i:02d}" for i in range(10)]
    return CodeVectors(ids, matrix, [f"title {i}" for i in range(10)], [{"billable": i % 2 == 0} for i in range(10)])


@pytest.fixture(params=["folder", "chroma server"])
def where(request, tmp_path):
    """Where a collection is written: a folder, or a fresh collection on the session's server."""
    if request.param == "folder":
        return tmp_path / "c"
    return Remote(request.getfixturevalue("chroma_server"), f"coda-test-{tmp_path.name}")


def test_a_collection_of_given_vectors_reads_back_whole_across_pages(codes, where, monkeypatch):
    monkeypatch.setattr(vectors_module, "BATCH", 3)  # 10 codes: four pages each way
    write_code_vectors(where, codes, {"profile": "test"})
    back = VectorIndex(where, None).export()
    order = [back.ids.index(code) for code in codes.ids]
    assert sorted(back.ids) == codes.ids
    assert np.allclose(back.vectors[order], codes.vectors, atol=1e-6)
    assert [back.texts[i] for i in order] == codes.texts
    assert [back.metadatas[i] for i in order] == codes.metadatas


def test_the_in_memory_search_answers_as_the_collection_does(codes, where):
    write_code_vectors(where, codes, {"profile": "test"})
    on_disk, in_memory = VectorIndex(where, None), MatrixIndex(codes)
    asked = codes.vectors[:4] + 0.05
    expected = on_disk.query_vectors(asked, limit=4)
    got = in_memory.query_vectors(asked, limit=4)
    assert [[h.code for h in hits] for hits in got] == [[h.code for h in hits] for hits in expected]
    assert [h.similarity for h in got[1]] == pytest.approx([h.similarity for h in expected[1]], abs=1e-4)
    assert got[0][0].text == expected[0][0].text
    assert in_memory.query_vectors(asked, limit=50)[0][-1].code in codes.ids  # never more than it holds
    assert set(in_memory.vectors_of(["A03", "ZZZ"])) == {"A03"}


def test_a_collection_without_a_model_is_searched_with_vectors_only(codes, where):
    write_code_vectors(where, codes, {"profile": "test"})
    with pytest.raises(IndexNotBuilt, match="searched with vectors only"):
        VectorIndex(where, None).query("chest pain")
