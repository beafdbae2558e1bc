"""Lloyd's algorithm: every iteration computes the distance from every point to every center.

Three kernels, picked by the shape of the problem (``kernel_for``), all with the labels of the
direct distances: with enough features and clusters (``_loop.products_pay_off``), certified
dot products, eight points and four or eight centers at a time, one or two tiles at once
(``_kernels/products.py``); otherwise, below ``_loop.TILES_BELOW_FEATURES`` features, direct
distances eight points at a time (``_kernels/tiles.py``); from it, one point and four centers
at a time from the rows (``_kernels/lloyd.py``). The first two read a copy of the data in
tiles. ``predict`` follows the same rule, so it gives the labels of the fit.
"""

import numpy as np

from kmeans_core._kernels import lloyd as row_kernels
from kmeans_core._kernels import products as product_kernels
from kmeans_core._kernels import tiles as tile_kernels
from kmeans_core._kernels.common import assign_labels, n_blocks_for, padded_to_tiles
from kmeans_core._loop import Assigner, products_pay_off, tiles_of, tiles_pay_off
from kmeans_core._parallel import run_blocks


def kernel_for(n_features, n_clusters):
    """Which kernel finds the nearest centers: "products", "tiles" or "rows"."""
    if products_pay_off(n_features, n_clusters):
        return "products"
    return "tiles" if tiles_pay_off(n_features) else "rows"


class LloydAssigner(Assigner):
    """Brute force: n * k distances per iteration, with the cluster sums in the same pass. With
    few features, or many features and clusters, it works from a copy of the data in tiles (as
    much memory again as X)."""

    @staticmethod
    def wants_tiles(n_features, n_clusters):
        return kernel_for(n_features, n_clusters) != "rows"

    def __init__(self, X, sample_weight, n_clusters, n_threads, X_tiles=None):
        super().__init__(X, sample_weight, n_clusters, n_threads, X_tiles)
        self.kernel = kernel_for(X.shape[1], n_clusters)
        if self.kernel == "products":
            self.X_sq_norms = product_kernels.squared_norms(X)
            self.products_kernel = product_kernels.lloyd_assign_and_sum
            if product_kernels.two_tiles_pay_off(X.shape[1], n_clusters):
                self.products_kernel = product_kernels.lloyd_assign_and_sum_two_tiles

    def assign(self, centers, labels, sums, weights):
        common = (self.n_blocks, labels, sums, weights, self.block_changes)
        if self.kernel == "tiles":
            kernel = tile_kernels.lloyd_assign_and_sum
            args = (self.X, self.X_tiles, self.sample_weight, centers, *common)
        elif self.kernel == "products":
            kernel = self.products_kernel
            centers_m2, norms, max_norm, centers_pad = product_kernels.products_of(centers)
            args = (self.X, self.X_tiles, self.X_sq_norms, self.sample_weight)
            args = (*args, centers_m2, norms, max_norm, centers_pad, *common)
        else:
            kernel = row_kernels.lloyd_assign_and_sum
            args = (self.X, self.sample_weight, padded_to_tiles(centers), None, *common)
        return sum(self.run(kernel, *args))


def nearest_centers(X, centers, n_threads):
    """Index of the nearest center of every row of ``X`` (the first one on exact ties), from the
    same distances as a Lloyd fit."""
    labels = np.empty(X.shape[0], dtype=np.int32)
    n_blocks = n_blocks_for(X.shape[0])
    kernel = kernel_for(*centers.shape[::-1])
    if kernel == "products":
        X_tiles = tiles_of(X, n_blocks, n_threads)
        with tile_kernels.slp_vectorizer():
            run_blocks(
                product_kernels.assign_labels,
                n_blocks,
                n_threads,
                X,
                X_tiles,
                product_kernels.squared_norms(X),
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
