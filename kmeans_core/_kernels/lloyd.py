"""Lloyd's iteration: assign every point to its nearest center and sum the clusters, in one pass."""

import numba
import numpy as np

from kmeans_core._kernels.common import FASTMATH, block_bounds, nearest_center, zero_block_sums


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def lloyd_assign_and_sum(
    X, sample_weight, centers, centers_t, n_blocks, labels, sums, weights, first_block, stop_block
):
    """One Lloyd pass over the data.

    Writes ``labels`` (nearest center, the first one on exact ties) and, per row block, the
    weighted sums of the points of each cluster into ``sums`` (n_blocks, k, d) and their weights
    into ``weights`` (n_blocks, k). ``centers_t`` is ``transposed_if_few_features(centers)``;
    with many features ``centers`` may be ``padded_to_tiles(centers)``.
    Returns the number of labels that changed.
    """
    n_samples, n_features = X.shape
    changed = 0
    dist = np.empty(centers.shape[0], dtype=X.dtype)
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        zero_block_sums(sums, weights, b)
        block_changed = 0
        for i in range(start, stop):
            best_j = nearest_center(X, i, centers, centers_t, dist)[0]
            if labels[i] != best_j:
                block_changed += 1
            labels[i] = best_j
            w = sample_weight[i]
            weights[b, best_j] += w
            for f in range(n_features):
                sums[b, best_j, f] += X[i, f] * w
        changed += block_changed
    return changed
