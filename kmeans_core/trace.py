"""trace(): one K-Means fit recorded step by step, from the engine's own kernels.

``trace(X, k, algorithm=..., ...)`` runs exactly what ``KMeans(k, algorithm=..., n_init=1,
...).fit(X)`` runs -- the same seeding, the same assignment kernels, the same update -- and
keeps, after every step, the labels, the centers and what the step cost: the distances it
computed and, for the bounds algorithms, the distances each bound test proved useless. Its
``labels_``, ``cluster_centers_``, ``n_iter_`` and ``inertia_`` are the fit's, bit for bit.

How it stays exact and costs the plain fit nothing: the fit's assigner (``assigner_class``)
is subclassed here so that every ``assign`` and ``centers_moved`` call is recorded on its way
through; the counts come from counting twins of the bounds kernels (``_kernels/traced.py``)
run on a copy of the state each pass starts from. Everything that knows the engine's
internals is in the section "The engine's side" below (``_checked``, ``_engine_run``,
``_replay_seeding``, ``_recording``, ``_counting_twin``); ``tests/test_trace.py`` fails if
it drifts from ``KMeans.fit``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from kmeans_core._convergence import absolute_tol
from kmeans_core._validation import check_random_state, check_sample_weight
from kmeans_core.estimator import KMeans, assigner_class, choose_algorithm
from kmeans_core.init import _candidate_pots, _choose, greedy_kmeans_plusplus, random_init

__all__ = ["Seeding", "Trace", "trace", "trace_nbytes"]

#: A trace refuses to start when what it may keep (``trace_nbytes``) is above this.
MAX_BYTES = 512 * 2**20

# A trace runs the numba kernels whatever the size of X: they (and ``_loop``, the drivers'
# loop) are imported by the functions below, so that ``import kmeans_core`` does not load numba.


def skip_tests(algorithm):
    """The bound tests of ``algorithm``, by the names ``Trace.skipped_by`` uses (none for
    Lloyd), in the order the counting kernels count them."""
    from kmeans_core._kernels import traced

    return {
        "lloyd": (),
        "hamerly": traced.HAMERLY_SKIPS,
        "elkan": traced.ELKAN_SKIPS,
        "exponion": traced.EXPONION_SKIPS,
        "yinyang": traced.YINYANG_SKIPS,
    }[algorithm]


@dataclass
class Seeding:
    """How k-means++ chose the initial centers.

    Attributes
    ----------
    rows : ndarray of shape (n_clusters,)
        The rows of X chosen, in order: ``X[rows]`` are the initial centers.
    candidates : ndarray of shape (n_clusters - 1, n_local_trials)
        The rows drawn as candidates for centers 1, 2, ... (each with probability
        proportional to ``weight * D(x)^2``); the one kept lowered the potential most.
    candidate_potential : ndarray of shape (n_clusters - 1, n_local_trials)
        The potential each candidate would have left.
    potential : ndarray of shape (n_clusters,)
        The potential (weighted sum of ``D(x)^2``) before each pick; ``potential[0]`` is NaN
        (no center yet: the first is drawn by weight alone). ``final_potential`` is after
        the last pick.
    final_potential : float
    """

    rows: np.ndarray
    candidates: np.ndarray
    candidate_potential: np.ndarray
    potential: np.ndarray
    final_potential: float


@dataclass
class Trace:
    """One fit, step by step (``trace`` returns it). Arrays are in X's units.

    Attributes
    ----------
    algorithm : str
    labels_, cluster_centers_, inertia_, n_iter_ :
        Exactly ``KMeans(..., n_init=1).fit(X)``'s.
    converged : bool
        False when the run stopped at ``max_iter``.
    strict_convergence : bool
        True when it stopped because no label changed (then ``labels[-1]`` is ``labels_``);
        else a last assignment step made the labels match the last centers (``final_step``).
    tol : float
        The absolute tolerance on the sum of squared center shifts (``tol`` times the mean
        variance of the features).
    centers : ndarray of shape (n_iter_ + 1, n_clusters, n_features)
        ``centers[0]`` the initial centers, ``centers[i + 1]`` after update ``i``.
    labels : ndarray of shape (n_iter_, n_samples) or None
        The assignment of step ``i`` (None with ``keep_labels=False``).
    inertia : ndarray of shape (n_iter_,)
        Weighted sum of squared distances of ``labels[i]`` to ``centers[i]``; never rises.
    center_shift : ndarray of shape (n_iter_, n_clusters)
        How far each center moved in update ``i``; the run stops when the sum of their squares
        is at most ``tol``.
    n_changed : ndarray of shape (n_iter_,)
        Labels changed in step ``i`` (all of them in step 0).
    distances_computed : ndarray of shape (n_iter_,)
        Point-center distances evaluated in step ``i``: ``n * k`` for Lloyd, fewer for the
        bounds algorithms (every evaluation counted, a repeated one twice).
    repeated : ndarray of shape (n_iter_,)
        Of ``distances_computed``, the evaluations a step made a second time (a point's own
        distance, computed to tighten its bound, then again in its search): each step accounts
        for its ``n * k`` pairs once, ``distances_computed - repeated + sum(skipped) == n * k``.
    rechecked : ndarray of shape (n_iter_,)
        Lloyd's float32 screen: distances computed again in float64 for the points whose
        screened answer was not certified (0 without the screen and for the bounds).
    skipped_by : dict of str to ndarray of shape (n_iter_,)
        For each bound test of the algorithm, the point-center distances it proved useless.
    final_step : dict or None
        The counts of the last assignment step when there was one (same keys as
        ``to_frame``'s columns).
    seeding : Seeding or None
        For ``init="k-means++"``.
    """

    algorithm: str
    labels_: np.ndarray
    cluster_centers_: np.ndarray
    inertia_: float
    n_iter_: int
    converged: bool
    strict_convergence: bool
    tol: float
    centers: np.ndarray
    labels: np.ndarray | None
    inertia: np.ndarray
    center_shift: np.ndarray
    n_changed: np.ndarray
    distances_computed: np.ndarray
    repeated: np.ndarray
    rechecked: np.ndarray
    skipped_by: dict = field(default_factory=dict)
    final_step: dict | None = None
    seeding: Seeding | None = None

    @property
    def nbytes(self):
        """Bytes held by the trace's arrays."""
        arrays = [self.labels_, self.cluster_centers_, self.centers, self.inertia]
        arrays += [self.center_shift, self.n_changed, self.distances_computed, self.repeated]
        arrays.append(self.rechecked)
        arrays += list(self.skipped_by.values())
        if self.labels is not None:
            arrays.append(self.labels)
        if self.seeding is not None:
            arrays += [self.seeding.rows, self.seeding.candidates, self.seeding.potential]
        return int(sum(a.nbytes for a in arrays))

    def to_frame(self):
        """One row per iteration: a pandas DataFrame with ``iteration`` (1, 2, ...),
        ``inertia``, ``n_changed``, ``squared_shift`` (compared with ``tol``),
        ``distances_computed``, ``rechecked``, ``skipped: <test>`` per bound test and
        ``share_computed`` (of the n * k distances of a Lloyd step)."""
        import pandas as pd

        n_samples, n_clusters = self.labels_.shape[0], self.cluster_centers_.shape[0]
        columns = {
            "iteration": np.arange(1, self.n_iter_ + 1),
            "inertia": self.inertia,
            "n_changed": self.n_changed,
            "squared_shift": (self.center_shift.astype(np.float64) ** 2).sum(axis=1),
            "distances_computed": self.distances_computed,
            "rechecked": self.rechecked,
        }
        for test, counts in self.skipped_by.items():
            columns[f"skipped: {test}"] = counts
        columns["share_computed"] = self.distances_computed / float(n_samples * n_clusters)
        return pd.DataFrame(columns)


def trace_nbytes(n_samples, n_features, n_clusters, max_iter, keep_labels=True, itemsize=8):
    """The most bytes a trace of ``max_iter`` iterations can keep: the labels of every step
    (4 bytes a point) and the centers after every update dominate."""
    per_iteration = n_clusters * (n_features + 1) * itemsize + 64
    if keep_labels:
        per_iteration += 4 * n_samples
    return int(n_samples * (4 + 8) + (max_iter + 1) * per_iteration)


def trace(
    X,
    n_clusters,
    *,
    algorithm="lloyd",
    init="k-means++",
    random_state=None,
    max_iter=300,
    tol=1e-4,
    sample_weight=None,
    keep_labels=True,
    max_bytes=MAX_BYTES,
):
    """Fit K-Means once and record every step.

    The result is exactly ``KMeans(n_clusters, algorithm=algorithm, init=init,
    random_state=random_state, n_init=1, max_iter=max_iter, tol=tol).fit(X, sample_weight=...)``
    (labels, centers bit for bit, iterations, inertia), with what happened on the way.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_clusters : int
    algorithm : {"lloyd", "hamerly", "elkan", "exponion", "yinyang", "auto"}, default="lloyd"
        "auto" traces the algorithm ``choose_algorithm`` picks for the shape, in the kernels.
        (``KMeans(algorithm="auto")`` runs problems of up to 1,000 rows in NumPy instead,
        ``_small``: the same labels and iterations, the values equal to rounding.)
    init : {"k-means++", "random"} or ndarray of shape (n_clusters, n_features)
    random_state : None, int, numpy RandomState or Generator
    max_iter : int, default=300
    tol : float, default=1e-4
    sample_weight : array-like of shape (n_samples,), default=None
    keep_labels : bool, default=True
        Keep the labels of every step (4 bytes per point and step). Without them the trace
        holds the centers and the per-step numbers only.
    max_bytes : int, default=MAX_BYTES (512 MiB)
        Refuse to start when the trace could keep more than this (``trace_nbytes``).

    Returns
    -------
    Trace
    """
    model = KMeans(
        n_clusters,
        init=init,
        n_init=1,
        max_iter=max_iter,
        tol=tol,
        algorithm=algorithm,
        random_state=random_state,
    )
    X, init = _checked(model, X)
    n_samples, n_features = X.shape
    needed = trace_nbytes(
        n_samples, n_features, n_clusters, max_iter, keep_labels, X.dtype.itemsize
    )
    if needed > max_bytes:
        without = trace_nbytes(n_samples, n_features, n_clusters, max_iter, False, X.dtype.itemsize)
        raise ValueError(
            f"A trace of up to {max_iter} iterations of {n_samples} points could keep "
            f"{needed / 2**20:.0f} MiB, more than max_bytes ({max_bytes / 2**20:.0f} MiB); pass "
            f"keep_labels=False ({without / 2**20:.0f} MiB), a smaller max_iter, or a larger "
            "max_bytes."
        )
    if algorithm == "auto":
        algorithm = choose_algorithm(n_samples, n_features, n_clusters, max_iter)
    sample_weight = check_sample_weight(sample_weight, n_samples, X.dtype)
    recorder = _Recorder(algorithm, keep_labels)
    run = _engine_run(model, X, init, sample_weight, algorithm, recorder)
    return recorder.result(run)


# --------------------------------------------------------------------------------------------
# The engine's side: what KMeans.fit does for one run, with the recording assigner.
# --------------------------------------------------------------------------------------------
def _checked(model, X):
    """``KMeans.fit``'s checks of ``X`` and of the parameters: ``(X, init)``."""
    X = model._validate_data(X, reset=True, finite=False)  # finite: from the column sums
    init, _ = model._check_params(X)
    return X, init


def _engine_run(model, X, init, sample_weight, algorithm, recorder):
    """``KMeans.fit``'s run for ``n_init=1``, step for step, with ``recorder`` listening."""
    from kmeans_core._loop import center_data, run_kmeans

    n_samples, n_features = X.shape
    n_clusters = model.n_clusters
    random_state = check_random_state(model.random_state)
    n_threads = model._threads_for(X)
    assigner_type = assigner_class(algorithm)
    X, X_mean, mean_variance, X_tiles = center_data(
        X, n_threads, assigner_type.tile_format(n_samples, n_features, n_clusters)
    )
    tol = absolute_tol(model.tol, mean_variance)
    seeding = None
    if isinstance(init, str) and init == "k-means++":
        replay = copy.deepcopy(random_state)
        centers_init, rows = greedy_kmeans_plusplus(
            X, n_clusters, sample_weight, random_state, n_threads=n_threads, small=False
        )
        seeding = _replay_seeding(X, n_clusters, sample_weight, replay, n_threads)
        if not np.array_equal(seeding.rows, rows):
            raise RuntimeError("trace's record of k-means++ differs from the engine's seeding.")
    elif isinstance(init, str):
        centers_init = random_init(X, n_clusters, sample_weight, random_state)
    else:
        centers_init = init - X_mean

    recorder.start(X, sample_weight, X_mean, centers_init, n_threads)
    assigner = _recording(assigner_type, recorder)(X, sample_weight, n_clusters, n_threads, X_tiles)
    labels, inertia, centers, n_iter, converged = run_kmeans(
        assigner, centers_init, max_iter=model.max_iter, tol=tol
    )
    return {
        "labels": labels,
        "inertia": inertia,
        "centers": centers + X_mean,
        "n_iter": n_iter,
        "converged": converged,
        "tol": tol,
        "seeding": seeding,
    }


def _replay_seeding(X, n_clusters, sample_weight, random_state, n_threads):
    """``init.greedy_kmeans_plusplus`` again from a copy of its random state, keeping the
    candidates and potentials it goes through (the same draws, the same kernels)."""
    from kmeans_core._kernels.common import n_blocks_for

    n_samples = X.shape[0]
    n_local_trials = 2 + int(np.log(n_clusters))
    n_blocks = n_blocks_for(n_samples)
    rows = np.full(n_clusters, -1, dtype=np.int64)
    candidates = np.zeros((n_clusters - 1, n_local_trials), dtype=np.int64)
    candidate_potential = np.zeros((n_clusters - 1, n_local_trials), dtype=np.float64)
    potential = np.full(n_clusters, np.nan)

    rows[0] = _choose(random_state, n_samples, p=sample_weight / sample_weight.sum())
    far = np.full(n_samples, np.finfo(X.dtype).max, dtype=X.dtype)
    closest = np.empty((1, n_samples), dtype=X.dtype)
    current = _candidate_pots(X, sample_weight, rows[:1], far, n_blocks, closest, n_threads)[0]
    closest = closest[0]
    to_candidates = np.empty((n_local_trials, n_samples), dtype=X.dtype)
    for c in range(1, n_clusters):
        potential[c] = current
        draws = random_state.uniform(size=n_local_trials) * current
        ids = np.searchsorted(np.cumsum(sample_weight * closest), draws)
        np.clip(ids, None, n_samples - 1, out=ids)
        pots = _candidate_pots(X, sample_weight, ids, closest, n_blocks, to_candidates, n_threads)
        best = int(np.argmin(pots))
        candidates[c - 1] = ids
        candidate_potential[c - 1] = pots
        current = pots[best]
        closest = to_candidates[best].copy()
        rows[c] = ids[best]
    return Seeding(rows, candidates, candidate_potential, potential, float(current))


def _recording(assigner_type, recorder):
    """``assigner_type`` with every assignment step and center move reported to
    ``recorder``; the kernels it runs are the class's own."""
    from kmeans_core._kernels import traced

    class Recording(assigner_type):
        def assign(self, centers, labels, sums, weights):
            counts = _counting_twin(self, recorder.algorithm, centers, labels)
            screened = getattr(getattr(self, "kernel", None), "screened", False)
            n_changed = super().assign(centers, labels, sums, weights)
            if recorder.algorithm == "lloyd":
                n_samples, n_clusters = self.X.shape[0], centers.shape[0]
                counts = np.zeros(traced.FIRST_SKIP, dtype=np.int64)
                counts[traced.COMPUTED] = n_samples * n_clusters
                # A point the screen could not certify has its k distances again in float64.
                rechecked = int(self.block_fallbacks.sum()) * n_clusters if screened else 0
            else:
                rechecked = 0
            recorder.assigned(centers, labels, n_changed, counts, rechecked)
            return n_changed

        def centers_moved(self, centers_new, shift):
            super().centers_moved(centers_new, shift)
            recorder.moved(centers_new, shift)

    return Recording


def _counting_twin(assigner, algorithm, centers, labels):
    """Run the counting twin of a bounds kernel on a copy of the state its next pass starts
    from; returns its ``counts`` (None for Lloyd)."""
    from kmeans_core._kernels import traced
    from kmeans_core._kernels.bounds import BALL_SEARCH_AT_MOST

    if algorithm == "lloyd":
        return None
    counts = np.zeros(traced.FIRST_SKIP + len(skip_tests(algorithm)), dtype=np.int64)
    X, n_clusters = assigner.X, centers.shape[0]
    state = (labels.copy(), assigner.upper.copy(), assigner.lower.copy(), counts)
    shift = assigner.shift.copy()
    geometry = assigner.geometry(centers)
    if algorithm == "hamerly":
        half_nearest = geometry[0]
        by_tiles = assigner.X_tiles is not None and n_clusters > 1
        traced.hamerly_counts(X, centers, shift, half_nearest, by_tiles, assigner.n_blocks, *state)
    elif algorithm == "elkan":
        half_dist, half_nearest = geometry
        traced.elkan_counts(X, centers, shift, half_dist, half_nearest, *state)
    elif algorithm == "exponion":
        half_nearest, neighbor_dist = geometry[1], geometry[3]
        traced.exponion_counts(
            X, centers, shift, half_nearest, neighbor_dist, BALL_SEARCH_AT_MOST, *state
        )
    elif algorithm == "yinyang":
        group_of, members, group_start = geometry[:3]
        by_tiles = assigner.X_tiles is not None
        traced.yinyang_counts(
            X,
            centers,
            shift,
            group_of,
            members,
            group_start,
            by_tiles,
            assigner.n_blocks,
            *state,
        )
    return counts


# --------------------------------------------------------------------------------------------
# The record.
# --------------------------------------------------------------------------------------------
class _Recorder:
    """Collects the steps as the run reports them."""

    def __init__(self, algorithm, keep_labels):
        self.algorithm = algorithm
        self.keep_labels = keep_labels
        self.steps = []  # per assignment: labels (or None), inertia, n_changed, counts
        self.centers = []
        self.shifts = []

    def start(self, X, sample_weight, X_mean, centers_init, n_threads):
        self.X, self.sample_weight, self.X_mean = X, sample_weight, X_mean
        self.n_threads = n_threads
        self.centers.append(np.array(centers_init, dtype=X.dtype) + X_mean)

    def assigned(self, centers, labels, n_changed, counts, rechecked):
        from kmeans_core._loop import inertia_of

        inertia = inertia_of(self.X, self.sample_weight, centers, labels, self.n_threads)
        kept = labels.copy() if self.keep_labels else None
        self.steps.append((kept, inertia, int(n_changed), counts, rechecked))

    def moved(self, centers_new, shift):
        self.centers.append(centers_new + self.X_mean)
        self.shifts.append(shift.copy())

    def result(self, run):
        from kmeans_core._kernels import traced

        n_iter = run["n_iter"]
        steps, final = self.steps[:n_iter], self.steps[n_iter:]
        tests = skip_tests(self.algorithm)
        counts = np.array([s[3] for s in steps], dtype=np.int64).reshape(n_iter, -1)
        skipped_by = {t: counts[:, traced.FIRST_SKIP + m] for m, t in enumerate(tests)}
        final_step = None
        if final:
            _, inertia, n_changed, last, rechecked = final[0]
            final_step = {
                "inertia": inertia,
                "n_changed": n_changed,
                "distances_computed": int(last[traced.COMPUTED]),
                "rechecked": rechecked,
            }
            for m, t in enumerate(tests):
                final_step[f"skipped: {t}"] = int(last[traced.FIRST_SKIP + m])
        return Trace(
            algorithm=self.algorithm,
            labels_=run["labels"],
            cluster_centers_=run["centers"],
            inertia_=run["inertia"],
            n_iter_=n_iter,
            converged=run["converged"],
            strict_convergence=not final,
            tol=run["tol"],
            centers=np.array(self.centers[: n_iter + 1]),
            labels=np.array([s[0] for s in steps]) if self.keep_labels else None,
            inertia=np.array([s[1] for s in steps]),
            center_shift=np.array(self.shifts[:n_iter]),
            n_changed=np.array([s[2] for s in steps], dtype=np.int64),
            distances_computed=counts[:, traced.COMPUTED].copy(),
            repeated=counts[:, traced.REPEATED].copy(),
            rechecked=np.array([s[4] for s in steps], dtype=np.int64),
            skipped_by=skipped_by,
            final_step=final_step,
            seeding=run["seeding"],
        )
