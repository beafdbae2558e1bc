"""numba kernels for the cluster-quality metrics: silhouette, Calinski-Harabasz, Davies-Bouldin,
inertia. Few kernels (compile time is part of the user's wait): the silhouette's block sums
(and, only for many clusters, its one-call variant), the per-cluster moments, and the
distances to the centers.

Every kernel takes contiguous arrays and does no checks; ``kmeans_core.metrics`` validates.
The one-pass reductions work on the engine's row *blocks* (``common.n_blocks_for``, a function
of the data size only) and run on the engine's threads (``_parallel.run_blocks``), like every
other kernel; their partial results are combined in block order, so every result is
bit-identical whatever the thread count. Sums are accumulated in float64.

The silhouette alone runs on numba's threads (``prange``): its rows cost very different
amounts (a row of a large cluster against one of a small one), so its parts are handed out one
at a time to whichever thread is free (``numba.set_parallel_chunksize(1)``), which contiguous
ranges of blocks per thread cannot do; each part writes its own rows, so the result does not
depend on which thread ran it.
"""

import numba
import numpy as np
from numba import prange

from kmeans_core._kernels.common import block_bounds

#: Columns of the silhouette per block: the block and the tile's squared distances stay in L1.
SIL_BLOCK_COLS = 256
#: Parts a range of rows is split into, run in parallel (a power of two, so that 2, 4, 8 or 16
#: threads share them evenly). The scratch memory is this many rows of the largest cluster.
SIL_MAX_PARTS = 16
#: Fewest rows per part.
SIL_MIN_PART_ROWS = 16
#: Most pieces a cluster is cut into for its within-cluster sums; the pieces with themselves
#: are done in full, so p pieces do (1 + 1/p) / 2 of the full square's work.
SIL_MAX_PIECES = 4
#: Fewest points per piece.
SIL_MIN_PIECE_ROWS = 512


