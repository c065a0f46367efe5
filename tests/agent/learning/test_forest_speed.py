"""Tests of agent.learning.forest's fixed-step walk: the same bytes as walking each row down each
tree until it reaches a leaf, on any forest `from_arrays` accepts."""

from __future__ import annotations

import numpy as np
import pytest

from agent.learning.forest import Forest
from agent.learning.learn import new_reranker


def _walked(forest: Forest, x: np.ndarray) -> np.ndarray:
    """The walk as it was first written: each unfinished (row, tree) moved one node at a time."""
    x = np.asarray(x, dtype=np.float64)
    node = np.repeat(forest.roots[None, :], len(x), axis=0)
    walking = ~forest.leaf[node]
    while walking.any():
        row, tree = np.nonzero(walking)
        at = node[row, tree]
        value = x[row, forest.feature[at]]
        go_left = np.where(np.isnan(value), forest.missing_left[at], value <= forest.threshold[at])
        node[row, tree] = np.where(go_left, forest.left[at], forest.right[at])
        walking[row, tree] = ~forest.leaf[node[row, tree]]
    leaves = forest.value[node]
    raw = np.full(len(x), forest.baseline)
    for tree in range(leaves.shape[1]):
        raw += leaves[:, tree]
    with np.errstate(over="ignore"):
        positive = 1.0 / (1.0 + np.exp(-raw))
    return np.column_stack([1.0 - positive, positive])


def _random_forest(seed: int, trees: int = 40, features: int = 6, deepest: int = 12) -> Forest:
    """Trees of uneven depth grown at random, laid out as scikit-learn lays them out (a node,
    then its left subtree, then its right), with junk in the split fields of leaves."""
    rng = np.random.default_rng(seed)
    nodes: dict[str, list] = {k: [] for k in ("feature", "threshold", "missing_left", "left", "right", "leaf", "value")}
    roots = []

    def grow(depth: int, limit: int) -> int:
        at = len(nodes["leaf"])
        leaf = depth >= limit or (depth > 0 and rng.random() < 0.25)
        nodes["feature"].append(int(rng.integers(0, features)) if not leaf else int(rng.integers(0, 99)))
        nodes["threshold"].append(float(rng.normal()) if not leaf else float(rng.choice([np.nan, np.inf, 0.0])))
        nodes["missing_left"].append(bool(rng.random() < 0.5))
        nodes["left"].append(0)
        nodes["right"].append(0)
        nodes["leaf"].append(leaf)
        nodes["value"].append(float(rng.normal(scale=0.3)) if leaf else float(rng.normal()))
        if not leaf:
            nodes["left"][at] = grow(depth + 1, limit)
            nodes["right"][at] = grow(depth + 1, limit)
        return at

    for _ in range(trees):
        roots.append(grow(0, int(rng.integers(0, deepest + 1))))
    arrays = {k: np.asarray(v) for k, v in nodes.items()}
    arrays["roots"] = np.asarray(roots)
    arrays["baseline"] = np.asarray(float(rng.normal()))
    arrays["n_features"] = np.asarray(features)
    return Forest.from_arrays(arrays)


def _rows(seed: int, n: int, features: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)) * rng.choice([1e-3, 1.0, 1e3], size=(n, features))
    x[rng.random(x.shape) < 0.2] = np.nan
    if n >= 4:
        x[:4, 0] = [np.inf, -np.inf, 1e308, -1e308]
    return x


def _same(forest: Forest, x: np.ndarray) -> None:
    got = forest.predict_proba(x)
    assert got.shape == (len(x), 2) and got.dtype == np.float64
    assert got.tobytes() == _walked(forest, x).tobytes()


@pytest.mark.parametrize("seed", range(6))
def test_the_same_bytes_as_the_walk_on_random_forests(seed: int) -> None:
    forest = _random_forest(seed)
    for n in (0, 1, 2, 37, 400):
        _same(forest, _rows(seed + 100, n, forest.n_features))


