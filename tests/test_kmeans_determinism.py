"""Same seed, same bits: the result does not depend on the number of threads.

scikit-learn does not promise this; the engine does, by reducing over a fixed number of row
blocks in block order. The data are large enough to be split into many blocks.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALGORITHMS

from kmeans_core import KMeans, _parallel, kmeans_plusplus, lloyd

N_SAMPLES = 50_000
#: Thread counts against one thread: odd counts split the row blocks unevenly, 64 gives every
#: block a thread of its own.
THREADS = (3, 5, 7, 64)


@pytest.fixture(scope="module")
def big_data():
    rng = np.random.default_rng(2024)
    centers = rng.uniform(-6, 6, size=(12, 8))
    X = centers[rng.integers(0, 12, N_SAMPLES)] + rng.normal(scale=2.0, size=(N_SAMPLES, 8))
    weight = rng.uniform(0.2, 3.0, size=N_SAMPLES)
    return X, weight


@pytest.fixture(scope="module")
def wide_data():
    """Enough features and clusters for the dot-product kernels and Yinyang's groups."""
    rng = np.random.default_rng(2025)
    centers = rng.uniform(-6, 6, size=(24, 16))
    X = centers[rng.integers(0, 24, N_SAMPLES)] + rng.normal(scale=2.5, size=(N_SAMPLES, 16))
    return X, rng.uniform(0.2, 3.0, size=N_SAMPLES)


def _fit(X, weight, n_threads, n_clusters=12, **params):
    return KMeans(n_clusters=n_clusters, random_state=3, n_threads=n_threads, **params).fit(
        X, sample_weight=weight
    )


def assert_bit_identical(a, b):
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_, strict=True)
    np.testing.assert_array_equal(a.labels_, b.labels_, strict=True)
    assert a.inertia_ == b.inertia_
    assert a.n_iter_ == b.n_iter_


def _assert_thread_independent(X, weight, n_clusters, **params):
    one = _fit(X, weight, 1, n_clusters, **params)
    assert one.n_iter_ > 2, "the case should take several iterations to mean anything"
    for n_threads in THREADS:
        assert_bit_identical(one, _fit(X, weight, n_threads, n_clusters, **params))
    return one


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_bits_whatever_the_number_of_threads(big_data, algorithm, dtype):
    X, weight = (a.astype(dtype) for a in big_data)
    _assert_thread_independent(X, weight, 12, algorithm=algorithm)


@pytest.mark.parametrize("screened", [True, False], ids=["screened", "float64"])
@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly", "yinyang"])
def test_same_bits_whatever_the_number_of_threads_with_dot_products(
    wide_data, algorithm, screened, monkeypatch
):
    # Lloyd's float32 screen or float64 dot products (whatever the CPU); Hamerly's and
    # Yinyang's (two groups) searches by dot products.
    monkeypatch.setattr(lloyd, "SCREENED", screened)
    X, weight = wide_data
    assert lloyd.kernel_for(16, 24, n_samples=N_SAMPLES).name == (
        "screened products" if screened else "products"
    )
    _assert_thread_independent(X, weight, 24, algorithm=algorithm)


def test_random_init_with_several_runs_is_thread_independent(big_data):
    X, weight = big_data
    _assert_thread_independent(X, weight, 12, init="random", n_init=3, algorithm="lloyd")


def test_kmeans_plusplus_is_thread_independent(big_data, monkeypatch):
    # kmeans_plusplus runs on every core: make "every core" 1, 3, 5, 7 and 64.
    X, weight = big_data
    results = []
    for n_cores in (1, *THREADS):
        monkeypatch.setattr(_parallel, "available_cores", lambda n=n_cores: n)
        results.append(kmeans_plusplus(X, 12, sample_weight=weight, random_state=5))
    for centers, indices in results[1:]:
        np.testing.assert_array_equal(indices, results[0][1], strict=True)
        np.testing.assert_array_equal(centers, results[0][0], strict=True)


def test_the_same_seed_gives_the_same_bits_twice(big_data):
    X, weight = big_data
    assert_bit_identical(_fit(X, weight, None), _fit(X, weight, None))


def test_a_generator_seed_is_accepted_and_reproducible(big_data):
    X, _ = big_data
    X = X[:5000]
    first = KMeans(5, random_state=np.random.default_rng(8)).fit(X)
    second = KMeans(5, random_state=np.random.default_rng(8)).fit(X)
    assert_bit_identical(first, second)


def test_the_input_array_is_left_untouched(big_data):
    X, weight = big_data
    X_before, weight_before = X.copy(), weight.copy()
    init = X[:12].copy()
    KMeans(12, init=init).fit(X, sample_weight=weight)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(weight, weight_before)
    np.testing.assert_array_equal(init, X[:12])
