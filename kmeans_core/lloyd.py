"""Lloyd's algorithm: every iteration computes the distance from every point to every center.

Below ``_loop.TILES_BELOW_FEATURES`` features the distances are made eight points at a time
from a copy of the data in tiles (``_kernels/tiles.py``); from it, one point and four centers
at a time from the rows (``_kernels/lloyd.py``). ``predict`` follows the same rule, so it gives the
labels of the fit.
"""

import numpy as np

from kmeans_core._kernels import lloyd as row_kernels
from kmeans_core._kernels import tiles as tile_kernels
from kmeans_core._kernels.common import assign_labels, n_blocks_for, padded_to_tiles
from kmeans_core._loop import Assigner, tiles_of, tiles_pay_off
from kmeans_core._parallel import run_blocks


class LloydAssigner(Assigner):
    """Brute force: n * k distances per iteration, with the cluster sums in the same pass. With
    few features it works from a copy of the data in tiles (as much memory again as X)."""

    takes_tiles = True

    def assign(self, centers, labels, sums, weights):
        common = (self.n_blocks, labels, sums, weights, self.block_changes)
        if self.X_tiles is None:
            kernel = row_kernels.lloyd_assign_and_sum
            args = (self.X, self.sample_weight, padded_to_tiles(centers), None, *common)
        else:
            kernel = tile_kernels.lloyd_assign_and_sum
            args = (self.X, self.X_tiles, self.sample_weight, centers, *common)
        return sum(self.run(kernel, *args))


def nearest_centers(X, centers, n_threads):
    """Index of the nearest center of every row of ``X`` (the first one on exact ties), from the
    same distances as a Lloyd fit."""
    labels = np.empty(X.shape[0], dtype=np.int32)
    n_blocks = n_blocks_for(X.shape[0])
    if tiles_pay_off(X.shape[1]):
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
