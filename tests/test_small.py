"""Small problems in NumPy (``kmeans_core/_small.py``) give what the numba kernels give.

``KMeans(algorithm="auto")`` runs small problems in NumPy and ``algorithm="lloyd"`` always runs
the kernels, so each test fits both and compares: the same labels, iteration counts and k-means++
centers, and values equal to rounding. The metrics and PCA are sent to the kernels by setting
``SMALL_MAX_SAMPLES`` to 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kmeans_core import PCA, KMeans, _small, kmeans_plusplus, metrics
from kmeans_core._kernels import common
from kmeans_core._loop import center_data
from kmeans_core.init import greedy_kmeans_plusplus, small_kmeans_plusplus_runs

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def both_fits(X, n_clusters, weight=None, **params):
    """The NumPy fit and the kernels' fit of the same problem."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached, too few distinct points
        small = KMeans(n_clusters, algorithm="auto", **params).fit(X, sample_weight=weight)
        kernels = KMeans(n_clusters, algorithm="lloyd", **params).fit(X, sample_weight=weight)
    return small, kernels


def assert_same_fit(small, kernels, rtol=1e-12):
    np.testing.assert_array_equal(small.labels_, kernels.labels_)
    assert small.n_iter_ == kernels.n_iter_
    scale = np.abs(kernels.cluster_centers_).max()
    np.testing.assert_allclose(
        small.cluster_centers_, kernels.cluster_centers_, rtol=rtol, atol=rtol * scale
    )
    assert small.inertia_ == pytest.approx(kernels.inertia_, rel=rtol, abs=1e-300)
    assert small.cluster_centers_.dtype == kernels.cluster_centers_.dtype


