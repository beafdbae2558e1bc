"""Elkan's algorithm: one lower bound per (point, center) skips almost every distance.

It keeps n_samples * n_clusters bounds, so its bookkeeping costs O(n k) per iteration; it wins
when a distance is expensive (many features) and there are many clusters.
"""

import numpy as np

from kmeans_core._kernels.bounds import elkan_assign
from kmeans_core._loop import Assigner, center_geometry


class ElkanAssigner(Assigner):
    def __init__(self, X, sample_weight, n_clusters, n_threads):
        super().__init__(X, sample_weight, n_clusters, n_threads)
        self.upper = np.zeros(X.shape[0], dtype=X.dtype)
        self.lower = np.zeros((X.shape[0], n_clusters), dtype=X.dtype)
        self.shift = np.zeros(n_clusters, dtype=X.dtype)

    def assign(self, centers, labels, sums, weights):
        half_dist, half_nearest = center_geometry(centers)
        changes = self.run(
            elkan_assign,
            self.X,
            centers,
            np.ascontiguousarray(centers.T),
            self.shift,
            half_dist,
            half_nearest,
            self.n_blocks,
            labels,
            self.upper,
            self.lower,
        )
        self.shift[:] = 0  # the bounds now account for every move so far
        return sum(changes), False

    def centers_moved(self, centers_new, shift):
        self.shift += shift