def test_any_layout_of_rows() -> None:
    forest = _random_forest(11)
    x = _rows(12, 300, forest.n_features)
    _same(forest, np.asfortranarray(x))
    _same(forest, x[::3])  # a view that is not contiguous
    _same(forest, x[:, ::-1][:, ::-1])
    small = np.clip(x, -1e6, 1e6)
    _same(forest, np.round(np.nan_to_num(small)).astype(np.int64))  # whole numbers are read as floats
    _same(forest, small.astype(np.float32))


def test_trees_that_are_one_leaf() -> None:
    arrays = {
        "baseline": np.asarray(0.25),
        "n_features": np.asarray(2),
        "roots": np.asarray([0, 1]),
        "feature": np.asarray([7, 0]),  # a leaf's feature is never read
        "threshold": np.asarray([np.nan, 0.0]),
        "missing_left": np.asarray([True, False]),
        "left": np.asarray([0, 0]),
        "right": np.asarray([0, 0]),
        "leaf": np.asarray([True, True]),
        "value": np.asarray([0.5, -1.5]),
    }
    forest = Forest.from_arrays(arrays)
    assert forest._steps == ()
    _same(forest, _rows(3, 20, 2))


def test_nodes_shared_by_splits_and_trees() -> None:
    """`from_arrays` asks only that children come after their parents: two splits may share a
    child, and a tree may start inside another."""
    arrays = {
        "baseline": np.asarray(-0.1),
        "n_features": np.asarray(2),
        "roots": np.asarray([0, 2, 3]),
        "feature": np.asarray([0, 1, 1, 0, 0, 0]),
        "threshold": np.asarray([0.0, 0.5, -0.5, 1.0, 0.0, 0.0]),
        "missing_left": np.asarray([True, False, True, False, False, False]),
        "left": np.asarray([1, 4, 3, 4, 0, 0]),
        "right": np.asarray([2, 5, 5, 5, 0, 0]),
        "leaf": np.asarray([False, False, False, False, True, True]),
        "value": np.asarray([0.0, 0.0, 0.0, 0.0, 0.7, -0.3]),
    }
    forest = Forest.from_arrays(arrays)
    assert forest._steps == (3, 2, 1)  # the longest paths: 0 -> 2 -> 3 -> 4, 2 -> 3 -> 4 and 3 -> 4
    _same(forest, _rows(5, 200, 2))


def test_steps_follow_the_deepest_trees() -> None:
    forest = _random_forest(21)
    steps = forest._steps
    assert list(steps) == sorted(steps, reverse=True) and steps[0] <= len(forest.roots)
    assert np.array_equal(forest.roots[forest._order][forest._unorder], forest.roots)


def test_the_same_bytes_on_a_fitted_reranker() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(600, 5))
    x[rng.random(x.shape) < 0.15] = np.nan
    y = (np.nan_to_num(x[:, 0]) * np.nan_to_num(x[:, 1]) + rng.normal(scale=0.3, size=len(x)) > 0).astype(int)
    model = new_reranker().fit(x, y)
    forest = Forest.from_sklearn(model)
    fresh = _rows(9, 500, 5)
    _same(forest, fresh)
    np.testing.assert_allclose(forest.predict_proba(fresh), model.predict_proba(fresh), rtol=0, atol=1e-9)


def test_a_forest_made_directly_is_checked_too() -> None:
    forest = _random_forest(2, trees=3)
    arrays = {name: np.array(value) for name, value in forest.arrays().items()}
    split = int(np.flatnonzero(~arrays["leaf"])[0])
    arrays["left"][split] = split  # its own child: a walk that never ends
    with pytest.raises(ValueError, match="not well formed"):
        Forest.from_arrays(arrays)
    with pytest.raises(ValueError, match="not well formed"):
        Forest(
            baseline=0.0,
            n_features=forest.n_features,
            roots=arrays["roots"],
            feature=arrays["feature"],
            threshold=arrays["threshold"],
            missing_left=arrays["missing_left"],
            left=arrays["left"],
            right=arrays["right"],
            leaf=arrays["leaf"],
            value=arrays["value"],
        )
