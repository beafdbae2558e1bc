"""Hamerly's algorithm: one upper and one lower bound per point skip most distance computations.

Cheap bookkeeping (two numbers per point), so it wins when there are few features and clusters.
"""

import numpy as np

from kmeans_core._kernels.bounds import hamerly_assign
from kmeans_core._loop import Assigner, center_geometry


class HamerlyAssigner(Assigner):
    def __init__(self, X, sample_weight, n_clusters, n_threads):
        super().__init__(X, sample_weight, n_clusters, n_threads)
        self.upper = np.zeros(X.shape[0], dtype=X.dtype)
        self.lower = np.zeros(X.shape[0], dtype=X.dtype)
        self.shift = np.zeros(n_clusters, dtype=X.dtype)

    def assign(self, centers, labels, sums, weights):
        half_dist, half_nearest = center_geometry(centers)
        changes = self.run(
            hamerly_assign,
            self.X,
            centers,
            np.ascontiguousarray(centers.T),
            self.shift,
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
