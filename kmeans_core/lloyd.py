"""Lloyd's algorithm: every iteration computes the distance from every point to every center.

Five kernels, picked by the shape of the problem (``kernel_for``), all with the labels of the
direct distances. With AVX-512 and enough work per point (``SCREEN_FROM_WORK``), a float32
screen sixteen points at a time, by dot products or direct distances, each answer certified
(``_kernels/screen.py``). Otherwise: with enough features and clusters
(``_loop.products_pay_off``), certified float64 dot products, eight points and four or eight
centers at a time (``_kernels/products.py``); below ``_loop.TILES_BELOW_FEATURES`` features,
direct distances eight points at a time (``_kernels/tiles.py``); from it, one point and four
centers at a time from the rows (``_kernels/lloyd.py``). All but the last read a copy of the
data in tiles. ``predict`` takes the float64 kernels of the same rule: the same labels as the
fit, since every kernel gives those of the direct distances.
"""

import numpy as np

from kmeans_core._kernels import WIDE_VECTORS
from kmeans_core._kernels import lloyd as row_kernels
from kmeans_core._kernels import products as product_kernels
from kmeans_core._kernels import screen as screen_kernels
from kmeans_core._kernels import tiles as tile_kernels
from kmeans_core._kernels.common import assign_labels, n_blocks_for, padded_to_tiles
from kmeans_core._loop import (
    DATA_TILES,
    SCREEN_TILES,
    Assigner,
    products_pay_off,
    squared_norms,
    tiles_of,
    tiles_pay_off,
)
from kmeans_core._parallel import run_blocks

#: With AVX-512, Lloyd screens in float32 (``_kernels/screen.py``) from this much work per point
#: (features x clusters) on; below it the certificate's bookkeeping costs more than the search
#: saves. Whole fits against the float64 kernels' best (ms, 2 threads, Emerald Rapids VM, cases
#: of ``benchmarks/bench_fit.py``, alternated, median of 5), screened distances / products:
#: 100k x 3 x 20 56 / 59 against 75 (tiles); 1M x 2 x 20 264 / 266 against 321 (tiles); 1M x 16 x
#: 3 604 / 696 against 780 (tiles); 1M x 8 x 8 374 / 392 against 435 (tiles); 300k x 16 x 20 403
#: / 323 against 482 (products); 100k x 64 x 8 196 / 145 against 313 (rows); 10k x 64 x 20 28 /
#: 20 against 29 (products); but 10k x 8 x 8 7.0 / 7.1 against 6.9, 100k x 2 x 8 20 / 22 against
#: 20, 100k x 8 x 3 56 / 59 against 49, 10k x 2 x 3 5.0 / 5.5 against 3.4 (tiles).
SCREEN_FROM_WORK = 40
#: ... by dot products from this much work on, else by direct distances (per pair, in the
#: module docstring of ``_kernels/screen.py``: at k=128 products take half the time for
#: d=2 to 64; at d=16, k=3 1.12x the time, 1M x 16 x 3 whole fits 696 against 604 ms).
SCREEN_PRODUCTS_FROM_WORK = 128
#: ... and by direct distances only from this many points: below, the float64 tiles' passes are
#: as fast and numba compiles them in 4 s less (10k x 8 x 8: 3.9 ms against 4.3; 100k x 3 x 20
#: 45 against 41 ms).
SCREEN_DISTANCES_FROM_SAMPLES = 50_000
#: A fit leaves the screen for the float64 kernels after a pass in which more than one point in
#: this many fell back to direct distances: 200k x 16 x 20 with 500 points 10^3 away from the
#: others, whole fits 91 ms screened throughout against 34 ms in float64; leaving after the
#: first pass, 68 ms against 44 (another run).
LEAVE_THE_SCREEN_FROM = 32


def kernel_for(n_features, n_clusters, screened=WIDE_VECTORS, n_samples=None):
    """Which kernel finds the nearest centers of ``n_samples`` points (None: many):
    "screened products", "screened distances" (with ``screened``), "products", "tiles" or
    "rows"."""
    work = n_features * n_clusters
    if screened and work >= SCREEN_FROM_WORK:
        if work >= SCREEN_PRODUCTS_FROM_WORK:
            return "screened products"
        if n_samples is None or n_samples >= SCREEN_DISTANCES_FROM_SAMPLES:
            return "screened distances"
    if products_pay_off(n_features, n_clusters):
        return "products"
    return "tiles" if tiles_pay_off(n_features) else "rows"


