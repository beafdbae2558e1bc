"""Elkan's algorithm: one lower bound per (point, center) skips almost every distance.

It keeps n_samples * n_clusters bounds, so its bookkeeping costs O(n k) per iteration; it wins
when a distance is expensive (many features) and there are many clusters.
"""

from kmeans_core._kernels.bounds import elkan_assign
from kmeans_core._loop import BoundsAssigner


class ElkanAssigner(BoundsAssigner):
    kernel = elkan_assign

    @staticmethod
    def lower_shape(n_samples, n_clusters):
        return (n_samples, n_clusters)
