"""Counting twins of the bounds kernels, for ``kmeans_core.trace`` only.

Each twin takes a copy of the state a bounds kernel (``bounds.py``) starts a pass from -- the
labels, the bounds, the centers' moves -- and walks the same tests in the same order, counting
instead of assigning: the distances the kernel evaluates and, for each test, the point-center
distances it proved useless. It never writes what the fit reads, so the real kernels stay as
fast as they are and the trace's result is theirs; the twins only add the pass's counts.

``counts`` (int64) gets, at ``COMPUTED``, every distance evaluated (a point's own distance
computed to tighten its bound and again in its search counts twice), at ``REPEATED`` those
second evaluations, and from ``FIRST_SKIP`` on the distances skipped per test (the kernel's
``*_SKIPS`` names them, in order). Every pass accounts for each of its n * k point-center
pairs once: ``COMPUTED - REPEATED + sum(skips) == n * k``.

Where the real kernel searches eight points at once (a tile where enough fail, as
``bounds.TILE_SEARCH_FROM`` says), all eight lanes count ``k`` distances, as the kernel
computes them; the unused lanes of a block's last gathered tile are not counted. Dot-product
searches that fall back to direct distances (``products.py``) are not counted either.
"""

import numba
import numpy as np

from kmeans_core._kernels.bounds import TILE_SEARCH_FROM, YINYANG_TILE_SEARCH_FROM, _largest_two
from kmeans_core._kernels.common import FASTMATH, TILE, block_bounds, sq_dist

COMPUTED = 0
REPEATED = 1
FIRST_SKIP = 2

HAMERLY_SKIPS = ("lower bound", "nearest other center")
ELKAN_SKIPS = ("nearest other center", "lower bound per center", "center-center distance")
EXPONION_SKIPS = ("lower bound", "nearest other center", "outside the ball")
YINYANG_SKIPS = ("global filter", "group filter")


