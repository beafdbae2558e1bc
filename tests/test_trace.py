"""trace(): the fit it records is KMeans.fit's, bit for bit; its counters add up."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import make_dataset

from kmeans_core import KMeans, kmeans_plusplus, trace
from kmeans_core.reference import weighted_inertia
from kmeans_core.trace import skip_tests, trace_nbytes

EXACT_ALGORITHMS = ("lloyd", "hamerly", "elkan", "exponion", "yinyang")
#: Shapes that take every kernel: direct distances and tiles (blobs, d1), the float32 screen
#: by dot products (overlapping, d20_k24), rows without tiles (d40_k6), weights, duplicates
#: (clusters left empty), Exponion's small balls (k128_d3).
DATASETS = ("blobs", "overlapping", "d20_k24", "d40_k6", "weighted", "duplicates", "d1")


def _separated(n=5000, k=10, seed=5):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, (k, 2))
    return centers[rng.integers(0, k, n)] + rng.normal(scale=0.5, size=(n, 2)), k


_TRACES: dict = {}


def _trace(name, algorithm, **kwargs):
    """One trace per (data set, algorithm, options), shared by the tests."""
    key = (name, algorithm, tuple(sorted(kwargs.items())))
    if key not in _TRACES:
        X, k, weight = make_dataset(name)
        _TRACES[key] = trace(X, k, algorithm=algorithm, sample_weight=weight, **kwargs)
    return _TRACES[key]


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("algorithm", EXACT_ALGORITHMS)
def test_trace_is_the_fit(name, algorithm):
    X, k, weight = make_dataset(name)
    t = _trace(name, algorithm, random_state=0)
    fit = KMeans(k, algorithm=algorithm, random_state=0, n_init=1).fit(X, sample_weight=weight)
    np.testing.assert_array_equal(t.labels_, fit.labels_)
    np.testing.assert_array_equal(t.cluster_centers_, fit.cluster_centers_)
    assert t.n_iter_ == fit.n_iter_
    assert t.inertia_ == fit.inertia_
    # The record ends where the fit ends.
    np.testing.assert_array_equal(t.centers[-1], t.cluster_centers_)
    assert t.centers.shape == (t.n_iter_ + 1, k, X.shape[1])
    assert t.labels.shape == (t.n_iter_, X.shape[0])
    if t.strict_convergence:
        np.testing.assert_array_equal(t.labels[-1], t.labels_)
        assert t.n_changed[-1] == 0 and t.final_step is None
    else:
        assert t.final_step["n_changed"] == np.count_nonzero(t.labels[-1] != t.labels_)


@pytest.mark.parametrize("name", DATASETS)
def test_every_algorithm_keeps_lloyds_labels_at_every_iteration(name):
    lloyd = _trace(name, "lloyd", random_state=0)
    for algorithm in EXACT_ALGORITHMS[1:]:
        t = _trace(name, algorithm, random_state=0)
        np.testing.assert_array_equal(t.labels, lloyd.labels, err_msg=algorithm)
        # The cluster sums are kept by each kernel in its own order: equal up to rounding.
        np.testing.assert_allclose(t.centers, lloyd.centers, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(t.n_changed, lloyd.n_changed, err_msg=algorithm)


@pytest.mark.parametrize("algorithm", ("lloyd", "elkan", "yinyang"))
@pytest.mark.parametrize("init", ("random", "array"))
def test_trace_is_the_fit_for_other_inits_and_float32(algorithm, init):
    X, k, _ = make_dataset("student_t", dtype=np.float32)
    if init == "array":
        init = X[::97][:k].copy()
    t = trace(X, k, algorithm=algorithm, init=init, random_state=7, max_iter=12)
    fit = KMeans(k, algorithm=algorithm, init=init, random_state=7, n_init=1, max_iter=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter may stop the fit; the trace does not warn
        fit.fit(X)
    assert t.cluster_centers_.dtype == np.float32
    np.testing.assert_array_equal(t.labels_, fit.labels_)
    np.testing.assert_array_equal(t.cluster_centers_, fit.cluster_centers_)
    assert (t.n_iter_, t.inertia_) == (fit.n_iter_, fit.inertia_)
    assert t.seeding is None


@pytest.mark.parametrize("name", ("overlapping", "weighted", "d40_k6"))
@pytest.mark.parametrize("algorithm", EXACT_ALGORITHMS)
def test_inertia_is_the_steps_and_never_rises(name, algorithm):
    X, k, weight = make_dataset(name)
    weight = np.ones(X.shape[0]) if weight is None else weight
    t = _trace(name, algorithm, random_state=0)
    for i in (0, t.n_iter_ // 2, t.n_iter_ - 1):
        expected = weighted_inertia(X, weight, t.centers[i], t.labels[i])
        assert t.inertia[i] == pytest.approx(expected, rel=1e-9)
    assert np.all(np.diff(t.inertia) <= 1e-12 * t.inertia[0])
    # center_shift is the distance each center moved.
    moved = np.sqrt(((t.centers[1:] - t.centers[:-1]) ** 2).sum(axis=2))
    np.testing.assert_allclose(t.center_shift, moved, rtol=1e-6, atol=1e-9)
    assert t.n_changed[0] == X.shape[0]
    np.testing.assert_array_equal(t.n_changed[1:], (t.labels[1:] != t.labels[:-1]).sum(axis=1))


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("algorithm", EXACT_ALGORITHMS)
def test_counters_account_for_every_pair(name, algorithm):
    X, k, _ = make_dataset(name)
    t = _trace(name, algorithm, random_state=0)
    pairs = X.shape[0] * k
    assert set(t.skipped_by) == set(skip_tests(algorithm))
    # The first step has no bounds yet: every distance.
    assert t.distances_computed[0] == pairs
    skipped = sum(t.skipped_by.values(), np.zeros(t.n_iter_, dtype=np.int64))
    np.testing.assert_array_equal(t.distances_computed - t.repeated + skipped, pairs)
    assert np.all(t.repeated >= 0) and np.all(t.rechecked >= 0)
    if algorithm == "lloyd":
        np.testing.assert_array_equal(t.distances_computed, pairs)
        assert t.skipped_by == {}
        assert np.all(t.rechecked % k == 0)  # k float64 distances a point the screen missed
    else:
        assert np.all(t.rechecked == 0)


def test_lloyds_float32_screen_rechecks_are_counted():
    # Overlapping clusters, 8 features, 20 centers: Lloyd screens in float32 where the CPU has
    # AVX-512, and some points sit too near two centers for the screen to decide.
    from kmeans_core._kernels import WIDE_VECTORS

    t = _trace("overlapping", "lloyd", random_state=0)
    if WIDE_VECTORS:
        assert t.rechecked.sum() > 0
    else:
        assert t.rechecked.sum() == 0


@pytest.mark.parametrize("algorithm", EXACT_ALGORITHMS[1:])
def test_bounds_skip_most_distances_on_separated_data(algorithm):
    X, k = _separated()
    lloyd = trace(X, k, algorithm="lloyd", init="random", random_state=3, tol=0)
    t = trace(X, k, algorithm=algorithm, init="random", random_state=3, tol=0)
    np.testing.assert_array_equal(t.labels, lloyd.labels)
    assert t.n_iter_ == lloyd.n_iter_ >= 8
    assert t.distances_computed.sum() < 0.35 * lloyd.distances_computed.sum()
    assert t.distances_computed[-1] < 0.01 * X.shape[0] * k
    assert sum(counts.sum() for counts in t.skipped_by.values()) > 0.6 * t.n_iter_ * X.shape[0] * k


def test_seeding_is_kmeans_plusplus():
    X, k, weight = make_dataset("weighted")
    t = _trace("weighted", "lloyd", random_state=0)
    _, rows = kmeans_plusplus(X - X.mean(axis=0), k, sample_weight=weight, random_state=0)
    s = t.seeding
    np.testing.assert_array_equal(s.rows, rows)
    np.testing.assert_allclose(t.centers[0], X[s.rows], rtol=1e-12, atol=1e-12)
    n_trials = 2 + int(np.log(k))
    assert s.candidates.shape == s.candidate_potential.shape == (k - 1, n_trials)
    # The kept candidate is the one that lowered the potential most, which only falls.
    for c in range(1, k):
        assert s.rows[c] == s.candidates[c - 1][np.argmin(s.candidate_potential[c - 1])]
    assert np.isnan(s.potential[0])
    assert np.all(np.diff(s.potential[1:]) <= 0)
    closest = ((X[:, None, :] - X[s.rows][None, :, :]) ** 2).sum(axis=2).min(axis=1)
    assert s.final_potential == pytest.approx(closest @ weight, rel=1e-9)


def test_to_frame_one_row_per_iteration():
    t = _trace("overlapping", "exponion", random_state=0)
    frame = t.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == t.n_iter_
    assert list(frame["iteration"]) == list(range(1, t.n_iter_ + 1))
    for test in skip_tests("exponion"):
        np.testing.assert_array_equal(frame[f"skipped: {test}"], t.skipped_by[test])
    np.testing.assert_array_equal(frame["inertia"], t.inertia)
    assert frame["share_computed"].iloc[0] == 1.0
    assert (frame["squared_shift"].iloc[-1] <= t.tol) or frame["n_changed"].iloc[-1] == 0


def test_memory_limit_refuses_clearly_and_keep_labels_false_fits():
    X, k, _ = make_dataset("blobs")
    needed = trace_nbytes(X.shape[0], X.shape[1], k, 300)
    with pytest.raises(ValueError, match=r"could keep .* MiB, more than max_bytes .*keep_labels"):
        trace(X, k, random_state=0, max_bytes=needed - 1)
    t = trace(X, k, random_state=0, max_bytes=needed - 1, keep_labels=False)
    assert t.labels is None
    full = _trace("blobs", "lloyd", random_state=0)
    np.testing.assert_array_equal(t.inertia, full.inertia)
    np.testing.assert_array_equal(t.labels_, full.labels_)
    assert t.nbytes < full.nbytes <= needed


def test_bad_parameters_are_the_estimators_errors():
    X, k, _ = make_dataset("tiny")
    with pytest.raises(ValueError, match="Unknown algorithm 'fast'"):
        trace(X, k, algorithm="fast")
    with pytest.raises(ValueError, match="larger than the number of samples"):
        trace(X, 51)
    with pytest.raises(ValueError, match="Unknown init"):
        trace(X, k, init="kmeans")


def test_auto_traces_the_algorithm_auto_picks():
    X, k, _ = make_dataset("overlapping")
    t = trace(X, k, algorithm="auto", random_state=1)
    fit = KMeans(k, algorithm="auto", random_state=1, n_init=1).fit(X)
    assert t.algorithm == fit.algorithm_
    np.testing.assert_array_equal(t.cluster_centers_, fit.cluster_centers_)
    # Up to 1,000 rows, KMeans(algorithm="auto") runs in NumPy: the same labels and iterations.
    X, k, _ = make_dataset("tiny")
    t = trace(X, k, algorithm="auto", random_state=1)
    fit = KMeans(k, algorithm="auto", random_state=1, n_init=1).fit(X)
    np.testing.assert_array_equal(t.labels_, fit.labels_)
    assert t.n_iter_ == fit.n_iter_
    np.testing.assert_allclose(t.cluster_centers_, fit.cluster_centers_, rtol=1e-12)
