"""The K-Means iteration loop shared by every algorithm.

Each algorithm only differs in how it finds the nearest center of every point (its *assigner*);
everything else -- the center update, empty-cluster relocation, the convergence tests and the
last assignment step -- lives here once, with scikit-learn's exact semantics:

- the centers are the weighted means of their points; a cluster that lost all its weight is
  re-seeded with the point farthest from its own center;
- the loop stops when the labels did not change (strict convergence) or when the sum of squared
  center shifts is at most ``tol`` (already scaled by the data's mean variance);
- unless it converged strictly, a last assignment step makes the labels match the final centers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from kmeans_core._convergence import converged_after
from kmeans_core._kernels import slp_vectorizer
from kmeans_core._kernels.common import (
    TILE,
    column_sums,
    inertia_blocks,
    n_blocks_for,
    row_squared_norms,
    subtract_and_square_sums,
    transposed_if_few_features,
)
from kmeans_core._kernels.products import Products, products_of
from kmeans_core._kernels.screen import LANES as SCREEN_LANES
from kmeans_core._kernels.tiles import to_tiles
from kmeans_core._kernels.update import add_block_sums, average_and_shift, center_geometry
from kmeans_core._parallel import run_blocks
from kmeans_core._validation import check_finite

#: Below this many features the kernels that look for the nearest center of every point work
#: eight points at a time from a copy of the data in tiles (``_kernels/tiles.py``); from it the
#: rows are as fast (``python -m benchmarks.compare kernels``).
TILES_BELOW_FEATURES = 32


def tiles_pay_off(n_features):
    """Whether the algorithms that can work from tiles get a copy of the data in tiles."""
    return n_features < TILES_BELOW_FEATURES


#: From this many features and clusters on, Lloyd's nearest centers come from certified dot
#: products (``_kernels/products.py``) rather than from direct distances; with few centers
#: products never win (``python -m benchmarks.compare kernels``).
PRODUCTS_FROM_FEATURES = 8
PRODUCTS_FROM_CLUSTERS = 16


def products_pay_off(n_features, n_clusters):
    """Whether Lloyd's nearest centers come from dot products rather than direct distances."""
    return n_features >= PRODUCTS_FROM_FEATURES and n_clusters >= PRODUCTS_FROM_CLUSTERS


class TileFormat(NamedTuple):
    """A copy of the data in tiles that kernels read: ``X_tiles[t, f, p] = X[width * t + p,
    f]``, in ``dtype`` (None: the data's)."""

    name: str
    width: int
    dtype: type | None

    def dtype_for(self, data_dtype):
        return data_dtype if self.dtype is None else self.dtype


#: In the data's precision, eight rows a tile (``_kernels/tiles.py``, ``_kernels/products.py``).
DATA_TILES = TileFormat("data", TILE, None)
#: In float32, sixteen rows a tile (``_kernels/screen.py``).
SCREEN_TILES = TileFormat("screen", SCREEN_LANES, np.float32)


def tiles_of(X, n_blocks, n_threads, tile_format=DATA_TILES):
    """``X`` copied into tiles of ``tile_format``."""
    n_samples, n_features = X.shape
    X_tiles = _empty_tiles(n_samples, n_features, X.dtype, tile_format)
    run_blocks(to_tiles, n_blocks, n_threads, X, n_blocks, X_tiles)
    return X_tiles


