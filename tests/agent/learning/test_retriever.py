"""Tests of agent.learning.retriever: maps learned from (statement, code) pairs bring a code
nearer the way a site's notes word it, and a saved retriever searches as it did in memory."""

from __future__ import annotations

import numpy as np
import pytest

from agent.candidates.locate import Locator
from agent.learning.retriever import Retriever, RetrieverSettings, learn_retriever, training_pairs
from agent.reading.statements import analyze_note
from index.vectors import CodeVectors, MatrixIndex

DIMS = 16
CODES = 120


def _unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def world():
    """Codes as random unit vectors; a site whose notes word each code in a turned way (a fixed
    rotation, plus noise), so the encoder as it is finds the wrong code."""
    rng = np.random.default_rng(7)
    codes = _unit(rng.normal(size=(CODES, DIMS)))
    turn = np.linalg.qr(rng.normal(size=(DIMS, DIMS)))[0].astype(np.float32)
    vectors = CodeVectors([f"C{i:03d}" for i in range(CODES)], codes, [f"code {i}" for i in range(CODES)], [{}] * CODES)

    def say(rows: np.ndarray, noise: float) -> np.ndarray:
        return _unit(codes[rows] @ turn + noise * rng.normal(size=(len(rows), DIMS)))

    train_rows = np.repeat(np.arange(CODES), 6)
    test_rows = np.arange(CODES)
    return vectors, say(train_rows, 0.2), train_rows, say(test_rows, 0.2), test_rows


def _top1(search, queries: np.ndarray, rows: np.ndarray, ids: list[str]) -> float:
    hits = search.query_vectors(queries, limit=1)
    return float(np.mean([h[0].code == ids[r] for h, r in zip(hits, rows, strict=True)]))


def test_learned_maps_find_the_code_a_site_words_differently(world):
    codes, train_q, train_rows, test_q, test_rows = world
    before = _top1(MatrixIndex(codes), test_q, test_rows, codes.ids)
    settings = RetrieverSettings(epochs=20, batch=120, negatives=50, learning_rate=2e-2)
    retriever = learn_retriever(train_q, train_rows, codes, settings)
    after = _top1(retriever.search, retriever.statements(test_q), test_rows, codes.ids)
    assert before < 0.3 and after > 0.8, (before, after)


def test_without_pairs_the_maps_are_the_encoder_as_it_is(world):
    codes = world[0]
    retriever = learn_retriever(np.zeros((0, DIMS), np.float32), np.zeros(0, np.int64), codes)
    assert np.array_equal(retriever.statement_map, np.eye(DIMS)) and np.array_equal(retriever.code_map, np.eye(DIMS))


def test_a_saved_retriever_searches_its_chroma_collection_as_it_searched_in_memory(world, tmp_path):
    codes, train_q, train_rows, test_q, _ = world
    learned = learn_retriever(train_q, train_rows, codes, RetrieverSettings(epochs=5, batch=64, negatives=50))
    learned.save(tmp_path, {"profile": "test"})
    loaded = Retriever.load(tmp_path)
    assert loaded is not None and loaded.key == learned.key
    asked = learned.statements(test_q[:20])
    expected = learned.search.query_vectors(asked, limit=3)
    got = loaded.search.query_vectors(loaded.statements(test_q[:20]), limit=3)
    assert [[h.code for h in hits] for hits in got] == [[h.code for h in hits] for hits in expected]
    assert [h.similarity for h in got[0]] == pytest.approx([h.similarity for h in expected[0]], abs=1e-4)
    assert loaded.search.vectors_of(["C001"])["C001"] == pytest.approx(learned.search.vectors_of(["C001"])["C001"])


def test_a_profile_folder_without_maps_has_no_retriever(tmp_path):
    assert Retriever.load(tmp_path) is None


def test_each_gold_code_rests_on_the_statement_most_like_it(world):
    codes = world[0]
    statements = _unit(np.stack([codes.vectors[3] + 0.1, codes.vectors[9], codes.vectors[3]]))
    words = [[5, 5, 1]]  # the third statement is one word: no evidence, though it is closest to C003
    queries, targets = training_pairs([statements], words, [frozenset({"C003", "C009", "ZZZ"})], codes)
    assert targets.tolist() == [3, 9]  # ZZZ is not in the index
    assert np.array_equal(queries, statements[[0, 1]])


def test_locate_asks_the_profiles_retriever_for_a_statements_nearest_codes(mini_coder, learned):
    """With a retriever in the profile, a statement's dense candidates are the nearest codes in
    the profile's own space: here one planted on the statement itself."""
    locator: Locator = mini_coder.deps.locator
    note = "The patient reports intermittent zorblax of the left elbow."
    analysis, statements = analyze_note(note)
    embeddings = locator.embedder.encode([s.text for s in statements])
    eye = np.eye(embeddings.shape[1], dtype=np.float32)
    planted = CodeVectors(["I10"], embeddings[:1], ["planted"], [{}])
    profile = learned.profile
    kept = profile.retriever
    try:
        profile.retriever = Retriever(eye, eye, MatrixIndex(planted))
        located = locator.locate(note, analysis, statements, profile, embeddings)
    finally:
        profile.retriever = kept
    dense = [c for c in located.candidates if "dense" in c.sources]
    assert [c.code for c in dense] == ["I10"]
    assert dense[0].features["dense_sim"] == pytest.approx(1.0, abs=1e-5)
    assert dense[0].evidence[0].text == statements[0].text
