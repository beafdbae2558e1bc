"""The distance kernels against NumPy: row blocks, tiles of eight points, nearest centers (direct
distances, and dot products with their certificate)."""

from __future__ import annotations

import numpy as np
import pytest

from kmeans_core import KMeans, reference
from kmeans_core._kernels import products as products_kernels
from kmeans_core._kernels.common import TILE, n_blocks_for
from kmeans_core._kernels.common import block_bounds as _block_bounds
from kmeans_core._kernels.tiles import slp_vectorizer
from kmeans_core._loop import (
    PRODUCTS_FROM_CLUSTERS,
    PRODUCTS_FROM_FEATURES,
    TILES_BELOW_FEATURES,
    tiles_of,
)
from kmeans_core.lloyd import kernel_for, nearest_centers

block_bounds = _block_bounds.py_func


@pytest.mark.parametrize("n_samples", [1, 7, 511, 1024, 1031, 40_003, 1_000_000])
def test_blocks_cover_the_rows_in_order_and_start_on_whole_tiles(n_samples):
    n_blocks = n_blocks_for(n_samples)
    bounds = [block_bounds(b, n_blocks, n_samples) for b in range(n_blocks)]
    assert bounds[0][0] == 0
    assert bounds[-1][1] == n_samples
    for b in range(n_blocks - 1):
        assert bounds[b][1] == bounds[b + 1][0]
    for start, stop in bounds:
        assert start % TILE == 0
        assert stop > start


@pytest.mark.parametrize("n_samples", [1, 8, 13, 2051])
def test_tiles_hold_the_rows_and_zeros_past_the_end(n_samples):
    X = np.random.default_rng(n_samples).normal(size=(n_samples, 5))
    X_tiles = tiles_of(X, n_blocks_for(n_samples), 2)
    rows = X_tiles.transpose(0, 2, 1).reshape(-1, 5)
    np.testing.assert_array_equal(rows[:n_samples], X)
    assert not rows[n_samples:].any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_clusters", [1, 2, 3, 7, 20, PRODUCTS_FROM_CLUSTERS + 1])
@pytest.mark.parametrize("n_features", [1, 2, 3, 5, 8, 17, TILES_BELOW_FEATURES - 1, 40])
def test_nearest_centers_are_numpys_argmin(n_features, n_clusters, dtype):
    rng = np.random.default_rng(n_features * 100 + n_clusters)
    X = rng.normal(size=(1037, n_features)).astype(dtype)
    centers = rng.normal(size=(n_clusters, n_features)).astype(dtype)
    expected = ((X[:, None, :].astype(np.float64) - centers[None]) ** 2).sum(axis=2).argmin(axis=1)
    np.testing.assert_array_equal(nearest_centers(X, centers, n_threads=2), expected)


def test_exact_ties_go_to_the_first_center():
    X = np.zeros((19, 3))
    centers = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [-1.0, 0, 0]])
    assert not nearest_centers(X, centers, n_threads=1).any()


@pytest.mark.parametrize(
    ("n_features", "n_clusters"),
    [
        (TILES_BELOW_FEATURES - 1, 9),  # tiles
        (TILES_BELOW_FEATURES, 9),  # rows
        (TILES_BELOW_FEATURES, PRODUCTS_FROM_CLUSTERS),  # dot products
        (PRODUCTS_FROM_FEATURES, PRODUCTS_FROM_CLUSTERS - 1),  # tiles
        (PRODUCTS_FROM_FEATURES - 1, PRODUCTS_FROM_CLUSTERS),  # tiles
    ],
)
def test_predict_gives_the_labels_of_the_fit_whichever_the_kernel(n_features, n_clusters):
    X = np.random.default_rng(5).normal(size=(3001, n_features))
    km = KMeans(n_clusters, algorithm="lloyd", random_state=0).fit(X)
    np.testing.assert_array_equal(km.predict(X), km.labels_)


def test_exact_ties_go_to_the_first_center_with_dot_products():
    n_features = PRODUCTS_FROM_FEATURES
    unit = np.eye(n_features)
    centers = np.concatenate([unit, -unit])  # all at distance 1 from the origin
    assert kernel_for(n_features, centers.shape[0]) == "products"
    X = np.zeros((21, n_features))
    assert not nearest_centers(X, centers, n_threads=1).any()


