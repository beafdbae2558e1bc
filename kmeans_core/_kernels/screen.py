"""Nearest centers screened in float32, sixteen points at a time, with a certificate: Lloyd's
brute force with AVX-512.

A 512-bit register holds eight float64 or sixteen float32, and a float32 tile is half the bytes
to read. So with AVX-512 (``WIDE_VECTORS``) Lloyd reads a float32 copy of the data in tiles of
sixteen points (``X_tiles[t, f, p] = X[16 t + p, f]``) and finds each point's nearest and second
nearest centers among the float32 centers, from dot products (``|c|^2 - 2 x.c``, eight centers
at a time, as ``products.py`` does in float64) or from direct distances (two centers at a time,
as ``tiles.py``): about half the time per (point, center) pair of the float64 kernels' best
(``benchmarks/README.md``, "Engine thresholds").

Certificate. Rounding the data and the centers to float32 moves each point's squared distances
by at most ``(2.1 d + 13) u (|x|^2 + max |c|^2)`` (direct) or ``(2.1 d + 6) u (...)``
(products), u = 2^-24 (float32's unit roundoff), counting the rounding of every operation and of
the conversion; ``products.tolerance_for`` of float32 data, ``10 (2 d + 3) eps``, is more than
twice either. A point whose two smallest float32 values are further apart than that has the same
nearest center whatever the precision, and the float64 distances of the row kernels agree. The
others get their distances computed directly in the data's precision, one point at a time
(``common.nearest_center``): the labels are always those of the direct distances. On the
benchmark's data one point in 2,500 to 25,000 falls back; more where clusters lie far from the
data's mean compared with their spread (float32 keeps ~7 digits of the coordinates).

Bookkeeping. A whole tile whose sixteen points are certified and keep their labels is done with
one test (``_settled``): without it the per-point loop cost as much as the search at d=16, k=3.
The cluster sums are kept from the rows of ``X``, never from the float32 copy; a block's moved
points are moved after the block, when their row reads can overlap.
"""

import numba
import numpy as np

from kmeans_core._kernels.common import (
    block_bounds,
    move_point,
    nearest_center,
    sum_block,
    sums_afresh,
)
from kmeans_core._kernels.products import tolerance_for
from kmeans_core._kernels.tiles import TILE_FASTMATH

#: Points per screening tile: sixteen float32, one 512-bit vector.
LANES = 16

#: Center groups of the dot products, as ``products.GROUP`` with AVX-512.
GROUP = 8


def screened_centers(centers, products):
    """What the kernels take of the centers: the centers in float32 (direct distances);
    ``-2 * centers`` in float32 in groups of eight, interleaved (``products.products_of``), or
    None without ``products``; the float32 squared norms of the centers, and the largest of them
    in float64. (Compiled: small fits pay for this every iteration, more through NumPy's
    calls.)"""
    centers32, norms, max_norm = _float32_centers(centers)
    return centers32, _grouped(centers) if products else None, norms, max_norm


@numba.njit(cache=True)
def _float32_centers(centers):
    n_clusters, n_features = centers.shape
    centers32 = np.empty((n_clusters, n_features), dtype=np.float32)
    norms = np.empty(n_clusters, dtype=np.float32)
    max_norm = 0.0
    for j in range(n_clusters):
        norm = 0.0
        for f in range(n_features):
            centers32[j, f] = centers[j, f]
            norm += np.float64(centers[j, f]) * centers[j, f]
        norms[j] = norm
        max_norm = max(max_norm, norm)
    return centers32, norms, max_norm


