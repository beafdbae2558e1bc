"""Swap refinement kernels: the two nearest centers of every point, and the exact change of the
inertia when one center is swapped for a candidate point (before any center moves).

With ``d1``, ``d2`` the squared distances of a point to its nearest and second-nearest center
and ``dy`` its squared distance to a candidate ``y``, swapping center ``j`` for ``y`` changes the
point's cost by ``min(dy, d1) - d1`` if the point is not in cluster ``j``, and by
``min(dy, d2) - d1`` if it is. So one pass over the points gives the change for every ``j`` at
once: a gain common to all centers plus, per center, the loss of its own points.
"""

import numba
import numpy as np

from kmeans_core._kernels.common import FASTMATH, block_bounds, dists_to_centers, sq_dist


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def two_nearest(X, centers, centers_t, n_blocks, nearest, second, first_block, stop_block):
    """Squared distances of every point to its nearest center, into ``nearest`` (n_samples,),
    and to its second nearest, into ``second`` (n_samples,); ``centers_t`` is
    ``transposed_if_few_features(centers)``."""
    n_samples = X.shape[0]
    dist = np.empty(centers.shape[0], dtype=X.dtype)
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for i in range(start, stop):
            dists_to_centers(X, i, centers, centers_t, dist)
            d1 = np.inf
            d2 = np.inf
            for d in dist:
                if d < d1:
                    d2 = d1
                    d1 = d
                elif d < d2:
                    d2 = d
            nearest[i] = d1
            second[i] = d2


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def swap_changes(
    X, sample_weight, candidates, labels, nearest, second, n_blocks, out, first_block, stop_block
):
    """Parts of the change of the inertia when a center is swapped for a candidate, per block.

    ``out`` (n_blocks, n_candidates, n_clusters + 1), float64: ``out[b, c, n_clusters]`` is the
    gain (<= 0) of adding candidate row ``c`` of ``candidates`` over the points of block ``b``,
    ``out[b, c, j]`` the loss (>= 0) of the points of cluster ``j`` when center ``j`` goes. The
    caller adds the blocks in order; the change for (c, j) is ``gain[c] + loss[c, j]``.
    """
    n_samples = X.shape[0]
    n_candidates = candidates.shape[0]
    n_clusters = out.shape[2] - 1
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for c in range(n_candidates):
            for j in range(n_clusters + 1):
                out[b, c, j] = 0.0
        for i in range(start, stop):
            w = sample_weight[i]
            d1 = nearest[i]
            d2 = second[i]
            j = labels[i]
            for c in range(n_candidates):
                dy = sq_dist(X, i, candidates, c)
                if dy < d1:
                    out[b, c, n_clusters] += w * (dy - d1)
                else:
                    out[b, c, j] += w * (min(dy, d2) - d1)
