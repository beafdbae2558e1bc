"""Same answer as scikit-learn's Lloyd, for every algorithm, on varied data.

With the same initial centers (an array, or the same int seed for k-means++ and random init),
``kmeans_core.KMeans`` must give scikit-learn's labels and iteration count, and its inertia and
centers to 1e-9 relative in float64. scikit-learn is fitted once per case and cached.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import ALGORITHMS, DATASETS, init_centers, make_dataset
from sklearn.cluster import KMeans as SklearnKMeans

from kmeans_core import KMeans, lloyd

RTOL = 1e-9


def _quiet_fit(estimator, X, sample_weight=None):
    """Fit, ignoring the warnings both libraries give for degenerate data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, sample_weight=sample_weight)


def _init_for(mode, X, k):
    """The ``init`` argument for an init mode: an array, "k-means++" or "random"."""
    return init_centers(X, k, seed=1) if mode == "array" else mode


@functools.cache
def sklearn_result(name, mode, seed=0, n_init=1, dtype=np.float64):
    """scikit-learn's Lloyd on a named data set: (centers, labels, inertia, n_iter)."""
    X, k, weight = make_dataset(name, dtype)
    km = SklearnKMeans(
        n_clusters=k,
        init=_init_for(mode, X, k),
        n_init=n_init,
        algorithm="lloyd",
        random_state=seed,
    )
    _quiet_fit(km, X, weight)
    return km.cluster_centers_, km.labels_, km.inertia_, km.n_iter_


def ours(name, mode, algorithm, seed=0, n_init=1, dtype=np.float64):
    X, k, weight = make_dataset(name, dtype)
    km = KMeans(
        n_clusters=k,
        init=_init_for(mode, X, k),
        n_init=n_init,
        algorithm=algorithm,
        random_state=seed,
    )
    return _quiet_fit(km, X, weight), X


def assert_same_as_sklearn(km, expected, X):
    centers, labels, inertia, n_iter = expected
    np.testing.assert_array_equal(km.labels_, labels)
    assert km.n_iter_ == n_iter
    assert km.inertia_ == pytest.approx(inertia, rel=RTOL, abs=1e-12 * np.abs(X).max() ** 2)
    np.testing.assert_allclose(km.cluster_centers_, centers, rtol=RTOL, atol=RTOL * np.abs(X).max())


#: Random init draws rows, not distinct points: on these data sets it starts with several
#: centers on the same point, and which of two coinciding centers wins a point is then decided
#: by rounding alone -- scikit-learn's own answer changes with its thread count there.
TIED_STARTS = {("duplicates", "random"), ("k_equals_distinct", "random")}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("mode", ["array", "k-means++", "random"])
@pytest.mark.parametrize("name", DATASETS)
def test_same_result_as_sklearn_float64(name, mode, algorithm):
    if (name, mode) in TIED_STARTS:
        pytest.skip("coinciding initial centers: the answer depends on rounding (see above)")
    km, X = ours(name, mode, algorithm)
    assert km.cluster_centers_.dtype == np.float64
    assert_same_as_sklearn(km, sklearn_result(name, mode), X)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("mode", ["array", "k-means++"])
@pytest.mark.parametrize("name", ["blobs", "weighted", "d64", "student_t"])
def test_float32_stays_float32_and_agrees_with_sklearn(name, mode, algorithm):
    km, X = ours(name, mode, algorithm, dtype=np.float32)
    centers, labels, inertia, _ = sklearn_result(name, mode, dtype=np.float32)
    assert km.cluster_centers_.dtype == np.float32
    assert km.transform(X[:5]).dtype == np.float32
    # Exactness is promised in float64 only (README). In float32 the two libraries round their
    # distances differently, so a point sitting on a boundary may flip, not the clustering:
    assert np.mean(km.labels_ == labels) >= 0.99
    assert km.inertia_ == pytest.approx(inertia, rel=1e-4)
    # and every label is the nearest of the returned centers, up to float32 rounding.
    d = ((X.astype(np.float64)[:, None, :] - km.cluster_centers_[None]) ** 2).sum(axis=2)
    own = d[np.arange(X.shape[0]), km.labels_]
    assert np.all(own <= d.min(axis=1) + 1e-5 * (1 + np.abs(X).max() ** 2))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("mode", ["random", "k-means++"])
