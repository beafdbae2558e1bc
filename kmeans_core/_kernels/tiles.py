"""Nearest centers of eight points at a time: Lloyd's brute force, ``predict``, and the tiles
that Hamerly's or Yinyang's bounds leave mostly unresolved.

The rows are first copied into tiles of eight, ``X_tiles[t, f, p] = X[8 t + p, f]``, so that
feature ``f`` of eight points is one contiguous vector. The squared distances from the eight
points to a center then build up lane by lane as the loop runs over the features, and are
compared lane by lane with the eight running minima: no sum across a vector for every (point,
center) pair, which is what the row-by-row loop of ``common._four_distances`` spends most of
its time on when there are few features. Per (point, center) pair on one core, tiles against
rows: see ``_loop.TILES_BELOW_FEATURES``.

Two centers go through the loop over the features together (four vectors of partial sums,
enough to hide the latency of the additions; four centers spill); with an odd number of
centers the last one is paired with itself.

The eight lanes are eight scalar variables that LLVM's SLP vectorizer turns into vectors.
numba turns that vectorizer off by default (numba PR #8852, after miscompilations with the LLVM
of the time), so these kernels are compiled with it on (``kmeans_core._kernels.slp_vectorizer``);
every parity test with scikit-learn checks what it produced. The distances are summed feature
by feature in order, without reassociation (``TILE_FASTMATH``): otherwise LLVM vectorises the
loop over the features instead, with gathers, several times slower.

Compile time: numba inlines ``inline="always"`` functions in its own IR, slowly for code made
of 8-tuples, so only ``nearest_centers`` is inlined that way (left to LLVM, small-k fits were
slower); the other helpers are inlined by LLVM, and the lanes' indices are picked by arithmetic
rather than ``if``.
"""

import numba

from kmeans_core._kernels.common import (
    TILE,
    block_bounds,
    copy_to_tiles,
    move_point,
    sum_block,
    sums_afresh,
)

#: Multiply-adds may be fused; nothing else is reordered (see the module docstring).
TILE_FASTMATH = {"contract"}


@numba.njit(nogil=True, cache=True)
def to_tiles(X, n_blocks, X_tiles, first_block, stop_block):
    """Copy the rows of ``X`` into ``X_tiles`` (``common.copy_to_tiles``)."""
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, X.shape[0])
        copy_to_tiles(X, X_tiles, start, stop)


@numba.njit(fastmath=TILE_FASTMATH)
def _plus_squares(acc, xt, f, c):
    """``acc`` plus the squared differences between feature ``f`` of the tile's eight points
    and ``c``, lane by lane."""
    t0 = xt[f, 0] - c
    t1 = xt[f, 1] - c
    t2 = xt[f, 2] - c
    t3 = xt[f, 3] - c
    t4 = xt[f, 4] - c
    t5 = xt[f, 5] - c
    t6 = xt[f, 6] - c
    t7 = xt[f, 7] - c
    return (
        acc[0] + t0 * t0,
        acc[1] + t1 * t1,
        acc[2] + t2 * t2,
        acc[3] + t3 * t3,
        acc[4] + t4 * t4,
        acc[5] + t5 * t5,
        acc[6] + t6 * t6,
        acc[7] + t7 * t7,
    )


@numba.njit(fastmath=TILE_FASTMATH)
def _two_centers(xt, centers, j0, j1):
    """Squared distances from the tile's eight points to centers ``j0`` and ``j1``."""
    c0 = centers[j0]
    c1 = centers[j1]
    zero = xt[0, 0] - xt[0, 0]
    a0 = a1 = (zero, zero, zero, zero, zero, zero, zero, zero)
    for f in range(xt.shape[0]):
        a0 = _plus_squares(a0, xt, f, c0[f])
        a1 = _plus_squares(a1, xt, f, c1[f])
    return a0, a1


