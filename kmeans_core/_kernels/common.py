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
#: The assignment kernels keep the cluster sums by moving the points that changed cluster; a
#: block in which more than one point in this many changed is summed afresh in the next pass
#: instead (``sums_afresh``).
RESUM_EVERY = 8


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


#: Up to this many features, the distances from a point to all centers are computed along the
#: centers (vectorised over contiguous centers); above it, four centers at a time along the
#: features (faster there, per pair on one core).
FEW_FEATURES = 4


def transposed_if_few_features(centers):
    """What the kernels take as ``centers_t``: the centers transposed when there are few
    features, else None (the kernels then read the centers row by row)."""
    if centers.shape[1] <= FEW_FEATURES:
        return np.ascontiguousarray(centers.T)
    return None


def padded_to_tiles(centers):
    """``centers`` with rows of +inf added up to a multiple of four, for ``nearest_center`` with
    many features: every center then goes through the four-center tile (k = 3 costs one tile
    instead of three one-by-one reductions) and an infinite center is never the nearest."""
    n_clusters, n_features = centers.shape
    n_padded = -(-n_clusters // 4) * 4
    if n_padded == n_clusters:
        return centers
    padded = np.full((n_padded, n_features), np.inf, dtype=centers.dtype)
    padded[:n_clusters] = centers
    return padded


@numba.njit(inline="always", fastmath=FASTMATH)
def dists_to_centers(X, i, centers, centers_t, out):
    """Squared distances from row ``i`` of ``X`` to every center, into ``out`` (n_clusters,).

    ``centers_t`` is ``transposed_if_few_features(centers)``. Being None or an array, it picks
    the loop order when the kernel is compiled: a test at run time inside the loop over the
    points would stop LLVM from vectorising either order.
    """
    if centers_t is None:
        _dists_along_features(X, i, centers, out)
    else:
        _dists_along_centers(X, i, centers_t, out)


@numba.njit(inline="always", fastmath=FASTMATH)
def _dists_along_centers(X, i, centers_t, out):
    """Few features: the inner loop runs over contiguous centers and vectorises."""
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


@numba.njit(inline="always", fastmath=FASTMATH)
def _four_distances(x, centers, j):
    """Squared distances from the row ``x`` to centers ``j`` to ``j + 3``: one loop over the
    features, vectorised, reading ``x`` once for the four (four accumulators keep the FMA units
    busy)."""
    c0 = centers[j]
    c1 = centers[j + 1]
    c2 = centers[j + 2]
    c3 = centers[j + 3]
    a0 = a1 = a2 = a3 = x[0] - x[0]  # zeros of X's dtype
    for f in range(x.shape[0]):
        xf = x[f]
        t0 = xf - c0[f]
        t1 = xf - c1[f]
        t2 = xf - c2[f]
        t3 = xf - c3[f]
        a0 += t0 * t0
        a1 += t1 * t1
        a2 += t2 * t2
        a3 += t3 * t3
    return a0, a1, a2, a3


@numba.njit(inline="always", fastmath=FASTMATH)
def _dists_along_features(X, i, centers, out):
    """Many features: four centers at a time (``_four_distances``)."""
    n_clusters = centers.shape[0]
    x = X[i]
    j = 0
    while j + 4 <= n_clusters:
        a0, a1, a2, a3 = _four_distances(x, centers, j)
        out[j] = a0
        out[j + 1] = a1
        out[j + 2] = a2
        out[j + 3] = a3
        j += 4
    while j < n_clusters:
        out[j] = sq_dist(X, i, centers, j)
        j += 1


@numba.njit(inline="always", fastmath=FASTMATH)
def nearest_center(X, i, centers, centers_t, dist):
    """Index of the center nearest to row ``i`` of ``X`` (the first one on exact ties), and its
    squared distance: ``argmin_first`` of ``dists_to_centers``, which it equals.

    With many features the running minimum is kept while the distances are made, four centers
    at a time, instead of storing them all and reading them back (``dist`` is then unused);
    ``centers`` may then be ``padded_to_tiles(centers)``.
    """
    if centers_t is not None:
        _dists_along_centers(X, i, centers_t, dist)
        return argmin_first(dist)
    n_clusters = centers.shape[0]
    x = X[i]
    best = np.inf
    best_j = 0
    j = 0
    while j + 4 <= n_clusters:
        a0, a1, a2, a3 = _four_distances(x, centers, j)
        # In index order, strict comparisons: the first of equal distances wins.
        if a0 < best:
            best, best_j = a0, j
        if a1 < best:
            best, best_j = a1, j + 1
        if a2 < best:
            best, best_j = a2, j + 2
        if a3 < best:
            best, best_j = a3, j + 3
        j += 4
    while j < n_clusters:
        d = sq_dist(X, i, centers, j)
        if d < best:
            best, best_j = d, j
        j += 1
    return best_j, best


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


#: Points per tile (``tiles.py``; the float32 tiles of ``screen.py`` hold twice as many).
TILE = 8
#: Every block starts at a multiple of this many rows, so that blocks hold whole tiles.
BLOCK_ALIGN = 16


@numba.njit(inline="always")
def block_bounds(b, n_blocks, n_samples):
    """First and one-past-last row of block ``b`` (blocks have at least ``MIN_BLOCK_ROWS`` rows
    when there are several, so aligning their starts never empties one)."""
    start = b * n_samples // n_blocks // BLOCK_ALIGN * BLOCK_ALIGN
    if b == n_blocks - 1:
        return start, n_samples
    return start, (b + 1) * n_samples // n_blocks // BLOCK_ALIGN * BLOCK_ALIGN


@numba.njit(inline="always")
def zero_block_sums(sums, weights, b):
    """Zero block ``b``'s sums and weights (plain loops: slice assignment compiles several times
    slower, and every kernel would pay for it on a cold start)."""
    for j in range(sums.shape[1]):
        weights[b, j] = 0
        for f in range(sums.shape[2]):
            sums[b, j, f] = 0


@numba.njit(inline="always", fastmath=FASTMATH)
def sum_block(X, sample_weight, labels, start, stop, sums, weights, b):
    """Weighted sums of the points of each cluster over rows ``[start, stop)``, added to
    ``sums[b]`` (n_clusters, n_features) and ``weights[b]`` (n_clusters,)."""
    for i in range(start, stop):
        j = labels[i]
        w = sample_weight[i]
        weights[b, j] += w
        for f in range(X.shape[1]):
            sums[b, j, f] += X[i, f] * w


@numba.njit(inline="always")
def sums_afresh(labels, start, stop, block_changes, sums, weights, b):
    """Whether block ``b`` (rows ``[start, stop)``) is summed afresh after this pass
    (``sum_block``; its sums are zeroed here), rather than kept by moving the points that change
    cluster from one sum to the other (``move_point``) during the pass. The kernels call it as

        fresh = sums_afresh(...)
        ...  # for a point that changed cluster, while its row or tile is in cache:
            if not fresh:
                move_point(...)
        ...
        if fresh:
            sum_block(...)
        block_changes[b] = n_changed

    Afresh on the first pass (``labels`` all -1), and after a pass in which more than one point
    in ``RESUM_EVERY`` of the block changed cluster (``block_changes[b]``): a fresh sum then
    costs no more than the moves, and it keeps rounding from piling up. Deciding before the
    pass lets the moves read points the kernel has just read, rather than read their rows back
    from memory.
    """
    fresh = labels[start] < 0 or block_changes[b] * RESUM_EVERY > stop - start
    if fresh:
        zero_block_sums(sums, weights, b)
    return fresh


@numba.njit(inline="always", fastmath=FASTMATH)
def move_point(x, w, old, new, sums, weights, b):
    """Move the point ``x`` (a row of the data, or a lane of a tile: read while it is in cache)
    of weight ``w`` from cluster ``old`` to ``new`` in block ``b``'s sums."""
    weights[b, old] -= w
    weights[b, new] += w
    for f in range(x.shape[0]):
        v = x[f] * w
        sums[b, old, f] -= v
        sums[b, new, f] += v


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def assign_labels(X, centers, centers_t, n_blocks, labels, first_block, stop_block):
    """Nearest center of every point (the first one on exact ties), with no center update: the
    same distances as ``lloyd.lloyd_assign_and_sum``.

    ``centers_t`` is ``transposed_if_few_features(centers)``.
    """
    n_samples = X.shape[0]
    dist = np.empty(centers.shape[0], dtype=X.dtype)
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for i in range(start, stop):
            labels[i] = nearest_center(X, i, centers, centers_t, dist)[0]


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
def all_distances(X, centers, centers_t, n_blocks, out, first_block, stop_block):
    """Squared distances from every point to every center: out (n_samples, n_clusters).

    ``centers_t`` is ``transposed_if_few_features(centers)``.
    """
    n_samples = X.shape[0]
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for i in range(start, stop):
            dists_to_centers(X, i, centers, centers_t, out[i])


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def row_squared_norms(X, n_blocks, out, first_block, stop_block):
    """``|x|^2`` of every row of ``X``, summed in float64, into ``out[:n_samples]`` (in
    ``out``'s precision)."""
    n_samples, n_features = X.shape
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for i in range(start, stop):
            acc = 0.0
            for f in range(n_features):
                acc += np.float64(X[i, f]) * X[i, f]
            out[i] = acc


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def column_sums(X, n_blocks, out, first_block, stop_block):
    """Per-block sums of every column of ``X``, in float64, into ``out`` (n_blocks, n_features)."""
    n_samples, n_features = X.shape
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for f in range(n_features):
            out[b, f] = 0.0
        for i in range(start, stop):
            for f in range(n_features):
                out[b, f] += X[i, f]


@numba.njit(inline="always")
def copy_to_tiles(X, X_tiles, start, stop):
    """Copy rows ``[start, stop)`` of ``X`` (``start`` a multiple of the tiles' width ``w``)
    into ``X_tiles`` (ceil(n / w), n_features, w), ``X_tiles[t, f, p] = X[w t + p, f]``, in
    ``X_tiles``'s precision; the lanes past the last row of ``X`` are zeros."""
    n_samples, n_features = X.shape
    width = X_tiles.shape[2]
    for i in range(start, stop):
        t = i // width
        p = i - t * width
        for f in range(n_features):
            X_tiles[t, f, p] = X[i, f]
    last = n_samples // width
    if stop == n_samples and last < X_tiles.shape[0]:
        for p in range(n_samples - last * width, width):
            for f in range(n_features):
                X_tiles[last, f, p] = 0


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def subtract_and_square_sums(X, mean, n_blocks, X_centered, X_tiles, out, first_block, stop_block):
    """``X_centered = X - mean``, and per-block sums of its squares, in float64, into ``out``
    (n_blocks, n_features): one pass for both. Unless ``X_tiles`` is empty, ``X_centered`` is
    also copied into it by tiles (``copy_to_tiles``), block by block while the block is hot."""
    n_samples, n_features = X.shape
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for f in range(n_features):
            out[b, f] = 0.0
        for i in range(start, stop):
            for f in range(n_features):
                v = X[i, f] - mean[f]
                X_centered[i, f] = v
                out[b, f] += v * v
        if X_tiles.shape[0] > 0:
            copy_to_tiles(X_centered, X_tiles, start, stop)