def test_n_init_keeps_the_same_best_run_as_sklearn(mode, algorithm):
    km, X = ours("overlapping", mode, algorithm, seed=7, n_init=4)
    assert_same_as_sklearn(km, sklearn_result("overlapping", mode, seed=7, n_init=4), X)


@pytest.mark.parametrize("seed", [0, 1])
def test_n_init_auto_means_ten_runs_for_random_init_like_sklearn(seed):
    X, k, _ = make_dataset("student_t")
    km = _quiet_fit(KMeans(k, init="random", random_state=seed), X)
    expected = SklearnKMeans(k, init="random", n_init="auto", random_state=seed).fit(X)
    np.testing.assert_array_equal(km.labels_, expected.labels_)
    assert km.inertia_ == pytest.approx(expected.inertia_, rel=RTOL)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("max_iter", "tol"), [(1, 1e-4), (4, 1e-4), (300, 0.0), (300, 1e-2)])
def test_max_iter_and_tol_stop_where_sklearn_stops(max_iter, tol, algorithm):
    X, k, weight = make_dataset("overlapping")
    init = init_centers(X, k, seed=8)
    params = {"init": init, "max_iter": max_iter, "tol": tol}
    expected = _quiet_fit(SklearnKMeans(k, n_init=1, **params), X, weight)
    km = _quiet_fit(KMeans(k, algorithm=algorithm, **params), X, weight)
    assert_same_as_sklearn(
        km,
        (expected.cluster_centers_, expected.labels_, expected.inertia_, expected.n_iter_),
        X,
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_integer_weights_equal_repeated_rows(algorithm):
    rng = np.random.default_rng(5)
    X, k, _ = make_dataset("blobs")
    X = X[:400]
    counts = rng.integers(1, 4, size=X.shape[0])
    X_repeated = np.repeat(X, counts, axis=0)
    init = init_centers(X, k, seed=3)

    weighted = KMeans(k, init=init, algorithm=algorithm).fit(X, sample_weight=counts)
    repeated = KMeans(k, init=init, algorithm=algorithm).fit(X_repeated)

    np.testing.assert_array_equal(np.repeat(weighted.labels_, counts), repeated.labels_)
    assert weighted.n_iter_ == repeated.n_iter_
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=RTOL)
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=RTOL)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_empty_clusters_are_reseeded_like_sklearn(algorithm):
    """Initial centers far from every point leave clusters empty in the first iteration."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(600, 3))
    weight = rng.uniform(0.5, 2.0, size=600)
    init = np.vstack([X[:3], 100.0 + rng.normal(size=(4, 3))])
    expected = _quiet_fit(SklearnKMeans(7, init=init, n_init=1), X, weight)
    km = _quiet_fit(KMeans(7, init=init, algorithm=algorithm), X, weight)
    assert_same_as_sklearn(
        km,
        (expected.cluster_centers_, expected.labels_, expected.inertia_, expected.n_iter_),
        X,
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_more_clusters_than_distinct_points_like_sklearn(algorithm):
    """When every point sits on its center, scikit-learn does not relocate empty clusters.

    It parks them on the heaviest cluster instead (see
    ``kmeans_core._kernels.update.average_and_shift``). The data are exactly representable
    so that the distances are exactly zero in both libraries.
    """
    X = np.array([[-1.0], [-1.0], [1.0], [1.0]])
    init = np.array([[5.0], [-1.0], [1.0]])
    expected = _quiet_fit(SklearnKMeans(3, init=init, n_init=1), X)
    km = _quiet_fit(KMeans(3, init=init, algorithm=algorithm), X)
    assert_same_as_sklearn(
        km,
        (expected.cluster_centers_, expected.labels_, expected.inertia_, expected.n_iter_),
        X,
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_predict_transform_score_fit_predict_match_sklearn(algorithm):
    X, k, weight = make_dataset("weighted")
    X_new = np.random.default_rng(9).normal(scale=8.0, size=(700, X.shape[1]))
    init = init_centers(X, k, seed=2)

    km = KMeans(k, init=init, algorithm=algorithm)
    sk = SklearnKMeans(k, init=init, n_init=1)
    labels = km.fit_predict(X, sample_weight=weight)
    np.testing.assert_array_equal(labels, sk.fit_predict(X, sample_weight=weight))
    np.testing.assert_array_equal(labels, km.labels_)

    np.testing.assert_array_equal(km.predict(X_new), sk.predict(X_new))
    scale = np.abs(X_new).max()
    # scikit-learn's transform expands |x - c|^2 = |x|^2 - 2 x.c + |c|^2, which loses absolute
    # precision near the centers; hence an absolute tolerance relative to the data's scale.
    np.testing.assert_allclose(
        km.transform(X_new), sk.transform(X_new), rtol=1e-9, atol=1e-6 * scale
    )
    assert km.score(X_new) == pytest.approx(sk.score(X_new), rel=RTOL)
    w_new = np.linspace(0.5, 2.0, X_new.shape[0])
    assert km.score(X_new, sample_weight=w_new) == pytest.approx(
        sk.score(X_new, sample_weight=w_new), rel=RTOL
    )
    assert km.n_features_in_ == sk.n_features_in_


# ------------------------------------------------------------------------------------------
# Every Lloyd kernel, forced, on any machine; the float32 screen starts at 50,000 points
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fifty_thousand():
    """50,000+ points, 16 features, 20 overlapping clusters, and scikit-learn's Lloyd on them."""
    rng = np.random.default_rng(50)
    centers = rng.uniform(-5, 5, size=(20, 16))
    X = centers[rng.integers(0, 20, 50_021)] + rng.normal(scale=2.0, size=(50_021, 16))
    expected = _quiet_fit(SklearnKMeans(20, n_init=1, random_state=4, algorithm="lloyd"), X)
    return X, (expected.cluster_centers_, expected.labels_, expected.inertia_, expected.n_iter_)


