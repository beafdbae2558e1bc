"""Small problems in vectorised NumPy: what the numba kernels compute, without compiling them.

A first run in a fresh clone would otherwise wait for numba to compile every kernel it touches
(about 20 s on 2 cores for a k sweep, its metrics and a PCA), and every later run for numba to
load them, for a few hundred rows that NumPy handles in milliseconds. Up to
``SMALL_MAX_SAMPLES`` rows and ``SMALL_MAX_WORK`` point-center-feature triples,
``KMeans(algorithm="auto")``, ``kmeans_plusplus``, the metrics and ``PCA`` take the functions
here (``is_small``); the named algorithms always run the kernels.

They follow the kernels step by step: one row block (``SMALL_MAX_SAMPLES`` rows are less than
two of the kernels' blocks), the cluster sums kept by moving the points that changed cluster and
summed afresh by the same rule (``common.sums_afresh``), the additions in the kernels' order
where the kernels fix one, the first center on exact ties, the same empty-cluster relocation
(``_loop.relocate_empty_clusters``) and the same random draws. So the labels, the iteration
counts and the k-means++ centers are the kernels'; the values agree to rounding, since the
kernels fuse multiply-adds and may reorder sums where NumPy does neither (tested to 1e-12:
``tests/test_small.py``).

On a few hundred rows a NumPy call costs more than its arithmetic, so a fit's restarts run side
by side (``lloyd_restarts``, ``init.small_kmeans_plusplus_runs``): arrays with a leading run
axis, one call per step for every run still iterating, each run's additions in the same order
as alone; so every run ends bit for bit as it would alone.
"""

from __future__ import annotations

import numpy as np

from kmeans_core._convergence import converged_after
from kmeans_core._validation import check_finite

#: Most rows handled in NumPy: fewer than two of the kernels' row blocks
#: (``_kernels.common.MIN_BLOCK_ROWS``), so the kernels add in row order as NumPy does here.
SMALL_MAX_SAMPLES = 1000
#: ... and most point-center-feature triples (n_samples x n_clusters x n_features) per pass:
#: beyond, a warm kernel is faster than the NumPy passes even counting its load from the cache
#: (``benchmarks/README.md``, "cold start").
SMALL_MAX_WORK = 200_000
#: The kernels sum a block afresh after a pass in which more than one point in this many changed
#: cluster (``_kernels.common.RESUM_EVERY``).
RESUM_EVERY = 8


#: Most point-point-feature triples for the exact silhouette in NumPy (the whole distance
#: matrix at once).
SMALL_MAX_PAIRWISE_WORK = 20_000_000

#: Most elements of the temporary arrays of runs side by side (``lloyd_restarts``,
#: ``candidate_pots_of_runs``: 16 MB in float64); more runs go in several batches.
SMALL_MAX_BATCH_WORK = 2_000_000


#: Elements of a temporary array above which the runs side by side compute one center at a
#: time (1 MB in float64: beyond, each pass over the arrays leaves the cache).
SMALL_CACHE_ELEMENTS = 131_072


