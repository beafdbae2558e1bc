"""K-Prototypes kernels: the mixed cost, the assignment pass and kmodes' point-by-point moves.

Arrays: ``Xnum`` float64 (n, p) and ``Xcat`` int32 (n, m) category codes (-1 for a category
not seen in fit: it matches no mode); centers ``cnum`` float64 (k, p) and ``ccat`` int32 (k, m);
``counts`` float64 (k,), ``sums`` float64 (k, p) and ``freq`` int64 (k, m, n_levels) per
cluster. No fast-math: the sums run in the order kmodes runs them, so the costs and the ties are
bit-identical to kmodes'.
"""

import numba
import numpy as np


@numba.njit
def _nearest(Xnum, Xcat, i, centers_t, modes_t, gamma, num, mismatches):
    """(cluster, cost) of the prototype nearest to row ``i``; the first one on ties.

    The prototypes come transposed, ``centers_t`` (p, k) and ``modes_t`` (m, k), so that the
    loops run over the clusters in vector lanes; each cluster's sum still runs over the
    features in order. ``num`` (k,) float64 and ``mismatches`` (k,) int64 are scratch space.
    """
    k = centers_t.shape[1]
    for c in range(k):
        num[c] = 0.0
        mismatches[c] = 0
    for f in range(Xnum.shape[1]):
        x = Xnum[i, f]
        for c in range(k):
            diff = centers_t[f, c] - x
            num[c] += diff * diff
    for a in range(Xcat.shape[1]):
        code = Xcat[i, a]
        for c in range(k):
            if modes_t[a, c] != code:
                mismatches[c] += 1
    best = 0
    best_cost = np.inf
    for c in range(k):
        cost = num[c] + gamma * np.float64(mismatches[c])
        if cost < best_cost:
            best_cost = cost
            best = c
    return best, best_cost


@numba.njit(nogil=True, cache=True)
def assign(Xnum, Xcat, cnum, ccat, gamma, labels):
    """Write the nearest prototype of each row into ``labels`` (n,); return the total cost,
    added row by row."""
    centers_t, modes_t = cnum.T.copy(), ccat.T.copy()
    num, mismatches = np.empty(cnum.shape[0]), np.empty(cnum.shape[0], dtype=np.int64)
    total = 0.0
    for i in range(Xnum.shape[0]):
        c, cost = _nearest(Xnum, Xcat, i, centers_t, modes_t, gamma, num, mismatches)
        labels[i] = c
        total += cost
    return total


@numba.njit(nogil=True, cache=True)
def assign_and_count(Xnum, Xcat, cnum, ccat, gamma, labels, counts, sums, freq):
    """The first assignment to the initial prototypes: labels, and per cluster the number of
    rows, the sums of the numeric features and the frequency of each category."""
    counts[:] = 0.0
    sums[:] = 0.0
    freq[:] = 0
    centers_t, modes_t = cnum.T.copy(), ccat.T.copy()
    num, mismatches = np.empty(cnum.shape[0]), np.empty(cnum.shape[0], dtype=np.int64)
    for i in range(Xnum.shape[0]):
        c, _ = _nearest(Xnum, Xcat, i, centers_t, modes_t, gamma, num, mismatches)
        labels[i] = c
        counts[c] += 1.0
        for f in range(Xnum.shape[1]):
            sums[c, f] += Xnum[i, f]
        for a in range(Xcat.shape[1]):
            freq[c, a, Xcat[i, a]] += 1


@numba.njit
def _move_categories(Xcat, i, to, frm, freq, ccat):
    """kmodes' ``_move_point_cat``: the new cluster's mode becomes the row's category once that
    is strictly more frequent; the old cluster's mode is recomputed (smallest code among the
    most frequent) when the row held it."""
    for a in range(Xcat.shape[1]):
        code = Xcat[i, a]
        freq[to, a, code] += 1
        if freq[to, a, ccat[to, a]] < freq[to, a, code]:
            ccat[to, a] = code
        freq[frm, a, code] -= 1
        if ccat[frm, a] == code:
            best = 0
            for level in range(1, freq.shape[2]):
                if freq[frm, a, level] > freq[frm, a, best]:
                    best = level
            ccat[frm, a] = best


@numba.njit
def _move_numbers(Xnum, i, to, frm, counts, sums):
    for f in range(Xnum.shape[1]):
        sums[to, f] += Xnum[i, f]
        sums[frm, f] -= Xnum[i, f]
    counts[to] += 1.0
    counts[frm] -= 1.0


@numba.njit(nogil=True, cache=True)
def move_pass(Xnum, Xcat, cnum, ccat, gamma, labels, counts, sums, freq, start, result):
    """One pass of kmodes' k-prototypes iteration from row ``start`` on: each row goes to its
    nearest prototype and the two prototypes it leaves and joins are updated at once.

    Stops early when a move empties a cluster (the caller refills it with a random row of the
    largest cluster, drawn from its own generator): ``result`` (3,) receives the row to resume
    from (n when the pass is complete), the number of moves and the emptied cluster (-1).
    """
    centers_t, modes_t = cnum.T.copy(), ccat.T.copy()
    num, mismatches = np.empty(cnum.shape[0]), np.empty(cnum.shape[0], dtype=np.int64)
    n_moves = 0
    for i in range(start, Xnum.shape[0]):
        to, _ = _nearest(Xnum, Xcat, i, centers_t, modes_t, gamma, num, mismatches)
        frm = labels[i]
        if to == frm:
            continue
        n_moves += 1
        labels[i] = to
        _move_numbers(Xnum, i, to, frm, counts, sums)
        _move_categories(Xcat, i, to, frm, freq, ccat)
        for a in range(Xcat.shape[1]):
            modes_t[a, to] = ccat[to, a]
            modes_t[a, frm] = ccat[frm, a]
        for f in range(Xnum.shape[1]):
            for c in (to, frm):
                if counts[c] != 0.0:
                    cnum[c, f] = sums[c, f] / counts[c]
                else:
                    cnum[c, f] = 0.0
                centers_t[f, c] = cnum[c, f]
        if counts[frm] == 0.0:
            result[0] = i + 1
            result[1] = n_moves
            result[2] = frm
            return
    result[0] = Xnum.shape[0]
    result[1] = n_moves
    result[2] = -1


@numba.njit(nogil=True, cache=True)
def move_row(Xnum, Xcat, i, to, labels, counts, sums, freq, ccat):
    """Move row ``i`` into cluster ``to`` (kmodes' refill of an emptied cluster): counts, sums,
    frequencies and modes follow; the numeric prototypes are left as they are, as in kmodes."""
    frm = labels[i]
    labels[i] = to
    _move_numbers(Xnum, i, to, frm, counts, sums)
    _move_categories(Xcat, i, to, frm, freq, ccat)


@numba.njit(nogil=True, cache=True)
def distinct_rows(Xnum, Xcat, limit, first_rows):
    """Indices of the first rows that differ from all earlier ones, written to ``first_rows``
    (limit,); return how many were found, stopping at ``limit``."""
    n_found = 0
    for i in range(Xnum.shape[0]):
        new = True
        for r in range(n_found):
            j = first_rows[r]
            same = True
            for f in range(Xnum.shape[1]):
                if Xnum[i, f] != Xnum[j, f]:
                    same = False
                    break
            if same:
                for a in range(Xcat.shape[1]):
                    if Xcat[i, a] != Xcat[j, a]:
                        same = False
                        break
            if same:
                new = False
                break
        if new:
            first_rows[n_found] = i
            n_found += 1
            if n_found == limit:
                return n_found
    return n_found
