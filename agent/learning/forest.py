"""A learned profile's reranker as plain arrays: the trees of a fitted scikit-learn
`HistGradientBoostingClassifier`, and a numpy predictor that walks them as scikit-learn does.

Loading a profile must never run code, so the reranker is not pickled: `Forest.from_sklearn`
copies every tree's nodes into flat number arrays (stored in an `.npz` read with
`allow_pickle=False`), and `Forest.from_arrays` checks them before use, so a damaged file is
refused at load instead of failing, or looping, while a note is coded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# name -> numpy kinds it may have ("i" signed, "u" unsigned integer, "f" float, "b" bool)
_ARRAYS = {
    "baseline": "f",
    "n_features": "iu",
    "roots": "iu",
    "feature": "iu",
    "threshold": "f",
    "missing_left": "bu",
    "left": "iu",
    "right": "iu",
    "leaf": "bu",
    "value": "f",
}
_NODE_ARRAYS = ("feature", "threshold", "missing_left", "left", "right", "leaf", "value")


@dataclass(frozen=True, eq=False)
class Forest:
    """Binary gradient-boosted trees over numeric features. The nodes of all trees lie in one
    set of arrays; `roots` holds where each tree starts, and a node's children always come
    after it, so every walk ends at a leaf."""

    baseline: float  # the raw score before any tree (log-odds)
    n_features: int
    roots: np.ndarray  # (trees,) the index of each tree's root node
    feature: np.ndarray  # (nodes,) the feature a split node tests
    threshold: np.ndarray  # (nodes,) a value <= threshold goes left
    missing_left: np.ndarray  # (nodes,) where a missing (NaN) value goes
    left: np.ndarray  # (nodes,) child indices, into the same arrays
    right: np.ndarray
    leaf: np.ndarray  # (nodes,) True at leaves
    value: np.ndarray  # (nodes,) a leaf's contribution to the raw score (learning rate applied)
    # How `predict_proba` walks, made once from the nodes above (see `_plan`).
    _steps: tuple[int, ...] = field(init=False, repr=False)
    _order: np.ndarray = field(init=False, repr=False)
    _unorder: np.ndarray = field(init=False, repr=False)
    _test: np.ndarray = field(init=False, repr=False)
    _next: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._check()
        self._plan()

    @classmethod
    def from_sklearn(cls, model: Any) -> Forest:
        """The trees of a fitted binary `HistGradientBoostingClassifier` on numeric features."""
        if getattr(model, "n_trees_per_iteration_", None) != 1 or len(model.classes_) != 2:
            raise ValueError("the reranker must be a fitted binary HistGradientBoostingClassifier")
        if getattr(model, "_preprocessor", None) is not None:
            raise ValueError("the reranker must be fitted on a plain numeric matrix")
        roots, parts, offset = [], [], 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError("the reranker must have no categorical features")
            inner = nodes["is_leaf"] == 0
            roots.append(offset)
            parts.append(
                {
                    "feature": nodes["feature_idx"].astype(np.int64),
                    "threshold": nodes["num_threshold"].astype(np.float64),
                    "missing_left": nodes["missing_go_to_left"].astype(bool),
                    "left": np.where(inner, nodes["left"].astype(np.int64) + offset, 0),
                    "right": np.where(inner, nodes["right"].astype(np.int64) + offset, 0),
                    "leaf": ~inner,
                    "value": nodes["value"].astype(np.float64),
                }
            )
            offset += len(nodes)
        arrays = {name: np.concatenate([p[name] for p in parts]) for name in _NODE_ARRAYS}
        arrays["roots"] = np.asarray(roots, dtype=np.int64)
        arrays["baseline"] = np.asarray(float(np.ravel(model._baseline_prediction)[0]))
        arrays["n_features"] = np.asarray(int(model.n_features_in_))
        return cls.from_arrays(arrays)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Forest:
        """A forest from stored arrays; ValueError saying what is wrong when they do not make one."""
        missing = sorted(set(_ARRAYS) - set(arrays))
        if missing:
            raise ValueError(f"the reranker lacks {', '.join(missing)}")
        arrays = {name: np.asarray(arrays[name]) for name in _ARRAYS}  # an npz reads on every access
        for name, kinds in _ARRAYS.items():
            if arrays[name].dtype.kind not in kinds:
                raise ValueError(f"the reranker's {name} has the wrong type ({arrays[name].dtype})")
        if arrays["baseline"].size != 1 or arrays["n_features"].size != 1:
            raise ValueError("the reranker's baseline or feature count is not one number")
        nodes = {name: arrays[name] for name in _NODE_ARRAYS}
        size = len(nodes["leaf"])
        if any(a.ndim != 1 or len(a) != size for a in nodes.values()) or arrays["roots"].ndim != 1:
            raise ValueError("the reranker's node arrays differ in length")
        forest = cls(
            baseline=float(arrays["baseline"].reshape(())),
            n_features=int(arrays["n_features"].reshape(())),
            roots=arrays["roots"].astype(np.int64),
            feature=nodes["feature"].astype(np.int64),
            threshold=nodes["threshold"].astype(np.float64),
            missing_left=nodes["missing_left"].astype(bool),
            left=nodes["left"].astype(np.int64),
            right=nodes["right"].astype(np.int64),
            leaf=nodes["leaf"].astype(bool),
            value=nodes["value"].astype(np.float64),
        )  # checked as it is made: see `__post_init__`
        return forest

    def _check(self) -> None:
        if not np.isfinite(self.baseline) or self.n_features < 1:
            raise ValueError("the reranker's baseline or feature count is out of range")
        if not len(self.roots) or ((self.roots < 0) | (self.roots >= len(self.leaf))).any():
            raise ValueError("the reranker has no trees, or a tree starts outside its nodes")
        inner = np.flatnonzero(~self.leaf)
        size = len(self.leaf)
        for child in (self.left[inner], self.right[inner]):
            if ((child <= inner) | (child >= size)).any():  # children after their parent: walks end
                raise ValueError("the reranker's trees are not well formed")
        if ((self.feature[inner] < 0) | (self.feature[inner] >= self.n_features)).any():
            raise ValueError("the reranker tests a feature it does not have")
        if np.isnan(self.threshold[inner]).any() or not np.isfinite(self.value[self.leaf]).all():
            raise ValueError("the reranker holds a threshold or leaf value that is not a number")

    def _plan(self) -> None:
        """The walk as fixed steps over every tree at once. A leaf is its own child (both ways,
        testing feature 0), so a walk that has ended stays put; a split's children sit at
        `_next[2 * node + goes_left]`. Trees are walked deepest first: step s moves only the
        first `_steps[s]` of them, the ones whose longest path from the root is longer than s.
        `_check` has run: children come after their parents, so every path ends."""
        nodes = np.arange(len(self.leaf))
        test = np.where(self.leaf, 0, self.feature)
        after = np.empty(2 * len(nodes), dtype=np.int64)
        after[0::2] = np.where(self.leaf, nodes, self.right)
        after[1::2] = np.where(self.leaf, nodes, self.left)
        trees = len(self.roots)
        # Level by level from the roots, as (node, tree) pairs: depth[t] is tree t's longest path.
        depth = np.zeros(trees, dtype=np.int64)
        at, tree, level = self.roots, np.arange(trees), 0
        while at.size:
            split = ~self.leaf[at]
            at, tree, level = at[split], tree[split], level + 1
            depth[tree] = level
            pairs = np.unique(np.concatenate([self.left[at], self.right[at]]) * trees + np.tile(tree, 2))
            at, tree = pairs // trees, pairs % trees  # once each: nodes shared by splits do not multiply
        order = np.argsort(-depth, kind="stable")
        steps = tuple(int((depth > s).sum()) for s in range(int(depth.max())))
        object.__setattr__(self, "_steps", steps)
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "_unorder", np.argsort(order))
        object.__setattr__(self, "_test", test)
        object.__setattr__(self, "_next", after)

    def arrays(self) -> dict[str, np.ndarray]:
        """What `from_arrays` reads back: plain number arrays, safe to store in an `.npz`."""
        out = {name: getattr(self, name) for name in (*_NODE_ARRAYS, "roots")}
        return {**out, "baseline": np.asarray(self.baseline), "n_features": np.asarray(self.n_features)}

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(rows, 2) class probabilities, as scikit-learn's `predict_proba` gives them: every
        tree walked (NaN goes the way the split learned), leaf values added tree by tree to the
        baseline in the same order, and the logistic function applied."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        cells = x.ravel()  # row r's feature f is cells[r * n_features + f]
        row = np.arange(len(x)) * self.n_features
        node = np.repeat(self.roots[self._order][:, None], len(x), axis=1)  # (trees, rows), deepest first
        for walking in self._steps:
            at = node[:walking]
            value = np.take(cells, np.take(self._test, at) + row)
            go_left = value <= np.take(self.threshold, at)  # False for NaN,
            go_left |= np.isnan(value) & np.take(self.missing_left, at)  # which goes the learned way
            at[...] = np.take(self._next, 2 * at + go_left)
        leaves = np.take(self.value, node[self._unorder])  # (trees, rows), in tree order again
        # The baseline, then tree by tree: an accumulation adds in exactly that order.
        raw = np.cumsum(np.vstack([np.full((1, len(x)), self.baseline), leaves]), axis=0)[-1]
        with np.errstate(over="ignore"):  # exp overflows to inf for very negative scores: p = 0
            positive = 1.0 / (1.0 + np.exp(-raw))
        return np.column_stack([1.0 - positive, positive])