def runs_per_batch(n_samples, n_features, n_clusters):
    """How many runs go side by side through ``lloyd_restarts`` (and their k-means++
    through ``candidate_pots_of_runs``, at most ``n_clusters + 2`` candidates a step)."""
    return max(1, SMALL_MAX_BATCH_WORK // (n_samples * n_features * (n_clusters + 2)))


def is_small_pairwise(n_samples, n_features):
    """Whether the silhouette of ``n_samples`` points runs here in NumPy."""
    return (
        n_samples <= SMALL_MAX_SAMPLES
        and n_samples * n_samples * n_features <= SMALL_MAX_PAIRWISE_WORK
    )


def is_small(n_samples, n_features=1, n_clusters=1):
    """Whether a problem of this shape runs here in NumPy rather than in the numba kernels."""
    return n_samples <= SMALL_MAX_SAMPLES and n_samples * n_features * n_clusters <= SMALL_MAX_WORK


# ----------------------------------------------------------------------------- distances


def squared_distances(XT, centers):
    """Squared distances from every center to every point, summed feature by feature in
    order (as the kernels do), in the data's precision.

    Parameters
    ----------
    XT : ndarray of shape (n_features, n_samples)
        The data transposed.
    centers : ndarray of shape (n_clusters, n_features)

    Returns
    -------
    ndarray of shape (n_clusters, n_samples)
    """
    diff = XT[:, None, :] - centers.T[:, :, None]
    diff *= diff
    return diff.sum(axis=0)  # along the first axis NumPy adds in order (pairwise along the last)


def nearest_centers(X, centers):
    """Index of the nearest center of every row of ``X`` (the first one on exact ties):
    ndarray of shape (n_samples,), int32."""
    return _nearest(np.ascontiguousarray(X.T), centers)


def _nearest(XT, centers):
    return squared_distances(XT, centers).argmin(axis=0).astype(np.int32)


def _sum_in_order(values):
    """Sum of ``values`` first to last, in float64 (as the kernels add; NumPy's sum of a
    contiguous array adds pairwise)."""
    total = 0.0
    for value in values.tolist():
        total += value
    return total


# ----------------------------------------------------------------------------- the fit


def center_data(X):
    """``_loop.center_data`` for one row block: the centered copy, the column means, the mean
    of the column variances. Raises ``ValueError`` if ``X`` holds NaN or infinity."""
    n_samples = X.shape[0]
    column_sums = X.sum(axis=0, dtype=np.float64)  # row after row, as the kernel adds them
    mean = (column_sums / n_samples).astype(X.dtype)
    if not np.isfinite(mean).all():
        check_finite(X)
    X_centered = X - mean
    squares = (X_centered * X_centered).sum(axis=0, dtype=np.float64)
    mean_variance = float(squares.mean() / n_samples)
    return X_centered, mean, mean_variance


def candidate_pots(X, sample_weight, candidates, closest_dist_sq, out):
    """``_kernels.init.candidate_distances`` for every row at once: ``out[c] =
    min(closest_dist_sq, |X - X[candidates[c]]|^2)``; returns the weighted potential of each
    candidate, summed in row order in float64."""
    np.minimum(
        squared_distances(np.ascontiguousarray(X.T), X[candidates]), closest_dist_sq, out=out
    )
    # Row after row in float64: the transpose's first axis.
    return (out * sample_weight).T.sum(axis=0, dtype=np.float64)


def candidate_pots_of_runs(XT, sample_weight, candidates, closest_dist_sq, n_valid=None):
    """``candidate_pots`` for several k-means++ runs at once.

    Parameters
    ----------
    XT : ndarray of shape (n_features, n_samples) or (n_features, n_runs, n_samples)
        The data transposed: the same for every run, or each run's own (``lloyd_restarts``).
    sample_weight : ndarray of shape (n_samples,) or (n_runs, n_samples)
        Zero on each run's padding rows.
    candidates : ndarray of shape (n_runs, n_candidates, n_features)
        Each run's candidate rows.
    closest_dist_sq : ndarray of shape (n_runs, n_samples) or (n_samples,)
        Each run's squared distance of every point to its closest center so far.
    n_valid : ndarray of shape (n_runs,) or None
        With each run's own data: its rows before the padding (None: no padding).

    Returns
    -------
    distances : ndarray of shape (n_runs, n_candidates, n_samples)
        ``min(closest_dist_sq, |X - candidate|^2)``.
    pots : ndarray of shape (n_runs, n_candidates), float64
        The weighted potential of each candidate, summed as ``candidate_pots`` sums it.
    """
    n_samples = XT.shape[-1]
    n_runs, n_candidates = candidates.shape[:2]
    distances = _squared_distances_of_runs(XT, candidates)
    closest = closest_dist_sq if closest_dist_sq.ndim == 1 else closest_dist_sq[:, None, :]
    np.minimum(distances, closest, out=distances)
    weight = sample_weight if sample_weight.ndim == 1 else sample_weight[:, None, :]
    weighted = distances * weight
    if n_valid is None:
        pots = _sum_rows(weighted.reshape(n_runs * n_candidates, n_samples))
        return distances, pots.reshape(n_runs, n_candidates)
    # NumPy sums a row pairwise, so the padding would regroup its additions: each run's rows
    # without it, the runs of one size in one call.
    pots = np.empty((n_runs, n_candidates))
    for size in np.unique(n_valid).tolist():
        runs = np.flatnonzero(n_valid == size)
        pots[runs] = _sum_rows(weighted[runs, :, :size].reshape(-1, size)).reshape(-1, n_candidates)
    return distances, pots


def _sum_rows(values):
    """The sum of every row of ``values`` (n_rows, n_samples), in float64, as
    ``candidate_pots`` adds one."""
    return values.T.sum(axis=0, dtype=np.float64)


def kmeans_plusplus_of_runs(X, sample_weight, first, draws, n_valid=None):
    """Greedy k-means++ for several runs side by side, from their random numbers drawn
    already (``init.kmeans_plusplus_draws``): each run picks the centers that
    ``init.greedy_kmeans_plusplus(..., small=True)`` picks with those numbers.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or (n_runs, n_samples, n_features)
        The data of every run, or each run's own (``lloyd_restarts``).
    sample_weight : ndarray of shape (n_samples,) or (n_runs, n_samples)
        Zero on each run's padding rows.
    first : ndarray of shape (n_runs,), int
        Each run's first center (a row).
    draws : ndarray of shape (n_runs, n_clusters - 1, n_local_trials)
        Each run's uniform numbers in [0, 1) for the later centers.
    n_valid : ndarray of shape (n_runs,) or None
        With each run's own data: its rows before the padding (None: no padding).

    Returns
    -------
    centers : ndarray of shape (n_runs, n_clusters, n_features)
    """
    own = X.ndim == 3
    n_runs = first.shape[0]
    n_clusters = draws.shape[1] + 1
    n_samples, n_features = X.shape[-2:]
    runs = np.arange(n_runs)
    if own:
        XT = np.ascontiguousarray(X.transpose(2, 0, 1))
        last_row = (np.asarray(n_valid) - 1)[:, None] if n_valid is not None else n_samples - 1
    else:
        XT = np.ascontiguousarray(X.T)
        last_row = n_samples - 1

    def rows(ids):  # each run's rows ``ids`` (n_runs, ...) of its data
        return X[runs.reshape((-1,) + (1,) * (ids.ndim - 1)), ids] if own else X[ids]

    centers = np.empty((n_runs, n_clusters, n_features), dtype=X.dtype)
    centers[:, 0] = rows(first)
    far = np.full(n_samples, np.finfo(X.dtype).max, dtype=X.dtype)
    closest_dist_sq, current_pot = candidate_pots_of_runs(
        XT, sample_weight, centers[:, :1], far, n_valid
    )
    closest_dist_sq, current_pot = closest_dist_sq[:, 0], current_pot[:, 0]
    for c in range(1, n_clusters):
        rand_vals = draws[:, c - 1] * current_pot[:, None]
        cumulative = np.cumsum(sample_weight * closest_dist_sq, axis=1)
        # ``searchsorted`` of every run at once: the cumulative sums never decrease, so the
        # first one not below a draw is the number below it.
        candidate_ids = (cumulative[:, None, :] < rand_vals[:, :, None]).sum(axis=2)
        # Rounding can put a draw just past the last cumulative sum.
        np.minimum(candidate_ids, last_row, out=candidate_ids)
        candidates = rows(candidate_ids)
        distances, candidates_pot = candidate_pots_of_runs(
            XT, sample_weight, candidates, closest_dist_sq, n_valid
        )
        best = np.argmin(candidates_pot, axis=1)
        current_pot = candidates_pot[runs, best]
        closest_dist_sq = distances[runs, best]
        centers[:, c] = candidates[runs, best]
    return centers


def lloyd(X, sample_weight, centers_init, *, max_iter, tol):
    """One K-Means run from ``centers_init`` on centered data: ``_loop.run_kmeans`` with
    Lloyd's kernels, in NumPy.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous, float32 or float64
    sample_weight : ndarray of shape (n_samples,), of X's dtype
    centers_init : ndarray of shape (n_clusters, n_features)
    max_iter : int
    tol : float
        Already scaled by the data's mean variance.

    Returns
    -------
    labels : ndarray of shape (n_samples,), int32
    inertia : float
    centers : ndarray of shape (n_clusters, n_features)
    n_iter : int
    converged : bool
    """
    n_samples = X.shape[0]
    n_clusters = centers_init.shape[0]
    dtype = X.dtype
    XT = np.ascontiguousarray(X.T)
    weighted = X * sample_weight[:, None]
    weighted_t = np.ascontiguousarray(weighted.T)
    centers = np.array(centers_init, dtype=dtype, order="C", copy=True)
    labels = np.full(n_samples, -1, dtype=np.int32)
    sums = np.zeros(centers.shape, dtype=dtype)
    weights = np.zeros(n_clusters, dtype=dtype)
    n_changed = 0

    converged = strict = False
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is returned)
        fresh = labels[0] < 0 or n_changed * RESUM_EVERY > n_samples
        nearest = _nearest(XT, centers)
        moved = np.flatnonzero(nearest != labels)
        n_changed = moved.shape[0]
        if fresh:
            _sum_by_cluster(nearest, weighted_t, sample_weight, sums, weights)
        elif n_changed:
            # As ``common.move_point``: out of the old cluster, into the new one, point after
            # point in row order.
            clusters = np.empty(2 * n_changed, dtype=np.intp)
            clusters[0::2] = labels[moved]
            clusters[1::2] = nearest[moved]
            values = np.empty((2 * n_changed, X.shape[1]), dtype=dtype)
            np.negative(weighted[moved], out=values[0::2])
            values[1::2] = weighted[moved]
            np.add.at(sums, clusters, values)
            point_weights = np.empty(2 * n_changed, dtype=dtype)
            np.negative(sample_weight[moved], out=point_weights[0::2])
            point_weights[1::2] = sample_weight[moved]
            np.add.at(weights, clusters, point_weights)
        labels = nearest

        centers_new = sums.copy()
        weight_in_clusters = weights.copy()
        if not weight_in_clusters.all():
            # NumPy, in a module that imports numba: loaded only when a cluster empties.
            from kmeans_core._loop import relocate_empty_clusters

            relocate_empty_clusters(
                X, sample_weight, centers, centers_new, weight_in_clusters, labels
            )
        squared_shift = _average_and_shift(centers_new, weight_in_clusters, centers)
        centers = centers_new
        converged, strict = converged_after(n_changed, squared_shift, tol)
        if converged:
            break

    if not strict:
        # The centers moved once more after the last assignment: make the labels match them.
        labels = _nearest(XT, centers)

    return labels, inertia(X, sample_weight, centers, labels), centers, n_iter, converged