class LloydAssigner(Assigner):
    """Brute force: n * k distances per iteration, with the cluster sums in the same pass. With
    few features, or many features and clusters, it works from a copy of the data in tiles (as
    much memory again as X, half as much screened in float32)."""

    @staticmethod
    def tile_format(n_samples, n_features, n_clusters):
        kernel = kernel_for(n_features, n_clusters, n_samples=n_samples)
        if kernel.startswith("screened"):
            return SCREEN_TILES
        return None if kernel == "rows" else DATA_TILES

    def __init__(self, X, sample_weight, n_clusters, n_threads, X_tiles=None):
        super().__init__(X, sample_weight, n_clusters, n_threads, X_tiles)
        self.kernel = kernel_for(X.shape[1], n_clusters, n_samples=X.shape[0])
        if self.kernel == "products":
            self.X_sq_norms = squared_norms(X, n_threads=n_threads)
        elif self.kernel.startswith("screened"):
            self.X_sq_norms = squared_norms(X, screen_kernels.LANES, np.float32, n_threads)
            self.block_fallbacks = np.zeros(self.n_blocks, dtype=np.int64)

    def assign(self, centers, labels, sums, weights):
        common = (self.n_blocks, labels, sums, weights, self.block_changes)
        if self.kernel.startswith("screened"):
            kernel = screen_kernels.lloyd_assign_and_sum
            products = self.kernel == "screened products"
            screened = screen_kernels.screened_centers(centers, products)
            args = (self.X, self.X_tiles, self.X_sq_norms, self.sample_weight, *screened)
            args = (*args, padded_to_tiles(centers), self.block_fallbacks, *common)
            changed = sum(self.run(kernel, *args))
            if self.block_fallbacks.sum() * LEAVE_THE_SCREEN_FROM > self.X.shape[0]:
                self._leave_the_screen()
            return changed
        if self.kernel == "tiles":
            kernel = tile_kernels.lloyd_assign_and_sum
            args = (self.X, self.X_tiles, self.sample_weight, centers, *common)
        elif self.kernel == "products":
            kernel = product_kernels.lloyd_assign_and_sum
            centers_m2, norms, max_norm, centers_pad = product_kernels.products_of(centers)
            args = (self.X, self.X_tiles, self.X_sq_norms, self.sample_weight)
            args = (*args, centers_m2, norms, max_norm, centers_pad, *common)
        else:
            kernel = row_kernels.lloyd_assign_and_sum
            args = (self.X, self.sample_weight, padded_to_tiles(centers), None, *common)
        return sum(self.run(kernel, *args))

    def _leave_the_screen(self):
        """Go on with the float64 kernel of the same shape: the screen's certificate fails for
        too many points, as when a cluster lies far from the others (its centers' norms widen
        every point's margin). The labels are the same either way."""
        n_samples, n_features = self.X.shape
        self.kernel = kernel_for(n_features, self.n_clusters, screened=False)
        self.X_tiles = None
        if self.kernel != "rows":
            self.X_tiles = tiles_of(self.X, self.n_blocks, self.n_threads)
        if self.kernel == "products":
            self.X_sq_norms = squared_norms(self.X, n_threads=self.n_threads)


def nearest_centers(X, centers, n_threads):
    """Index of the nearest center of every row of ``X`` (the first one on exact ties), from the
    same distances as a Lloyd fit."""
    labels = np.empty(X.shape[0], dtype=np.int32)
    n_blocks = n_blocks_for(X.shape[0])
    kernel = kernel_for(*centers.shape[::-1], screened=False)
    if kernel == "products":
        X_tiles = tiles_of(X, n_blocks, n_threads)
        with tile_kernels.slp_vectorizer():
            run_blocks(
                product_kernels.assign_labels,
                n_blocks,
                n_threads,
                X,
                X_tiles,
                squared_norms(X, n_threads=n_threads),
                *product_kernels.products_of(centers),
                n_blocks,
                labels,
            )
    elif kernel == "tiles":
        X_tiles = tiles_of(X, n_blocks, n_threads)
        with tile_kernels.slp_vectorizer():
            run_blocks(
                tile_kernels.assign_labels, n_blocks, n_threads, X_tiles, centers, n_blocks, labels
            )
    else:
        run_blocks(
            assign_labels, n_blocks, n_threads, X, padded_to_tiles(centers), None, n_blocks, labels
        )
    return labels
