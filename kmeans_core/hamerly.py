"""Hamerly's algorithm: one upper and one lower bound per point skip most distance computations.

Cheap bookkeeping (two numbers per point), so it wins when there are few features and clusters.
The points whose bounds fail are searched eight at a time from a copy of the data in tiles
(``_kernels/tiles.py``), a whole tile when most of its points fail, else gathered from several
tiles: with fewer than 32 features by direct distances, and with enough features and clusters
(``_loop.products_pay_off``, as for Lloyd, whatever the number of features) by certified dot
products."""

from kmeans_core._kernels.bounds import hamerly_assign
from kmeans_core._loop import TileSearchAssigner


class HamerlyAssigner(TileSearchAssigner):
    kernel = hamerly_assign

    @staticmethod
    def lower_shape(n_samples, n_clusters):
        return (n_samples,)  # one lower bound: the distance to the second-nearest center

    def geometry(self, centers):
        _, half_nearest = super().geometry(centers)
        return half_nearest, self.products(centers)