@st.composite
def small_problems(draw):
    """Blobs, integer grids (exact ties, duplicate rows) or heavy tails, up to the size limit."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_clusters = draw(st.integers(1, 10))
    n_samples = draw(st.integers(max(n_clusters, 2), _small.SMALL_MAX_SAMPLES))
    n_features = draw(st.integers(1, 12))
    kind = draw(st.sampled_from(["blobs", "integers", "student_t"]))
    if kind == "blobs":
        centers = rng.normal(scale=4.0, size=(n_clusters, n_features))
        X = centers[rng.integers(0, n_clusters, n_samples)] + rng.normal(
            size=(n_samples, n_features)
        )
    elif kind == "integers":
        X = rng.integers(0, 6, size=(n_samples, n_features)).astype(np.float64)
    else:
        X = rng.standard_t(df=2, size=(n_samples, n_features)) * 100.0
    weight = rng.integers(1, 5, n_samples).astype(float) if draw(st.booleans()) else None
    return X, n_clusters, weight, seed


def seedings_tie(X, n_clusters, weight, seed, n_init):
    """Whether the fits' k-means++ seedings part ways, as ``KMeans.fit`` draws them on each
    path's centered data; where they do, the two candidates must be a tie to rounding (the same
    potential to 1e-12), which the assertion checks before the example is set aside."""
    weight = np.ones(len(X)) if weight is None else weight
    X_small = _small.center_data(X)[0]
    X_kernels = center_data(X, KMeans(n_clusters)._threads_for(X))[0]
    states = np.random.RandomState(seed), np.random.RandomState(seed)
    for _ in range(n_init):
        ids_small = greedy_kmeans_plusplus(X_small, n_clusters, weight, states[0], small=True)[1]
        ids_kernels = greedy_kmeans_plusplus(X_kernels, n_clusters, weight, states[1], small=False)[
            1
        ]
        if not np.array_equal(ids_small, ids_kernels):
            step = int(np.argmax(ids_small != ids_kernels))
            chosen = X_small[ids_small[:step]]
            nearest = ((X_small[:, None, :] - chosen[None]) ** 2).sum(axis=2).min(axis=1)
            a, b = (
                (weight * np.minimum(nearest, ((X_small - X_small[row]) ** 2).sum(axis=1))).sum()
                for row in (ids_small[step], ids_kernels[step])
            )
            assert a == pytest.approx(b, rel=1e-12), "k-means++ chose differently without a tie"
            return True
    return False


@SETTINGS
@given(problem=small_problems(), n_init=st.sampled_from([1, 3]))
def test_small_fit_is_the_kernels_fit(problem, n_init):
    X, n_clusters, weight, seed = problem
    assert _small.is_small(*X.shape, n_clusters)
    # Two candidates of equal potential: which one rounding favours is not the answer's to keep.
    assume(not seedings_tie(X, n_clusters, weight, seed, n_init))
    # No more clusters than distinct points: k-means++ then starts with coinciding centers, and
    # which of two coinciding centers keeps the points is decided by rounding alone (as in the
    # parity tests with scikit-learn); test_small_fit_from_an_array_and_with_empty_clusters
    # covers clusters that empty out.
    assume(np.unique(X, axis=0).shape[0] > n_clusters)
    small, kernels = both_fits(X, n_clusters, weight, n_init=n_init, random_state=seed)
    assert_same_fit(small, kernels)


@pytest.mark.parametrize(
    "params",
    [
        {"init": "random", "n_init": 4},
        {"max_iter": 2},  # stops before converging: the last assignment step
        {"tol": 0.0},  # only strict convergence
        {"tol": 1e-2},
    ],
    ids=["random", "max_iter", "tol0", "tol_large"],
)
def test_small_fit_follows_every_option(params):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 3)) + rng.integers(0, 4, size=(500, 1)) * 3.0
    assert_same_fit(*both_fits(X, 6, random_state=1, **params))


def test_small_fit_from_an_array_and_with_empty_clusters():
    # More clusters than distinct points: clusters empty out and are re-seeded.
    rng = np.random.default_rng(5)
    distinct = rng.normal(size=(7, 2))
    X = distinct[rng.integers(0, 7, 300)]
    init = np.vstack([X[:5], X[:5] + 1e-3])
    assert_same_fit(*both_fits(X, 10, init=init))
    assert_same_fit(*both_fits(X, 9, random_state=0))


def test_small_fit_in_float32():
    rng = np.random.default_rng(11)
    X = (rng.normal(size=(800, 5)) + rng.integers(0, 5, size=(800, 1)) * 2.0).astype(np.float32)
    small, kernels = both_fits(X, 5, random_state=2, n_init=3)
    assert small.cluster_centers_.dtype == np.float32
    assert_same_fit(small, kernels, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_kmeans_plusplus_picks_the_kernels_centers(dtype):
    rng = np.random.default_rng(7)
    X = (rng.normal(size=(600, 4)) * rng.uniform(0.5, 20, size=4)).astype(dtype)
    weight = rng.uniform(0.5, 2.0, 600).astype(dtype)
    for seed in range(5):
        small, small_ids = greedy_kmeans_plusplus(
            X, 9, weight, np.random.RandomState(seed), small=True
        )
        kernels, kernel_ids = greedy_kmeans_plusplus(
            X, 9, weight, np.random.RandomState(seed), small=False
        )
        np.testing.assert_array_equal(small_ids, kernel_ids)
        np.testing.assert_array_equal(small, kernels)
    # The public function takes the NumPy path for this size.
    centers, ids = kmeans_plusplus(X, 9, sample_weight=weight, random_state=3)
    expected = greedy_kmeans_plusplus(X, 9, weight, np.random.RandomState(3), small=False)[1]
    np.testing.assert_array_equal(ids, expected)


def small_and_kernels(function, monkeypatch, *args, **kwargs):
    """``function``'s result in NumPy, then from the kernels."""
    small = function(*args, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(_small, "SMALL_MAX_SAMPLES", 0)
        kernels = function(*args, **kwargs)
    return small, kernels


@pytest.mark.parametrize("n_clusters", [2, 5, 40])
def test_small_metrics_are_the_kernels_metrics(monkeypatch, n_clusters):
    rng = np.random.default_rng(n_clusters)
    X = rng.normal(size=(700, 6)) + rng.integers(0, n_clusters, size=(700, 1))
    labels = rng.integers(0, n_clusters, 700)
    labels[:n_clusters] = np.arange(n_clusters)  # every label present
    for score in (
        metrics.silhouette_samples,
        metrics.silhouette_score,
        metrics.calinski_harabasz_score,
        metrics.davies_bouldin_score,
    ):
        small, kernels = small_and_kernels(score, monkeypatch, X, labels)
        np.testing.assert_allclose(small, kernels, rtol=1e-12, atol=1e-12)
    centers = rng.normal(size=(n_clusters, 6))
    weight = rng.uniform(0, 2, 700)
    small, kernels = small_and_kernels(
        metrics.inertia, monkeypatch, X, labels, centers, sample_weight=weight
    )
    assert small == pytest.approx(kernels, rel=1e-12)


def test_small_silhouette_keeps_the_edge_rules(monkeypatch):
    # A singleton cluster has silhouette 0; string labels are encoded as scikit-learn does.
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [9.0, 0.0]])
    labels = np.array(["a", "a", "b", "b", "c"])
    small, kernels = small_and_kernels(metrics.silhouette_samples, monkeypatch, X, labels)
    assert small[4] == 0.0
    np.testing.assert_allclose(small, kernels, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_pca_is_the_kernels_pca(monkeypatch, dtype):
    rng = np.random.default_rng(2)
    X = (rng.normal(size=(900, 5)) @ rng.normal(size=(5, 5)) + 100.0).astype(dtype)

    def fitted(X):
        pca = PCA(n_components=3).fit(X)
        return pca.solver_, pca.components_, pca.explained_variance_, pca.transform(X[:50])

    small, kernels = small_and_kernels(fitted, monkeypatch, X)
    assert small[0] == kernels[0] == "covariance_eigh"
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    for a, b in zip(small[1:], kernels[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


def assert_identical(a, b):
    """Bit for bit, dtype included."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@SETTINGS
@given(
    problem=small_problems(),
    n_runs=st.integers(1, 8),
    dtype=st.sampled_from([np.float64, np.float32]),
    max_iter=st.sampled_from([1, 2, 300]),
    duplicated_starts=st.booleans(),
)
def test_runs_side_by_side_are_the_runs_one_by_one(
    problem, n_runs, dtype, max_iter, duplicated_starts
):
    # A fit's restarts run side by side (k-means++ and Lloyd with a leading run axis): each
    # run must be exactly what it is alone, the random stream included.
    X, n_clusters, weight, seed = problem
    X = _small.center_data(X.astype(dtype))[0]
    weight = (np.ones(len(X)) if weight is None else weight).astype(dtype)
    one_by_one, side_by_side = np.random.RandomState(seed), np.random.RandomState(seed)
    starts = np.stack(
        [
            greedy_kmeans_plusplus(X, n_clusters, weight, one_by_one, small=True)[0]
            for _ in range(n_runs)
        ]
    )
    assert_identical(
        small_kmeans_plusplus_runs(X, n_clusters, weight, side_by_side, n_runs), starts
    )
    assert one_by_one.randint(2**31) == side_by_side.randint(2**31)
    if duplicated_starts:  # every center on a few rows: clusters empty and are relocated
        rows = np.random.default_rng(seed).integers(0, 2, size=(n_runs, n_clusters))
        starts = X[rows]
    tol = 1e-4 * float(X.var(axis=0).mean())
    runs = _small.lloyd_restarts(X, weight, starts, max_iter=max_iter, tol=tol)
    for start, run in zip(starts, runs, strict=True):
        alone = _small.lloyd(X, weight, start, max_iter=max_iter, tol=tol)
        for a, b in zip(run, alone, strict=True):
            assert_identical(a, b)


def test_many_runs_go_side_by_side_in_batches(monkeypatch):
    # More runs than fit in one batch: the same fit as in one batch.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 4)) + rng.integers(0, 4, size=(300, 1)) * 3.0
    whole = KMeans(6, n_init=7, random_state=1).fit(X)
    monkeypatch.setattr(_small, "SMALL_MAX_BATCH_WORK", 1)
    assert _small.runs_per_batch(300, 4, 6) == 1
    batched = KMeans(6, n_init=7, random_state=1).fit(X)
    for name in ("labels_", "cluster_centers_", "inertia_", "n_iter_"):
        assert_identical(getattr(batched, name), getattr(whole, name))


def test_the_size_limits_keep_the_kernels_order_of_additions():
    # Up to SMALL_MAX_SAMPLES rows the kernels use one row block, so they add in row order.
    assert common.n_blocks_for(_small.SMALL_MAX_SAMPLES) == 1
    assert _small.RESUM_EVERY == common.RESUM_EVERY
    assert _small.is_small(_small.SMALL_MAX_SAMPLES, 10, 20)
    assert not _small.is_small(_small.SMALL_MAX_SAMPLES + 1)
    assert not _small.is_small(1000, 100, 10)  # too much work per pass
    # Larger problems keep the kernels.
    X = np.random.default_rng(0).normal(size=(_small.SMALL_MAX_SAMPLES + 1, 2))
    assert KMeans(3, random_state=0).fit(X).algorithm_ == "lloyd"


@pytest.mark.parametrize("name", ["mall_customers.csv", "wholesale_customers.csv"])
def test_real_data_sweeps_choose_the_same_k_either_way(monkeypatch, name):
    from segmentation.preprocess import Preprocessor, infer_roles
    from segmentation.select_k import choose_k, fit_sweep

    data = pd.read_csv(ROOT / "data" / name)
    X = Preprocessor().fit_transform(data, infer_roles(data))
    (small_rows, small_models), (kernel_rows, kernel_models) = small_and_kernels(
        fit_sweep, monkeypatch, X, range(2, 11), seed=0
    )
    assert choose_k(small_rows) == choose_k(kernel_rows)
    for small, kernels in zip(small_rows, kernel_rows, strict=True):
        assert small.keys() == kernels.keys()
        for key in small:
            assert small[key] == pytest.approx(kernels[key], rel=1e-12)
    for k, model in small_models.items():
        np.testing.assert_array_equal(model.labels_, kernel_models[k].labels_)
        assert model.n_iter_ == kernel_models[k].n_iter_


PLAIN_RUN = """
import json, sys
from segmentation.cli import main
code = main(["run", "--out", sys.argv[1], "--json"])
compiled = []
for name, module in list(sys.modules.items()):
    if name.startswith("kmeans_core"):
        for attribute, value in vars(module).items():
            if getattr(value, "signatures", None):
                compiled.append(f"{name}.{attribute}")
heavy = sorted({"numba", "sklearn", "dask", "distributed", "scipy.linalg"} & set(sys.modules))
print(json.dumps({"code": code, "compiled": sorted(set(compiled)), "heavy": heavy}))
"""


def test_a_plain_segment_run_compiles_nothing_and_imports_no_heavy_library(tmp_path):
    """The default run (400 synthetic customers) never waits for numba, scikit-learn or dask."""
    cache = tmp_path / "numba_cache"
    cache.mkdir()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", PLAIN_RUN, str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "compiled": [], "heavy": []}
    assert not any(cache.rglob("*.nbi"))