def _empty_tiles(n_samples, n_features, dtype, tile_format):
    width = tile_format.width
    return np.empty((-(-n_samples // width), n_features, width), tile_format.dtype_for(dtype))


def squared_norms(X, tile_format=DATA_TILES, n_threads=None):
    """``|x|^2`` of every row of ``X``, laid out like its tiles of ``tile_format``: ``(n_tiles,
    width)``, in the tiles' precision, zeros past the last row; on ``n_threads`` threads. Once
    per fit rather than in the kernels at every pass. (Any order of summation is within
    ``products.tolerance_for``.)"""
    n_tiles = -(-X.shape[0] // tile_format.width)
    out = np.zeros(n_tiles * tile_format.width, dtype=tile_format.dtype_for(X.dtype))
    n_blocks = n_blocks_for(X.shape[0])
    run_blocks(row_squared_norms, n_blocks, n_threads, X, n_blocks, out)
    return out.reshape(n_tiles, tile_format.width)


class Assigner:
    """How an algorithm finds the nearest centers. Subclasses override ``assign``.

    ``assign(centers, labels, sums, weights)`` writes the nearest center of every point into
    ``labels``, leaves in ``sums`` (n_blocks, n_clusters, n_features) and ``weights``
    (n_blocks, n_clusters) the weighted sums of each cluster's points per row block, and returns
    how many labels changed. The kernels keep the sums up to date by moving the points that
    changed cluster, so a run passes the same arrays every time, with ``labels`` all -1 at
    first. ``centers_moved(centers_new, shift)`` lets bound-keeping algorithms update their
    bounds.
    """

    @staticmethod
    def tile_format(n_samples, n_features, n_clusters):
        """The copy of the data in tiles that the kernels read for this shape (``DATA_TILES``
        or ``SCREEN_TILES``), or None; the fit then passes one as ``X_tiles``."""
        return None

    def __init__(self, X, sample_weight, n_clusters, n_threads, X_tiles=None):
        self.X = X
        self.X_tiles = X_tiles
        self.sample_weight = sample_weight
        self.n_clusters = n_clusters
        self.n_blocks = n_blocks_for(X.shape[0])
        self.n_threads = n_threads
        # How many points of each block changed cluster in the last pass: it tells the kernels
        # whether to sum the block afresh in the next (``_kernels.common.sums_afresh``).
        self.block_changes = np.zeros(self.n_blocks, dtype=np.int64)

    def run(self, kernel, *args):
        """Run a block kernel over all blocks on ``n_threads`` threads; results in block order
        (compiled, the first time, with LLVM's SLP vectorizer: ``slp_vectorizer``)."""
        with slp_vectorizer():
            return run_blocks(kernel, self.n_blocks, self.n_threads, *args)

    def data(self):
        """The data arguments of the kernel: ``(X, sample_weight)``."""
        return self.X, self.sample_weight

    def assign(self, centers, labels, sums, weights):
        raise NotImplementedError

    def centers_moved(self, centers_new, shift):
        pass


class BoundsAssigner(Assigner):
    """Base of the algorithms that keep triangle-inequality bounds (all but Lloyd).

    Subclasses set ``lower_shape`` and ``kernel``, a bounds kernel called as
    ``kernel(*data, centers, centers_t, shift, *geometry, n_blocks, labels, upper, lower, sums,
    weights, block_changes, first_block, stop_block)`` where ``data`` and ``geometry`` are what
    ``self.data()`` and ``self.geometry(centers)`` return; the moves of the centers since the
    last assignment are summed in ``shift`` so the kernel can loosen the bounds by
    them. The kernel updates the cluster sums only for the points that changed cluster.
    """

    kernel = None

    def __init__(self, X, sample_weight, n_clusters, n_threads, X_tiles=None):
        super().__init__(X, sample_weight, n_clusters, n_threads, X_tiles)
        self.upper = np.zeros(X.shape[0], dtype=X.dtype)
        self.lower = np.zeros(self.lower_shape(X.shape[0], n_clusters), dtype=X.dtype)
        self.shift = np.zeros(n_clusters, dtype=X.dtype)
        self.half_dist = np.zeros((n_clusters, n_clusters), dtype=X.dtype)
        self.half_nearest = np.zeros(n_clusters, dtype=X.dtype)

    @staticmethod
    def lower_shape(n_samples, n_clusters):
        raise NotImplementedError

    def geometry(self, centers):
        """What the kernel needs to know of the centers' positions relative to each other:
        half the distance between every two, and from each to its nearest other one."""
        center_geometry(centers, self.half_dist, self.half_nearest)
        return self.half_dist, self.half_nearest

    def assign(self, centers, labels, sums, weights):
        changes = self.run(
            type(self).kernel,
            *self.data(),
            centers,
            transposed_if_few_features(centers),
            self.shift,
            *self.geometry(centers),
            self.n_blocks,
            labels,
            self.upper,
            self.lower,
            sums,
            weights,
            self.block_changes,
        )
        self.shift[:] = 0  # the bounds now account for every move so far
        return sum(changes)

    def centers_moved(self, centers_new, shift):
        self.shift += shift


class TileSearchAssigner(BoundsAssigner):
    """Base of the bounds algorithms that search their failing points eight at a time from the
    data in tiles (Hamerly, Yinyang): with tiles below 32 features, and by certified dot
    products where they pay off (``products_pay_off``), whatever the number of features."""

    @staticmethod
    def tile_format(n_samples, n_features, n_clusters):
        if tiles_pay_off(n_features) or products_pay_off(n_features, n_clusters):
            return DATA_TILES
        return None

    def __init__(self, X, sample_weight, n_clusters, n_threads, X_tiles=None):
        super().__init__(X, sample_weight, n_clusters, n_threads, X_tiles)
        self.X_sq_norms = None
        if X_tiles is not None and products_pay_off(X.shape[1], n_clusters):
            self.X_sq_norms = squared_norms(X, n_threads=n_threads)

    def data(self):
        return self.X, self.X_tiles, self.sample_weight

    def products(self, centers):
        """The kernels' ``products`` argument: None (direct distances) or a
        ``_kernels.products.Products``."""
        if self.X_sq_norms is None:
            return None
        centers_m2, norms, max_norm, _ = products_of(centers)
        return Products(centers_m2, norms, max_norm, self.X_sq_norms)


def relocate_empty_clusters(X, sample_weight, centers_old, centers_new, weight_in_clusters, labels):
    """Give every cluster without weight the point farthest from its own center.

    This mirrors scikit-learn's ``_relocate_empty_clusters_dense`` step for step (same
    distances, same ``argpartition`` order) so that both pick the same points. It works on the
    cluster *sums* before they are averaged; the moved points keep their labels.
    """
    empty = np.flatnonzero(weight_in_clusters == 0)
    n_empty = empty.shape[0]
    if n_empty == 0:
        return
    distances = ((X - centers_old[labels]) ** 2).sum(axis=1)
    if distances.max() == 0:
        return  # more clusters than distinct points: every point already sits on a center
    far_from_centers = np.argpartition(distances, -n_empty)[: -n_empty - 1 : -1]
    for new_id, far_idx in zip(empty, far_from_centers, strict=True):
        weight = sample_weight[far_idx]
        old_id = labels[far_idx]
        centers_new[old_id] -= X[far_idx] * weight
        centers_new[new_id] = X[far_idx] * weight
        weight_in_clusters[new_id] = weight
        weight_in_clusters[old_id] -= weight


def run_kmeans(assigner: Assigner, centers_init, *, max_iter, tol):
    """Run one K-Means from ``centers_init`` with the given assigner.

    Returns
    -------
    labels : ndarray of shape (n_samples,), int32
    inertia : float
    centers : ndarray of shape (n_clusters, n_features)
    n_iter : int
        Number of iterations run (as scikit-learn counts them).
    converged : bool
        False when the loop stopped only because it reached ``max_iter``.
    """
    X, sample_weight = assigner.X, assigner.sample_weight
    n_samples = X.shape[0]
    n_clusters, n_features = centers_init.shape
    n_blocks = assigner.n_blocks

    centers = np.array(centers_init, dtype=X.dtype, order="C", copy=True)
    centers_new = np.zeros_like(centers)
    labels = np.full(n_samples, -1, dtype=np.int32)
    sums = np.zeros((n_blocks, n_clusters, n_features), dtype=X.dtype)
    weights = np.zeros((n_blocks, n_clusters), dtype=X.dtype)
    weight_in_clusters = np.zeros(n_clusters, dtype=X.dtype)
    shift = np.zeros(n_clusters, dtype=X.dtype)

    converged = strict = False
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is returned)
        n_changed = assigner.assign(centers, labels, sums, weights)
        if add_block_sums(sums, weights, centers_new, weight_in_clusters):
            relocate_empty_clusters(
                X, sample_weight, centers, centers_new, weight_in_clusters, labels
            )
        squared_shift = average_and_shift(centers_new, weight_in_clusters, centers, shift)
        assigner.centers_moved(centers_new, shift)
        centers, centers_new = centers_new, centers
        converged, strict = converged_after(n_changed, squared_shift, tol)
        if converged:
            break

    if not strict:
        # The centers moved once more after the last assignment: make the labels match them.
        assigner.assign(centers, labels, sums, weights)

    inertia = inertia_of(X, sample_weight, centers, labels, assigner.n_threads)
    return labels, inertia, centers, n_iter, converged


def center_data(X, n_threads=None, tile_format=None):
    """Subtract the column means from ``X`` (as scikit-learn does before it clusters).

    Returns the centered copy, the means, the mean of the column variances (which scales
    ``tol``), and with a ``tile_format`` the centered copy in those tiles too (else None); two
    passes over ``X`` on ``n_threads`` threads, deterministic for any count. Raises
    ``ValueError`` if ``X`` holds NaN or infinity (seen in the column sums of the first pass).
    """
    n_samples, n_features = X.shape
    n_blocks = n_blocks_for(n_samples)
    partial = np.empty((n_blocks, n_features), dtype=np.float64)
    run_blocks(column_sums, n_blocks, n_threads, X, n_blocks, partial)
    mean = (partial.sum(axis=0) / n_samples).astype(X.dtype)
    if not np.isfinite(mean).all():  # a NaN or infinity in X, or sums beyond float64's range
        check_finite(X)
    X_centered = np.empty_like(X, order="C")
    # An empty array tells the kernel there are no tiles to write.
    X_tiles = _empty_tiles(
        n_samples if tile_format else 0, n_features, X.dtype, tile_format or DATA_TILES
    )
    run_blocks(
        subtract_and_square_sums,
        n_blocks,
        n_threads,
        X,
        mean,
        n_blocks,
        X_centered,
        X_tiles,
        partial,
    )
    mean_variance = float(partial.sum(axis=0).mean() / n_samples)
    return X_centered, mean, mean_variance, X_tiles if tile_format else None


def inertia_of(X, sample_weight, centers, labels, n_threads=None):
    """Weighted sum of squared distances to the assigned centers (deterministic)."""
    n_blocks = n_blocks_for(X.shape[0])
    per_block = np.zeros(n_blocks, dtype=np.float64)
    run_blocks(
        inertia_blocks, n_blocks, n_threads, X, sample_weight, centers, labels, n_blocks, per_block
    )
    return float(per_block.sum())
