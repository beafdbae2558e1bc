"""Initial centers: greedy k-means++ and random init draw what scikit-learn draws."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATASETS, make_dataset
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

from kmeans_core import KMeans, kmeans_plusplus


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", DATASETS)
def test_kmeans_plusplus_picks_sklearns_rows(name, seed):
    X, k, weight = make_dataset(name)
    centers, indices = kmeans_plusplus(X, k, random_state=seed, sample_weight=weight)
    expected_centers, expected = sklearn_kmeans_plusplus(
        X, k, random_state=seed, sample_weight=weight
    )
    np.testing.assert_array_equal(centers, X[indices])
    if name == "k_equals_distinct":
        # Two mutually nearest points p, q give the candidates p and q exactly the same
        # potential (each removes its own D^2 and lowers the other's to |p - q|^2), so the order
        # in which they are picked is decided by rounding. What must hold: every distinct point
        # is picked once.
        np.testing.assert_array_equal(np.unique(centers, axis=0), np.unique(X, axis=0))
        return
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(centers, expected_centers)


@pytest.mark.parametrize("n_local_trials", [1, 2, 10])
def test_kmeans_plusplus_n_local_trials(n_local_trials):
    X, k, _ = make_dataset("overlapping")
    _, indices = kmeans_plusplus(X, k, random_state=4, n_local_trials=n_local_trials)
    _, expected = sklearn_kmeans_plusplus(X, k, random_state=4, n_local_trials=n_local_trials)
    np.testing.assert_array_equal(indices, expected)


def test_kmeans_plusplus_accepts_a_random_state_object():
    X, k, _ = make_dataset("blobs")
    _, indices = kmeans_plusplus(X, k, random_state=np.random.RandomState(12))
    _, expected = sklearn_kmeans_plusplus(X, k, random_state=np.random.RandomState(12))
    np.testing.assert_array_equal(indices, expected)
    _, from_generator = kmeans_plusplus(X, k, random_state=np.random.default_rng(12))
    _, again = kmeans_plusplus(X, k, random_state=np.random.default_rng(12))
    np.testing.assert_array_equal(from_generator, again)


def test_kmeans_plusplus_float32_mostly_picks_sklearns_rows():
    """float32 distances round differently, so a draw may land in a neighbouring slice."""
    X, k, _ = make_dataset("overlapping", np.float32)
    centers, indices = kmeans_plusplus(X, k, random_state=0)
    _, expected = sklearn_kmeans_plusplus(X, k, random_state=0)
    assert centers.dtype == np.float32
    assert np.mean(indices == expected) >= 0.8


def test_kmeans_plusplus_never_picks_zero_weight_rows():
    X, k, _ = make_dataset("blobs")
    weight = np.zeros(X.shape[0])
    weight[::3] = 1.0
    for seed in range(5):
        _, indices = kmeans_plusplus(X, k, sample_weight=weight, random_state=seed)
        assert (indices % 3 == 0).all()


def test_kmeans_plusplus_picks_distinct_points_when_there_are_enough():
    X, k, _ = make_dataset("k_equals_distinct")
    centers, _ = kmeans_plusplus(X, k, random_state=0)
    assert np.unique(centers, axis=0).shape[0] == k


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("seed", [0, 5])
def test_one_iteration_starts_from_sklearns_initial_centers(init, seed):
    """With max_iter=1 the result is one step from the initial centers, so equal results mean
    equal initial centers (this includes the centering of X that scikit-learn does first)."""
    X, k, weight = make_dataset("weighted")
    params = {"n_clusters": k, "init": init, "n_init": 1, "max_iter": 1, "random_state": seed}
    with pytest.warns(UserWarning, match="max_iter"):
        ours = KMeans(**params).fit(X, sample_weight=weight)
    expected = SklearnKMeans(**params).fit(X, sample_weight=weight)
    np.testing.assert_array_equal(ours.labels_, expected.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, expected.cluster_centers_, rtol=1e-9)


def test_an_init_array_is_used_as_given():
    X, k, _ = make_dataset("blobs")
    init = X[:k] + 0.25
    with pytest.warns(UserWarning, match="max_iter"):
        km = KMeans(k, init=init, max_iter=1).fit(X)
    distances = ((X[:, None, :] - init[None, :, :]) ** 2).sum(axis=2)
    first_labels = distances.argmin(axis=1)
    expected = np.array([X[first_labels == j].mean(axis=0) for j in range(k)])
    np.testing.assert_allclose(km.cluster_centers_, expected, rtol=1e-12, atol=1e-12)


def test_n_init_auto_is_one_for_kmeans_plusplus_and_an_array():
    X, k, _ = make_dataset("blobs")
    # One run of k-means++ with seed s is exactly what sklearn's n_init=1 gives.
    auto = KMeans(k, random_state=3).fit(X)
    one = KMeans(k, n_init=1, random_state=3).fit(X)
    np.testing.assert_array_equal(auto.labels_, one.labels_)
    assert auto.inertia_ == one.inertia_


def test_an_init_array_with_n_init_above_one_runs_once_with_a_warning():
    X, k, _ = make_dataset("blobs")
    init = X[:k]
    with pytest.warns(RuntimeWarning, match="n_init"):
        km = KMeans(k, init=init, n_init=3).fit(X)
    expected = KMeans(k, init=init).fit(X)
    np.testing.assert_array_equal(km.labels_, expected.labels_)
