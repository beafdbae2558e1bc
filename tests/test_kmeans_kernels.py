"""The distance kernels against NumPy: row blocks, tiles of eight points, nearest centers (direct
distances, and dot products with their certificate), the float32 screen against the float64
kernels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans as SklearnKMeans

from kmeans_core import KMeans, lloyd, reference
from kmeans_core._kernels import products as products_kernels
from kmeans_core._kernels import screen as screen_kernels
from kmeans_core._kernels import slp_vectorizer
from kmeans_core._kernels.common import BLOCK_ALIGN, TILE, n_blocks_for, padded_to_tiles
from kmeans_core._kernels.common import block_bounds as _block_bounds
from kmeans_core._loop import (
    PRODUCTS_FROM_CLUSTERS,
    PRODUCTS_FROM_FEATURES,
    SCREEN_TILES,
    TILES_BELOW_FEATURES,
    center_data,
    run_kmeans,
    squared_norms,
    tiles_of,
)
from kmeans_core.lloyd import (
    SCREEN_DISTANCES_FROM_SAMPLES,
    LloydAssigner,
    kernel_for,
    nearest_centers,
)

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
        # Every block starts on a whole tile of both formats: eight and sixteen points.
        assert start % BLOCK_ALIGN == 0
        assert start % TILE == 0 and start % screen_kernels.LANES == 0
        assert stop > start


@pytest.mark.parametrize("n_samples", [1, 8, 13, 2051])
def test_tiles_hold_the_rows_and_zeros_past_the_end(n_samples):
    X = np.random.default_rng(n_samples).normal(size=(n_samples, 5))
    X_tiles = tiles_of(X, n_blocks_for(n_samples), 2)
    rows = X_tiles.transpose(0, 2, 1).reshape(-1, 5)
    np.testing.assert_array_equal(rows[:n_samples], X)
    assert not rows[n_samples:].any()


@pytest.mark.parametrize("n_samples", [1, 16, 29, 2051])
def test_screen_tiles_hold_the_rows_in_float32_and_zeros_past_the_end(n_samples):
    X = np.random.default_rng(n_samples).normal(size=(n_samples, 5))
    X_tiles = tiles_of(X, n_blocks_for(n_samples), 2, SCREEN_TILES)
    assert X_tiles.dtype == np.float32 and X_tiles.shape[2] == screen_kernels.LANES
    rows = X_tiles.transpose(0, 2, 1).reshape(-1, 5)
    np.testing.assert_array_equal(rows[:n_samples], X.astype(np.float32))
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
    ("n_samples", "n_features", "n_clusters"),
    [
        # Without AVX-512 / with it:
        (3001, TILES_BELOW_FEATURES - 1, 9),  # tiles / screened products
        (3001, TILES_BELOW_FEATURES, 9),  # rows / screened products
        (3001, TILES_BELOW_FEATURES, PRODUCTS_FROM_CLUSTERS),  # dot products / screened
        (3001, PRODUCTS_FROM_FEATURES, PRODUCTS_FROM_CLUSTERS - 1),  # tiles / tiles
        (3001, PRODUCTS_FROM_FEATURES - 1, PRODUCTS_FROM_CLUSTERS),  # tiles / tiles
        (SCREEN_DISTANCES_FROM_SAMPLES, 16, 3),  # tiles / screened distances
    ],
)
def test_predict_gives_the_labels_of_the_fit_whichever_the_kernel(
    n_samples, n_features, n_clusters
):
    X = np.random.default_rng(5).normal(size=(n_samples, n_features))
    km = KMeans(n_clusters, algorithm="lloyd", random_state=0).fit(X)
    np.testing.assert_array_equal(km.predict(X), km.labels_)


def test_exact_ties_go_to_the_first_center_with_dot_products():
    n_features = PRODUCTS_FROM_FEATURES
    unit = np.eye(n_features)
    centers = np.concatenate([unit, -unit])  # all at distance 1 from the origin
    assert kernel_for(n_features, centers.shape[0], screened=False).name == "products"
    X = np.zeros((21, n_features))
    assert not nearest_centers(X, centers, n_threads=1).any()


def test_dot_products_fall_back_to_direct_distances_where_they_round_wrong():
    # Far from the origin |x|^2 dwarfs the gaps between distances: |c|^2 - 2 x.c alone gets
    # some labels wrong, so the certificate must send those points to the direct distances.
    rng = np.random.default_rng(3)
    n_features, n_clusters = PRODUCTS_FROM_FEATURES, 24
    centers = rng.normal(size=(n_clusters, n_features)) + 1e6
    X = rng.normal(size=(4000, n_features)) + 1e6
    assert kernel_for(n_features, n_clusters, screened=False).name == "products"
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
    assert kernel_for(n_features, n_clusters).name in ("products", "screened products")
    ours = KMeans(n_clusters, init=init, n_init=1, algorithm=algorithm).fit(X)
    centers, labels, inertia, n_iter = reference.lloyd(X, init)
    np.testing.assert_array_equal(ours.labels_, labels)
    assert ours.n_iter_ == n_iter
    np.testing.assert_allclose(ours.inertia_, inertia, rtol=1e-9)


def _pass_twice(kernel, centers_args, X, X_tiles, sq_norms, weight, centers, moved):
    """Two Lloyd passes of a kernel: the first sums the blocks afresh, the second, after the
    centers moved a little, moves the points that changed cluster."""
    n_samples, n_features = X.shape
    n_blocks = n_blocks_for(n_samples)
    labels = np.full(n_samples, -1, dtype=np.int32)
    sums = np.zeros((n_blocks, centers.shape[0], n_features))
    weights = np.zeros((n_blocks, centers.shape[0]))
    changes = np.zeros(n_blocks, dtype=np.int64)
    state = (n_blocks, labels, sums, weights, changes, 0, n_blocks)
    with slp_vectorizer():
        for c in (centers, moved):
            n_changed = kernel(X, X_tiles, sq_norms, weight, *centers_args(c), *state)
    return labels, sums, weights, n_changed


def _screened(products, n_samples):
    def centers_args(centers):
        screened = screen_kernels.screened_centers(centers, products)
        return *screened, padded_to_tiles(centers), np.zeros(n_blocks_for(n_samples), np.int64)

    return centers_args


@pytest.mark.parametrize("products", [False, True], ids=["distances", "products"])
@pytest.mark.parametrize("n_samples", [1030, 1031, 4003, 4104])
def test_the_float32_screen_gives_the_labels_and_sums_of_float64(n_samples, products):
    # Blocks whose last tile is short of sixteen points, and data off the origin so that the
    # float32 values cannot tell many points' nearest center apart: those must fall back to
    # the direct float64 distances. Same labels as NumPy's float64 argmin, and bit for bit the
    # sums of the float64 dot-product kernel (the same points moved in the same order).
    rng = np.random.default_rng(n_samples)
    n_features, n_clusters = 16, 21
    centers = rng.normal(size=(n_clusters, n_features)) + 60.0
    X = centers[rng.integers(0, n_clusters, n_samples)] + rng.normal(size=(n_samples, n_features))
    weight = rng.uniform(0.5, 2.0, n_samples)
    moved = centers + rng.normal(scale=0.05, size=centers.shape)
    squared = ((X[:, None, :] - moved[None]) ** 2).sum(axis=2)
    nearest_two = np.sort(squared, axis=1)[:, :2]
    tolerance = products_kernels.tolerance_for.py_func(X.astype(np.float32))
    slack = tolerance * ((X**2).sum(axis=1) + (moved**2).sum(axis=1).max())
    falling_back = np.mean(nearest_two[:, 1] - nearest_two[:, 0] <= slack)
    assert 0.05 < falling_back < 0.95  # else the test would not test both ways

    n_blocks = n_blocks_for(n_samples)
    screened = _pass_twice(
        screen_kernels.lloyd_assign_and_sum,
        _screened(products, n_samples),
        X,
        tiles_of(X, n_blocks, 1, SCREEN_TILES),
        squared_norms(X, SCREEN_TILES),
        weight,
        centers,
        moved,
    )
    float64 = _pass_twice(
        products_kernels.lloyd_assign_and_sum,
        lambda c: products_kernels.products_of(c),
        X,
        tiles_of(X, n_blocks, 1),
        squared_norms(X),
        weight,
        centers,
        moved,
    )
    np.testing.assert_array_equal(screened[0], squared.argmin(axis=1))
    for ours, theirs in zip(screened, float64, strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("products", [False, True], ids=["distances", "products"])
def test_exact_ties_go_to_the_first_center_when_screened(products):
    n_features = 8
    unit = np.eye(n_features)
    centers = np.concatenate([unit, -unit])  # all at distance 1 from the origin
    X = np.zeros((37, n_features))
    labels, *_ = _pass_twice(
        screen_kernels.lloyd_assign_and_sum,
        _screened(products, 37),
        X,
        tiles_of(X, 1, 1, SCREEN_TILES),
        squared_norms(X, SCREEN_TILES),
        np.ones(37),
        centers,
        centers,
    )
    assert not labels.any()


def test_lloyd_leaves_the_screen_when_too_many_points_fall_back(monkeypatch):
    # A small cluster far from the others: its center's norm widens every point's margin, so
    # the screen can certify almost nothing and the fit goes on with the float64 kernel, with
    # scikit-learn's labels and iterations all the same. (The screen runs on any machine.)
    monkeypatch.setattr(lloyd, "SCREENED", True)
    n_samples, n_features, n_clusters = 60_000, 16, 20
    assert kernel_for(n_features, n_clusters, n_samples=n_samples).screened
    rng = np.random.default_rng(11)
    near = rng.normal(size=(n_clusters, n_features)) * 3
    X = near[rng.integers(0, n_clusters, n_samples)] + rng.normal(size=(n_samples, n_features))
    X[:300] += 1e4
    init = np.concatenate([X[300 : 300 + n_clusters - 1], X[:1]])
    X_centered, mean, mean_variance, X_tiles = center_data(X, 2, SCREEN_TILES)
    assigner = LloydAssigner(X_centered, np.ones(n_samples), n_clusters, 2, X_tiles)
    labels, _, _, n_iter, _ = run_kmeans(
        assigner, init - mean, max_iter=300, tol=1e-4 * mean_variance
    )
    assert assigner.kernel == kernel_for(n_features, n_clusters, screened=False)
    theirs = SklearnKMeans(n_clusters, init=init, n_init=1, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(labels, theirs.labels_)
    assert n_iter == theirs.n_iter_