def test_dot_products_fall_back_to_direct_distances_where_they_round_wrong():
    # Far from the origin |x|^2 dwarfs the gaps between distances: |c|^2 - 2 x.c alone gets
    # some labels wrong, so the certificate must send those points to the direct distances.
    rng = np.random.default_rng(3)
    n_features, n_clusters = PRODUCTS_FROM_FEATURES, 24
    centers = rng.normal(size=(n_clusters, n_features)) + 1e6
    X = rng.normal(size=(4000, n_features)) + 1e6
    assert kernel_for(n_features, n_clusters) == "products"
    direct = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2).argmin(axis=1)
    products = ((centers**2).sum(axis=1)[None] - 2 * X @ centers.T).argmin(axis=1)
    assert (products != direct).any()  # else this test would not test the fallback
    np.testing.assert_array_equal(nearest_centers(X, centers, n_threads=2), direct)


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly", "yinyang"])
def test_dot_products_fall_back_inside_a_fit_too(algorithm):
    # A cluster far away puts the others far from the data's mean, where |c|^2 - 2 x.c alone
    # gets labels wrong: Lloyd's passes and Hamerly's and Yinyang's tile searches must go to
    # the direct distances there, and give the textbook answer (reference.py: direct distances
    # only).
    rng = np.random.default_rng(7)
    n_features, n_clusters = PRODUCTS_FROM_FEATURES * 2, PRODUCTS_FROM_CLUSTERS + 4
    near = rng.normal(size=(n_clusters - 1, n_features))
    X = near[rng.integers(0, n_clusters - 1, 3000)] + rng.normal(scale=0.8, size=(3000, n_features))
    X = np.concatenate([X, 1e9 + rng.normal(size=(20, n_features))])
    init = np.concatenate([X[: n_clusters - 1], X[-1:]])
    assert kernel_for(n_features, n_clusters) == "products"
    ours = KMeans(n_clusters, init=init, n_init=1, algorithm=algorithm).fit(X)
    centers, labels, inertia, n_iter = reference.lloyd(X, init)
    np.testing.assert_array_equal(ours.labels_, labels)
    assert ours.n_iter_ == n_iter
    np.testing.assert_allclose(ours.inertia_, inertia, rtol=1e-9)


@pytest.mark.skipif(
    not products_kernels.two_tiles_pay_off(64, 128),
    reason="Lloyd searches two tiles at a time only with AVX-512's groups of eight centers",
)
@pytest.mark.parametrize("n_samples", [1030, 1031, 4003, 4104])
def test_two_tiles_at_a_time_give_the_labels_and_sums_of_one(n_samples):
    # Blocks with an odd number of tiles, a last tile short of eight points, and data far from
    # the origin so that some points fall back to direct distances. Two passes: the first sums
    # the blocks afresh, the second, after the centers moved a little, moves the points.
    rng = np.random.default_rng(n_samples)
    n_features, n_clusters = 16, 70  # 70 = 8 groups of eight, the last one short
    centers = rng.normal(size=(n_clusters, n_features)) + 1e6  # a third of the points fall back
    X = centers[rng.integers(0, n_clusters, n_samples)] + rng.normal(size=(n_samples, n_features))
    weight = rng.uniform(0.5, 2.0, n_samples)
    n_blocks = n_blocks_for(n_samples)
    X_tiles = tiles_of(X, n_blocks, 1)
    sq_norms = products_kernels.squared_norms(X)
    shift = rng.normal(scale=0.3, size=centers.shape)
    results = []
    for kernel in (
        products_kernels.lloyd_assign_and_sum,
        products_kernels.lloyd_assign_and_sum_two_tiles,
    ):
        labels = np.full(n_samples, -1, dtype=np.int32)
        sums = np.zeros((n_blocks, n_clusters, n_features))
        weights = np.zeros((n_blocks, n_clusters))
        changes = np.zeros(n_blocks, dtype=np.int64)
        data = (X, X_tiles, sq_norms, weight)
        state = (n_blocks, labels, sums, weights, changes, 0, n_blocks)
        with slp_vectorizer():
            for moved in (centers, centers + shift):
                n_changed = kernel(*data, *products_kernels.products_of(moved), *state)
        direct = ((X[:, None, :] - moved[None]) ** 2).sum(axis=2).argmin(axis=1)
        np.testing.assert_array_equal(labels, direct)
        results.append((labels, sums, weights, n_changed))
    one, two = results
    np.testing.assert_array_equal(two[0], one[0])
    np.testing.assert_array_equal(two[1], one[1])
    np.testing.assert_array_equal(two[2], one[2])
    assert two[3] == one[3] > 0
