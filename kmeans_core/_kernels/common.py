"""Kernels shared by every algorithm: distances, block sums of centers, inertia.

Work is split into a fixed number of contiguous row blocks that depends only on the number of
samples, never on the number of threads. Each block writes its own partial sums and the blocks
are added in block order afterwards, so the result is bit-identical for any thread count.
Kernels that loop over rows take a range of blocks ``[first_block, stop_block)`` as their last
two arguments and release the GIL; ``kmeans_core._parallel.run_blocks`` spreads the blocks over
threads.
"""

import numba
import numpy as np

#: LLVM fast-math flags for every kernel: reassociation lets loops vectorise; "nnan" and "ninf"
#: are left out so that comparisons with infinity stay correct.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

#: Upper bound on the number of row blocks; enough to balance the load of a few dozen threads.
MAX_BLOCKS = 64
#: Fewest rows per block, so that small inputs are not split into needless pieces.
MIN_BLOCK_ROWS = 512


def n_blocks_for(n_samples):
    """Number of row blocks for ``n_samples``: a function of the data only, never of threads."""
    return max(1, min(MAX_BLOCKS, n_samples // MIN_BLOCK_ROWS))


@numba.njit(inline="always", fastmath=FASTMATH)
def sq_dist(X, i, C, j):
    """Squared Euclidean distance between row ``i`` of ``X`` and row ``j`` of ``C``."""
    acc = X[i, 0] - X[i, 0]  # a zero of X's dtype
    for f in range(X.shape[1]):
        diff = X[i, f] - C[j, f]
        acc += diff * diff
    return acc


@numba.njit(inline="always", fastmath=FASTMATH)
def dists_to_centers(X, i, centers_t, out):
    """Squared distances from row ``i`` of ``X`` to every center, into ``out`` (n_clusters,).

    ``centers_t`` holds the centers transposed, (n_features, n_clusters), so the inner loop runs
    over contiguous centers and vectorises whatever the number of features.
    """
    n_clusters = centers_t.shape[1]
    x = X[i, 0]
    for j in range(n_clusters):
        diff = x - centers_t[0, j]
        out[j] = diff * diff
    for f in range(1, X.shape[1]):
        x = X[i, f]
        for j in range(n_clusters):
            diff = x - centers_t[f, j]
            out[j] += diff * diff


@numba.njit(inline="always")
def argmin_first(values):
    """Index of the smallest value (the first one on exact ties), and that value."""
    best = values[0]
    best_j = 0
    for j in range(1, values.shape[0]):
        if values[j] < best:
            best = values[j]
            best_j = j
    return best_j, best


@numba.njit(inline="always")
def block_bounds(b, n_blocks, n_samples):
    """First and one-past-last row of block ``b``."""
    return b * n_samples // n_blocks, (b + 1) * n_samples // n_blocks


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def block_sums(X, sample_weight, labels, n_blocks, sums, weights, first_block, stop_block):
    """Per-block weighted sums of the points of each cluster.

    sums : (n_blocks, n_clusters, n_features), weights : (n_blocks, n_clusters); overwritten.
    """
    n_samples, n_features = X.shape
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        sums[b, :, :] = 0
        weights[b, :] = 0
        for i in range(start, stop):
            j = labels[i]
            w = sample_weight[i]
            weights[b, j] += w
            for f in range(n_features):
                sums[b, j, f] += X[i, f] * w


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def assign_labels(X, centers_t, n_blocks, labels, first_block, stop_block):
    """Nearest center of every point (the first one on exact ties), with no center update.

    ``centers_t`` : (n_features, n_clusters), the centers transposed.
    """
    n_samples = X.shape[0]
    dist = np.empty(centers_t.shape[1], dtype=X.dtype)
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for i in range(start, stop):
            dists_to_centers(X, i, centers_t, dist)
            labels[i] = argmin_first(dist)[0]


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def inertia_blocks(X, sample_weight, centers, labels, n_blocks, out, first_block, stop_block):
    """Weighted sum of squared distances to the assigned centers of each block, into ``out``
    (n_blocks,); the caller adds them in block order."""
    n_samples = X.shape[0]
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        acc = 0.0
        for i in range(start, stop):
            acc += sq_dist(X, i, centers, labels[i]) * sample_weight[i]
        out[b] = acc


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def all_distances(X, centers_t, n_blocks, out, first_block, stop_block):
    """Squared distances from every point to every center: out (n_samples, n_clusters).

    ``centers_t`` : (n_features, n_clusters), the centers transposed.
    """
    n_samples = X.shape[0]
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for i in range(start, stop):
            dists_to_centers(X, i, centers_t, out[i])