@numba.njit(cache=True)
def _grouped(centers):
    """``-2 * centers`` in float32, ``(ceil(k / GROUP), d, GROUP)``, zeros past the last."""
    n_clusters, n_features = centers.shape
    grouped = np.zeros((-(-n_clusters // GROUP), n_features, GROUP), dtype=np.float32)
    for j in range(n_clusters):
        for f in range(n_features):
            grouped[j // GROUP, f, j % GROUP] = -2.0 * centers[j, f]
    return grouped


@numba.njit(inline="always")
def _fill(v):
    """Sixteen lanes of ``v``."""
    return (v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v)


@numba.njit(fastmath=TILE_FASTMATH)
def _plus_squares(acc, xt, f, c):
    """``acc`` plus the squared differences between feature ``f`` of the tile's sixteen points
    and ``c``, lane by lane."""
    return (
        acc[0] + (xt[f, 0] - c) * (xt[f, 0] - c),
        acc[1] + (xt[f, 1] - c) * (xt[f, 1] - c),
        acc[2] + (xt[f, 2] - c) * (xt[f, 2] - c),
        acc[3] + (xt[f, 3] - c) * (xt[f, 3] - c),
        acc[4] + (xt[f, 4] - c) * (xt[f, 4] - c),
        acc[5] + (xt[f, 5] - c) * (xt[f, 5] - c),
        acc[6] + (xt[f, 6] - c) * (xt[f, 6] - c),
        acc[7] + (xt[f, 7] - c) * (xt[f, 7] - c),
        acc[8] + (xt[f, 8] - c) * (xt[f, 8] - c),
        acc[9] + (xt[f, 9] - c) * (xt[f, 9] - c),
        acc[10] + (xt[f, 10] - c) * (xt[f, 10] - c),
        acc[11] + (xt[f, 11] - c) * (xt[f, 11] - c),
        acc[12] + (xt[f, 12] - c) * (xt[f, 12] - c),
        acc[13] + (xt[f, 13] - c) * (xt[f, 13] - c),
        acc[14] + (xt[f, 14] - c) * (xt[f, 14] - c),
        acc[15] + (xt[f, 15] - c) * (xt[f, 15] - c),
    )


@numba.njit(fastmath=TILE_FASTMATH)
def _plus_products(acc, xt, f, c):
    """``acc`` plus feature ``f`` of the tile's sixteen points times ``c``, lane by lane."""
    return (
        acc[0] + xt[f, 0] * c,
        acc[1] + xt[f, 1] * c,
        acc[2] + xt[f, 2] * c,
        acc[3] + xt[f, 3] * c,
        acc[4] + xt[f, 4] * c,
        acc[5] + xt[f, 5] * c,
        acc[6] + xt[f, 6] * c,
        acc[7] + xt[f, 7] * c,
        acc[8] + xt[f, 8] * c,
        acc[9] + xt[f, 9] * c,
        acc[10] + xt[f, 10] * c,
        acc[11] + xt[f, 11] * c,
        acc[12] + xt[f, 12] * c,
        acc[13] + xt[f, 13] * c,
        acc[14] + xt[f, 14] * c,
        acc[15] + xt[f, 15] * c,
    )


@numba.njit(fastmath=TILE_FASTMATH)
def _keep(values, j, best, best_j, second):
    """Lane by lane: the smallest value with its center (the first on ties), and the second
    smallest (``min(second, max(best, values))``, ``best`` the smallest before ``values``)."""
    second = (
        min(second[0], max(best[0], values[0])),
        min(second[1], max(best[1], values[1])),
        min(second[2], max(best[2], values[2])),
        min(second[3], max(best[3], values[3])),
        min(second[4], max(best[4], values[4])),
        min(second[5], max(best[5], values[5])),
        min(second[6], max(best[6], values[6])),
        min(second[7], max(best[7], values[7])),
        min(second[8], max(best[8], values[8])),
        min(second[9], max(best[9], values[9])),
        min(second[10], max(best[10], values[10])),
        min(second[11], max(best[11], values[11])),
        min(second[12], max(best[12], values[12])),
        min(second[13], max(best[13], values[13])),
        min(second[14], max(best[14], values[14])),
        min(second[15], max(best[15], values[15])),
    )
    best_j = (
        best_j[0] if values[0] >= best[0] else j,
        best_j[1] if values[1] >= best[1] else j,
        best_j[2] if values[2] >= best[2] else j,
        best_j[3] if values[3] >= best[3] else j,
        best_j[4] if values[4] >= best[4] else j,
        best_j[5] if values[5] >= best[5] else j,
        best_j[6] if values[6] >= best[6] else j,
        best_j[7] if values[7] >= best[7] else j,
        best_j[8] if values[8] >= best[8] else j,
        best_j[9] if values[9] >= best[9] else j,
        best_j[10] if values[10] >= best[10] else j,
        best_j[11] if values[11] >= best[11] else j,
        best_j[12] if values[12] >= best[12] else j,
        best_j[13] if values[13] >= best[13] else j,
        best_j[14] if values[14] >= best[14] else j,
        best_j[15] if values[15] >= best[15] else j,
    )
    best = (
        min(values[0], best[0]),
        min(values[1], best[1]),
        min(values[2], best[2]),
        min(values[3], best[3]),
        min(values[4], best[4]),
        min(values[5], best[5]),
        min(values[6], best[6]),
        min(values[7], best[7]),
        min(values[8], best[8]),
        min(values[9], best[9]),
        min(values[10], best[10]),
        min(values[11], best[11]),
        min(values[12], best[12]),
        min(values[13], best[13]),
        min(values[14], best[14]),
        min(values[15], best[15]),
    )
    return best, best_j, second


@numba.njit(fastmath=TILE_FASTMATH)
def _two_centers(xt, centers, j0, j1):
    """Squared distances from the tile's sixteen points to centers ``j0`` and ``j1``."""
    c0 = centers[j0]
    c1 = centers[j1]
    a0 = a1 = _fill(np.float32(0))
    for f in range(xt.shape[0]):
        a0 = _plus_squares(a0, xt, f, c0[f])
        a1 = _plus_squares(a1, xt, f, c1[f])
    return a0, a1


@numba.njit(fastmath=TILE_FASTMATH)
def _nearest_by_distances(xt, centers):
    """For each of the tile's sixteen points: the nearest center (the first on ties), its
    squared distance and the second smallest (infinite with one center)."""
    n_clusters = centers.shape[0]
    best = second = _fill(np.float32(np.inf))
    best_j = _fill(np.int32(0))
    for j in range(0, n_clusters, 2):
        # With an odd count the last center is paired with itself (the loop is bound by the
        # latency of the additions: one center costs as much as two).
        a0, a1 = _two_centers(xt, centers, j, min(j + 1, n_clusters - 1))
        best, best_j, second = _keep(a0, np.int32(j), best, best_j, second)
        if j + 1 < n_clusters:
            best, best_j, second = _keep(a1, np.int32(j + 1), best, best_j, second)
    return best_j, best, second


@numba.njit(inline="always")
def _start(norms, j):
    """Sixteen lanes of center ``j``'s squared norm, or of the last center's past the end (those
    values are never kept)."""
    return _fill(norms[min(j, norms.shape[0] - 1)])


@numba.njit(fastmath=TILE_FASTMATH)
def _eight_centers(xt, group, norms, j0):
    """``|c|^2 - 2 x.c`` for the tile's sixteen points and the eight centers ``j0`` to
    ``j0 + 7`` of ``group``: eight vectors of partial sums."""
    a0, a1 = _start(norms, j0), _start(norms, j0 + 1)
    a2, a3 = _start(norms, j0 + 2), _start(norms, j0 + 3)
    a4, a5 = _start(norms, j0 + 4), _start(norms, j0 + 5)
    a6, a7 = _start(norms, j0 + 6), _start(norms, j0 + 7)
    for f in range(xt.shape[0]):
        g = group[f]
        a0 = _plus_products(a0, xt, f, g[0])
        a1 = _plus_products(a1, xt, f, g[1])
        a2 = _plus_products(a2, xt, f, g[2])
        a3 = _plus_products(a3, xt, f, g[3])
        a4 = _plus_products(a4, xt, f, g[4])
        a5 = _plus_products(a5, xt, f, g[5])
        a6 = _plus_products(a6, xt, f, g[6])
        a7 = _plus_products(a7, xt, f, g[7])
    return a0, a1, a2, a3, a4, a5, a6, a7


@numba.njit(fastmath=TILE_FASTMATH)
def _nearest_by_products(xt, centers_m2, norms):
    """For each of the tile's sixteen points: the center with the smallest ``|c|^2 - 2 x.c``
    (the first on ties), that value and the second smallest."""
    n_clusters = norms.shape[0]
    best = second = _fill(np.float32(np.inf))
    best_j = _fill(np.int32(0))
    for j in range(0, n_clusters, GROUP):
        values = _eight_centers(xt, centers_m2[j // GROUP], norms, j)
        for m in range(GROUP):  # unrolled by LLVM
            if j + m < n_clusters:
                best, best_j, second = _keep(values[m], np.int32(j + m), best, best_j, second)
    return best_j, best, second


@numba.njit(fastmath=TILE_FASTMATH)
def nearest_two(xt, centers, centers_m2, norms):
    """The two smallest float32 values of each of the tile's sixteen points, with the first
    one's center: by dot products, or by direct distances when ``centers_m2`` is None (chosen
    when the kernel is compiled)."""
    if centers_m2 is None:
        return _nearest_by_distances(xt, centers)
    return _nearest_by_products(xt, centers_m2, norms)


@numba.njit(nogil=True, fastmath=TILE_FASTMATH, cache=True)
def lloyd_assign_and_sum(
    X,
    X_tiles,
    X_sq_norms,
    sample_weight,
    centers32,
    centers_m2,
    norms,
    max_norm,
    centers,
    block_fallbacks,
    n_blocks,
    labels,
    sums,
    weights,
    block_changes,
    first_block,
    stop_block,
):
    """One Lloyd pass, screened in float32. ``X_tiles`` are ``_loop.tiles_of`` in the
    ``SCREEN_TILES`` format, ``X_sq_norms`` ``_loop.squared_norms(X, SCREEN_TILES)``;
    ``centers32``, ``centers_m2`` (None: direct distances), ``norms`` and ``max_norm`` come from
    ``screened_centers``, ``centers`` are the centers in the data's precision
    (``common.padded_to_tiles``). Keeps the cluster sums as ``tiles.lloyd_assign_and_sum``
    does, reading the moved points from ``X``; writes in ``block_fallbacks`` (n_blocks,) how
    many points of each block the screen could not certify; returns the number of labels that
    changed."""
    n_samples = X.shape[0]
    dist = np.empty(centers.shape[0], dtype=X.dtype)
    tolerance = tolerance_for(X_tiles)  # of float32 data (see the module docstring)
    moved, moved_from, rows, row_weights = _move_room(
        X, sample_weight, n_blocks, first_block, stop_block
    )
    changed = 0
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        fresh = sums_afresh(labels, start, stop, block_changes, sums, weights, b)
        block_changed = 0
        fallbacks = 0
        for t in range(start // LANES, (stop + LANES - 1) // LANES):
            best_j, best, second = nearest_two(X_tiles[t], centers32, centers_m2, norms)
            sq_norms = X_sq_norms[t]
            first = t * LANES
            n_lanes = min(LANES, stop - first)
            unsettled = -1  # every lane of a last tile short of sixteen points
            if n_lanes == LANES:
                unsettled = _unsettled(
                    best_j,
                    best,
                    second,
                    labels[first : first + LANES],
                    sq_norms,
                    max_norm,
                    tolerance,
                )
                if unsettled == 0:
                    continue
            for p in range(n_lanes):
                if not (unsettled >> p) & 1:
                    continue
                i = first + p
                new = best_j[p]
                if second[p] - best[p] <= tolerance * (sq_norms[p] + max_norm):
                    new = nearest_center(X, i, centers, None, dist)[0]
                    fallbacks += 1
                a = labels[i]
                if a != new:
                    labels[i] = new
                    moved[block_changed] = i
                    moved_from[block_changed] = a
                    block_changed += 1
        if fresh:
            sum_block(X, sample_weight, labels, start, stop, sums, weights, b)
        else:
            _move(
                X,
                sample_weight,
                labels,
                moved,
                moved_from,
                block_changed,
                rows,
                row_weights,
                sums,
                weights,
                b,
            )
        block_changes[b] = block_changed
        block_fallbacks[b] = fallbacks
        changed += block_changed
    return changed


@numba.njit(fastmath=TILE_FASTMATH)
def _unsettled(best_j, best, second, labels, sq_norms, max_norm, tolerance):
    """Bit ``p`` set for each point ``p`` of a whole tile that is not certified or changes its
    label: the others need nothing more (most points, once few move). Lane by lane with
    constant indices and no branches (a helper taking the lane as an argument compiled in
    several times longer)."""
    gap = (
        second[0] - best[0],
        second[1] - best[1],
        second[2] - best[2],
        second[3] - best[3],
        second[4] - best[4],
        second[5] - best[5],
        second[6] - best[6],
        second[7] - best[7],
        second[8] - best[8],
        second[9] - best[9],
        second[10] - best[10],
        second[11] - best[11],
        second[12] - best[12],
        second[13] - best[13],
        second[14] - best[14],
        second[15] - best[15],
    )
    slack = (
        tolerance * (sq_norms[0] + max_norm),
        tolerance * (sq_norms[1] + max_norm),
        tolerance * (sq_norms[2] + max_norm),
        tolerance * (sq_norms[3] + max_norm),
        tolerance * (sq_norms[4] + max_norm),
        tolerance * (sq_norms[5] + max_norm),
        tolerance * (sq_norms[6] + max_norm),
        tolerance * (sq_norms[7] + max_norm),
        tolerance * (sq_norms[8] + max_norm),
        tolerance * (sq_norms[9] + max_norm),
        tolerance * (sq_norms[10] + max_norm),
        tolerance * (sq_norms[11] + max_norm),
        tolerance * (sq_norms[12] + max_norm),
        tolerance * (sq_norms[13] + max_norm),
        tolerance * (sq_norms[14] + max_norm),
        tolerance * (sq_norms[15] + max_norm),
    )
    return (
        0
        | (((gap[0] <= slack[0]) | (best_j[0] != labels[0])) << 0)
        | (((gap[1] <= slack[1]) | (best_j[1] != labels[1])) << 1)
        | (((gap[2] <= slack[2]) | (best_j[2] != labels[2])) << 2)
        | (((gap[3] <= slack[3]) | (best_j[3] != labels[3])) << 3)
        | (((gap[4] <= slack[4]) | (best_j[4] != labels[4])) << 4)
        | (((gap[5] <= slack[5]) | (best_j[5] != labels[5])) << 5)
        | (((gap[6] <= slack[6]) | (best_j[6] != labels[6])) << 6)
        | (((gap[7] <= slack[7]) | (best_j[7] != labels[7])) << 7)
        | (((gap[8] <= slack[8]) | (best_j[8] != labels[8])) << 8)
        | (((gap[9] <= slack[9]) | (best_j[9] != labels[9])) << 9)
        | (((gap[10] <= slack[10]) | (best_j[10] != labels[10])) << 10)
        | (((gap[11] <= slack[11]) | (best_j[11] != labels[11])) << 11)
        | (((gap[12] <= slack[12]) | (best_j[12] != labels[12])) << 12)
        | (((gap[13] <= slack[13]) | (best_j[13] != labels[13])) << 13)
        | (((gap[14] <= slack[14]) | (best_j[14] != labels[14])) << 14)
        | (((gap[15] <= slack[15]) | (best_j[15] != labels[15])) << 15)
    )


#: Moved points copied at a time before they move (``_move``).
MOVE_CHUNK = 256


@numba.njit(inline="always", fastmath=TILE_FASTMATH)
def _move(
    X, sample_weight, labels, moved, moved_from, n_moved, rows, row_weights, sums, weights, b
):
    """Move the points ``moved[:n_moved]`` from their clusters ``moved_from`` to their labels in
    block ``b``'s sums. Their rows are not in cache (only their float32 copy was read), so they
    are first copied ``MOVE_CHUNK`` at a time, reads that overlap; read in the moves, each read
    waited for the sums of the move before (1M x 8, 8 clusters: 100 ns a move, 50 this way).
    ``rows`` and ``row_weights`` are room for the copies (``_move_room``)."""
    for m0 in range(0, n_moved, MOVE_CHUNK):
        m1 = min(m0 + MOVE_CHUNK, n_moved)
        for m in range(m0, m1):
            i = moved[m]
            row_weights[m - m0] = sample_weight[i]
            for f in range(X.shape[1]):
                rows[m - m0, f] = X[i, f]
        for m in range(m0, m1):
            new = labels[moved[m]]
            move_point(rows[m - m0], row_weights[m - m0], moved_from[m], new, sums, weights, b)


@numba.njit(inline="always")
def _move_room(X, sample_weight, n_blocks, first_block, stop_block):
    """Room for the rows that change cluster in any one of the blocks and their old clusters,
    and for ``MOVE_CHUNK`` copies of rows and weights (``_move``)."""
    most = 0
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, X.shape[0])
        most = max(most, stop - start)
    moved = np.empty(most, dtype=np.int64)
    moved_from = np.empty(most, dtype=np.int32)
    rows = np.empty((MOVE_CHUNK, X.shape[1]), dtype=X.dtype)
    return moved, moved_from, rows, np.empty(MOVE_CHUNK, dtype=sample_weight.dtype)
