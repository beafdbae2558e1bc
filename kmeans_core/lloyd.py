"""Lloyd's algorithm: every iteration computes the distance from every point to every center.

Below ``TILES_BELOW_FEATURES`` features the distances are made eight points at a time from a
copy of the data in tiles (``_kernels/tiles.py``); from it, one point and four centers at a
time from the rows (``_kernels/lloyd.py``). ``predict`` follows the same rule, so it gives the
labels of the fit.
"""

import numpy as np

from kmeans_core._kernels import lloyd as row_kernels
from kmeans_core._kernels import tiles as tile_kernels
from kmeans_core._kernels.common import assign_labels, n_blocks_for, padded_to_tiles
from kmeans_core._loop import Assigner
from kmeans_core._parallel import run_blocks

#: Per (point, center) pair on one core, tiles against rows (``benchmarks/README.md``): d=2, k=8
#: 0.86 against 1.97 ns; d=8, k=8 2.1 against 3.6; d=16, k=20 3.5 against 4.6; d=24, k=20 5.1
#: against 5.9; d=32 level; d=64, k=8 16.1 against 12.3.
TILES_BELOW_FEATURES = 32


def uses_tiles(n_features):
    """Whether Lloyd and ``predict`` work from tiles for this many features."""
    return n_features < TILES_BELOW_FEATURES


def tiles_of(X, n_blocks, n_threads):
    """``X`` copied into tiles of eight rows (``kmeans_core._kernels.tiles``)."""
    n_samples, n_features = X.shape
    tile = tile_kernels.TILE
    X_tiles = np.empty((-(-n_samples // tile), n_features, tile), dtype=X.dtype)
    run_blocks(tile_kernels.to_tiles, n_blocks, n_threads, X, n_blocks, X_tiles)
    return X_tiles


class LloydAssigner(Assigner):
    """Brute force: n * k distances per iteration, with the cluster sums in the same pass. With
    few features it keeps a copy of the data in tiles (as much memory again as X)."""

    def __init__(self, X, sample_weight, n_clusters, n_threads):
        super().__init__(X, sample_weight, n_clusters, n_threads)
        self.X_tiles = tiles_of(X, self.n_blocks, n_threads) if uses_tiles(X.shape[1]) else None

    def assign(self, centers, labels, sums, weights):
        common = (self.n_blocks, labels, sums, weights)
        if self.X_tiles is None:
            kernel = row_kernels.lloyd_assign_and_sum
            args = (self.X, self.sample_weight, padded_to_tiles(centers), None, *common)
        else:
            kernel = tile_kernels.lloyd_assign_and_sum
            centers = tile_kernels.padded_to_pairs(centers)
            args = (self.X, self.X_tiles, self.sample_weight, centers, *common)
        with tile_kernels.slp_vectorizer():
            return sum(self.run(kernel, *args))


def nearest_centers(X, centers, n_threads):
    """Index of the nearest center of every row of ``X`` (the first one on exact ties), from the
    same distances as a Lloyd fit."""
    labels = np.empty(X.shape[0], dtype=np.int32)
    n_blocks = n_blocks_for(X.shape[0])
    if uses_tiles(X.shape[1]):
        X_tiles = tiles_of(X, n_blocks, n_threads)
        centers = tile_kernels.padded_to_pairs(centers)
        with tile_kernels.slp_vectorizer():
            run_blocks(
                tile_kernels.assign_labels, n_blocks, n_threads, X_tiles, centers, n_blocks, labels
            )
    else:
        run_blocks(
            assign_labels, n_blocks, n_threads, X, padded_to_tiles(centers), None, n_blocks, labels
        )
    return labels
