"""Tests of agent.learning.forest: the reranker's trees as arrays reproduce scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from agent.learning.forest import Forest
from agent.learning.learn import new_reranker


def test_same_probabilities_as_scikit_learn_on_real_features(learned):
    x, y = learned.training.x, learned.training.y
    model = new_reranker().fit(x, y)
    forest = Forest.from_sklearn(model)
    np.testing.assert_allclose(forest.predict_proba(x), model.predict_proba(x), rtol=0, atol=1e-9)
    holes = x.copy()
    holes[::3, ::2] = np.nan  # missing values go the way each split learned
    np.testing.assert_allclose(forest.predict_proba(holes), model.predict_proba(holes), rtol=0, atol=1e-9)


def test_same_probabilities_as_scikit_learn_on_deep_trees_with_missing_values():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2000, 8))
    x[rng.random(x.shape) < 0.1] = np.nan  # trained with NaN: splits send it left or right
    signal = np.nan_to_num(x[:, 0]) * np.nan_to_num(x[:, 1]) + np.sin(3 * np.nan_to_num(x[:, 2]))
    y = (signal + rng.normal(scale=0.3, size=len(x)) > 0).astype(int)
    model = new_reranker().fit(x, y)
    forest = Forest.from_sklearn(model)
    assert len(forest.roots) == model.n_iter_ > 50 and (~forest.leaf).sum() > 1000
    assert forest.missing_left.any() and (~forest.missing_left[~forest.leaf]).any()
    fresh = rng.normal(size=(1000, 8))
    fresh[rng.random(fresh.shape) < 0.1] = np.nan
    fresh[:5] = [np.inf, -np.inf, 1e300, -1e300, 0.0, np.nan, 2.0, -2.0]
    for rows in (x, fresh):
        np.testing.assert_allclose(forest.predict_proba(rows), model.predict_proba(rows), rtol=0, atol=1e-9)


def test_arrays_round_trip():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3))
    forest = Forest.from_sklearn(new_reranker().fit(x, (x[:, 0] > 0).astype(int)))
    again = Forest.from_arrays(forest.arrays())
    assert np.array_equal(again.predict_proba(x), forest.predict_proba(x))
    with pytest.raises(ValueError, match="expected rows of 3 features"):
        forest.predict_proba(x[:, :2])


def _damaged(change):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 3))
    arrays = dict(Forest.from_sklearn(new_reranker().fit(x, (x[:, 0] > 0).astype(int))).arrays())
    arrays = {k: np.array(v) for k, v in arrays.items()}
    change(arrays)
    return arrays


def _first_split(arrays):
    return int(np.flatnonzero(~arrays["leaf"])[0])


def _loop(a):
    a["left"][_first_split(a)] = _first_split(a)  # a node that is its own child: a walk never ends


def _out_of_range(a):
    a["right"][_first_split(a)] = len(a["leaf"]) + 5


def _bad_feature(a):
    a["feature"][_first_split(a)] = 3


def _nan_threshold(a):
    a["threshold"][_first_split(a)] = np.nan


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("value"), "lacks value"),
        (lambda a: a.update(threshold=a["threshold"].astype(str)), "wrong type"),
        (lambda a: a.update(left=a["left"][:-1]), "differ in length"),
        (lambda a: a.update(baseline=np.array([0.1, 0.2])), "not one number"),
        (lambda a: a.update(roots=np.array([], dtype=np.int64)), "no trees"),
        (_loop, "not well formed"),
        (_out_of_range, "not well formed"),
        (_bad_feature, "feature it does not have"),
        (_nan_threshold, "not a number"),
    ],
)
def test_damaged_arrays_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        Forest.from_arrays(_damaged(change))


def test_only_binary_numeric_models():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 2))
    with pytest.raises(ValueError, match="binary"):
        Forest.from_sklearn(new_reranker().fit(x, rng.integers(0, 3, size=300)))
