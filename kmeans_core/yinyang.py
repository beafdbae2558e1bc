"""Yinyang K-Means (Ding et al., 2015): one lower bound per point and group of centers.

Elkan keeps a bound per center (n x k numbers, costly to keep up), Hamerly one for all of
them (cheap, but it fails as soon as any center comes near). Yinyang groups the centers, about
ten to a group, once at the start by clustering the initial centers, and keeps one bound per
group: a failed point searches only the groups that can hold a nearer center.
"""

import numpy as np

from kmeans_core._kernels.bounds import yinyang_assign
from kmeans_core._loop import TileSearchAssigner

#: About this many centers to a group, as in the paper.
CENTERS_PER_GROUP = 10
#: Lloyd iterations that cluster the initial centers into groups.
GROUPING_ITERATIONS = 5


def n_groups_for(n_clusters):
    return max(1, n_clusters // CENTERS_PER_GROUP)


def group_centers(centers, n_groups):
    """A group for every center: a few Lloyd iterations on the centers themselves, started
    from every ``k // n_groups``-th center (deterministic). Any grouping gives exact results;
    groups of nearby centers only make the bounds tighter."""
    n_clusters = centers.shape[0]
    group_means = centers[:: max(1, n_clusters // n_groups)][:n_groups].astype(np.float64)
    group_of = np.zeros(n_clusters, dtype=np.int64)
    for _ in range(GROUPING_ITERATIONS):
        dist = ((centers[:, None, :] - group_means[None, :, :]) ** 2).sum(axis=2)
        group_of = np.argmin(dist, axis=1)
        for g in range(n_groups):
            if np.any(group_of == g):
                group_means[g] = centers[group_of == g].mean(axis=0)
    # Renumber the groups that kept centers 0, 1, 2, ...
    _, group_of = np.unique(group_of, return_inverse=True)
    return group_of.astype(np.int64)


class YinyangAssigner(TileSearchAssigner):
    kernel = yinyang_assign

    def __init__(self, X, sample_weight, n_clusters, n_threads, X_tiles=None):
        super().__init__(X, sample_weight, n_clusters, n_threads, X_tiles)
        self.groups = None

    @staticmethod
    def lower_shape(n_samples, n_clusters):
        return (n_samples, n_groups_for(n_clusters))

    def geometry(self, centers):
        if self.groups is None:  # the first call: group the initial centers
            group_of = group_centers(centers, self.lower.shape[1])
            members = np.argsort(group_of, kind="stable")
            counts = np.bincount(group_of, minlength=self.lower.shape[1])
            group_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            self.groups = (group_of, members.astype(np.int64), group_start)
        return *self.groups, self.products(centers)
