"""Exact accelerated assignment steps that skip distances with triangle-inequality bounds.

Hamerly (2010) keeps, per point, an upper bound on the distance to its own center and one lower
bound on the distance to every other center. Elkan (2003) keeps one lower bound per center.
Exponion (Newling and Fleuret, 2016) keeps Hamerly's two bounds, but when they fail it searches
only the centers near the point's own center instead of all of them. Yinyang (Ding et al., 2015)
keeps one lower bound per group of centers. After the centers move, the bounds are loosened by
how far the centers moved; a point whose upper bound is below its lower bound (or below half the
distance from its center to the nearest other center) cannot change label, and no distance is
computed for it.

All return exactly the labels Lloyd's brute force would give: every skip test is strict, so a
point is only skipped when its center is the unique nearest one, and whenever distances are
computed the same squared distances are compared the same way (first index wins exact ties);
where they come from dot products (``products.py``), only a certified nearest center is taken
and the bounds are widened by the possible rounding.

All also keep the per-block cluster sums that the center update needs: a point that changes
cluster is moved from one sum to the other while its row (or tile) is in cache, so the points
that were skipped are never read. A block is summed afresh, after the pass, on the first call
and after a pass in which many of its points changed cluster (``common.sums_afresh``).

Hamerly's and Yinyang's kernels each write their own loop over blocks and tiles: a shared loop
that takes the tile step as a function costs either a call per tile (several times slower) or,
inlined by numba, a much longer compile (``benchmarks/README.md``, "Engine thresholds").
"""

import numba
import numpy as np
from numba import types
from numba.extending import overload

from kmeans_core._kernels.common import (
    FASTMATH,
    TILE,
    argmin_first,
    block_bounds,
    dists_to_centers,
    move_point,
    sq_dist,
    sum_block,
    sums_afresh,
)
from kmeans_core._kernels.products import (
    nearest_by_products,
    slack,
    tolerance_for,
    values_to_all,
)
from kmeans_core._kernels.tiles import TILE_FASTMATH, _second, distances_to_all, nearest_two_centers

#: Hamerly's kernel searches a whole tile of eight points at once (``tiles``) when this many of
#: them fail the first bounds test; it gathers the failing points of the other tiles eight by
#: eight (fastest of 2, 3, 5 on whole fits).
TILE_SEARCH_FROM = 3

#: The same for Yinyang, whose failing points search only some groups of centers: only tiles
#: where all eight fail.
YINYANG_TILE_SEARCH_FROM = 8

#: Exponion searches a ball only if it holds at most one center in this many; else it computes
#: every distance, four centers at a time (cheaper per center than one by one).
BALL_SEARCH_AT_MOST = 2


@numba.njit(inline="always", fastmath=FASTMATH)
def _nearest_two(dist):
    """Index of the smallest squared distance (first on ties), it, and the second smallest."""
    best = dist[0]
    best_j = 0
    second = np.inf
    for j in range(1, dist.shape[0]):
        d = dist[j]
        second = min(second, max(best, d))  # no branch: it would often be mispredicted
        if d < best:
            best = d
            best_j = j
    return best_j, best, second


@numba.njit(inline="always")
def _largest_two(shift):
    """The largest shift, its center, and the second largest: the one lower bound of a point
    loses the largest shift of the *other* centers."""
    max1 = 0.0
    max2 = 0.0
    arg1 = -1
    for j in range(shift.shape[0]):
        if shift[j] > max1:
            max2 = max1
            max1 = shift[j]
            arg1 = j
        elif shift[j] > max2:
            max2 = shift[j]
    return max1, arg1, max2


def _search_tile(xt, centers, products):
    """Nearest center, smallest and second smallest value for the eight lanes of the tile
    ``xt``: ``tiles.nearest_two_centers`` without ``products``, else
    ``products.nearest_by_products``. Chosen by the type of ``products`` when the kernel is
    compiled (an ``if products is None`` in the kernel compiled both, seconds more)."""