def lloyd_restarts(X, sample_weight, centers_init, *, max_iter, tol, n_valid=None, n_clusters=None):
    """``lloyd`` from each of several initial centers, side by side: one NumPy call serves
    every run still iterating, so a fit's ``n_init`` restarts share the call overhead that
    dominates on small arrays. Each run does exactly what ``lloyd`` does from its centers
    (the same additions in the same order, its own convergence, its own empty-cluster
    relocation), so each result is bit for bit ``lloyd``'s.

    The runs may also cluster different data sets of the same width into different numbers
    of clusters (the restarts of many fits at once, ``estimator.fit_many``): ``X`` then has a
    leading run axis, data sets with fewer rows are padded (the padding rows counted in no
    cluster), and runs with fewer clusters have absent ones at the end (never nearest, never
    moved, adding nothing to the shift).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or (n_runs, n_samples, n_features)
        As for ``lloyd``: the data of every run, or each run's own.
    sample_weight : ndarray of shape (n_samples,) or (n_runs, n_samples)
    centers_init : ndarray of shape (n_runs, n_clusters, n_features)
    max_iter : int
    tol : float or ndarray of shape (n_runs,)
        As for ``lloyd``; one per run when their data differ.
    n_valid : ndarray of shape (n_runs,) or None
        With each run's own data: its rows before the padding (None: no padding).
    n_clusters : ndarray of shape (n_runs,), int, non-increasing, or None
        Each run's clusters, the first of ``centers_init``'s (None: all of them).

    Returns
    -------
    list of n_runs tuples ``(labels, inertia, centers, n_iter, converged)``, as ``lloyd``
    returns them (on the run's rows without padding, its own clusters), in the order of
    ``centers_init``.
    """
    n_runs, k_max = centers_init.shape[:2]
    dtype = X.dtype
    tols = np.broadcast_to(np.asarray(tol, dtype=np.float64), (n_runs,)).tolist()
    data = _RunsData(X, sample_weight, n_valid)
    results, ends = [None] * n_runs, [None] * n_runs
    ks = np.full(n_runs, k_max) if n_clusters is None else np.asarray(n_clusters)
    ks_given = ks.tolist()
    absent = None if (ks == k_max).all() else np.arange(k_max) >= ks[:, None]

    def finish(rows, n_iter, converged, strict):
        # The centers moved once more after the last assignment: make the labels match them.
        loose = [row for row, is_strict in zip(rows, strict, strict=True) if not is_strict]
        if loose:
            labels[loose] = _nearest_of_runs(current.XT_of(loose), centers[loose], ks[loose])
        for row, has_converged in zip(rows, converged, strict=True):
            size = X.shape[-2] if not data.own else int(data.n_samples[runs[row]])
            results[runs[row]] = (labels[row, :size].copy(), centers[row].copy(), n_iter)
            ends[runs[row]] = has_converged

    def with_inertias():
        # Every run's inertia once all have ended: the runs of one size in one call.
        done = [None] * n_runs
        for size, group in _by_size(data, list(range(n_runs))):
            inertias = _inertias(
                *data.of_runs(group, size),
                np.stack([results[run][1] for run in group]),
                np.stack([results[run][0] for run in group]),
            )
            for run, value in zip(group, inertias, strict=True):
                run_labels, run_centers, n_iter = results[run]
                done[run] = (run_labels, value, run_centers[: ks_given[run]], n_iter, ends[run])
        return done

    # The state of the runs side by side, one row each; ``runs`` says whose. A run that has
    # converged leaves at once when the data are shared; with each run's own data its row
    # stays (``live`` False, its result taken) until a quarter of the rows are done, so that
    # the data are copied less often.
    runs = list(range(n_runs))
    live = np.ones(n_runs, dtype=bool)
    current = data
    centers = np.array(centers_init, dtype=dtype, order="C", copy=True)
    if absent is not None:
        centers[absent] = 0  # absent clusters stay at 0: no move, no shift
    labels = None  # before the first assignment: every point changes cluster
    sums = np.empty(centers.shape, dtype=dtype)
    weights = np.empty((n_runs, k_max), dtype=dtype)
    for n_iter in range(1, max_iter + 1):
        nearest = _nearest_of_runs(current.XT, centers, ks)
        if labels is None:
            n_changed = np.broadcast_to(current.n_samples, (len(runs),)).copy()
            _sum_by_cluster_of_runs(nearest, current, sums, weights)
        else:
            fresh = n_changed * RESUM_EVERY > current.n_samples  # after the last pass's changes
            changed = nearest != labels
            if current.valid is not None:
                changed &= current.valid
            n_changed = changed.sum(axis=1)
            if fresh.any():
                rows = np.flatnonzero(fresh)
                fresh_sums, fresh_weights = sums[rows], weights[rows]
                _sum_by_cluster_of_runs(nearest, current, fresh_sums, fresh_weights, rows)
                sums[rows], weights[rows] = fresh_sums, fresh_weights
                changed[rows] = False
            if changed.any():
                _move_points(changed, labels, nearest, current, sums, weights)
        labels = nearest

        centers_new = sums.copy()
        weight_in_clusters = weights.copy()
        if absent is None:
            whole = weight_in_clusters.all(axis=1)
        else:
            whole = ((weight_in_clusters != 0) | absent).all(axis=1)
        if whole.all():
            squared_shift = _average_and_shift_of_runs(
                centers_new, weight_in_clusters, centers, absent
            )
        else:
            squared_shift = np.zeros(len(runs))
            for i in np.flatnonzero(~whole & live):
                # A cluster emptied: that run alone, as ``lloyd`` does it.
                from kmeans_core._loop import relocate_empty_clusters

                X_run, weight_run = data.of_run(runs[i])
                own = slice(0, ks[i])
                relocate_empty_clusters(
                    X_run,
                    weight_run,
                    centers[i, own],
                    centers_new[i, own],
                    weight_in_clusters[i, own],
                    labels[i, : X_run.shape[0]],
                )
                squared_shift[i] = _average_and_shift(
                    centers_new[i, own], weight_in_clusters[i, own], centers[i, own]
                )
            if whole.any():
                means = centers_new[whole]
                squared_shift[whole] = _average_and_shift_of_runs(
                    means,
                    weight_in_clusters[whole],
                    centers[whole],
                    None if absent is None else absent[whole],
                )
                centers_new[whole] = means
            idle = ~whole & ~live  # done already: keep its centers, never read again
            centers_new[idle] = centers[idle]
        centers = centers_new

        changes, shifts = n_changed.tolist(), squared_shift.tolist()
        done, strict = [], []
        for row in np.flatnonzero(live).tolist():
            converged, is_strict = converged_after(changes[row], shifts[row], tols[runs[row]])
            if converged:
                done.append(row)
                strict.append(is_strict)
        if done:
            finish(done, n_iter, [True] * len(done), strict)
            live[done] = False
            n_live = int(np.count_nonzero(live))
            if n_live == 0:
                return with_inertias()
            if not current.own or len(runs) - n_live >= len(runs) // 4:
                going = np.flatnonzero(live)
                runs = [runs[i] for i in going]
                live, ks = live[going], ks[going]
                absent = None if absent is None else absent[going]
                current = current.take(going)
                centers, labels, sums, weights = (
                    a[going] for a in (centers, labels, sums, weights)
                )
                n_changed = n_changed[going]

    rows = np.flatnonzero(live).tolist()
    finish(rows, max_iter, [False] * len(rows), [False] * len(rows))
    return with_inertias()


