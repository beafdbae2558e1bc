"""Nearest centers from dot products, eight points and four or eight centers at a time, with a
certificate, in the data's precision: ``predict``, Hamerly's and Yinyang's searches, and Lloyd's
brute force without AVX-512 (with it, Lloyd screens in float32 instead: ``screen.py``), with
many features and clusters.

The squared distance ``|x - c|^2`` is ``|x|^2 + (|c|^2 - 2 x.c)``, and only the part in
parentheses depends on the center: one multiply-add per feature instead of a subtraction and a
multiply-add, as in a matrix product. The data are in tiles (``tiles.py``; ``X_tiles[t, f, p]
= X[8 t + p, f]``) and the centers multiplied by -2 and interleaved in groups of ``GROUP``, so
the eight points of a tile and a group's centers make eight vectors of partial sums, enough to
keep both multiply-add units busy: four centers with 256-bit vectors (two per tile, 16
registers), eight with AVX-512 (one per tile, 32 registers; ``WIDE_VECTORS``): eight centers
with 16 registers spill. With enough features and clusters they beat the direct distances of
the tiles and of the rows; with three centers they lose (``_loop.products_pay_off``;
``benchmarks/README.md``, "Engine thresholds").

Rounding: these values differ from the direct distances by far more than the direct
distances' own rounding when ``|x|^2`` is large. So they only pick a point's center when the
gap between its smallest and second smallest value is certified: larger than twice the worst
rounding of both ways of computing (``tolerance_for``, below). Then the point's nearest center is
the same whichever way it is computed. Otherwise (on random data, no point in 100,000 in
float64; about one in 1,000 in float32) the distances are computed directly, one point at a
time, exactly as the row kernel (``common.nearest_center``) does: the labels are always those
of the direct distances.
"""

from typing import NamedTuple

import numba
import numpy as np

from kmeans_core._kernels import WIDE_VECTORS
from kmeans_core._kernels.common import (
    TILE,
    block_bounds,
    move_point,
    nearest_center,
    padded_to_tiles,
    sum_block,
    sums_afresh,
)
from kmeans_core._kernels.tiles import TILE_FASTMATH, _nearer, _second, _store

#: Centers per group of the dot-product loop: eight with 32 vector registers, else four.
GROUP = 8 if WIDE_VECTORS else 4


class CenterProducts(NamedTuple):
    """What the dot-product kernels take of the centers (``products_of``)."""

    #: ``-2 * centers`` in groups of ``GROUP``, interleaved so that feature ``f`` of a group's
    #: centers is contiguous: (ceil(k / GROUP), d, GROUP); the padding is never used.
    centers_m2: np.ndarray
    #: The squared norm of every center: (k,).
    norms: np.ndarray
    #: The largest of them (it bounds the rounding: ``slack``).
    max_norm: float
    #: The centers padded for the direct fallback (``common.padded_to_tiles``).
    centers_padded: np.ndarray


class Products(NamedTuple):
    """What the bounds kernels' searches by dot products take (``_loop.TileSearchAssigner``):
    the centers' ``CenterProducts`` but the padded copy, and the points' squared norms."""

    centers_m2: np.ndarray
    norms: np.ndarray
    max_norm: float
    #: ``|x|^2`` of every point, laid out like its tiles: (n_tiles, TILE) (``_loop.squared_norms``).
    X_sq_norms: np.ndarray


