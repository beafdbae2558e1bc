"""Hamerly's algorithm: one upper and one lower bound per point skip most distance computations.

Cheap bookkeeping (two numbers per point), so it wins when there are few features and clusters.
With few features, the tiles of eight points where most bounds fail are searched at once from a
copy of the data in tiles (``_kernels/tiles.py``).
"""

from kmeans_core._kernels.bounds import hamerly_assign
from kmeans_core._loop import BoundsAssigner, tiles_pay_off


class HamerlyAssigner(BoundsAssigner):
    kernel = hamerly_assign

    @staticmethod
    def wants_tiles(n_features, n_clusters):
        return tiles_pay_off(n_features)

    @staticmethod
    def lower_shape(n_samples, n_clusters):
        return (n_samples,)  # one lower bound: the distance to the second-nearest center

    def data(self):
        return self.X, self.X_tiles, self.sample_weight