class _RunsData:
    """The data of the runs side by side in ``lloyd_restarts``: shared by every run (2-D
    arrays), or one data set per run (a leading run axis; ``take`` keeps the rows of some runs).

    Attributes
    ----------
    XT : ndarray of shape (n_features, n_samples) or (n_features, n_runs, n_samples)
        The data transposed.
    weighted_t : ndarray of shape (n_features, n_samples) or (n_features, n_runs, n_samples)
        The rows times their weights, transposed.
    sample_weight : ndarray of shape (n_samples,) or (n_runs, n_samples)
    n_samples : ndarray of shape (n_runs,), int, or a 0-d one when the data are shared
        Each run's rows (before its padding).
    valid : ndarray of shape (n_runs, n_samples), bool, or None
        Which rows are not padding (None: no padding).
    """

    def __init__(self, X, sample_weight, n_valid=None):
        self.X = X  # as given, for ``of_run``
        self.sample_weight = sample_weight
        self.own = X.ndim == 3
        if self.own:
            weighted = X * sample_weight[:, :, None]
            self.XT = np.ascontiguousarray(X.transpose(2, 0, 1))
            self.weighted_t = np.ascontiguousarray(weighted.transpose(2, 0, 1))
        else:
            weighted = X * sample_weight[:, None]
            self.XT = np.ascontiguousarray(X.T)
            self.weighted_t = np.ascontiguousarray(weighted.T)
        n_rows = X.shape[-2]
        if n_valid is None or (np.asarray(n_valid) == n_rows).all():
            self.n_samples = np.full(X.shape[0], n_rows) if self.own else np.array(n_rows)
            self.valid = None
        else:
            self.n_samples = np.asarray(n_valid)
            self.valid = np.arange(n_rows) < self.n_samples[:, None]

    def of_run(self, run):
        """Run ``run``'s rows and weights without padding (``run`` as numbered in the arguments,
        not after ``take``)."""
        if not self.own:
            return self.X, self.sample_weight
        size = int(self.n_samples[run])
        return self.X[run, :size], self.sample_weight[run, :size]

    def of_runs(self, runs, size):
        """The rows and weights of the runs ``runs``, all of ``size`` rows before their padding
        (as numbered in the arguments): ``(n_runs, size, n_features)`` and ``(n_runs, size)``,
        or the shared data."""
        if not self.own:
            return self.X, self.sample_weight
        return self.X[runs, :size], self.sample_weight[runs, :size]

    def XT_of(self, rows):
        """``XT`` of the runs ``rows``."""
        return self.XT[:, rows] if self.own else self.XT

    def take(self, rows):
        """The data of the runs ``rows`` (indices into this one's runs); ``of_run`` keeps
        answering for the runs as first numbered."""
        if not self.own:
            return self
        taken = object.__new__(_RunsData)
        taken.X, taken.own = None, True  # ``of_run`` answers from the data as given
        taken.sample_weight = self.sample_weight[rows]
        taken.XT, taken.weighted_t = self.XT[:, rows], self.weighted_t[:, rows]
        taken.n_samples = self.n_samples[rows]
        taken.valid = None if self.valid is None else self.valid[rows]
        return taken