def silhouette_parts_for(n_rows):
    """Number of parallel parts for a range of ``n_rows`` rows: depends on the data only."""
    return max(1, min(SIL_MAX_PARTS, n_rows // SIL_MIN_PART_ROWS))


def silhouette_pieces_for(n_rows):
    """Number of pieces a cluster of ``n_rows`` points is cut into: depends on the data only."""
    return max(1, min(SIL_MAX_PIECES, n_rows // SIL_MIN_PIECE_ROWS))


# --------------------------------------------------------------------------------------------
# Silhouette
# --------------------------------------------------------------------------------------------


@numba.njit(fastmath=True, inline="always")
def _tile_squared_distances(xi, XT, j0, width, sq):
    """``sq[r, j]`` = squared distance from tile row ``r`` to column ``j0 + j`` of ``XT``.

    Features are taken four at a time (``XT`` is zero-padded to a multiple of 4 features) so
    that each pass over the ``sq`` buffer does four features' work; the innermost loops run
    over columns, contiguous in ``XT``, and vectorise.
    """
    for f in range(0, XT.shape[0], 4):
        c0 = XT[f, j0 : j0 + width]
        c1 = XT[f + 1, j0 : j0 + width]
        c2 = XT[f + 2, j0 : j0 + width]
        c3 = XT[f + 3, j0 : j0 + width]
        for r in range(4):
            v0 = xi[r, f]
            v1 = xi[r, f + 1]
            v2 = xi[r, f + 2]
            v3 = xi[r, f + 3]
            row = sq[r]
            if f == 0:  # the first four features set the buffer: no zeroing pass
                for j in range(width):
                    d0 = v0 - c0[j]
                    d1 = v1 - c1[j]
                    d2 = v2 - c2[j]
                    d3 = v3 - c3[j]
                    row[j] = (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)
            else:
                for j in range(width):
                    d0 = v0 - c0[j]
                    d1 = v1 - c1[j]
                    d2 = v2 - c2[j]
                    d3 = v3 - c3[j]
                    row[j] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)


@numba.njit(fastmath=True, inline="always")
def _tile_block_sums(xi, XT, j0, width, sq, col, col_weight):
    """Distances from a tile of 4 rows to the columns ``j0:j0 + width`` of ``XT``.

    Returns the four rows' sums of distances over the block and adds each column's weighted
    sum over the four rows to ``col[:width]``.

    Parameters
    ----------
    xi : ndarray of shape (4, n_padded), float64
        The tile's rows (a short last tile repeats a row, with weight 0 in ``col_weight``).
    XT : ndarray of shape (n_padded, n_samples), float64
    sq : ndarray of shape (4, >= width), float64
        Scratch space for squared distances.
    col : ndarray of shape (>= width,), float64
    col_weight : ndarray of shape (4,), float64
        1.0 for a real row, 0.0 for padding.
    """
    _tile_squared_distances(xi, XT, j0, width, sq)
    s0 = sq[0]
    s1 = sq[1]
    s2 = sq[2]
    s3 = sq[3]
    w0 = col_weight[0]
    w1 = col_weight[1]
    w2 = col_weight[2]
    w3 = col_weight[3]
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    if w3 == 1.0:
        # A full tile (every tile but possibly the last): no weights to multiply by.
        for j in range(width):
            q0 = np.sqrt(s0[j])
            q1 = np.sqrt(s1[j])
            q2 = np.sqrt(s2[j])
            q3 = np.sqrt(s3[j])
            t0 += q0
            t1 += q1
            t2 += q2
            t3 += q3
            col[j] += (q0 + q1) + (q2 + q3)
    else:
        for j in range(width):
            q0 = np.sqrt(s0[j])
            q1 = np.sqrt(s1[j])
            q2 = np.sqrt(s2[j])
            q3 = np.sqrt(s3[j])
            t0 += q0
            t1 += q1
            t2 += q2
            t3 += q3
            col[j] += (q0 * w0 + q1 * w1) + (q2 * w2 + q3 * w3)
    return t0, t1, t2, t3


@numba.njit(parallel=True, fastmath=True, cache=True)
def silhouette_block_sums(
    XT, rows, cols, row_cluster, col_cluster, symmetric, n_parts, scratch, out
):
    """Add the distances between a range of rows and a range of columns to the cluster sums.

    Every distance d(i, j) with i in ``rows`` and j in ``cols`` is added to
    ``out[i, col_cluster]``; if ``symmetric`` it is also added to ``out[j, row_cluster]``, so
    that a pair of disjoint ranges is computed once for both sides. No n x n matrix is ever
    formed: each tile of 4 rows walks the columns in blocks of ``SIL_BLOCK_COLS``.

    The rows are split into ``n_parts`` parts run in parallel. A part owns its rows' entries of
    ``out`` and its own row ``scratch[p]`` of partial column sums; those are then added in part
    order. Every sum is thus made in an order fixed by the data alone, whatever the number of
    threads or the way parts are handed out to them.

    Parameters
    ----------
    XT : ndarray of shape (n_padded, n_samples), float64
        The points, stored feature by feature, zero-padded to a multiple of 4 features.
    rows, cols : (int, int)
        Half-open ranges of columns of ``XT``; disjoint when ``symmetric``.
    row_cluster, col_cluster : int
        Cluster of every point of ``rows`` and of ``cols``.
    symmetric : bool
    n_parts : int
        Number of parts of the rows; a function of the data sizes only.
    scratch : ndarray of shape (>= n_parts, >= len(cols)), float64
    out : ndarray of shape (n_samples, n_clusters), float64
        Updated in place (``+=``).
    """
    r_first, r_stop = rows
    c_first, c_stop = cols
    n_rows_total = r_stop - r_first
    n_cols = c_stop - c_first
    n_features = XT.shape[0]
    for p in prange(n_parts):
        first = r_first + p * n_rows_total // n_parts
        stop = r_first + (p + 1) * n_rows_total // n_parts
        # Partial column sums of this part (computed but unused when not symmetric).
        col_all = scratch[p, :n_cols]
        col_all[:] = 0.0
        sq = np.empty((4, SIL_BLOCK_COLS), dtype=np.float64)
        xi = np.empty((4, n_features), dtype=np.float64)
        weight = np.empty(4, dtype=np.float64)
        for row0 in range(first, stop, 4):
            n_rows = min(4, stop - row0)
            for r in range(4):
                src = row0 + r if r < n_rows else row0
                weight[r] = 1.0 if r < n_rows else 0.0
                for f in range(n_features):
                    xi[r, f] = XT[f, src]
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            for j0 in range(c_first, c_stop, SIL_BLOCK_COLS):
                width = min(SIL_BLOCK_COLS, c_stop - j0)
                col = col_all[j0 - c_first : j0 - c_first + width]
                t0, t1, t2, t3 = _tile_block_sums(xi, XT, j0, width, sq, col, weight)
                a0 += t0
                a1 += t1
                a2 += t2
                a3 += t3
            out[row0, col_cluster] += a0
            if n_rows > 1:
                out[row0 + 1, col_cluster] += a1
            if n_rows > 2:
                out[row0 + 2, col_cluster] += a2
            if n_rows > 3:
                out[row0 + 3, col_cluster] += a3
    if symmetric:
        # A few adds per column: not worth a parallel loop (and the caller may have asked for
        # parallel chunks of one iteration).
        for j in range(n_cols):
            total = 0.0
            for p in range(n_parts):
                total += scratch[p, j]
            out[c_first + j, row_cluster] += total


@numba.njit(parallel=True, fastmath=True, cache=True)
def silhouette_scatter_sums(XT, col_labels, out):
    """Sums of distances from every point to every cluster, one row at a time (many clusters).

    For many small clusters the pairwise block scheme would make too many calls; here each
    tile of 4 rows walks all the columns once and adds each distance to the column's cluster.
    Every distance is computed twice (once per side), but there is a single call.

    Parameters
    ----------
    XT : ndarray of shape (n_padded, n_samples), float64, zero-padded to a multiple of 4
    col_labels : ndarray of shape (n_samples,), int64
        Cluster of each column.
    out : ndarray of shape (n_samples, n_clusters), float64
        Overwritten. Each row is summed by one thread in column order: deterministic.
    """
    n_padded, n_samples = XT.shape
    n_tiles = (n_samples + 3) // 4
    for t in prange(n_tiles):
        row0 = 4 * t
        n_rows = min(4, n_samples - row0)
        xi = np.empty((4, n_padded), dtype=np.float64)
        for r in range(4):
            src = row0 + r if r < n_rows else row0
            for f in range(n_padded):
                xi[r, f] = XT[f, src]
        for r in range(n_rows):
            out[row0 + r, :] = 0.0
        sq = np.empty((4, SIL_BLOCK_COLS), dtype=np.float64)
        for j0 in range(0, n_samples, SIL_BLOCK_COLS):
            width = min(SIL_BLOCK_COLS, n_samples - j0)
            _tile_squared_distances(xi, XT, j0, width, sq)
            for r in range(n_rows):
                row = sq[r]
                for j in range(width):
                    row[j] = np.sqrt(row[j])
                for j in range(width):
                    out[row0 + r, col_labels[j0 + j]] += row[j]


# --------------------------------------------------------------------------------------------
# Cluster moments (Calinski-Harabasz, Davies-Bouldin) and distances to centers (inertia, DB)
# --------------------------------------------------------------------------------------------


@numba.njit(nogil=True, fastmath=True, cache=True)
def cluster_moments_blocks(X, labels, n_blocks, counts, means, m2, first_block, stop_block):
    """Per-block count, mean and sum of squared deviations of every cluster, in one pass.

    Welford's update keeps the mean and the squared deviations accurate without a second pass
    over the data (a sum of squares minus n * mean**2 would cancel catastrophically when the
    data sit far from the origin).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    labels : ndarray of shape (n_samples,), int64, in 0..n_clusters-1
    n_blocks, first_block, stop_block : int
        The row blocks, and the range of them to do.
    counts : ndarray of shape (n_blocks, n_clusters), float64, zeros (OUT)
    means : ndarray of shape (n_blocks, n_clusters, n_features), float64, zeros (OUT)
    m2 : ndarray of shape (n_blocks, n_clusters), float64, zeros (OUT)
        Sum over the block's points of the squared distance to the block's cluster mean.
    """
    n_samples, n_features = X.shape
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for i in range(start, stop):
            j = labels[i]
            counts[b, j] += 1.0
            inv = 1.0 / counts[b, j]
            acc = 0.0
            for f in range(n_features):
                x = X[i, f]
                delta = x - means[b, j, f]
                means[b, j, f] += delta * inv
                acc += delta * (x - means[b, j, f])
            m2[b, j] += acc


@numba.njit(nogil=True, fastmath=True, cache=True)
def centroid_distance_blocks(
    X, labels, centers, sample_weight, n_blocks, sums, first_block, stop_block
):
    """Per-block, per-cluster sums of weighted squared distances and of distances to centers.

    Serves the inertia (weighted squared distances) and Davies-Bouldin (mean distance of a
    cluster's points to its centroid).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    labels : ndarray of shape (n_samples,), int64, in 0..n_clusters-1
    centers : ndarray of shape (n_clusters, n_features), float64
    sample_weight : ndarray of shape (n_samples,), float64
    n_blocks, first_block, stop_block : int
        The row blocks, and the range of them to do.
    sums : ndarray of shape (n_blocks, n_clusters, 2), float64, zeros (OUT)
        ``[..., 0]``: sum of ``w * ||x - c||**2``; ``[..., 1]``: sum of ``||x - c||``.
    """
    n_samples, n_features = X.shape
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for i in range(start, stop):
            j = labels[i]
            acc = 0.0
            for f in range(n_features):
                diff = X[i, f] - centers[j, f]
                acc += diff * diff
            sums[b, j, 0] += acc * sample_weight[i]
            sums[b, j, 1] += np.sqrt(acc)
