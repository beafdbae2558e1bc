"""The center update of one iteration, in one compiled call instead of a dozen NumPy ones
(which cost more than the assignment itself on small data)."""

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def add_block_sums(sums, weights, centers_new, weight_in_clusters):
    """Add the per-block cluster sums in block order (the same order whatever the thread count)
    into ``centers_new`` (k, d) and ``weight_in_clusters`` (k,); return how many clusters have
    no weight. No fast-math here: the additions must happen in exactly this order."""
    n_blocks, n_clusters, n_features = sums.shape
    for j in range(n_clusters):  # plain loops: slice assignment compiles several times slower
        weight_in_clusters[j] = weights[0, j]
        for f in range(n_features):
            centers_new[j, f] = sums[0, j, f]
    for b in range(1, n_blocks):
        for j in range(n_clusters):
            weight_in_clusters[j] += weights[b, j]
            for f in range(n_features):
                centers_new[j, f] += sums[b, j, f]
    n_empty = 0
    for j in range(n_clusters):
        if weight_in_clusters[j] == 0:
            n_empty += 1
    return n_empty


@numba.njit(nogil=True, cache=True)
def average_and_shift(centers_new, weight_in_clusters, centers_old, shift):
    """Turn the cluster sums in ``centers_new`` into means, as scikit-learn does, write how far
    each center moved into ``shift`` and return the sum of the squared moves.

    A cluster with weight is multiplied by the reciprocal of its weight. A cluster still
    without weight (only when every point sits on a center) is parked where the heaviest cluster
    is; scikit-learn does this in one pass over the clusters, so a cluster listed before the
    heaviest one gets its *sum*, and one listed after gets its mean: mirrored here.
    """
    n_clusters, n_features = centers_new.shape
    heaviest = np.argmax(weight_in_clusters)
    heaviest_sum = np.empty(n_features, dtype=centers_new.dtype)
    for f in range(n_features):
        heaviest_sum[f] = centers_new[heaviest, f]
    for j in range(n_clusters):
        w = weight_in_clusters[j]
        if w > 0:
            scale = 1.0 / w
            for f in range(n_features):
                centers_new[j, f] *= scale
    for j in range(n_clusters):
        if weight_in_clusters[j] <= 0:
            for f in range(n_features):
                source = heaviest_sum[f] if j < heaviest else centers_new[heaviest, f]
                centers_new[j, f] = source
    total = 0.0
    for j in range(n_clusters):
        acc = 0.0
        for f in range(n_features):
            diff = centers_new[j, f] - centers_old[j, f]
            acc += diff * diff
        shift[j] = np.sqrt(acc)
        total += acc
    return total


@numba.njit(nogil=True, cache=True, fastmath={"nsz", "arcp", "contract", "afn", "reassoc"})
def center_geometry(centers, half_dist, half_nearest):
    """Half the distance between every pair of centers into ``half_dist`` (k, k), and from
    each to its nearest other one into ``half_nearest`` (k,) (0 when there is one center);
    the bound-keeping algorithms compare their bounds with these."""
    n_clusters, n_features = centers.shape
    for a in range(n_clusters):
        half_dist[a, a] = 0.0
        for b in range(a + 1, n_clusters):
            acc = 0.0
            for f in range(n_features):
                diff = centers[a, f] - centers[b, f]
                acc += diff * diff
            half_dist[a, b] = half_dist[b, a] = 0.5 * np.sqrt(acc)
    for a in range(n_clusters):
        nearest = np.inf if n_clusters > 1 else 0.0
        for b in range(n_clusters):
            if b != a and half_dist[a, b] < nearest:
                nearest = half_dist[a, b]
        half_nearest[a] = nearest
