"""Micro-benchmarks of the engine's building blocks against scikit-learn, with pytest-benchmark.

Each group times one operation, ours and scikit-learn's, on the same data in the same run, and
first checks that both give the same answer. Not part of the test suite (``testpaths`` is
``tests/``); run it with ``python -m benchmarks.compare micro`` (writes
``results/micro.md`` and ``results/micro.json``) or directly::

    pytest benchmarks/test_micro.py -p no:cacheprovider

The first call of each of ours (numba compiling or loading its cache) is made before timing.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pytest.importorskip("pytest_benchmark")

from sklearn import cluster as sk_cluster  # noqa: E402
from sklearn import decomposition as sk_decomposition  # noqa: E402
from sklearn import metrics as sk_metrics  # noqa: E402

import kmeans_core  # noqa: E402
from kmeans_core import metrics  # noqa: E402

IMPLEMENTATIONS = ("kmeans_core", "scikit-learn")
# At least 3 timed rounds each, more while under half a second: the run takes a few minutes.
pytestmark = pytest.mark.benchmark(min_rounds=3, max_time=0.5)


def _blobs(n_samples, n_features, n_clusters, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, size=(n_clusters, n_features))
    labels = rng.integers(0, n_clusters, n_samples)
    X = centers[labels] + rng.standard_normal((n_samples, n_features)) * 4.0
    return X, labels, centers


@pytest.fixture(scope="module")
def assign_data():
    """200k x 16 points and 32 centers: one assignment step of a mid-sized fit."""
    X, _, _ = _blobs(200_000, 16, 32)
    centers = X[np.random.default_rng(1).choice(X.shape[0], 32, replace=False)].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one iteration does not converge: it does not matter
        ours = kmeans_core.KMeans(32, init=centers, max_iter=1).fit(X[:1000])
        theirs = sk_cluster.KMeans(32, init=centers, n_init=1, max_iter=1).fit(X[:1000])
    # Both predict against exactly the same centers.
    ours.cluster_centers_ = centers.copy()
    theirs.cluster_centers_ = centers.copy()
    return X, {"kmeans_core": ours, "scikit-learn": theirs}


def _run(benchmark, fn, *args):
    """Warm up once (compilation or cache loading is not what is measured), then time."""
    fn(*args)
    return benchmark(fn, *args)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_predict(benchmark, assign_data, implementation):
    """Nearest center of each point (``predict``): 200k x 16, k=32."""
    benchmark.group = "predict 200k x 16, k=32"
    X, models = assign_data
    labels = _run(benchmark, models[implementation].predict, X)
    np.testing.assert_array_equal(labels, models["scikit-learn"].predict(X))


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_transform(benchmark, assign_data, implementation):
    """Distances to every center (``transform``): 200k x 16, k=32."""
    benchmark.group = "transform 200k x 16, k=32"
    X, models = assign_data
    distances = _run(benchmark, models[implementation].transform, X)
    # A point that is a center is at distance 0 up to rounding (sqrt of ~1e-13).
    np.testing.assert_allclose(distances, models["scikit-learn"].transform(X), atol=1e-5)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_lloyd_iterations(benchmark, implementation):
    """Ten Lloyd iterations from given centers (``fit``, algorithm "lloyd"): 100k x 8, k=16."""
    benchmark.group = "10 Lloyd iterations 100k x 8, k=16"
    X, _, _ = _blobs(100_000, 8, 16, seed=2)
    init = X[:16].copy()
    if implementation == "kmeans_core":
        model = kmeans_core.KMeans(16, init=init, max_iter=10, tol=0.0, algorithm="lloyd")
    else:
        model = sk_cluster.KMeans(16, init=init, n_init=1, max_iter=10, tol=0.0, algorithm="lloyd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ours says that 10 iterations did not converge
        fitted = _run(benchmark, model.fit, X)
    reference = sk_cluster.KMeans(16, init=init, n_init=1, max_iter=10, tol=0.0).fit(X)
    np.testing.assert_array_equal(fitted.labels_, reference.labels_)
    assert fitted.n_iter_ == reference.n_iter_ == 10


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_kmeans_plusplus(benchmark, implementation):
    """k-means++ seeding (greedy, 2 + log k trials): 50k x 8, k=32."""
    benchmark.group = "k-means++ 50k x 8, k=32"
    X, _, _ = _blobs(50_000, 8, 32, seed=3)
    module = kmeans_core if implementation == "kmeans_core" else sk_cluster

    def seed():
        return module.kmeans_plusplus(X, 32, random_state=0)

    centers, indices = _run(benchmark, seed)
    np.testing.assert_array_equal(indices, sk_cluster.kmeans_plusplus(X, 32, random_state=0)[1])


SCORES = {
    "silhouette 8k x 8, k=8": ("silhouette_score", 8_000),
    "Calinski-Harabasz 200k x 16, k=8": ("calinski_harabasz_score", 200_000),
    "Davies-Bouldin 200k x 16, k=8": ("davies_bouldin_score", 200_000),
}


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("group", list(SCORES))
def test_scores(benchmark, group, implementation):
    """The clustering scores the k sweep computes for every k."""
    benchmark.group = group
    name, n_samples = SCORES[group]
    X, labels, _ = _blobs(n_samples, 8 if name == "silhouette_score" else 16, 8, seed=4)
    module = metrics if implementation == "kmeans_core" else sk_metrics
    score = _run(benchmark, getattr(module, name), X, labels)
    assert score == pytest.approx(getattr(sk_metrics, name)(X, labels), rel=1e-9)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_pca_fit(benchmark, implementation):
    """PCA (full solver's answer), 2 components: 100k x 32."""
    benchmark.group = "PCA fit 100k x 32"
    X, _, _ = _blobs(100_000, 32, 8, seed=5)
    if implementation == "kmeans_core":
        model = kmeans_core.PCA(2)
    else:
        model = sk_decomposition.PCA(2, svd_solver="full")
    fitted = _run(benchmark, model.fit, X)
    reference = sk_decomposition.PCA(2, svd_solver="full").fit(X)
    np.testing.assert_allclose(fitted.components_, reference.components_, atol=1e-8)
