"""Quality: the Centroid Index and ``KMeans(refine="swap")``.

The swap search must return a Lloyd fixed point no worse than the plain fit from the same seed,
the same bits for any thread count, and find every cluster of the Fränti & Sieranoja benchmark
sets (``data/franti``, with their ground-truth centroids) where a single k-means++ start does
not. The full 30 seeds per set run in ``python -m benchmarks.compare quality``; here a few.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmeans_core import KMeans
from kmeans_core.metrics import centroid_index

FRANTI = Path(__file__).resolve().parents[1] / "data" / "franti"
SETS = ("s1", "s2", "s3", "s4", "a1", "a2", "a3", "unbalance", "dim032")


def load_franti(name):
    """``(X, ground_truth_centers)`` of one Fränti set."""
    return np.loadtxt(FRANTI / f"{name}.txt"), np.loadtxt(FRANTI / f"{name}_gt.txt")


def assert_lloyd_fixed_point(X, km, sample_weight=None):
    """Every label is the nearest center and every center the weighted mean of its points."""
    w = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    centers = km.cluster_centers_
    squared = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    own = squared[np.arange(X.shape[0]), km.labels_]
    # Nearest up to the rounding of the distances (ties may go either way).
    assert np.all(own <= squared.min(axis=1) * (1 + 1e-9) + 1e-12)
    for j in range(km.n_clusters):
        members = km.labels_ == j
        assert members.any()
        mean = np.average(X[members], axis=0, weights=w[members])
        np.testing.assert_allclose(centers[j], mean, rtol=1e-9, atol=1e-9 * np.abs(X).max())


# ---------------------------------------------------------------------- centroid_index


def test_centroid_index_is_zero_for_the_same_centers_in_any_order():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(12, 3))
    assert centroid_index(centers, centers) == 0
    assert centroid_index(centers, centers[rng.permutation(12)]) == 0
    assert centroid_index(centers, centers + 1e-3) == 0


def test_centroid_index_counts_one_for_two_centers_in_one_cluster():
    truth = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    # Two centers share the first cluster; one center sits between the two top clusters.
    found = np.array([[-0.5, 0.0], [0.5, 0.0], [10.0, 0.0], [5.0, 10.0]])
    assert centroid_index(found, truth) == 1
    assert centroid_index(truth, found) == 1


def test_centroid_index_counts_the_orphans_of_the_worse_direction():
    truth = np.array([[0.0], [10.0], [20.0], [30.0], [40.0]])
    # Three centers crowd the first cluster: the clusters at 30 and 40 get no center of their own.
    found = np.array([[-1.0], [0.0], [1.0], [15.0], [35.0]])
    # found -> truth: -1, 0, 1 -> 0; 15 -> 10 (ties go to the first); 35 -> 30: orphans 20, 40.
    # truth -> found: 0 -> 0; 10 -> 15; 20 -> 15; 30 -> 35; 40 -> 35: orphans -1, 1.
    assert centroid_index(found, truth) == 2
    # Different numbers of centers: the larger side's orphans count.
    assert centroid_index(truth[:2], truth) == 3


def test_centroid_index_checks_its_inputs():
    with pytest.raises(ValueError, match="centers_a have 2 features but centers_b have 3"):
        centroid_index(np.zeros((2, 2)), np.zeros((2, 3)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
)
def test_centroid_index_is_symmetric_and_bounded(n_a, n_b, n_features, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n_a, n_features))
    b = rng.normal(size=(n_b, n_features))
    ci = centroid_index(a, b)
    assert ci == centroid_index(b, a)
    assert 0 <= ci <= max(n_a, n_b) - 1
    assert ci >= abs(n_a - n_b)  # the larger set always leaves that many unmatched
    assert centroid_index(a, a[rng.permutation(n_a)]) == 0


# ----------------------------------------------------------------------- refine="swap"


@pytest.fixture(scope="module")
def s4():
    return load_franti("s4")


def test_swap_returns_a_lloyd_fixed_point_no_worse_than_the_plain_fit(s4):
    X, truth = s4
    for seed in (6, 13):  # a single k-means++ start misses a cluster of S4 from these seeds
        plain = KMeans(15, random_state=seed).fit(X)
        refined = KMeans(15, random_state=seed, refine="swap").fit(X)
        assert centroid_index(plain.cluster_centers_, truth) == 1
        assert centroid_index(refined.cluster_centers_, truth) == 0
        assert refined.inertia_ < plain.inertia_
        assert 1 <= refined.n_swaps_kept_ <= refined.n_swaps_tried_
        assert plain.n_swaps_tried_ == plain.n_swaps_kept_ == 0
        assert_lloyd_fixed_point(X, refined)
        np.testing.assert_allclose(
            refined.inertia_, ((X - refined.cluster_centers_[refined.labels_]) ** 2).sum()
        )


def test_swap_is_the_same_bits_for_any_thread_count(s4):
    X, _ = s4
    X = np.vstack([X] * 40)  # 200k points: enough work for the fit to use several threads
    fits = [
        KMeans(15, random_state=0, refine="swap", n_threads=n, max_swaps=20).fit(X) for n in (1, 3)
    ]
    assert fits[0].n_swaps_kept_ >= 1
    for fit in fits[1:]:
        assert fit.inertia_ == fits[0].inertia_
        np.testing.assert_array_equal(fit.labels_, fits[0].labels_)
        np.testing.assert_array_equal(fit.cluster_centers_, fits[0].cluster_centers_)
        assert (fit.n_swaps_tried_, fit.n_swaps_kept_) == (
            fits[0].n_swaps_tried_,
            fits[0].n_swaps_kept_,
        )


def test_swap_is_deterministic_for_a_seed_and_varies_with_it(s4):
    X, _ = s4
    first = KMeans(15, random_state=13, refine="swap").fit(X)
    again = KMeans(15, random_state=13, refine="swap").fit(X)
    np.testing.assert_array_equal(first.cluster_centers_, again.cluster_centers_)
    assert first.n_swaps_tried_ == again.n_swaps_tried_


def test_max_swaps_caps_the_search_and_zero_only_settles_the_fit(s4):
    X, _ = s4
    capped = KMeans(15, random_state=6, refine="swap", max_swaps=3).fit(X)
    assert capped.n_swaps_tried_ == 3
    settled = KMeans(15, random_state=6, refine="swap", max_swaps=0).fit(X)
    plain = KMeans(15, random_state=6, tol=0).fit(X)
    assert settled.n_swaps_tried_ == 0
    np.testing.assert_array_equal(settled.labels_, plain.labels_)
    assert_lloyd_fixed_point(X, settled)


def test_the_search_stops_after_two_swaps_per_cluster_without_a_kept_one():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    km = KMeans(5, random_state=0, refine="swap").fit(X)
    assert km.n_swaps_tried_ >= 2 * 5  # the last kept swap, then a full patience
    assert km.n_swaps_tried_ < 50 * 5  # stopped by the patience, not by the default cap


def test_refine_none_leaves_the_fit_as_it_was(s4):
    X, _ = s4
    default = KMeans(15, random_state=3).fit(X)
    explicit = KMeans(15, random_state=3, refine=None, max_swaps=5).fit(X)
    assert explicit.inertia_ == default.inertia_
    np.testing.assert_array_equal(explicit.labels_, default.labels_)


def test_refine_none_is_scikit_learn_on_a_franti_set(s4):
    from sklearn.cluster import KMeans as SkKMeans

    X, _ = s4
    ours = KMeans(15, random_state=6).fit(X)
    theirs = SkKMeans(15, random_state=6, n_init=1).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=1e-12)


@pytest.mark.parametrize("algorithm", ["hamerly", "elkan", "exponion", "yinyang"])
def test_swap_gives_the_same_answer_with_every_algorithm(algorithm):
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(c, 0.4, size=(150, 3)) for c in rng.uniform(-6, 6, size=(12, 3))])
    lloyd = KMeans(12, random_state=5, refine="swap", algorithm="lloyd").fit(X)
    other = KMeans(12, random_state=5, refine="swap", algorithm=algorithm).fit(X)
    np.testing.assert_array_equal(other.labels_, lloyd.labels_)
    np.testing.assert_allclose(other.cluster_centers_, lloyd.cluster_centers_, rtol=1e-12)
    assert (other.n_swaps_tried_, other.n_swaps_kept_) == (
        lloyd.n_swaps_tried_,
        lloyd.n_swaps_kept_,
    )


def test_swap_refines_the_best_of_several_starts_and_an_init_array(s4):
    X, truth = s4
    several = KMeans(15, n_init=3, random_state=6, refine="swap").fit(X)
    assert centroid_index(several.cluster_centers_, truth) == 0
    assert several.inertia_ <= KMeans(15, n_init=3, random_state=6).fit(X).inertia_
    start = X[:15].copy()  # a poor start: the first 15 points
    from_array = KMeans(15, init=start, random_state=0, refine="swap").fit(X)
    assert centroid_index(from_array.cluster_centers_, truth) == 0
    assert_lloyd_fixed_point(X, from_array)


def test_swap_with_weights_float32_and_one_cluster():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(c, 0.3, size=(200, 2)) for c in ((0, 0), (5, 0), (0, 5), (5, 5))])
    weight = rng.uniform(0.5, 2.0, size=X.shape[0])
    km = KMeans(4, random_state=2, refine="swap").fit(X, sample_weight=weight)
    assert_lloyd_fixed_point(X, km, weight)
    km32 = KMeans(4, random_state=2, refine="swap").fit(X.astype(np.float32))
    assert km32.cluster_centers_.dtype == np.float32
    one = KMeans(1, random_state=0, refine="swap").fit(X)
    np.testing.assert_allclose(one.cluster_centers_[0], X.mean(axis=0))
    assert one.n_swaps_tried_ == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"refine": "random"}, "Unknown refine 'random'; choose None or 'swap'"),
        ({"refine": "swap", "max_swaps": -1}, "max_swaps must be at least 0, got -1"),
        ({"refine": "swap", "max_swaps": 2.5}, "max_swaps must be an int or None, got 2.5"),
    ],
)
def test_refine_parameters_are_checked(params, message):
    with pytest.raises(ValueError, match=message):
        KMeans(3, **params).fit(np.arange(20.0).reshape(10, 2))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 9), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_swap_never_does_worse_than_the_plain_fit(n_clusters, n_features, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, n_features)) * rng.uniform(0.1, 10, size=n_features)
    plain = KMeans(n_clusters, random_state=seed).fit(X)
    refined = KMeans(n_clusters, random_state=seed, refine="swap").fit(X)
    assert refined.inertia_ <= plain.inertia_
    assert_lloyd_fixed_point(X, refined)


# ------------------------------------------------------------------------- Fränti sets


@pytest.mark.parametrize("name", SETS)
def test_swap_finds_every_cluster_of_the_franti_sets(name):
    X, truth = load_franti(name)
    k = truth.shape[0]
    for seed in range(3):
        km = KMeans(k, random_state=seed, refine="swap").fit(X)
        assert centroid_index(km.cluster_centers_, truth) == 0, f"{name}, seed {seed}"


def test_a_single_start_misses_clusters_of_a3_without_the_swaps():
    X, truth = load_franti("a3")
    fits = [KMeans(50, random_state=seed).fit(X) for seed in range(3)]
    misses = [centroid_index(km.cluster_centers_, truth) for km in fits]
    assert max(misses) >= 1  # so the test above is not won by k-means++ alone