@numba.njit(fastmath=TILE_FASTMATH)
def _nearer(dist, j, best, best_j):
    """Lane by lane, center ``j`` where it is strictly nearer than the best so far (so the
    first of equal distances stays). (The index is picked by arithmetic, not ``if``: branches
    made numba's compilation of these tuples several times slower.)"""
    return (
        (
            min(dist[0], best[0]),
            min(dist[1], best[1]),
            min(dist[2], best[2]),
            min(dist[3], best[3]),
            min(dist[4], best[4]),
            min(dist[5], best[5]),
            min(dist[6], best[6]),
            min(dist[7], best[7]),
        ),
        (
            best_j[0] + (j - best_j[0]) * (dist[0] < best[0]),
            best_j[1] + (j - best_j[1]) * (dist[1] < best[1]),
            best_j[2] + (j - best_j[2]) * (dist[2] < best[2]),
            best_j[3] + (j - best_j[3]) * (dist[3] < best[3]),
            best_j[4] + (j - best_j[4]) * (dist[4] < best[4]),
            best_j[5] + (j - best_j[5]) * (dist[5] < best[5]),
            best_j[6] + (j - best_j[6]) * (dist[6] < best[6]),
            best_j[7] + (j - best_j[7]) * (dist[7] < best[7]),
        ),
    )


@numba.njit(fastmath=TILE_FASTMATH)
def _second(dist, best, second):
    """Lane by lane, the second smallest distance once ``dist`` is seen (``best`` is the
    smallest before it): min(second, max(best, dist))."""
    return (
        min(second[0], max(best[0], dist[0])),
        min(second[1], max(best[1], dist[1])),
        min(second[2], max(best[2], dist[2])),
        min(second[3], max(best[3], dist[3])),
        min(second[4], max(best[4], dist[4])),
        min(second[5], max(best[5], dist[5])),
        min(second[6], max(best[6], dist[6])),
        min(second[7], max(best[7], dist[7])),
    )


@numba.njit(inline="always", fastmath=TILE_FASTMATH)
def nearest_centers(xt, centers):
    """Index of the nearest center of each of the tile's eight points (the first one on exact
    ties)."""
    n_clusters = centers.shape[0]
    best_j = (0, 0, 0, 0, 0, 0, 0, 0)
    if n_clusters == 1:
        return best_j
    best, a1 = _two_centers(xt, centers, 0, 1)
    best, best_j = _nearer(a1, 1, best, best_j)
    for j in range(2, n_clusters, 2):
        # With an odd count the last center is paired with itself (one center costs as much
        # as two: the loop is bound by the latency of the additions).
        a0, a1 = _two_centers(xt, centers, j, min(j + 1, n_clusters - 1))
        best, best_j = _nearer(a0, j, best, best_j)
        if j + 1 < n_clusters:
            best, best_j = _nearer(a1, j + 1, best, best_j)
    return best_j


@numba.njit(fastmath=TILE_FASTMATH)
def nearest_two_centers(xt, centers):
    """For each of the tile's eight points: the index of the nearest center (the first one on
    exact ties), its squared distance, and the second smallest squared distance. Needs two
    centers or more.

    Not inlined, so that it keeps its own fast-math flags inside kernels compiled with
    ``common.FASTMATH`` (the bounds kernels)."""
    n_clusters = centers.shape[0]
    a0, a1 = _two_centers(xt, centers, 0, 1)
    best, best_j = _nearer(a1, 1, a0, (0, 0, 0, 0, 0, 0, 0, 0))
    second = (  # the larger of the two
        max(a0[0], a1[0]),
        max(a0[1], a1[1]),
        max(a0[2], a1[2]),
        max(a0[3], a1[3]),
        max(a0[4], a1[4]),
        max(a0[5], a1[5]),
        max(a0[6], a1[6]),
        max(a0[7], a1[7]),
    )
    for j in range(2, n_clusters, 2):
        a0, a1 = _two_centers(xt, centers, j, min(j + 1, n_clusters - 1))
        second = _second(a0, best, second)
        best, best_j = _nearer(a0, j, best, best_j)
        if j + 1 < n_clusters:
            second = _second(a1, best, second)
            best, best_j = _nearer(a1, j + 1, best, best_j)
    return best_j, best, second