@overload(_search_tile)
def _search_tile_for(xt, centers, products):
    if isinstance(products, types.NoneType):
        return lambda xt, centers, products: nearest_two_centers(xt, centers)
    return lambda xt, centers, products: nearest_by_products(
        xt, products.centers_m2, products.norms
    )


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def hamerly_assign(
    X,
    X_tiles,
    sample_weight,
    centers,
    centers_t,
    shift,
    half_nearest,
    products,
    n_blocks,
    labels,
    upper,
    lower,
    sums,
    weights,
    block_changes,
    first_block,
    stop_block,
):
    """Hamerly's assignment step; ``shift`` is how far each center moved since the last call.

    ``centers_t`` is ``transposed_if_few_features(centers)``, for the full searches.

    The points go by tiles of eight. ``X_tiles`` is None or ``X`` copied into tiles
    (``common.copy_to_tiles``). Then the distances from eight points to all centers are
    computed at once: for a whole tile where at least ``TILE_SEARCH_FROM`` points fail the
    first bounds test, else for the points whose bounds still fail once the distance to their
    own center is known, gathered eight by eight (a block's last few are searched with stale
    lanes, whose results are dropped). Without tiles, each such point computes its distances
    alone. ``products`` is None (direct distances, ``tiles.nearest_two_centers``) or a
    ``products.Products``: certified dot products, the bounds widened by their possible
    rounding, and direct distances for the points they cannot decide.

    Arguments, as every bounds kernel takes them (IN: read only; IN/OUT: updated):

    - IN ``X`` (n, d), ``X_tiles`` (ceil(n / 8), d, 8) or None, ``sample_weight`` (n,);
    - IN ``centers`` (k, d), ``centers_t`` (d, k) or None, ``shift`` (k,);
    - IN the centers' geometry: ``half_nearest`` (k,), half the distance from each center to
      its nearest other one, and ``products`` (above);
    - IN ``n_blocks``, ``first_block``, ``stop_block``: the row blocks to do;
    - IN/OUT ``labels`` (n,) int32, -1 for a point without bounds yet (its distances are all
      computed); ``upper`` (n,) and ``lower`` (n,), the bounds;
    - IN/OUT ``sums`` (n_blocks, k, d) and ``weights`` (n_blocks, k), the weighted sums of the
      points of each cluster per block; ``block_changes`` (n_blocks,), how many labels of each
      block changed in the last pass (``common.sums_afresh``).

    Returns the number of labels that changed.
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    max1, arg1, max2 = _largest_two(shift)
    changed = 0
    dist = np.empty(n_clusters, dtype=X.dtype)
    tolerance = tolerance_for(X)
    by_tiles = X_tiles is not None and n_clusters > 1
    # Up to two tiles of gathered points (a tile adds at most eight): their rows, their
    # indices and their |x|^2.
    gathered = np.zeros((2, n_features, TILE), dtype=X.dtype)
    gathered_rows = np.zeros((2, TILE), dtype=np.int64)
    gathered_sq_norms = np.zeros((2, TILE), dtype=X.dtype)
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        fresh = sums_afresh(labels, start, stop, block_changes, sums, weights, b)
        block_changed = 0
        n_gathered = 0
        last_tile = (stop - 1) // TILE
        for t in range(start // TILE, last_tile + 1):
            tile_start = t * TILE
            tile_stop = min(tile_start + TILE, stop)
            # Loosen the bounds by the moves of the centers; count the points they fail.
            n_failed = 0
            for i in range(tile_start, tile_stop):
                a = labels[i]
                if a < 0:
                    n_failed += 1
                    continue
                upper[i] += shift[a]
                lower[i] -= max2 if a == arg1 else max1
                n_failed += upper[i] >= max(half_nearest[a], lower[i])  # no branch
            # At the block's last tile, a tile's failing points join those waiting in the buffer
            # rather than be searched whole: all must be settled before the block's sums are.
            whole = by_tiles and n_failed >= TILE_SEARCH_FROM
            whole = whole and not (t == last_tile and n_gathered > 0)
            for i in range(tile_start, tile_stop):
                if n_failed == 0 or whole:
                    break
                a = labels[i]
                if a >= 0:
                    bound = max(half_nearest[a], lower[i])
                    if upper[i] < bound:
                        continue
                    upper[i] = np.sqrt(sq_dist(X, i, centers, a))
                    if upper[i] < bound:
                        continue
                if by_tiles:
                    g, p = n_gathered // TILE, n_gathered % TILE
                    for f in range(n_features):
                        gathered[g, f, p] = X[i, f]
                    gathered_rows[g, p] = i
                    if products is not None:
                        gathered_sq_norms[g, p] = products.X_sq_norms[t, i - tile_start]
                    n_gathered += 1
                    continue
                dists_to_centers(X, i, centers, centers_t, dist)
                best_j, best_sq, second_sq = _nearest_two(dist)
                upper[i] = np.sqrt(best_sq)
                lower[i] = np.sqrt(second_sq)
                if best_j != a:
                    labels[i] = best_j
                    block_changed += 1
                    if not fresh:
                        move_point(X[i], sample_weight[i], a, best_j, sums, weights, b)
            n_searches = n_gathered // TILE
            if whole:
                n_searches = 1
            elif t == last_tile:
                n_searches = (n_gathered + TILE - 1) // TILE
            for _ in range(n_searches):
                # Eight points' distances to all centers at once: the tile's or the gathered.
                xt = gathered[0]
                n_lanes = min(n_gathered, TILE)
                sq_norms = gathered_sq_norms[0]
                if X_tiles is not None and whole:  # X_tiles named: numba drops it when None
                    xt = X_tiles[t]
                    n_lanes = tile_stop - tile_start
                    if products is not None:
                        sq_norms = products.X_sq_norms[t]
                nearest, best, second = _search_tile(xt, centers, products)
                for p in range(n_lanes):
                    i = tile_start + p if whole else gathered_rows[0, p]
                    new = nearest[p]
                    if products is None:
                        upper[i] = np.sqrt(best[p])
                        lower[i] = np.sqrt(second[p])
                    else:
                        widen = slack(sq_norms, p, products.max_norm, tolerance)
                        if second[p] - best[p] > widen:
                            upper[i] = np.sqrt(max(best[p] + sq_norms[p] + widen, 0.0))
                            lower[i] = np.sqrt(max(second[p] + sq_norms[p] - widen, 0.0))
                        else:  # too close to call from the products: direct distances
                            dists_to_centers(X, i, centers, centers_t, dist)
                            new, best_sq, second_sq = _nearest_two(dist)
                            upper[i] = np.sqrt(best_sq)
                            lower[i] = np.sqrt(second_sq)
                    a = labels[i]
                    if new != a:
                        labels[i] = new
                        block_changed += 1
                        if not fresh:
                            move_point(xt[:, p], sample_weight[i], a, new, sums, weights, b)
                if not whole:  # the second tile of gathered points becomes the first
                    n_gathered -= n_lanes
                    # (Element by element: numba compiles a slice assignment with seconds of
                    # error-message code.)
                    for p in range(n_gathered):
                        for f in range(n_features):
                            gathered[0, f, p] = gathered[1, f, p]
                        gathered_rows[0, p] = gathered_rows[1, p]
                        gathered_sq_norms[0, p] = gathered_sq_norms[1, p]
        if fresh:
            sum_block(X, sample_weight, labels, start, stop, sums, weights, b)
        block_changes[b] = block_changed
        changed += block_changed
    return changed


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def elkan_assign(
    X,
    sample_weight,
    centers,
    centers_t,
    shift,
    half_dist,
    half_nearest,
    n_blocks,
    labels,
    upper,
    lower,
    sums,
    weights,
    block_changes,
    first_block,
    stop_block,
):
    """Elkan's assignment step with one lower bound per (point, center) in ``lower`` (n, k).

    ``centers_t`` is ``transposed_if_few_features(centers)``, for the first search.
    ``shift`` is how far each center moved since the last call; ``labels[i] == -1`` marks a
    point without bounds yet. Keeps ``sums`` and ``weights`` as ``hamerly_assign`` does.
    Returns the number of labels that changed.
    """
    n_samples = X.shape[0]
    n_clusters = centers.shape[0]
    changed = 0
    dist = np.empty(n_clusters, dtype=X.dtype)
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        fresh = sums_afresh(labels, start, stop, block_changes, sums, weights, b)
        block_changed = 0
        for i in range(start, stop):
            a = labels[i]
            if a < 0:
                dists_to_centers(X, i, centers, centers_t, dist)
                best_j, best = argmin_first(dist)
                for j in range(n_clusters):
                    lower[i, j] = np.sqrt(dist[j])
                labels[i] = best_j
                upper[i] = np.sqrt(best)
                block_changed += 1
                continue
            for j in range(n_clusters):
                lower[i, j] = max(lower[i, j] - shift[j], 0.0)
            u = upper[i] + shift[a]
            if u < half_nearest[a]:
                upper[i] = u
                continue
            u_sq = -1.0  # squared distance to the current center, once computed
            a_start = a
            for j in range(n_clusters):
                if j == a or u < lower[i, j] or u < half_dist[a, j]:
                    continue
                if u_sq < 0:
                    u_sq = sq_dist(X, i, centers, a)
                    u = np.sqrt(u_sq)
                    lower[i, a] = u
                    if u < lower[i, j] or u < half_dist[a, j]:
                        continue
                d_sq = sq_dist(X, i, centers, j)
                d = np.sqrt(d_sq)
                lower[i, j] = d
                if d_sq < u_sq or (d_sq == u_sq and j < a):
                    a = j
                    u = d
                    u_sq = d_sq
            upper[i] = u
            if a != a_start:
                labels[i] = a
                block_changed += 1
                if not fresh:
                    move_point(X[i], sample_weight[i], a_start, a, sums, weights, b)
        if fresh:
            sum_block(X, sample_weight, labels, start, stop, sums, weights, b)
        block_changes[b] = block_changed
        changed += block_changed
    return changed


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def exponion_assign(
    X,
    sample_weight,
    centers,
    centers_t,
    shift,
    half_dist,
    half_nearest,
    neighbors,
    neighbor_dist,
    n_blocks,
    labels,
    upper,
    lower,
    sums,
    weights,
    block_changes,
    first_block,
    stop_block,
):
    """Hamerly's bounds with Exponion's search: ``neighbors[a]`` lists the other centers by
    increasing distance from center ``a``, those distances in ``neighbor_dist[a]`` (k, k - 1).

    A point whose bounds fail, at distance ``u`` from its center ``a``, can only be nearer to a
    center within ``2u`` of ``a`` (triangle inequality). The search covers the ball of radius
    ``R = 2u + s``, ``s`` the distance from ``a`` to its nearest other center, so that every
    center left out is farther than ``R - u`` from the point: a lower bound that stays useful.
    Other arguments and the return value are those of ``hamerly_assign``.
    """
    n_samples = X.shape[0]
    n_clusters = centers.shape[0]
    max1, arg1, max2 = _largest_two(shift)
    changed = 0
    dist = np.empty(n_clusters, dtype=X.dtype)
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        fresh = sums_afresh(labels, start, stop, block_changes, sums, weights, b)
        block_changed = 0
        for i in range(start, stop):
            a = labels[i]
            n_near = n_clusters  # no bounds yet: every distance
            if a >= 0:
                upper[i] += shift[a]
                lower[i] -= max2 if a == arg1 else max1
                bound = max(half_nearest[a], lower[i])
                if upper[i] < bound:
                    continue
                best = sq_dist(X, i, centers, a)
                u = np.sqrt(best)
                upper[i] = u
                if u < bound:
                    continue
                radius = 2.0 * u + 2.0 * half_nearest[a]
                n_near = np.searchsorted(neighbor_dist[a], radius, side="right")
            if n_near * BALL_SEARCH_AT_MOST > n_clusters:
                # No bounds yet, or the ball holds most centers: all distances at once are
                # cheaper (four centers at a time).
                dists_to_centers(X, i, centers, centers_t, dist)
                best_j, best, second = _nearest_two(dist)
                new_lower = np.sqrt(second)
            else:
                best_j = a
                second = np.inf
                for m in range(n_near):
                    j = neighbors[a, m]
                    d = sq_dist(X, i, centers, j)
                    second = min(second, max(best, d))  # no branch (see _yinyang_bounds)
                    if d < best or (d == best and j < best_j):
                        best = d
                        best_j = j
                new_lower = min(np.sqrt(second), radius - u)
            upper[i] = np.sqrt(best)
            lower[i] = new_lower
            if best_j != a:
                labels[i] = best_j
                block_changed += 1
                if not fresh:
                    move_point(X[i], sample_weight[i], a, best_j, sums, weights, b)
        if fresh:
            sum_block(X, sample_weight, labels, start, stop, sums, weights, b)
        block_changes[b] = block_changed
        changed += block_changed
    return changed


@numba.njit(inline="always", fastmath=FASTMATH)
def _yinyang_bounds(dist, i, members, group_start, upper, lower):
    """From every squared distance of point ``i`` (``dist``): its nearest center (the first on
    ties), which it returns, its upper bound and its bound for every group (the nearest center
    of the group but the point's own)."""
    best_j, best = argmin_first(dist)
    for g in range(group_start.shape[0] - 1):
        # min() rather than a test per center, which would often be mispredicted; the nearest
        # center itself is left out by comparing +inf instead.
        lowest = np.inf
        for m in range(group_start[g], group_start[g + 1]):
            j = members[m]
            lowest = min(lowest, np.inf if j == best_j else dist[j])
        lower[i, g] = np.sqrt(lowest)
    upper[i] = np.sqrt(best)
    return best_j


@numba.njit(fastmath=TILE_FASTMATH)
def _group_minima(tile_dist, members, first, stop):
    """For the eight lanes of ``tile_dist`` (n_clusters, TILE) at once, the smallest and second
    smallest value over the centers ``members[first:stop]`` (eight lanes as in ``tiles``)."""
    inf = np.inf
    smallest = second = (inf, inf, inf, inf, inf, inf, inf, inf)
    for m in range(first, stop):
        row = tile_dist[members[m]]
        values = (row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7])
        second = _second(values, smallest, second)
        smallest = (
            min(smallest[0], values[0]),
            min(smallest[1], values[1]),
            min(smallest[2], values[2]),
            min(smallest[3], values[3]),
            min(smallest[4], values[4]),
            min(smallest[5], values[5]),
            min(smallest[6], values[6]),
            min(smallest[7], values[7]),
        )
    return smallest, second