@pytest.mark.parametrize("kernel", list(lloyd.KERNELS))
def test_every_lloyd_kernel_gives_sklearns_answer_on_fifty_thousand_points(
    fifty_thousand, kernel, monkeypatch
):
    X, expected = fifty_thousand
    chosen = []
    pick = lloyd.kernel_for

    def forced(n_features, n_clusters, screened=None, n_samples=None):
        if screened is None:  # the fit's choice (predict and the exit from the screen ask
            chosen.append(kernel)  # for the float64 kernels with screened=False)
            return lloyd.KERNELS[kernel]
        return pick(n_features, n_clusters, screened, n_samples)

    monkeypatch.setattr(lloyd, "kernel_for", forced)
    km = _quiet_fit(KMeans(20, n_init=1, random_state=4, algorithm="lloyd"), X)
    assert chosen and set(chosen) == {kernel}
    assert km.n_iter_ > 5
    assert_same_as_sklearn(km, expected, X)


# ------------------------------------------------------------------------------------------
# Real data: the Fränti benchmark sets shipped in data/franti
# ------------------------------------------------------------------------------------------

FRANTI = Path(__file__).resolve().parents[1] / "data" / "franti"


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly", "exponion", "yinyang", "auto"])
@pytest.mark.parametrize(
    ("name", "k"),
    [("s1", 15), ("a3", 50), ("unbalance", 8), ("dim032", 16)],
)
def test_same_result_as_sklearn_on_the_franti_sets(name, k, algorithm):
    path = FRANTI / f"{name}.txt"
    if not path.exists():
        pytest.fail(f"data file missing: {path} (data/ ships with the project)")
    X = np.loadtxt(path, dtype=np.float64)
    expected = _quiet_fit(SklearnKMeans(k, n_init=1, random_state=0, algorithm="lloyd"), X)
    km = _quiet_fit(KMeans(k, n_init=1, random_state=0, algorithm=algorithm), X)
    assert_same_as_sklearn(
        km, (expected.cluster_centers_, expected.labels_, expected.inertia_, expected.n_iter_), X
    )
