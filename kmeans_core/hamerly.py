"""Hamerly's algorithm: one upper and one lower bound per point skip most distance computations.

Cheap bookkeeping (two numbers per point), so it wins when there are few features and clusters.
"""

import numpy as np

from kmeans_core._kernels.bounds import center_geometry, hamerly_assign
from kmeans_core._loop import Assigner


class HamerlyAssigner(Assigner):
    def __init__(self, X, sample_weight, n_clusters, n_blocks):
        super().__init__(X, sample_weight, n_clusters, n_blocks)
        self.upper = np.zeros(X.shape[0], dtype=X.dtype)
        self.lower = np.zeros(X.shape[0], dtype=X.dtype)
        self.shift = np.zeros(n_clusters, dtype=X.dtype)
        self.half_dist = np.zeros((n_clusters, n_clusters), dtype=X.dtype)
        self.half_nearest = np.zeros(n_clusters, dtype=X.dtype)

    def assign(self, centers, labels, sums, weights):
        center_geometry(centers, self.half_dist, self.half_nearest)
        n_changed = hamerly_assign(
            self.X,
            centers,
            np.ascontiguousarray(centers.T),
            self.shift,
            self.half_nearest,
            self.n_blocks,
            labels,
            self.upper,
            self.lower,
        )
        self.shift[:] = 0  # the bounds now account for every move so far
        return n_changed, False

    def centers_moved(self, centers_new, shift):
        self.shift += shift