def _by_size(data, runs):
    """The runs (as numbered in the arguments) grouped by their number of rows: pairs
    ``(size, positions in runs)``."""
    if not data.own:
        return [(int(data.n_samples), list(range(len(runs))))]
    groups = {}
    for i, size in enumerate(data.n_samples[runs].tolist()):
        groups.setdefault(size, []).append(i)
    return groups.items()


def _inertias(X, sample_weight, centers, labels):
    """``inertia`` of several runs at once, each added as ``inertia`` adds it: a list of
    floats. ``X`` (n_samples, n_features) and ``sample_weight`` (n_samples,) shared by the runs
    or each run's own, with a leading run axis; ``centers`` (n_runs, k, d), ``labels``
    (n_runs, n_samples)."""
    runs = np.arange(labels.shape[0])[:, None]
    diff = (X - centers[runs, labels]).transpose(0, 2, 1)
    squared = (diff * diff).sum(axis=1) * sample_weight
    return squared.sum(axis=1, dtype=np.float64).tolist()


def _move_points(changed, labels, nearest, data, sums, weights):
    """As ``lloyd`` keeps the sums of a run: every point that ``changed`` cluster goes out of
    the old one (``labels``), into the new one (``nearest``), point after point in row order,
    every run (row of ``changed``) into its own clusters of ``sums`` and ``weights``; the
    points' weighted rows and weights from ``data`` (a ``_RunsData``)."""
    n_clusters, n_features = sums.shape[1:]
    runs, moved = np.nonzero(changed)
    n_moves = moved.shape[0]
    points = (runs, moved) if data.own else (moved,)
    clusters = np.empty(2 * n_moves, dtype=np.intp)
    clusters[0::2] = runs * n_clusters + labels[runs, moved]
    clusters[1::2] = runs * n_clusters + nearest[runs, moved]
    values = np.empty((2 * n_moves, n_features), dtype=sums.dtype)
    np.negative(data.weighted_t[(slice(None), *points)].T, out=values[0::2])
    np.negative(values[0::2], out=values[1::2])
    np.add.at(sums.reshape(-1, n_features), clusters, values)
    point_weights = np.empty(2 * n_moves, dtype=weights.dtype)
    np.negative(data.sample_weight[points], out=point_weights[0::2])
    point_weights[1::2] = data.sample_weight[points]
    np.add.at(weights.reshape(-1), clusters, point_weights)


