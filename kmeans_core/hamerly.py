"""Hamerly's algorithm: one upper and one lower bound per point skip most distance computations.

Cheap bookkeeping (two numbers per point), so it wins when there are few features and clusters.
With few features, the tiles of eight points where most bounds fail are searched at once from a
copy of the data in tiles (``_kernels/tiles.py``).
"""

from kmeans_core._kernels.bounds import hamerly_assign
from kmeans_core._loop import BoundsAssigner, tiles_of, uses_tiles


class HamerlyAssigner(BoundsAssigner):
    kernel = hamerly_assign

    def __init__(self, X, sample_weight, n_clusters, n_threads):
        super().__init__(X, sample_weight, n_clusters, n_threads)
        self.X_tiles = tiles_of(X, self.n_blocks, n_threads) if uses_tiles(X.shape[1]) else None

    @staticmethod
    def lower_shape(n_samples, n_clusters):
        return (n_samples,)  # one lower bound: the distance to the second-nearest center

    def data(self):
        return self.X, self.X_tiles, self.sample_weight
