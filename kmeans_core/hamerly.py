"""Hamerly's algorithm: one upper and one lower bound per point skip most distance computations.

Cheap bookkeeping (two numbers per point), so it wins when there are few features and clusters.
The points whose bounds fail are searched eight at a time from a copy of the data in tiles
(``_kernels/tiles.py``), a whole tile when most of its points fail, else gathered from several
tiles: with fewer than 32 features by direct distances, and with enough features and clusters
(``_loop.products_pay_off``, as for Lloyd, whatever the number of features) by certified dot
products."""

from kmeans_core._kernels.bounds import hamerly_assign
from kmeans_core._kernels.products import products_of, squared_norms
from kmeans_core._loop import BoundsAssigner, products_pay_off, tiles_pay_off


class HamerlyAssigner(BoundsAssigner):
    kernel = hamerly_assign

    @staticmethod
    def wants_tiles(n_features, n_clusters):
        return tiles_pay_off(n_features) or products_pay_off(n_features, n_clusters)

    @staticmethod
    def lower_shape(n_samples, n_clusters):
        return (n_samples,)  # one lower bound: the distance to the second-nearest center

    def __init__(self, X, sample_weight, n_clusters, n_threads, X_tiles=None):
        super().__init__(X, sample_weight, n_clusters, n_threads, X_tiles)
        self.X_sq_norms = None
        if X_tiles is not None and products_pay_off(X.shape[1], n_clusters):
            self.X_sq_norms = squared_norms(X)

    def data(self):
        return self.X, self.X_tiles, self.sample_weight

    def geometry(self, centers):
        half_dist, half_nearest = super().geometry(centers)
        products = None
        if self.X_sq_norms is not None:
            centers_m2, norms, max_norm, _ = products_of(centers)
            products = (centers_m2, norms, max_norm, self.X_sq_norms)
        return half_dist, half_nearest, products
