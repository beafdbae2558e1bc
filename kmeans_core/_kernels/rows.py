"""Lloyd's iteration: assign every point to its nearest center and keep the cluster sums."""

import numba
import numpy as np

from kmeans_core._kernels.common import (
    FASTMATH,
    block_bounds,
    move_point,
    nearest_center,
    sum_block,
    sums_afresh,
)


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def lloyd_assign_and_sum(
    X,
    sample_weight,
    centers,
    centers_t,
    n_blocks,
    labels,
    sums,
    weights,
    block_changes,
    first_block,
    stop_block,
):
    """One Lloyd pass over the data, row by row.

    Writes ``labels`` (nearest center, the first one on exact ties) and keeps, per row block,
    the weighted sums of the points of each cluster in ``sums`` (n_blocks, k, d) and their
    weights in ``weights`` (n_blocks, k): moving the points that changed cluster from one sum
    to the other, or afresh (``common.sums_afresh``); ``block_changes`` keeps how many points of
    each block changed.
    ``centers_t`` is ``transposed_if_few_features(centers)``; with many features ``centers``
    may be ``padded_to_tiles(centers)``. Returns the number of labels that changed.
    """
    n_samples = X.shape[0]
    changed = 0
    dist = np.empty(centers.shape[0], dtype=X.dtype)
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        fresh = sums_afresh(labels, start, stop, block_changes, sums, weights, b)
        block_changed = 0
        for i in range(start, stop):
            best_j = nearest_center(X, i, centers, centers_t, dist)[0]
            a = labels[i]
            if a != best_j:
                labels[i] = best_j
                block_changed += 1
                if not fresh:
                    move_point(X[i], sample_weight[i], a, best_j, sums, weights, b)
        if fresh:
            sum_block(X, sample_weight, labels, start, stop, sums, weights, b)
        block_changes[b] = block_changed
        changed += block_changed
    return changed
