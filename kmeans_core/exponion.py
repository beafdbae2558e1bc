"""Exponion (Newling and Fleuret, 2016): Hamerly's two bounds per point, and when they fail, a
search of only the centers near the point's own center.

With many clusters a failed test in Hamerly's algorithm costs a distance to every center;
Exponion looks only inside a ball around the point's center, found from the centers' distances
to each other sorted once per iteration (k^2 log k work, nothing per point).
"""

import numpy as np

from kmeans_core._kernels.bounds import exponion_assign
from kmeans_core._loop import BoundsAssigner


class ExponionAssigner(BoundsAssigner):
    kernel = exponion_assign

    @staticmethod
    def lower_shape(n_samples, n_clusters):
        return (n_samples,)  # Hamerly's one lower bound

    def geometry(self, centers):
        half_dist, half_nearest = super().geometry(centers)
        # The other centers of each center by increasing distance (itself left out).
        dist = 2.0 * half_dist
        np.fill_diagonal(dist, np.inf)
        neighbors = np.argsort(dist, axis=1, kind="stable")[:, :-1]
        neighbor_dist = np.take_along_axis(dist, neighbors, axis=1)
        return (
            half_dist,
            half_nearest,
            np.ascontiguousarray(neighbors),
            np.ascontiguousarray(neighbor_dist),
        )
