"""Cluster-quality metrics: the same numbers as scikit-learn, its edge rules, and its errors.

Silhouette, Calinski-Harabasz and Davies-Bouldin are compared with ``sklearn.metrics`` to 1e-10
on float64 data. One exception is explained where it is tested: with duplicate points,
scikit-learn's distances (``sqrt(|x|^2 + |y|^2 - 2 x.y)``) are off by up to ~1e-8, so there we
compare with an exact brute-force silhouette and with scikit-learn only to 1e-8.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.cluster import KMeans as SkKMeans

import kmeans_core.metrics as metrics_module
from kmeans_core.metrics import (
    ClusterScores,
    calinski_harabasz_score,
    cluster_scores,
    davies_bouldin_score,
    inertia,
    silhouette_samples,
    silhouette_score,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def _blobs(rng, n, d, k, spread):
    centers = rng.uniform(-10, 10, size=(k, d))
    labels = rng.integers(0, k, n)
    return centers[labels] + rng.normal(scale=spread, size=(n, d)), labels


def _make(name):
    """``(X, labels)`` for a named data set; labels are a plausible clustering of X."""
    rng = np.random.default_rng(sum(map(ord, name)))
    if name == "blobs":
        return _blobs(rng, 600, 3, 4, 1.0)
    if name == "blobs_k2":
        return _blobs(rng, 500, 5, 2, 3.0)
    if name == "uniform":
        X = rng.uniform(size=(500, 2))
        return X, rng.integers(0, 7, 500)
    if name == "anisotropic":
        X, labels = _blobs(rng, 700, 2, 3, 1.0)
        return X @ np.array([[0.6, -0.64], [-0.41, 0.85]]), labels
    if name == "far_from_origin":
        X, labels = _blobs(rng, 400, 4, 5, 2.0)
        return X + 1e3, labels
    if name == "one_feature":
        return _blobs(rng, 400, 1, 3, 2.0)
    if name == "many_features":
        return _blobs(rng, 300, 37, 6, 4.0)
    if name == "many_clusters":
        X, _ = _blobs(rng, 800, 2, 10, 2.0)
        return X, rng.integers(0, 60, 800)
    if name == "large":
        # Clusters of > 2 * 1024 points, so the kernel cuts them into pieces and parts.
        return _blobs(rng, 7000, 6, 3, 3.0)
    raise KeyError(name)


PARITY_SETS = [
    "blobs",
    "blobs_k2",
    "uniform",
    "anisotropic",
    "far_from_origin",
    "one_feature",
    "many_features",
    "many_clusters",
    "large",
]


def brute_force_silhouette(X, labels):
    """Textbook silhouette from the full, exactly computed distance matrix."""
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=-1))
    classes = np.unique(labels)
    out = np.zeros(len(X))
    for i in range(len(X)):
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = D[i, own].sum() / (own.sum() - 1)
        b = min(D[i, labels == c].mean() for c in classes if c != labels[i])
        out[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return out


# ------------------------------------------------------------------------------------------
# Parity with scikit-learn
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PARITY_SETS)
def test_silhouette_samples_match_sklearn(name):
    X, labels = _make(name)
    ours = silhouette_samples(X, labels)
    assert ours.shape == (X.shape[0],) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, skm.silhouette_samples(X, labels), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", PARITY_SETS)
def test_silhouette_score_matches_sklearn(name):
    X, labels = _make(name)
    assert silhouette_score(X, labels) == pytest.approx(
        skm.silhouette_score(X, labels), rel=0, abs=1e-10
    )


@pytest.mark.parametrize("name", PARITY_SETS)
def test_calinski_harabasz_matches_sklearn(name):
    X, labels = _make(name)
    assert calinski_harabasz_score(X, labels) == pytest.approx(
        skm.calinski_harabasz_score(X, labels), rel=1e-10
    )


@pytest.mark.parametrize("name", PARITY_SETS)
def test_davies_bouldin_matches_sklearn(name):
    X, labels = _make(name)
    assert davies_bouldin_score(X, labels) == pytest.approx(
        skm.davies_bouldin_score(X, labels), rel=1e-10
    )


def test_silhouette_is_exact_on_a_small_case_against_brute_force():
    X, labels = _make("anisotropic")
    X, labels = X[:150], labels[:150]
    np.testing.assert_allclose(
        silhouette_samples(X, labels), brute_force_silhouette(X, labels), rtol=0, atol=1e-13
    )


def test_duplicate_points_exact_and_close_to_sklearn():
    rng = np.random.default_rng(5)
    distinct = rng.normal(size=(40, 2))
    which = rng.integers(0, 40, 900)
    X = distinct[which]
    labels = which % 4
    ours = silhouette_samples(X, labels)
    # Exact: a duplicate is at distance 0, which the direct difference gets right.
    np.testing.assert_allclose(ours, brute_force_silhouette(X, labels), rtol=0, atol=1e-12)
    # scikit-learn's expanded formula leaves ~1e-8 where the true distance is 0.
    np.testing.assert_allclose(ours, skm.silhouette_samples(X, labels), rtol=0, atol=1e-8)
    assert calinski_harabasz_score(X, labels) == pytest.approx(
        skm.calinski_harabasz_score(X, labels), rel=1e-10
    )
    assert davies_bouldin_score(X, labels) == pytest.approx(
        skm.davies_bouldin_score(X, labels), rel=1e-10
    )


def test_real_data_a1_ground_truth_partition():
    points = DATA_DIR / "franti" / "a1.txt"
    partition = DATA_DIR / "franti" / "labels" / "a1-ga.txt"
    if not (points.exists() and partition.exists()):
        pytest.fail(f"real data not found under {DATA_DIR} (franti/a1.txt, labels/a1-ga.txt)")
    X = np.loadtxt(points)
    labels = np.loadtxt(partition, skiprows=4, dtype=np.int64)
    assert X.shape == (3000, 2) and labels.shape == (3000,)
    np.testing.assert_allclose(
        silhouette_samples(X, labels), skm.silhouette_samples(X, labels), rtol=0, atol=1e-10
    )
    assert calinski_harabasz_score(X, labels) == pytest.approx(
        skm.calinski_harabasz_score(X, labels), rel=1e-10
    )
    assert davies_bouldin_score(X, labels) == pytest.approx(
        skm.davies_bouldin_score(X, labels), rel=1e-10
    )


# ------------------------------------------------------------------------------------------
# Edge rules
# ------------------------------------------------------------------------------------------


def test_singletons_have_silhouette_zero():
    X, labels = _make("blobs")
    labels = labels.copy()
    labels[[0, 17]] = [100, 101]  # two points alone in their cluster
    ours = silhouette_samples(X, labels)
    assert ours[0] == 0.0 and ours[17] == 0.0
    np.testing.assert_allclose(ours, skm.silhouette_samples(X, labels), rtol=0, atol=1e-10)


def test_clusters_of_identical_points():
    # Every cluster is one point repeated: a = 0 everywhere, so s = 1; CH divides by a zero
    # within-cluster dispersion (sklearn returns 1.0) and DB has zero spreads (sklearn: 0.0).
    X = np.repeat(np.array([[0.0, 0.0], [3.0, 4.0], [-1.0, 2.0]]), 5, axis=0)
    labels = np.repeat([0, 1, 2], 5)
    np.testing.assert_array_equal(silhouette_samples(X, labels), skm.silhouette_samples(X, labels))
    assert calinski_harabasz_score(X, labels) == skm.calinski_harabasz_score(X, labels) == 1.0
    assert davies_bouldin_score(X, labels) == skm.davies_bouldin_score(X, labels) == 0.0


def test_labels_are_encoded_like_sklearn():
    X, labels = _make("blobs")
    expected = silhouette_samples(X, labels)
    names = np.array(["delta", "alpha", "charlie", "bravo"])[labels]
    np.testing.assert_array_equal(silhouette_samples(X, names), expected)
    np.testing.assert_array_equal(silhouette_samples(X, labels * 7 - 30), expected)
    np.testing.assert_array_equal(silhouette_samples(X, list(labels)), expected)
    # The names sort in another order than the integers, so clusters are added in another order.
    assert calinski_harabasz_score(X, names) == pytest.approx(
        calinski_harabasz_score(X, labels), rel=1e-13
    )
    assert davies_bouldin_score(X, labels.astype(np.uint8)) == davies_bouldin_score(X, labels)


def test_float32_data_scored_in_float64():
    X, labels = _make("blobs")
    X32 = X.astype(np.float32)
    widened = X32.astype(np.float64)
    np.testing.assert_array_equal(
        silhouette_samples(X32, labels), silhouette_samples(widened, labels)
    )
    assert calinski_harabasz_score(X32, labels) == calinski_harabasz_score(widened, labels)
    np.testing.assert_allclose(
        silhouette_samples(X32, labels), skm.silhouette_samples(X32, labels), atol=1e-6
    )


# ------------------------------------------------------------------------------------------
# Sampling
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 7, 12345])
@pytest.mark.parametrize("sample_size", [50, 333])
def test_sampled_silhouette_draws_like_sklearn(seed, sample_size):
    X, labels = _make("large")
    ours = silhouette_score(X, labels, sample_size=sample_size, random_state=seed)
    theirs = skm.silhouette_score(X, labels, sample_size=sample_size, random_state=seed)
    assert ours == pytest.approx(theirs, rel=0, abs=1e-10)
    # Reproducible, and different from the full score (it really is a sample).
    assert ours == silhouette_score(X, labels, sample_size=sample_size, random_state=seed)
    assert ours != silhouette_score(X, labels)


def test_sampled_silhouette_with_a_randomstate_instance():
    X, labels = _make("blobs")
    ours = silhouette_score(X, labels, sample_size=200, random_state=np.random.RandomState(3))
    theirs = skm.silhouette_score(X, labels, sample_size=200, random_state=np.random.RandomState(3))
    assert ours == pytest.approx(theirs, rel=0, abs=1e-10)


def test_sample_size_larger_than_data_uses_every_point():
    X, labels = _make("blobs")
    assert silhouette_score(X, labels, sample_size=10_000, random_state=0) == pytest.approx(
        silhouette_score(X, labels), abs=1e-12
    )


# ------------------------------------------------------------------------------------------
# Inertia
# ------------------------------------------------------------------------------------------


def test_inertia_weighted_matches_a_direct_sum():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5000, 4))
    centers = rng.normal(size=(6, 4))
    labels = rng.integers(0, 6, 5000)
    weight = rng.uniform(0.1, 3.0, 5000)
    direct = np.sum(weight * np.sum((X - centers[labels]) ** 2, axis=1))
    assert inertia(X, labels, centers, sample_weight=weight) == pytest.approx(direct, rel=1e-12)
    unweighted = np.sum((X - centers[labels]) ** 2)
    assert inertia(X, labels, centers) == pytest.approx(unweighted, rel=1e-12)


def test_inertia_matches_sklearn_kmeans():
    X, _ = _make("blobs")
    weight = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    km = SkKMeans(n_clusters=4, n_init=1, random_state=0).fit(X, sample_weight=weight)
    ours = inertia(X, km.labels_, km.cluster_centers_, sample_weight=weight)
    assert ours == pytest.approx(km.inertia_, rel=1e-10)


def test_inertia_bad_input():
    X = np.zeros((5, 2))
    centers = np.zeros((2, 2))
    with pytest.raises(ValueError, match="features"):
        inertia(X, [0, 1, 0, 1, 0], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="0..1"):
        inertia(X, [0, 1, 2, 1, 0], centers)
    with pytest.raises(ValueError, match="0..1"):
        inertia(X, [0, -1, 0, 1, 0], centers)
    with pytest.raises(ValueError, match="integer"):
        inertia(X, ["a", "b", "a", "b", "a"], centers)
    with pytest.raises(ValueError, match="shape"):
        inertia(X, [0, 1], centers)
    with pytest.raises(ValueError, match="sample_weight"):
        inertia(X, [0, 1, 0, 1, 0], centers, sample_weight=[1.0, 2.0])


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------

SCORES = [
    silhouette_samples,
    silhouette_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    cluster_scores,
]


@pytest.mark.parametrize("score", SCORES)
def test_one_label_is_an_error(score):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=r"Number of labels is 1\. Valid values are 2 to"):
        score(X, np.zeros(10, dtype=int))


@pytest.mark.parametrize("score", SCORES)
def test_one_label_per_point_is_an_error(score):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=r"Number of labels is 10\. Valid values are 2 to"):
        score(X, np.arange(10))


@pytest.mark.parametrize("score", SCORES)
def test_labels_of_the_wrong_length_are_an_error(score):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=r"labels must have shape \(10,\)"):
        score(X, np.arange(9) % 3)


@pytest.mark.parametrize("score", SCORES)
def test_bad_data_is_an_error(score):
    X = np.random.default_rng(0).normal(size=(10, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        score(X, np.arange(10) % 3)
    with pytest.raises(ValueError, match="2-D"):
        score(np.arange(10.0), np.arange(10) % 3)


@pytest.mark.parametrize("score", [silhouette_score, cluster_scores])
def test_bad_sample_size(score):
    X, labels = _make("blobs")
    with pytest.raises(ValueError, match="sample_size must be at least 1, got 0"):
        score(X, labels, sample_size=0)
    with pytest.raises(TypeError, match="sample_size must be an int, got 0.5"):
        score(X, labels, sample_size=0.5)
    with pytest.raises(TypeError, match="random_state must be None, an int"):
        score(X, labels, sample_size=10, random_state="seed")


# ------------------------------------------------------------------------------------------
# cluster_scores: the three scores in one call, bit for bit the three functions' values
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sample_size", "dtype", "as_text"),
    [
        ("blobs", None, np.float64, False),
        ("many_clusters", None, np.float64, False),
        ("uniform", None, np.float32, True),
        ("large", 900, np.float64, False),
        ("many_clusters", 40, np.float64, True),  # the sample misses some of the 60 clusters
        ("far_from_origin", 100, np.float32, False),
    ],
)
def test_cluster_scores_are_the_three_scores_bit_for_bit(name, sample_size, dtype, as_text):
    X, labels = _make(name)
    X = X.astype(dtype)
    if as_text:
        labels = np.array([f"segment {q}" for q in labels])
    scores = cluster_scores(X, labels, sample_size=sample_size, random_state=7)
    assert isinstance(scores, ClusterScores)
    expected = (
        silhouette_score(X, labels, sample_size=sample_size, random_state=7),
        calinski_harabasz_score(X, labels),
        davies_bouldin_score(X, labels),
    )
    assert tuple(scores) == expected
    assert scores.silhouette == expected[0] and scores.davies_bouldin == expected[2]


def test_cluster_scores_sample_with_one_cluster_is_an_error_as_in_silhouette_score():
    X = np.random.default_rng(0).normal(size=(200, 2))
    labels = np.r_[np.zeros(199, dtype=int), 1]
    for score in (silhouette_score, cluster_scores):
        with pytest.raises(ValueError, match=r"Number of labels is 1\. Valid values are 2 to"):
            score(X, labels, sample_size=5, random_state=0)


def test_mixed_label_types_are_an_error():
    X = np.random.default_rng(0).normal(size=(4, 2))
    with pytest.raises(ValueError, match="one type of label"):
        calinski_harabasz_score(X, np.array([1, "a", 1, "a"], dtype=object))


# ------------------------------------------------------------------------------------------
# Determinism and invariants
# ------------------------------------------------------------------------------------------


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba runs on a single thread")
@pytest.mark.parametrize("name", ["large", "many_clusters"])
def test_same_bits_whatever_the_threads(monkeypatch, name):
    # The moments and distances run on the engine's threads (``_parallel``), the silhouette on
    # numba's: both counts change together, odd ones split the row blocks unevenly.
    from kmeans_core import _parallel

    X, labels = _make(name)
    centers = X[: labels.max() + 1]
    before = numba.get_num_threads()
    asked = []  # the thread counts the code asked for: proof that the patch reached it
    results = []
    try:
        for n_threads in (1, 2, 3, 7):
            numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
            monkeypatch.setattr(
                _parallel, "threads_for", lambda work, n=n_threads: asked.append(n) or n
            )
            results.append(
                (
                    silhouette_samples(X, labels),
                    calinski_harabasz_score(X, labels),
                    davies_bouldin_score(X, labels),
                    inertia(X, labels, centers),
                )
            )
    finally:
        numba.set_num_threads(before)
    if name == "large":  # the other is small enough for NumPy (``_small``): no threads there
        assert set(asked) == {1, 2, 3, 7}
    one = results[0]
    for other in results[1:]:
        np.testing.assert_array_equal(one[0], other[0])
        assert one[1:] == other[1:]


@pytest.mark.parametrize("name", ["blobs", "many_clusters", "large"])
def test_block_and_single_call_kernels_agree(monkeypatch, name):
    # Few clusters go through the pairwise blocks, many through one call; force each in turn.
    X, labels = _make(name)
    monkeypatch.setattr(metrics_module, "SIL_BLOCK_MAX_CLUSTERS", 10**9)
    blocks = silhouette_samples(X, labels)
    monkeypatch.setattr(metrics_module, "SIL_BLOCK_MAX_CLUSTERS", 0)
    monkeypatch.setattr(metrics_module, "SIL_BLOCK_POINTS_PER_CLUSTER", 10**9)
    single = silhouette_samples(X, labels)
    np.testing.assert_allclose(blocks, single, rtol=0, atol=1e-13)


small_problems = st.tuples(
    st.integers(min_value=4, max_value=60),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=2, max_value=6),
    st.integers(min_value=0, max_value=2**31 - 1),
)


def _random_problem(n, d, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0)
    labels = rng.integers(0, k, n)
    labels[:2] = [0, 1]  # at least two clusters
    labels[2] = 0  # ... and fewer clusters than points
    return X, labels


@settings(max_examples=40, deadline=None)
@given(small_problems)
def test_silhouette_is_between_minus_one_and_one(problem):
    X, labels = _random_problem(*problem)
    s = silhouette_samples(X, labels)
    assert np.all(s >= -1.0) and np.all(s <= 1.0)
    np.testing.assert_allclose(s, skm.silhouette_samples(X, labels), rtol=0, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(small_problems, st.randoms(use_true_random=False))
def test_scores_do_not_depend_on_label_names(problem, random):
    X, labels = _random_problem(*problem)
    names = np.unique(labels)
    shuffled = list(names)
    random.shuffle(shuffled)
    relabelled = np.asarray(shuffled)[np.searchsorted(names, labels)]
    assert calinski_harabasz_score(X, relabelled) == pytest.approx(
        calinski_harabasz_score(X, labels), rel=1e-12
    )
    assert davies_bouldin_score(X, relabelled) == pytest.approx(
        davies_bouldin_score(X, labels), rel=1e-12
    )
    np.testing.assert_allclose(
        silhouette_samples(X, relabelled), silhouette_samples(X, labels), rtol=0, atol=1e-14
    )
