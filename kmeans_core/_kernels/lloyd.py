"""Lloyd's iteration: assign every point to its nearest center and sum the clusters, in one pass."""

import numba
from numba import prange

from kmeans_core._kernels.common import FASTMATH, block_bounds, sq_dist


@numba.njit(parallel=True, fastmath=FASTMATH, cache=True)
def lloyd_assign_and_sum(X, sample_weight, centers, n_blocks, labels, sums, weights):
    """One Lloyd pass over the data.

    Writes ``labels`` (nearest center, the first one on exact ties) and, per row block, the
    weighted sums of the points of each cluster into ``sums`` (n_blocks, k, d) and their weights
    into ``weights`` (n_blocks, k). Returns the number of labels that changed.
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    changed = 0
    for b in prange(n_blocks):
        start, stop = block_bounds(b, n_blocks, n_samples)
        sums[b, :, :] = 0
        weights[b, :] = 0
        block_changed = 0
        for i in range(start, stop):
            best = sq_dist(X, i, centers, 0)
            best_j = 0
            for j in range(1, n_clusters):
                d = sq_dist(X, i, centers, j)
                if d < best:
                    best = d
                    best_j = j
            if labels[i] != best_j:
                block_changed += 1
            labels[i] = best_j
            w = sample_weight[i]
            weights[b, best_j] += w
            for f in range(n_features):
                sums[b, best_j, f] += X[i, f] * w
        changed += block_changed
    return changed
