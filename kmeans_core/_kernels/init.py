"""k-means++ kernel: distances from candidate centers to every point, and their potentials."""

import numba
import numpy as np

from kmeans_core._kernels.common import FASTMATH, block_bounds, dists_to_centers


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def candidate_distances(
    X,
    sample_weight,
    candidates,
    candidates_t,
    closest_dist_sq,
    n_blocks,
    out,
    partial,
    first_block,
    stop_block,
):
    """For each candidate row ``c`` of ``candidates``: ``out[c] = min(closest_dist_sq,
    |X - candidates[c]|^2)``; ``candidates_t`` is ``transposed_if_few_features(candidates)``.

    The distances from a point to all candidates are made at once (a handful: 2 + ln k, one
    four-center tile or two). Writes each block's part of the potential of each candidate,
    ``sum_i sample_weight[i] * out[c, i]``, into ``partial`` (n_blocks, n_candidates), summed
    in row order; the caller adds the blocks in order (deterministic for any thread count).
    """
    n_samples = X.shape[0]
    n_candidates = candidates.shape[0]
    dist = np.empty(n_candidates, dtype=X.dtype)
    acc = np.empty(n_candidates, dtype=np.float64)
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for c in range(n_candidates):
            acc[c] = 0.0
        for i in range(start, stop):
            dists_to_centers(X, i, candidates, candidates_t, dist)
            closest = closest_dist_sq[i]
            w = sample_weight[i]
            for c in range(n_candidates):
                d = min(dist[c], closest)
                out[c, i] = d
                acc[c] += d * w
        for c in range(n_candidates):
            partial[b, c] = acc[c]
