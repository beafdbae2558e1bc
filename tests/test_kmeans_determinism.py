"""Same seed, same bits: the result does not depend on the number of threads.

scikit-learn does not promise this; the engine does, by reducing over a fixed number of row
blocks in block order. The data are large enough to be split into many blocks.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from conftest import ALGORITHMS

from kmeans_core import KMeans, kmeans_plusplus

N_SAMPLES = 50_000


@pytest.fixture(scope="module")
def big_data():
    rng = np.random.default_rng(2024)
    centers = rng.uniform(-6, 6, size=(12, 8))
    X = centers[rng.integers(0, 12, N_SAMPLES)] + rng.normal(scale=2.0, size=(N_SAMPLES, 8))
    weight = rng.uniform(0.2, 3.0, size=N_SAMPLES)
    return X, weight


def _fit(X, weight, n_threads, **params):
    return KMeans(n_clusters=12, random_state=3, n_threads=n_threads, **params).fit(
        X, sample_weight=weight
    )


def assert_bit_identical(a, b):
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_, strict=True)
    np.testing.assert_array_equal(a.labels_, b.labels_, strict=True)
    assert a.inertia_ == b.inertia_
    assert a.n_iter_ == b.n_iter_


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba runs on a single thread")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_bits_with_one_and_two_threads(big_data, algorithm, dtype):
    X, weight = (a.astype(dtype) for a in big_data)
    one = _fit(X, weight, 1, algorithm=algorithm)
    two = _fit(X, weight, 2, algorithm=algorithm)
    assert one.n_iter_ > 2, "the case should take several iterations to mean anything"
    assert_bit_identical(one, two)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba runs on a single thread")
def test_random_init_with_several_runs_is_thread_independent(big_data):
    X, weight = big_data
    one = _fit(X, weight, 1, init="random", n_init=3, algorithm="lloyd")
    two = _fit(X, weight, 2, init="random", n_init=3, algorithm="lloyd")
    assert_bit_identical(one, two)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba runs on a single thread")
def test_kmeans_plusplus_is_thread_independent(big_data):
    X, weight = big_data
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        centers_one, indices_one = kmeans_plusplus(X, 12, sample_weight=weight, random_state=5)
        numba.set_num_threads(2)
        centers_two, indices_two = kmeans_plusplus(X, 12, sample_weight=weight, random_state=5)
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(indices_one, indices_two)
    np.testing.assert_array_equal(centers_one, centers_two)


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