@numba.njit(inline="always")
def _store(out, j, values):
    """``out[j, p] = values[p]`` for the eight lanes (one contiguous row: constant indices, so
    that the stores are vectorised; a loop over the lanes made single stores)."""
    out[j, 0] = values[0]
    out[j, 1] = values[1]
    out[j, 2] = values[2]
    out[j, 3] = values[3]
    out[j, 4] = values[4]
    out[j, 5] = values[5]
    out[j, 6] = values[6]
    out[j, 7] = values[7]


@numba.njit(fastmath=TILE_FASTMATH)
def distances_to_all(xt, centers, out):
    """``out[j, p]``: the squared distance from the tile's point ``p`` to center ``j``, for the
    eight points and every center (``out`` is (n_clusters, TILE))."""
    n_clusters = centers.shape[0]
    for j in range(0, n_clusters, 2):
        a0, a1 = _two_centers(xt, centers, j, min(j + 1, n_clusters - 1))
        _store(out, j, a0)
        if j + 1 < n_clusters:
            _store(out, j + 1, a1)


@numba.njit(fastmath=TILE_FASTMATH)
def _unchanged(nearest, labels):
    """Whether the tile's eight points keep their labels (without branches)."""
    return (
        True
        & (nearest[0] == labels[0])
        & (nearest[1] == labels[1])
        & (nearest[2] == labels[2])
        & (nearest[3] == labels[3])
        & (nearest[4] == labels[4])
        & (nearest[5] == labels[5])
        & (nearest[6] == labels[6])
        & (nearest[7] == labels[7])
    )


@numba.njit(nogil=True, fastmath=TILE_FASTMATH, cache=True)
def lloyd_assign_and_sum(
    X,
    X_tiles,
    sample_weight,
    centers,
    n_blocks,
    labels,
    sums,
    weights,
    block_changes,
    first_block,
    stop_block,
):
    """One Lloyd pass over the data in tiles (``to_tiles``), eight points at a time.

    Writes ``labels`` (nearest center, the first one on exact ties) and keeps, per row block,
    the weighted sums of the points of each cluster in ``sums`` (n_blocks, k, d) and their
    weights in ``weights`` (n_blocks, k): moving the points that changed cluster from one sum
    to the other, read from the tile, or afresh from ``X`` (``common.sums_afresh``);
    ``block_changes`` keeps how many points of each block changed. Returns the number of labels
    that changed.
    """
    n_samples = labels.shape[0]
    changed = 0
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        fresh = sums_afresh(labels, start, stop, block_changes, sums, weights, b)
        block_changed = 0
        for t in range(start // TILE, (stop + TILE - 1) // TILE):
            xt = X_tiles[t]
            nearest = nearest_centers(xt, centers)
            first = t * TILE
            n_lanes = min(TILE, stop - first)
            if n_lanes == TILE and _unchanged(nearest, labels[first : first + TILE]):
                continue  # the usual case once few points move: one test for the tile
            for p in range(n_lanes):
                i = first + p
                a = labels[i]
                new = nearest[p]
                if a != new:
                    labels[i] = new
                    block_changed += 1
                    if not fresh:
                        move_point(xt[:, p], sample_weight[i], a, new, sums, weights, b)
        if fresh:
            sum_block(X, sample_weight, labels, start, stop, sums, weights, b)
        block_changes[b] = block_changed
        changed += block_changed
    return changed


@numba.njit(nogil=True, fastmath=TILE_FASTMATH, cache=True)
def assign_labels(X_tiles, centers, n_blocks, labels, first_block, stop_block):
    """Nearest center of every point (the first one on exact ties), with no center update;
    the same distances as ``lloyd_assign_and_sum``."""
    n_samples = labels.shape[0]
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for t in range(start // TILE, (stop + TILE - 1) // TILE):
            nearest = nearest_centers(X_tiles[t], centers)
            for p in range(min(TILE, stop - t * TILE)):
                labels[t * TILE + p] = nearest[p]