def _nearest_of_runs(XT, centers, n_clusters=None):
    """``_nearest`` for the centers of several runs, ``(n_runs, k, n_features)``:
    ``(n_runs, n_samples)``, int32 (the first center on exact ties). ``n_clusters``: each
    run's clusters, the first of its ``k`` centers, non-increasing (None: all ``k``).

    Center after center, keeping the closest so far (a later center wins only when strictly
    closer, as ``argmin`` picks the first): the arrays stay the size of one center's distances,
    which the cache holds when many runs go side by side. Center j is compared for the runs
    that have it, the first ones."""
    n_runs, k = centers.shape[:2]
    closest = _squared_distances_to(XT, centers[:, 0])
    nearest = np.zeros(closest.shape, dtype=np.int32)
    if k == 1:
        return nearest
    having = [n_runs] * k
    if n_clusters is not None:
        having = np.count_nonzero(np.asarray(n_clusters)[:, None] > np.arange(k), axis=0)
        having = having.tolist()
    distances, scratch = np.empty_like(closest), np.empty_like(closest)
    closer = np.empty(closest.shape, dtype=bool)
    for j in range(1, k):
        m = having[j]
        points = XT[:, :m] if XT.ndim == 3 else XT
        _squared_distances_to(points, centers[:m, j], distances[:m], scratch[:m])
        np.less(distances[:m], closest[:m], out=closer[:m])
        np.minimum(closest[:m], distances[:m], out=closest[:m])
        np.copyto(nearest[:m], j, where=closer[:m])
    return nearest


