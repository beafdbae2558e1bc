"""kmeans_core.reference: the textbook implementation agrees with scikit-learn and the engine.

The reference is the second oracle of the engine tests, so it is itself checked against
scikit-learn first: same k-means++ rows for the same int seed, same Lloyd labels and iteration
count from the same initial centers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import ALGORITHMS, init_centers, make_dataset
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

from kmeans_core import KMeans, kmeans_plusplus, reference

RTOL = 1e-9
#: Data sets small enough for the pure-NumPy reference to be quick.
SMALL = [
    "blobs",
    "overlapping",
    "uniform",
    "student_t",
    "lognormal",
    "duplicates",
    "one_cluster",
    "k_equals_distinct",
    "d1",
    "d64",
    "tiny",
    "weighted",
]


def _sklearn_lloyd(X, init, weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km = SklearnKMeans(init.shape[0], init=init, n_init=1, algorithm="lloyd", **params)
        return km.fit(X, sample_weight=weight)


@pytest.mark.parametrize("name", SMALL)
def test_reference_lloyd_matches_sklearn(name):
    X, k, weight = make_dataset(name)
    init = init_centers(X, k, seed=4)
    centers, labels, inertia, n_iter = reference.lloyd(X, init, sample_weight=weight)
    expected = _sklearn_lloyd(X, init, weight)
    np.testing.assert_array_equal(labels, expected.labels_)
    assert n_iter == expected.n_iter_
    assert inertia == pytest.approx(expected.inertia_, rel=RTOL)
    np.testing.assert_allclose(
        centers, expected.cluster_centers_, rtol=RTOL, atol=RTOL * np.abs(X).max()
    )


@pytest.mark.parametrize(("max_iter", "tol"), [(1, 1e-4), (3, 1e-4), (300, 0.0), (300, 1e-2)])
def test_reference_lloyd_follows_max_iter_and_tol_like_sklearn(max_iter, tol):
    X, k, _ = make_dataset("overlapping")
    init = init_centers(X, k, seed=5)
    _, labels, inertia, n_iter = reference.lloyd(X, init, max_iter=max_iter, tol=tol)
    expected = _sklearn_lloyd(X, init, max_iter=max_iter, tol=tol)
    np.testing.assert_array_equal(labels, expected.labels_)
    assert n_iter == expected.n_iter_
    assert inertia == pytest.approx(expected.inertia_, rel=RTOL)


def test_reference_float32_stays_float32():
    X, k, _ = make_dataset("blobs", np.float32)
    init = init_centers(X, k)
    centers, labels, inertia, n_iter = reference.lloyd(X, init)
    expected = _sklearn_lloyd(X, init)
    assert centers.dtype == np.float32
    assert np.mean(labels == expected.labels_) >= 0.99
    assert inertia == pytest.approx(expected.inertia_, rel=1e-4)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("weighted", [False, True])
def test_reference_kmeans_plusplus_picks_sklearns_rows(seed, weighted):
    names = ["blobs", "overlapping", "student_t", "d64", "uniform", "lognormal"]
    X, k, _ = make_dataset(names[seed])
    weight = np.random.default_rng(seed).uniform(0.1, 3.0, X.shape[0]) if weighted else None
    centers, indices = reference.kmeans_plusplus(X, k, random_state=seed, sample_weight=weight)
    _, expected = sklearn_kmeans_plusplus(X, k, random_state=seed, sample_weight=weight)
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(centers, X[indices])


@pytest.mark.parametrize("n_local_trials", [1, 5])
def test_reference_kmeans_plusplus_n_local_trials(n_local_trials):
    X, k, _ = make_dataset("overlapping")
    _, indices = reference.kmeans_plusplus(X, k, random_state=3, n_local_trials=n_local_trials)
    _, expected = sklearn_kmeans_plusplus(X, k, random_state=3, n_local_trials=n_local_trials)
    np.testing.assert_array_equal(indices, expected)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("name", ["overlapping", "student_t", "duplicates", "weighted", "d64"])
def test_engine_agrees_with_reference(name, algorithm):
    X, k, weight = make_dataset(name)
    init = init_centers(X, k, seed=6)
    centers, labels, inertia, n_iter = reference.lloyd(X, init, sample_weight=weight)
    km = KMeans(k, init=init, algorithm=algorithm).fit(X, sample_weight=weight)
    np.testing.assert_array_equal(km.labels_, labels)
    assert km.n_iter_ == n_iter
    assert km.inertia_ == pytest.approx(inertia, rel=RTOL)
    np.testing.assert_allclose(km.cluster_centers_, centers, rtol=RTOL, atol=RTOL * np.abs(X).max())


@pytest.mark.parametrize("seed", range(4))
def test_engine_kmeans_plusplus_agrees_with_reference(seed):
    X, k, weight = make_dataset("weighted")
    _, expected = reference.kmeans_plusplus(X, k, random_state=seed, sample_weight=weight)
    _, indices = kmeans_plusplus(X, k, random_state=seed, sample_weight=weight)
    np.testing.assert_array_equal(indices, expected)


def test_reference_rejects_bad_input():
    X = np.zeros((10, 2))
    with pytest.raises(ValueError, match="features"):
        reference.lloyd(X, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="max_iter"):
        reference.lloyd(X, np.zeros((3, 2)), max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        reference.lloyd(X, np.zeros((3, 2)), tol=-1.0)
    with pytest.raises(ValueError, match="NaN"):
        reference.lloyd(np.full((10, 2), np.nan), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="larger than the number of samples"):
        reference.kmeans_plusplus(X, 11)


def test_reference_uses_only_numpy():
    """The reference is for reading: it must not lean on the engine's kernels or on numba."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(reference))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= {"__future__", "numpy", "kmeans_core._validation"}
