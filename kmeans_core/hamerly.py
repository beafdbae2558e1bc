"""Hamerly's algorithm: one upper and one lower bound per point skip most distance computations.

Cheap bookkeeping (two numbers per point), so it wins when there are few features and clusters.
"""

from kmeans_core._kernels.bounds import hamerly_assign
from kmeans_core._loop import BoundsAssigner


class HamerlyAssigner(BoundsAssigner):
    kernel = hamerly_assign

    @staticmethod
    def lower_shape(n_samples, n_clusters):
        return (n_samples,)  # one lower bound: the distance to the second-nearest center