def products_of(centers):
    """The ``CenterProducts`` of ``centers`` (n_clusters, n_features)."""
    n_clusters, n_features = centers.shape
    norms = np.einsum("ij,ij->i", centers, centers)
    grouped = np.zeros((-(-n_clusters // GROUP) * GROUP, n_features), dtype=centers.dtype)
    grouped[:n_clusters] = -2.0 * centers
    grouped = np.ascontiguousarray(grouped.reshape(-1, GROUP, n_features).transpose(0, 2, 1))
    return CenterProducts(grouped, norms, norms.max(), padded_to_tiles(centers))


@numba.njit(fastmath=TILE_FASTMATH)
def _plus_products(acc, xt, f, c):
    """``acc`` plus feature ``f`` of the tile's eight points times ``c``, lane by lane."""
    return (
        acc[0] + xt[f, 0] * c,
        acc[1] + xt[f, 1] * c,
        acc[2] + xt[f, 2] * c,
        acc[3] + xt[f, 3] * c,
        acc[4] + xt[f, 4] * c,
        acc[5] + xt[f, 5] * c,
        acc[6] + xt[f, 6] * c,
        acc[7] + xt[f, 7] * c,
    )


@numba.njit(inline="always")
def _start(norms, j):
    """Eight lanes of center ``j``'s squared norm, or of the last center's past the end (those
    values are never kept)."""
    n = norms[min(j, norms.shape[0] - 1)]
    return (n, n, n, n, n, n, n, n)


@numba.njit(fastmath=TILE_FASTMATH)
def _four_centers(xt, group, norms, j0):
    """``|c|^2 - 2 x.c`` for the tile's eight points and the four centers of ``group``
    (``products_of``), centers ``j0`` to ``j0 + 3``."""
    a0, a1 = _start(norms, j0), _start(norms, j0 + 1)
    a2, a3 = _start(norms, j0 + 2), _start(norms, j0 + 3)
    for f in range(xt.shape[0]):
        a0 = _plus_products(a0, xt, f, group[f, 0])
        a1 = _plus_products(a1, xt, f, group[f, 1])
        a2 = _plus_products(a2, xt, f, group[f, 2])
        a3 = _plus_products(a3, xt, f, group[f, 3])
    return a0, a1, a2, a3


@numba.njit(fastmath=TILE_FASTMATH)
def _eight_centers(xt, group, norms, j0):
    """The same for the eight centers ``j0`` to ``j0 + 7`` of ``group``."""
    a0, a1 = _start(norms, j0), _start(norms, j0 + 1)
    a2, a3 = _start(norms, j0 + 2), _start(norms, j0 + 3)
    a4, a5 = _start(norms, j0 + 4), _start(norms, j0 + 5)
    a6, a7 = _start(norms, j0 + 6), _start(norms, j0 + 7)
    for f in range(xt.shape[0]):
        a0 = _plus_products(a0, xt, f, group[f, 0])
        a1 = _plus_products(a1, xt, f, group[f, 1])
        a2 = _plus_products(a2, xt, f, group[f, 2])
        a3 = _plus_products(a3, xt, f, group[f, 3])
        a4 = _plus_products(a4, xt, f, group[f, 4])
        a5 = _plus_products(a5, xt, f, group[f, 5])
        a6 = _plus_products(a6, xt, f, group[f, 6])
        a7 = _plus_products(a7, xt, f, group[f, 7])
    return a0, a1, a2, a3, a4, a5, a6, a7


_group_values = _eight_centers if GROUP == 8 else _four_centers


@numba.njit(fastmath=TILE_FASTMATH)
def _keep(values, j, best, best_j, second):
    """Lane by lane: the smallest value with its center, and the second smallest."""
    second = _second(values, best, second)
    best, best_j = _nearer(values, j, best, best_j)
    return best, best_j, second


@numba.njit(fastmath=TILE_FASTMATH)
def nearest_by_products(xt, centers_m2, norms):
    """For each of the tile's eight points: the center with the smallest ``|c|^2 - 2 x.c``
    (the first on ties), that value and the second smallest. (Not inlined: it keeps its own
    fast-math flags inside the bounds kernels.)"""
    n_clusters = norms.shape[0]
    inf = np.inf
    best = second = (inf, inf, inf, inf, inf, inf, inf, inf)
    best_j = (0, 0, 0, 0, 0, 0, 0, 0)
    for j in range(0, n_clusters, GROUP):
        values = _group_values(xt, centers_m2[j // GROUP], norms, j)
        for m in range(GROUP):  # unrolled by LLVM
            if j + m < n_clusters:
                best, best_j, second = _keep(values[m], j + m, best, best_j, second)
    return best_j, best, second


@numba.njit(fastmath=TILE_FASTMATH)
def values_to_all(xt, centers_m2, norms, out):
    """``out[j, p] = |c_j|^2 - 2 x_p.c_j`` for the tile's eight points and every center
    (``out`` is (n_clusters, TILE)): ``|x_p - c_j|^2`` less ``|x_p|^2``, for the bounds
    kernels that keep a bound per group of centers. Returns what ``nearest_by_products``
    does."""
    n_clusters = norms.shape[0]
    inf = np.inf
    best = second = (inf, inf, inf, inf, inf, inf, inf, inf)
    best_j = (0, 0, 0, 0, 0, 0, 0, 0)
    for j in range(0, n_clusters, GROUP):
        values = _group_values(xt, centers_m2[j // GROUP], norms, j)
        for m in range(GROUP):
            if j + m < n_clusters:
                _store(out, j + m, values[m])
                best, best_j, second = _keep(values[m], j + m, best, best_j, second)
    return best_j, best, second


@numba.njit(inline="always")
def tolerance_for(X):
    """Twice the worst rounding of both ways of comparing two centers for one point, per unit
    of ``|x|^2 + max |c|^2``.

    With ``u`` the unit roundoff and ``d`` features: each value ``|c|^2 - 2 x.c`` is within
    ``(2d + 1) u (3 |c|^2 + |x|^2)`` of the exact one (Higham's bound for a sum of ``2d``
    rounded terms, and ``2 |x||c| <= |x|^2 + |c|^2``), and each direct distance within
    ``(d + 3) u (2 |x|^2 + 2 |c|^2)``. A gap wider than twice the sum of both cannot be
    reversed; ``10 (2d + 3) eps`` (``eps = 2u``) is that with room to spare.
    """
    return 10.0 * (2 * X.shape[1] + 3) * np.finfo(X.dtype).eps


@numba.njit(inline="always")
def slack(sq_norms, p, max_norm, tolerance):
    """How far lane ``p``'s values may be from exact, with room to spare (``tolerance_for``):
    ``value + |x|^2 +- slack`` bound its squared distances."""
    return tolerance * (sq_norms[p] + max_norm)


@numba.njit(inline="always")
def _certified(best, second, sq_norms, p, max_norm, tolerance):
    """Whether lane ``p``'s smallest value is certainly its nearest center's."""
    return second[p] - best[p] > slack(sq_norms, p, max_norm, tolerance)


@numba.njit(fastmath=TILE_FASTMATH)
def _settled(best_j, best, second, labels, sq_norms, max_norm, tolerance):
    """Whether the tile's eight points are all certified and keep their labels (lane by lane
    with constant indices, without branches: ``screen._unsettled`` has the figures)."""
    gap = (
        second[0] - best[0],
        second[1] - best[1],
        second[2] - best[2],
        second[3] - best[3],
        second[4] - best[4],
        second[5] - best[5],
        second[6] - best[6],
        second[7] - best[7],
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
    )
    return (
        True
        & (gap[0] > slack[0])
        & (best_j[0] == labels[0])
        & (gap[1] > slack[1])
        & (best_j[1] == labels[1])
        & (gap[2] > slack[2])
        & (best_j[2] == labels[2])
        & (gap[3] > slack[3])
        & (best_j[3] == labels[3])
        & (gap[4] > slack[4])
        & (best_j[4] == labels[4])
        & (gap[5] > slack[5])
        & (best_j[5] == labels[5])
        & (gap[6] > slack[6])
        & (best_j[6] == labels[6])
        & (gap[7] > slack[7])
        & (best_j[7] == labels[7])
    )


@numba.njit(nogil=True, fastmath=TILE_FASTMATH, cache=True)
def lloyd_assign_and_sum(
    X,
    X_tiles,
    X_sq_norms,
    sample_weight,
    centers_m2,
    norms,
    max_norm,
    centers_pad,
    n_blocks,
    labels,
    sums,
    weights,
    block_changes,
    first_block,
    stop_block,
):
    """One Lloyd pass over the data in tiles, from dot products (``products_of(centers)`` gives
    ``centers_m2``, ``norms``, ``max_norm`` and ``centers_pad``; ``_loop.squared_norms(X)`` gives
    ``X_sq_norms``). Keeps the cluster sums as
    ``tiles.lloyd_assign_and_sum`` does; returns the number of labels that changed."""
    n_samples = X.shape[0]
    dist = np.empty(centers_pad.shape[0], dtype=X.dtype)
    tolerance = tolerance_for(X)
    changed = 0
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        fresh = sums_afresh(labels, start, stop, block_changes, sums, weights, b)
        block_changed = 0
        for t in range(start // TILE, (stop + TILE - 1) // TILE):
            xt = X_tiles[t]
            best_j, best, second = nearest_by_products(xt, centers_m2, norms)
            sq_norms = X_sq_norms[t]
            first = t * TILE
            n_lanes = min(TILE, stop - first)
            if n_lanes == TILE and _settled(
                best_j, best, second, labels[first : first + TILE], sq_norms, max_norm, tolerance
            ):
                continue  # the usual case once few points move: one test for the tile
            for p in range(n_lanes):
                i = first + p
                new = best_j[p]
                if not _certified(best, second, sq_norms, p, max_norm, tolerance):
                    new = nearest_center(X, i, centers_pad, None, dist)[0]
                a = labels[i]
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
def assign_labels(
    X,
    X_tiles,
    X_sq_norms,
    centers_m2,
    norms,
    max_norm,
    centers_pad,
    n_blocks,
    labels,
    first_block,
    stop_block,
):
    """Nearest center of every point, with no center update; the same labels as
    ``lloyd_assign_and_sum``."""
    n_samples = X.shape[0]
    dist = np.empty(centers_pad.shape[0], dtype=X.dtype)
    tolerance = tolerance_for(X)
    for b in range(first_block, stop_block):
        start, stop = block_bounds(b, n_blocks, n_samples)
        for t in range(start // TILE, (stop + TILE - 1) // TILE):
            best_j, best, second = nearest_by_products(X_tiles[t], centers_m2, norms)
            sq_norms = X_sq_norms[t]
            for p in range(min(TILE, stop - t * TILE)):
                i = t * TILE + p
                if _certified(best, second, sq_norms, p, max_norm, tolerance):
                    labels[i] = best_j[p]
                else:
                    labels[i] = nearest_center(X, i, centers_pad, None, dist)[0]