def _squared_distances_to(XT, centers, out=None, scratch=None):
    """The squared distance from one center of each run, ``(n_runs, n_features)``, to every
    point of its data, ``(n_runs, n_samples)``: the subtractions and products of
    ``squared_distances``, added feature after feature as it adds them."""
    n_features = XT.shape[0]
    columns = centers.T[:, :, None]  # (n_features, n_runs, 1)
    out = np.subtract(XT[0], columns[0], out=out)
    out *= out
    for f in range(1, n_features):
        scratch = np.subtract(XT[f], columns[f], out=scratch)
        scratch *= scratch
        out += scratch
    return out


def _squared_distances_of_runs(XT, centers):
    """``squared_distances`` for the centers of several runs, ``(n_runs, n_clusters,
    n_features)``, from the data of every run ``(n_features, n_samples)`` or each run's own
    ``(n_features, n_runs, n_samples)``: ``(n_runs, n_clusters, n_samples)``. The same
    subtractions and products, added feature after feature as ``squared_distances`` adds them
    (a sum along its first axis); all centers at once, or center after center when the
    arrays of all would outgrow the cache (``SMALL_CACHE_ELEMENTS``)."""
    n_runs, n_clusters = centers.shape[:2]
    n_samples = XT.shape[-1]
    if n_runs * n_clusters * n_samples > SMALL_CACHE_ELEMENTS:
        distances = np.empty((n_runs, n_clusters, n_samples), dtype=XT.dtype)
        scratch = np.empty((n_runs, n_samples), dtype=XT.dtype)
        for j in range(n_clusters):
            _squared_distances_to(XT, centers[:, j], distances[:, j], scratch)
        return distances
    points = XT[:, None, None, :] if XT.ndim == 2 else XT[:, :, None, :]
    columns = centers.transpose(2, 0, 1)[..., None]  # (n_features, n_runs, n_clusters, 1)
    distances = np.subtract(points[0], columns[0])
    distances *= distances
    if XT.shape[0] > 1:
        scratch = np.empty_like(distances)
        for f in range(1, XT.shape[0]):
            np.subtract(points[f], columns[f], out=scratch)
            scratch *= scratch
            distances += scratch
    return distances


def _sum_by_cluster_of_runs(labels, data, sums, weights, rows=None):
    """``_sum_by_cluster`` for several runs into ``sums`` (n_runs, k, d) and ``weights``
    (n_runs, k), from their ``labels`` (n_runs, n_samples) and ``data`` (a ``_RunsData``), or
    for the runs ``rows`` of them only: every run's points go to its own bins (labels offset by
    run * k), so each bin still adds its points row after row; padding rows go to one more
    bin, dropped."""
    n_runs, n_clusters, n_features = sums.shape
    n_bins = n_runs * n_clusters
    if rows is not None:
        labels = labels[rows]
    bins = (labels + (np.arange(n_runs) * n_clusters)[:, None]).ravel()
    if data.valid is not None:
        valid = data.valid if rows is None else data.valid[rows]
        bins[~valid.ravel()] = n_bins
    length = n_bins + 1

    def per_run(values):  # (n_samples,) the same for every run, or each run's (n_runs, n_samples)
        if values.ndim == 1:
            return np.tile(values, n_runs)
        return (values if rows is None else values[rows]).ravel()

    if sums.dtype == np.float64:
        flat_sums = sums.reshape(n_bins, n_features)
        for f, column in enumerate(data.weighted_t):
            flat_sums[:, f] = np.bincount(bins, weights=per_run(column), minlength=length)[:n_bins]
        weights.reshape(n_bins)[:] = np.bincount(
            bins, weights=per_run(data.sample_weight), minlength=length
        )[:n_bins]
    else:
        points = np.stack([per_run(column) for column in data.weighted_t], axis=1)
        all_sums = np.zeros((length, n_features), dtype=sums.dtype)
        all_weights = np.zeros(length, dtype=weights.dtype)
        np.add.at(all_sums, bins, points)
        np.add.at(all_weights, bins, per_run(data.sample_weight))
        sums.reshape(n_bins, n_features)[...] = all_sums[:n_bins]
        weights.reshape(n_bins)[...] = all_weights[:n_bins]


def _average_and_shift_of_runs(centers_new, weight_in_clusters, centers_old, absent=None):
    """``_average_and_shift`` for several runs none of whose clusters is empty: the sums in
    ``centers_new`` (n_runs, k, d) become means in place; returns each run's sum of squared
    moves, (n_runs,), added as ``_average_and_shift`` adds them. ``absent`` (n_runs, k): the
    clusters a run does not have, last, at 0 in both centers (their sums 0): they stay there
    and add 0.0 after the run's own."""
    if absent is not None:
        weight_in_clusters = np.where(absent, 1, weight_in_clusters)
    scale = 1.0 / weight_in_clusters.astype(np.float64)
    centers_new[...] = centers_new * scale[:, :, None]
    shift = np.empty_like(centers_new)
    np.subtract(centers_new, centers_old, out=shift)
    n_runs, n_clusters, n_features = shift.shape
    diff = shift.reshape(n_runs * n_clusters, n_features).T  # each center's moves, as one run's
    per_center = (diff * diff).sum(axis=0, dtype=np.float64).reshape(n_runs, n_clusters)
    # Center after center from 0.0 (``_sum_in_order``): a running sum's last value.
    return np.cumsum(per_center, axis=1)[:, -1]