@numba.njit(cache=True, fastmath=FASTMATH)
def hamerly_counts(
    X, centers, shift, half_nearest, by_tiles, n_blocks, labels, upper, lower, counts
):
    """Counts of one pass of ``bounds.hamerly_assign``; ``by_tiles``: whether it searches by
    tiles (data in tiles and more than one center). ``upper`` and ``lower`` are changed."""
    n_samples = X.shape[0]
    n_clusters = centers.shape[0]
    max1, arg1, max2 = _largest_two(shift)
    for b in range(n_blocks):
        start, stop = block_bounds(b, n_blocks, n_samples)
        n_gathered = 0
        last_tile = (stop - 1) // TILE
        for t in range(start // TILE, last_tile + 1):
            tile_start = t * TILE
            tile_stop = min(tile_start + TILE, stop)
            n_failed = 0
            for i in range(tile_start, tile_stop):
                a = labels[i]
                if a < 0:
                    n_failed += 1
                    continue
                upper[i] += shift[a]
                lower[i] -= max2 if a == arg1 else max1
                n_failed += upper[i] >= max(half_nearest[a], lower[i])
            whole = by_tiles and n_failed >= TILE_SEARCH_FROM
            whole = whole and not (t == last_tile and n_gathered > 0)
            if whole:
                counts[COMPUTED] += n_clusters * (tile_stop - tile_start)
                continue
            for i in range(tile_start, tile_stop):
                a = labels[i]
                if a >= 0:
                    bound = max(half_nearest[a], lower[i])
                    test = FIRST_SKIP if lower[i] > half_nearest[a] else FIRST_SKIP + 1
                    if upper[i] < bound:
                        counts[test] += n_clusters
                        continue
                    counts[COMPUTED] += 1
                    if np.sqrt(sq_dist(X, i, centers, a)) < bound:
                        counts[test] += n_clusters - 1
                        continue
                    counts[REPEATED] += 1
                counts[COMPUTED] += n_clusters
                n_gathered += by_tiles
            n_gathered = 0 if t == last_tile else n_gathered % TILE


@numba.njit(cache=True, fastmath=FASTMATH)
def elkan_counts(X, centers, shift, half_dist, half_nearest, labels, upper, lower, counts):
    """Counts of one pass of ``bounds.elkan_assign``. A point's own distance left uncomputed
    counts with the test that ruled out its last other center. ``lower`` is changed."""
    n_samples = X.shape[0]
    n_clusters = centers.shape[0]
    for i in range(n_samples):
        a = labels[i]
        if a < 0:
            counts[COMPUTED] += n_clusters
            continue
        for j in range(n_clusters):
            lower[i, j] = max(lower[i, j] - shift[j], 0.0)
        u = upper[i] + shift[a]
        if u < half_nearest[a]:
            counts[FIRST_SKIP] += n_clusters
            continue
        own_known = False
        last_test = FIRST_SKIP + 1
        for j in range(n_clusters):
            if j == a:
                continue
            if u < lower[i, j] or u < half_dist[a, j]:
                last_test = FIRST_SKIP + 1 if u < lower[i, j] else FIRST_SKIP + 2
                counts[last_test] += 1
                continue
            if not own_known:
                own_known = True
                u = np.sqrt(sq_dist(X, i, centers, a))
                counts[COMPUTED] += 1
                if u < lower[i, j] or u < half_dist[a, j]:
                    last_test = FIRST_SKIP + 1 if u < lower[i, j] else FIRST_SKIP + 2
                    counts[last_test] += 1
                    continue
            d = np.sqrt(sq_dist(X, i, centers, j))
            counts[COMPUTED] += 1
            lower[i, j] = d
        if not own_known:
            counts[last_test] += 1


@numba.njit(cache=True, fastmath=FASTMATH)
def exponion_counts(
    X, centers, shift, half_nearest, neighbor_dist, ball_at_most, labels, upper, lower, counts
):
    """Counts of one pass of ``bounds.exponion_assign`` (``ball_at_most`` is its
    ``BALL_SEARCH_AT_MOST``). ``upper`` and ``lower`` are changed."""
    n_samples = X.shape[0]
    n_clusters = centers.shape[0]
    max1, arg1, max2 = _largest_two(shift)
    for i in range(n_samples):
        a = labels[i]
        if a < 0:
            counts[COMPUTED] += n_clusters
            continue
        upper[i] += shift[a]
        lower[i] -= max2 if a == arg1 else max1
        bound = max(half_nearest[a], lower[i])
        test = FIRST_SKIP if lower[i] > half_nearest[a] else FIRST_SKIP + 1
        if upper[i] < bound:
            counts[test] += n_clusters
            continue
        u = np.sqrt(sq_dist(X, i, centers, a))
        counts[COMPUTED] += 1
        if u < bound:
            counts[test] += n_clusters - 1
            continue
        radius = 2.0 * u + 2.0 * half_nearest[a]
        n_near = np.searchsorted(neighbor_dist[a], radius, side="right")
        if n_near * ball_at_most > n_clusters:
            counts[COMPUTED] += n_clusters
            counts[REPEATED] += 1
        else:
            counts[COMPUTED] += n_near
            counts[FIRST_SKIP + 2] += n_clusters - 1 - n_near


@numba.njit(cache=True, fastmath=FASTMATH)
def yinyang_counts(
    X,
    centers,
    shift,
    group_of,
    members,
    group_start,
    by_tiles,
    n_blocks,
    labels,
    upper,
    lower,
    counts,
):
    """Counts of one pass of ``bounds.yinyang_assign``; ``by_tiles``: whether it has the data
    in tiles. ``upper`` and ``lower`` are changed."""
    n_samples = X.shape[0]
    n_clusters = centers.shape[0]
    n_groups = group_start.shape[0] - 1
    group_shift = np.zeros(n_groups, dtype=X.dtype)
    for j in range(n_clusters):
        group_shift[group_of[j]] = max(group_shift[group_of[j]], shift[j])
    global_lower = np.empty(TILE, dtype=X.dtype)
    for b in range(n_blocks):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for t in range(start // TILE, (stop + TILE - 1) // TILE):
            tile_start = t * TILE
            tile_stop = min(tile_start + TILE, stop)
            n_failed = 0
            for i in range(tile_start, tile_stop):
                a = labels[i]
                if a < 0:
                    n_failed += 1
                    continue
                upper[i] += shift[a]
                lowest = np.inf
                for g in range(n_groups):
                    lower[i, g] -= group_shift[g]
                    lowest = min(lowest, lower[i, g])
                global_lower[i - tile_start] = lowest
                n_failed += upper[i] >= lowest
            if n_failed == 0:
                counts[FIRST_SKIP] += n_clusters * (tile_stop - tile_start)
                continue
            if by_tiles and n_failed >= YINYANG_TILE_SEARCH_FROM:
                counts[COMPUTED] += n_clusters * (tile_stop - tile_start)
                continue
            for i in range(tile_start, tile_stop):
                a = labels[i]
                if a < 0:
                    counts[COMPUTED] += n_clusters
                    continue
                if upper[i] < global_lower[i - tile_start]:
                    counts[FIRST_SKIP] += n_clusters
                    continue
                u = np.sqrt(sq_dist(X, i, centers, a))
                counts[COMPUTED] += 1
                if u < global_lower[i - tile_start]:
                    counts[FIRST_SKIP] += n_clusters - 1
                    continue
                for g in range(n_groups):
                    size = group_start[g + 1] - group_start[g]
                    others = size - 1 if group_of[a] == g else size
                    if lower[i, g] <= u:
                        counts[COMPUTED] += others
                    else:
                        counts[FIRST_SKIP + 1] += others
