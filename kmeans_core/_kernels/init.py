"""k-means++ kernel: distances from candidate centers to every point, and their potentials."""

import numba
import numpy as np

from kmeans_core._kernels.common import FASTMATH, block_bounds, sq_dist


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def candidate_distances(
    X, sample_weight, candidates, closest_dist_sq, n_blocks, out, partial, first_block, stop_block
):
    """For each candidate row ``c``: ``out[c] = min(closest_dist_sq, |X - X[c]|^2)``.

    Writes each block's part of the potential of each candidate,
    ``sum_i sample_weight[i] * out[c, i]``, into ``partial`` (n_blocks, n_candidates); the
    caller adds the blocks in order (deterministic for any thread count).
    """
    n_samples = X.shape[0]
    n_candidates = candidates.shape[0]
    centers = np.empty((n_candidates, X.shape[1]), dtype=X.dtype)
    for c in range(n_candidates):
        for f in range(X.shape[1]):  # a loop: slice assignment compiles far slower
            centers[c, f] = X[candidates[c], f]
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for c in range(n_candidates):
            acc = 0.0
            for i in range(start, stop):
                d = sq_dist(X, i, centers, c)
                if closest_dist_sq[i] < d:
                    d = closest_dist_sq[i]
                out[c, i] = d
                acc += d * sample_weight[i]
            partial[b, c] = acc