@numba.njit(nogil=True, fastmath=FASTMATH, cache=True)
def yinyang_assign(
    X,
    X_tiles,
    sample_weight,
    centers,
    centers_t,
    shift,
    group_of,
    members,
    group_start,
    products,
    n_blocks,
    labels,
    upper,
    lower,
    sums,
    weights,
    block_changes,
    first_block,
    stop_block,
):
    """Yinyang's assignment step: one lower bound per point and *group* of centers.

    The centers are split into groups once; ``group_of[j]`` is the group of center ``j`` and
    ``members[group_start[g]:group_start[g + 1]]`` the centers of group ``g``. ``lower[i, g]``
    bounds from below the distance from point ``i`` to every center of group ``g`` but its own.
    After the centers move, a group's bounds lose the largest move in the group. A point is
    skipped when its upper bound is below every group bound; otherwise only the groups whose
    bound is not above the upper bound are searched.

    The points go by tiles of eight. With ``X_tiles`` (None or the data in tiles, as in
    ``hamerly_assign``), a tile where at least ``YINYANG_TILE_SEARCH_FROM`` points fail the
    first test has all its distances computed at once, eight points at a time, and every bound
    of the tile made exact: directly, or from certified dot products when ``products`` is a
    ``products.Products`` (as in ``hamerly_assign``), the bounds
    widened by their possible rounding. Other arguments and the return value are those of
    ``hamerly_assign``.
    """
    n_samples = X.shape[0]
    n_clusters = centers.shape[0]
    n_groups = group_start.shape[0] - 1
    group_shift = np.zeros(n_groups, dtype=X.dtype)
    for j in range(n_clusters):
        group_shift[group_of[j]] = max(group_shift[group_of[j]], shift[j])
    dist = np.empty(n_clusters, dtype=X.dtype)
    tile_dist = np.empty((n_clusters, TILE), dtype=X.dtype)
    found = np.empty(TILE, dtype=np.int64)  # the nearest centers of a searched tile
    global_lower = np.empty(TILE, dtype=X.dtype)  # each point's smallest group bound
    first = np.empty(n_groups, dtype=X.dtype)  # smallest distance in each searched group
    second = np.empty(n_groups, dtype=X.dtype)  # the second smallest
    searched = np.zeros(n_groups, dtype=np.bool_)
    tolerance = tolerance_for(X)
    changed = 0
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        fresh = sums_afresh(labels, start, stop, block_changes, sums, weights, b)
        block_changed = 0
        for t in range(start // TILE, (stop + TILE - 1) // TILE):
            tile_start = t * TILE
            tile_stop = min(tile_start + TILE, stop)
            # Loosen the bounds by the moves of the centers; count the points they fail.
            n_failed = 0
            for i in range(tile_start, tile_stop):
                a = labels[i]
                if a < 0:  # no bounds yet
                    n_failed += 1
                    continue
                upper[i] += shift[a]
                lowest = np.inf
                for g in range(n_groups):
                    lower[i, g] -= group_shift[g]
                    lowest = min(lowest, lower[i, g])
                global_lower[i - tile_start] = lowest
                n_failed += upper[i] >= lowest  # no branch
            if n_failed == 0:
                continue
            if X_tiles is not None and n_failed >= YINYANG_TILE_SEARCH_FROM:
                xt = X_tiles[t]
                if products is None:
                    distances_to_all(xt, centers, tile_dist)
                    for i in range(tile_start, tile_stop):
                        p = i - tile_start
                        found[p] = _yinyang_bounds(
                            tile_dist[:, p], i, members, group_start, upper, lower
                        )
                else:
                    nearest, best, runner_up = values_to_all(
                        xt, products.centers_m2, products.norms, tile_dist
                    )
                    sq_norms = products.X_sq_norms[t]
                    for g in range(n_groups):
                        group_first, group_second = _group_minima(
                            tile_dist, members, group_start[g], group_start[g + 1]
                        )
                        for p in range(tile_stop - tile_start):
                            # The nearest center of the group but the point's own.
                            own = g == group_of[nearest[p]]
                            low = group_second[p] if own else group_first[p]
                            widen = slack(sq_norms, p, products.max_norm, tolerance)
                            lower[tile_start + p, g] = np.sqrt(max(low + sq_norms[p] - widen, 0.0))
                    for i in range(tile_start, tile_stop):
                        p = i - tile_start
                        widen = slack(sq_norms, p, products.max_norm, tolerance)
                        found[p] = nearest[p]
                        upper[i] = np.sqrt(max(best[p] + sq_norms[p] + widen, 0.0))
                        if not runner_up[p] - best[p] > widen:
                            # Too close to call from the products: directly.
                            dists_to_centers(X, i, centers, centers_t, dist)
                            found[p] = _yinyang_bounds(dist, i, members, group_start, upper, lower)
                for i in range(tile_start, tile_stop):
                    a = labels[i]
                    p = i - tile_start
                    if found[p] != a:
                        labels[i] = found[p]
                        block_changed += 1
                        if not fresh:
                            move_point(xt[:, p], sample_weight[i], a, found[p], sums, weights, b)
                continue
            for i in range(tile_start, tile_stop):
                a = labels[i]
                if a < 0:  # no bounds yet: every distance
                    dists_to_centers(X, i, centers, centers_t, dist)
                    labels[i] = _yinyang_bounds(dist, i, members, group_start, upper, lower)
                    block_changed += 1
                    continue
                u = upper[i]
                if u < global_lower[i - tile_start]:
                    continue
                u_sq = sq_dist(X, i, centers, a)
                u = np.sqrt(u_sq)
                upper[i] = u
                if u < global_lower[i - tile_start]:
                    continue
                # Search the groups whose bound does not rule them out; a tie is won by the
                # smaller index, as in Lloyd's argmin.
                best = u_sq
                best_j = a
                for g in range(n_groups):
                    searched[g] = lower[i, g] <= u
                    if not searched[g]:
                        continue
                    f1 = np.inf
                    f2 = np.inf
                    for m in range(group_start[g], group_start[g + 1]):
                        j = members[m]
                        d = u_sq if j == a else sq_dist(X, i, centers, j)
                        f2 = min(f2, max(f1, d))  # no branch (see _yinyang_bounds)
                        f1 = min(f1, d)
                        if d < best or (d == best and j < best_j):
                            best = d
                            best_j = j
                    first[g] = f1
                    second[g] = f2
                # New group bounds: the nearest center of a searched group that is not the new
                # center (its second nearest if the new center is in it).
                for g in range(n_groups):
                    if searched[g]:
                        own_group = g == group_of[best_j]
                        lower[i, g] = np.sqrt(second[g] if own_group else first[g])
                if best_j != a:
                    # The old center is now one of the others of its group.
                    g = group_of[a]
                    lower[i, g] = min(lower[i, g], u)
                    upper[i] = np.sqrt(best)
                    labels[i] = best_j
                    block_changed += 1
                    if not fresh:
                        move_point(X[i], sample_weight[i], a, best_j, sums, weights, b)
        if fresh:
            sum_block(X, sample_weight, labels, start, stop, sums, weights, b)
        block_changes[b] = block_changed
        changed += block_changed
    return changed