def _sum_by_cluster(labels, weighted_t, sample_weight, sums, weights):
    """The weighted sums and the weights of the points of every cluster into ``sums`` (k, d)
    and ``weights`` (k,), added row after row as ``common.sum_block`` does (``bincount`` adds
    in order, in float64; float32 data are added in float32)."""
    n_clusters = weights.shape[0]
    if sums.dtype == np.float64:
        for f, column in enumerate(weighted_t):
            sums[:, f] = np.bincount(labels, weights=column, minlength=n_clusters)
        weights[:] = np.bincount(labels, weights=sample_weight, minlength=n_clusters)
    else:
        sums[:] = 0
        weights[:] = 0
        np.add.at(sums, labels, weighted_t.T)
        np.add.at(weights, labels, sample_weight)


def _average_and_shift(centers_new, weight_in_clusters, centers_old):
    """``_kernels.update.average_and_shift``, the same operations in the same order: the
    cluster sums in ``centers_new`` become means (a cluster without weight is parked on the
    heaviest one as scikit-learn does); returns the sum of the squared moves."""
    has_weight = weight_in_clusters > 0
    # Each sum times the reciprocal of its weight, in float64 for float32 data too.
    if has_weight.all():
        scale = 1.0 / weight_in_clusters.astype(np.float64)
        centers_new[...] = centers_new * scale[:, None]
    else:
        with np.errstate(divide="ignore"):  # an empty cluster's 1/0 is never used
            scale = 1.0 / weight_in_clusters.astype(np.float64)
        heaviest = int(np.argmax(weight_in_clusters))
        heaviest_sum = centers_new[heaviest].copy()
        centers_new[has_weight] = centers_new[has_weight] * scale[has_weight, None]
        for j in np.flatnonzero(~has_weight):
            centers_new[j] = heaviest_sum if j < heaviest else centers_new[heaviest]
    diff = (centers_new - centers_old).T
    per_center = (diff * diff).sum(axis=0, dtype=np.float64)  # feature after feature
    return _sum_in_order(per_center)


def inertia(X, sample_weight, centers, labels):
    """Weighted sum of squared distances to the assigned centers, in float64 (each distance
    in the data's precision, as the kernels compute it)."""
    diff = (X - centers[labels]).T
    squared = (diff * diff).sum(axis=0) * sample_weight
    return float(squared.sum(dtype=np.float64))


# ----------------------------------------------------------------------------- metrics


def silhouette_cluster_sums(X, codes, n_labels):
    """Sum of the distances from every point to the points of every cluster.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    codes : ndarray of shape (n_samples,), int64, in 0..n_labels-1
    n_labels : int

    Returns
    -------
    sums : ndarray of shape (n_samples, n_labels), float64
    """
    distances = np.sqrt(squared_distances(np.ascontiguousarray(X.T), X))
    members = np.zeros((X.shape[0], n_labels))
    members[np.arange(X.shape[0]), codes] = 1.0
    return distances @ members


def cluster_moments(X, codes, n_labels):
    """Count, mean and sum of squared deviations of every cluster (``metrics._cluster_moments``).

    Returns
    -------
    count : ndarray of shape (n_labels,)
    mean : ndarray of shape (n_labels, n_features)
    ssd : ndarray of shape (n_labels,)
    """
    count = np.bincount(codes, minlength=n_labels).astype(np.float64)
    sums = np.zeros((n_labels, X.shape[1]))
    np.add.at(sums, codes, X)
    mean = sums / count[:, None]  # every code has a point
    deviations = X - mean[codes]
    squared = np.einsum("ij,ij->i", deviations, deviations)
    ssd = np.bincount(codes, weights=squared, minlength=n_labels)
    return count, mean, ssd


def centroid_distance_sums(X, codes, centers, sample_weight):
    """Per cluster, the sum of ``w * |x - c|^2`` and of ``|x - c|`` over its points:
    ndarray of shape (n_labels, 2) (``metrics_kernels.centroid_distance_blocks``, one block)."""
    diff = X - centers[codes]
    squared = np.einsum("ij,ij->i", diff, diff)
    n_labels = centers.shape[0]
    return np.stack(
        [
            np.bincount(codes, weights=squared * sample_weight, minlength=n_labels),
            np.bincount(codes, weights=np.sqrt(squared), minlength=n_labels),
        ],
        axis=1,
    )


# ----------------------------------------------------------------------------- PCA


def mean_and_centered_gram(X):
    """Mean and centered cross-product matrix ``(X - mean).T @ (X - mean)``, in float64.

    Returns
    -------
    mean : ndarray of shape (n_features,)
    gram : ndarray of shape (n_features, n_features), symmetric
    """
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    centered = X - mean
    gram = centered.T @ centered
    return mean, np.triu(gram) + np.triu(gram, 1).T
