"""KMeans: parameter checks, the n_init loop, the algorithm choice, the fitted attributes."""

from __future__ import annotations

import importlib
import itertools
import numbers
import warnings
from typing import NamedTuple

import numpy as np

from kmeans_core import _small
from kmeans_core._base import EstimatorMixin
from kmeans_core._convergence import absolute_tol
from kmeans_core._parallel import run_blocks, threads_for
from kmeans_core._validation import (
    InvalidParameterError,
    check_array,
    check_int,
    check_n_clusters,
    check_random_state,
    check_sample_weight,
)
from kmeans_core.init import (
    greedy_kmeans_plusplus,
    kmeans_plusplus_draws,
    random_init,
    small_kmeans_plusplus_runs,
)
from kmeans_core.refine import default_max_swaps, swap_refine

# The numba kernels and the drivers around them are imported by the code that calls them, not
# here: a small problem (``_small``) runs in NumPy, and ``import kmeans_core`` then never loads
# numba (``tests/test_lazy_imports.py``).

#: The exact algorithms: name -> (module, class) of its assigner (``assigner_class``).
ALGORITHMS = {
    "lloyd": ("kmeans_core.lloyd", "LloydAssigner"),
    "hamerly": ("kmeans_core.hamerly", "HamerlyAssigner"),
    "elkan": ("kmeans_core.elkan", "ElkanAssigner"),
    "exponion": ("kmeans_core.exponion", "ExponionAssigner"),
    "yinyang": ("kmeans_core.yinyang", "YinyangAssigner"),
}


def assigner_class(algorithm):
    """The assigner class of ``algorithm`` (a name of ``ALGORITHMS``), its driver imported on
    first use."""
    module, name = ALGORITHMS[algorithm]
    return getattr(importlib.import_module(module), name)


class ConvergenceWarning(UserWarning):
    """The fit finished but may not be what was asked: max_iter reached, or too few distinct
    points for the number of clusters."""


#: Runs capped below this many iterations use Lloyd where the bounds would otherwise win, with
#: 32+ features: the bounds pay back their costly first passes only over tens of iterations.
BOUNDS_PAY_BACK_ITERATIONS = 30

#: From this many clusters on (with 5+ features), Yinyang's groups of centers beat Hamerly's
#: single lower bound (with 256-bit vectors; see ``choose_algorithm`` for AVX-512).
YINYANG_FROM_CLUSTERS = 128


def choose_algorithm(n_samples, n_features, n_clusters, max_iter=300, wide_vectors=None):
    """The fastest exact algorithm for this shape, by rules measured with whole fits
    (``benchmarks/README.md``, "The `auto` rule" and "Engine thresholds"):

    - with AVX-512 (``wide_vectors``): Lloyd, whatever the shape; it screens in float32,
      sixteen points at a time (``_kernels/screen.py``), which the bounds' searches do not;
    - fewer than 16 clusters: Lloyd; the bounds fail for too many points of overlapping
      clusters to pay for themselves;
    - at most 4 features: Lloyd up to 31 clusters, Hamerly up to 63, then Exponion, whose
      searches look only at the centers near a point's own;
    - 5 features or more: Hamerly up to 127 clusters (its failing points searched eight at a
      time by dot products), then Yinyang, which searches only the groups of centers that can
      hold a nearer one; with 32+ features, Lloyd if ``max_iter`` is below
      ``BOUNDS_PAY_BACK_ITERATIONS``.

    Elkan (a bound per center) is never the fastest since the other bounds kernels search by
    dot products; it stays available by name. ``wide_vectors=None`` means this machine's.
    """
    from kmeans_core._kernels import WIDE_VECTORS
    from kmeans_core._kernels.common import FEW_FEATURES

    if wide_vectors is None:
        wide_vectors = WIDE_VECTORS
    if n_clusters < 16 or wide_vectors:
        return "lloyd"
    if n_features <= FEW_FEATURES:
        if n_clusters < 32:
            return "lloyd"
        return "hamerly" if n_clusters < 64 else "exponion"
    if n_features >= 32 and max_iter < BOUNDS_PAY_BACK_ITERATIONS:
        return "lloyd"
    return "hamerly" if n_clusters < YINYANG_FROM_CLUSTERS else "yinyang"


class KMeans(EstimatorMixin):
    """K-Means clustering, exact against scikit-learn's Lloyd, with faster exact algorithms.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"} or ndarray of shape (n_clusters, n_features)
        How to choose the initial centers: greedy k-means++, random distinct rows drawn with
        probability proportional to their weight, or the given centers.
    n_init : "auto" or int, default="auto"
        Number of runs from different initial centers; the one with the lowest inertia is kept.
        "auto" means 1 for k-means++ or an array, 10 for random.
    max_iter : int, default=300
        Most iterations of one run.
    tol : float, default=1e-4
        Convergence tolerance on the sum of squared center shifts, relative to the mean variance
        of the features.
    algorithm : {"auto", "lloyd", "hamerly", "elkan", "exponion", "yinyang"}, default="auto"
        "lloyd" computes every distance; the others skip the distances that
        triangle-inequality bounds prove useless and return exactly what "lloyd" returns.
        "auto" picks the fastest for the data's shape (see ``choose_algorithm``); small
        problems (up to 1,000 samples, ``_small.is_small``) run Lloyd in vectorised NumPy,
        which gives the kernels' labels, iteration count and centers without compiling them.
    random_state : None, int, numpy RandomState or Generator, default=None
        Source of randomness for the initial centers. An int gives the same initial centers as
        scikit-learn with that int.
    n_threads : int, default=None
        Most threads to use; None means all cores. Small problems (under about a million
        point-center-feature triples per iteration) run on one thread, which is faster there.
        The result does not depend on it.
    refine : {None, "swap"}, default=None
        None: the best of the ``n_init`` runs, as scikit-learn returns it. "swap": then a local
        search out of poor local minima (``kmeans_core.refine``): one center at a time is
        swapped for a data point where the clustering is poor, Lloyd runs again, and the swap
        is kept if the inertia falls. The result is a Lloyd fixed point with an inertia at most
        that of the same fit without it.
    max_swaps : int, default=None
        With ``refine="swap"``, the most swaps tried; None means ``50 * n_clusters``. The
        search stops earlier after ``2 * n_clusters`` swaps in a row that were not kept.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
    inertia_ : float
        Weighted sum of squared distances of the samples to their closest center.
    n_iter_ : int
        Number of iterations of the best run (with ``refine="swap"``, of the last Lloyd run
        kept).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,), dtype object
        The column names of X, when X was a table (such as a pandas DataFrame) with string
        column names.
    algorithm_ : str
        The algorithm that ran (what "auto" resolved to).
    n_swaps_tried_, n_swaps_kept_ : int
        With ``refine="swap"``, how many swaps were tried and how many kept (else 0).
    """

    _estimator_type = "clusterer"
    _fitted_attribute = "cluster_centers_"

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        algorithm="auto",
        random_state=None,
        n_threads=None,
        refine=None,
        max_swaps=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_threads = n_threads
        self.refine = refine
        self.max_swaps = max_swaps

    # ------------------------------------------------------------------ checks
    def _check_params(self, X):
        n_samples, n_features = X.shape
        check_n_clusters(self.n_clusters, n_samples)
        check_int(self.max_iter, "max_iter", minimum=1)
        if isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real):
            raise InvalidParameterError(f"tol must be a number, got {self.tol!r}.")
        if not np.isfinite(self.tol) or self.tol < 0:
            raise InvalidParameterError(f"tol must be a finite number >= 0, got {self.tol}.")
        if self.algorithm != "auto" and self.algorithm not in ALGORITHMS:
            raise ValueError(
                f"Unknown algorithm {self.algorithm!r}; choose one of {['auto', *ALGORITHMS]}."
            )
        check_int(self.n_threads, "n_threads", minimum=1, none=True, accepted="an int or None")
        if self.refine not in (None, "swap"):
            raise InvalidParameterError(f"Unknown refine {self.refine!r}; choose None or 'swap'.")
        check_int(self.max_swaps, "max_swaps", minimum=0, none=True, accepted="an int or None")

        init = self.init
        if isinstance(init, str):
            if init not in ("k-means++", "random"):
                raise ValueError(
                    f"Unknown init {init!r}; use 'k-means++', 'random' or an array of shape "
                    f"(n_clusters, n_features)."
                )
            default_n_init = 10 if init == "random" else 1
        elif hasattr(init, "__array__") or isinstance(init, (list, tuple)):
            init = check_array(init, name="init", dtype=(X.dtype,))
            if init.shape != (self.n_clusters, n_features):
                raise ValueError(
                    f"init array has shape {init.shape}, but it must be (n_clusters, n_features)"
                    f" = ({self.n_clusters}, {n_features})."
                )
            default_n_init = 1
        else:
            raise InvalidParameterError(
                f"init must be 'k-means++', 'random' or an array, got {type(init).__name__}."
            )

        n_init = self.n_init
        if isinstance(n_init, str) and n_init == "auto":
            n_init = default_n_init
        check_int(n_init, "n_init", minimum=1, accepted="'auto' or an int")
        if not isinstance(init, str) and n_init != 1:
            warnings.warn(
                f"An explicit init array gives the same run every time; n_init={n_init} was "
                "changed to 1.",
                RuntimeWarning,
                stacklevel=3,
            )
            n_init = 1
        return init, int(n_init)

    def _check_test_data(self, X):
        self._check_fitted()
        X = self._validate_data(X, reset=False)
        return np.ascontiguousarray(X, dtype=self.cluster_centers_.dtype)

    # --------------------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None):
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, float32 or float64 (other numeric types become float64).
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample; None weighs every sample 1.

        Returns
        -------
        self : KMeans
        """
        # finite=False: checked from the column sums (``center_data``).
        X = self._validate_data(X, reset=True, finite=False)
        init, n_init = self._check_params(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        random_state = check_random_state(self.random_state)
        n_samples, n_features = X.shape

        algorithm = self.algorithm
        # Small problems run Lloyd in NumPy: the kernels' answer, without compiling them.
        small = algorithm == "auto" and _small.is_small(n_samples, n_features, self.n_clusters)
        if small:
            algorithm = "lloyd"
        elif algorithm == "auto":
            algorithm = choose_algorithm(n_samples, n_features, self.n_clusters, self.max_iter)
        n_threads = self._threads_for(X)

        # Center the data (as scikit-learn does) for more accurate distances; tol is relative
        # to the mean variance of the features.
        if small:
            X, X_mean, mean_variance = _small.center_data(X)
        else:
            from kmeans_core._loop import center_data, run_kmeans

            assigner_type = assigner_class(algorithm)
            X, X_mean, mean_variance, X_tiles = center_data(
                X, n_threads, assigner_type.tile_format(n_samples, n_features, self.n_clusters)
            )
        tol = absolute_tol(self.tol, mean_variance)
        if not isinstance(init, str):
            init = init - X_mean

        def initial_centers():
            if isinstance(init, str) and init == "k-means++":
                return greedy_kmeans_plusplus(
                    X,
                    self.n_clusters,
                    sample_weight,
                    random_state,
                    n_threads=n_threads,
                    small=small,
                )[0]
            if isinstance(init, str):
                return random_init(X, self.n_clusters, sample_weight, random_state)
            return init

        def small_runs(n_runs):
            # Side by side in NumPy. Lloyd draws nothing, so drawing the initial centers of
            # every run first keeps the random stream.
            if isinstance(init, str) and init == "k-means++":
                centers_init = small_kmeans_plusplus_runs(
                    X, self.n_clusters, sample_weight, random_state, n_runs
                )
            else:
                centers_init = np.stack([initial_centers() for _ in range(n_runs)])
            return _small.lloyd_restarts(
                X, sample_weight, centers_init, max_iter=self.max_iter, tol=tol
            )

        if small:
            batch = _small.runs_per_batch(n_samples, n_features, self.n_clusters)
            runs = itertools.chain.from_iterable(
                small_runs(min(batch, n_init - start)) for start in range(0, n_init, batch)
            )
        else:
            runs = (
                run_kmeans(
                    assigner_type(X, sample_weight, self.n_clusters, n_threads, X_tiles),
                    initial_centers(),
                    max_iter=self.max_iter,
                    tol=tol,
                )
                for _ in range(n_init)
            )
        best = _best_run(runs, self.n_clusters)

        n_tried = n_kept = 0
        if self.refine == "swap":
            max_swaps = self.max_swaps
            if max_swaps is None:
                max_swaps = default_max_swaps(self.n_clusters)

            def lloyd(centers, max_iter, tol):
                if small:
                    return _small.lloyd(X, sample_weight, centers, max_iter=max_iter, tol=tol)
                assigner = assigner_type(X, sample_weight, self.n_clusters, n_threads, X_tiles)
                return run_kmeans(assigner, centers, max_iter=max_iter, tol=tol)

            best, n_tried, n_kept = swap_refine(
                X,
                sample_weight,
                lloyd,
                best,
                n_threads=n_threads,
                max_iter=self.max_iter,
                max_swaps=max_swaps,
                random_state=random_state,
            )

        return self._fitted(best, X, X_mean, algorithm, n_tried, n_kept)

    def _fitted(self, best, X, X_mean, algorithm, n_tried=0, n_kept=0):
        """Record the best run (on the centered ``X``) as the fitted attributes; warn if it
        did not converge or found fewer clusters; return ``self``."""
        labels, inertia, centers, n_iter, converged = best
        self.n_swaps_tried_ = n_tried
        self.n_swaps_kept_ = n_kept
        self.cluster_centers_ = centers + X_mean
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.algorithm_ = algorithm
        self._warn_if_degenerate(X, converged)
        return self

    def _side_by_side(self, X, seeded):
        """For ``fit_many``: when this fit runs Lloyd in NumPy from k-means++ on float64 data,
        everything ``fit`` does before its runs (the checks, the centered data, the tolerance
        and the k-means++ random numbers, drawn now from ``seeded(random_state)``); else None,
        and nothing was drawn."""
        if not (
            self.algorithm == "auto"
            and isinstance(self.init, str)
            and self.init == "k-means++"
            and self.refine is None
        ):
            return None
        X = self._validate_data(X, reset=True, finite=False)
        n_samples, n_features = X.shape
        if X.dtype != np.float64 or not _small.is_small(n_samples, n_features, self.n_clusters):
            return None
        _, n_init = self._check_params(X)
        sample_weight = check_sample_weight(None, n_samples, X.dtype)
        random_state = seeded(self.random_state)
        X, X_mean, mean_variance = _small.center_data(X)
        first, draws = kmeans_plusplus_draws(random_state, sample_weight, self.n_clusters, n_init)
        return _SideBySide(self, X, X_mean, absolute_tol(self.tol, mean_variance), first, draws, [])

    def _warn_if_degenerate(self, X, converged):
        if not converged:
            warnings.warn(
                f"KMeans stopped at max_iter={self.max_iter} before converging; raise max_iter "
                "or tol for a settled result.",
                ConvergenceWarning,
                stacklevel=3,
            )
        n_found = int(np.count_nonzero(np.bincount(self.labels_, minlength=self.n_clusters)))
        if n_found < self.n_clusters:
            n_distinct = np.unique(X, axis=0).shape[0]
            if n_distinct < self.n_clusters:
                reason = f"X has only {n_distinct} distinct points"
            else:
                reason = "some clusters ended up empty"
            warnings.warn(
                f"Only {n_found} distinct clusters were found for n_clusters={self.n_clusters}: "
                f"{reason}.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_``: ndarray of shape (n_samples,)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    # ----------------------------------------------------------------- predict
    def _threads_for(self, X):
        """Threads for one pass of distances from ``X`` to the centers (``threads_for``; one
        distance costs about n_features + 2 units)."""
        n_samples, n_features = X.shape
        return threads_for(n_samples * self.n_clusters * (n_features + 2), self.n_threads)

    def _centers_for_kernels(self):
        """The centers as ``all_distances`` takes them: (centers, centers_t)."""
        from kmeans_core._kernels.common import transposed_if_few_features

        centers = np.ascontiguousarray(self.cluster_centers_)
        return centers, transposed_if_few_features(centers)

    def predict(self, X):
        """Index of the nearest center of each sample: ndarray of shape (n_samples,)."""
        return self._predict(self._check_test_data(X))

    def _predict(self, X):
        """``predict`` of checked data (``_check_test_data``)."""
        from kmeans_core.lloyd import nearest_centers

        centers = np.ascontiguousarray(self.cluster_centers_)
        return nearest_centers(X, centers, self._threads_for(X))

    def transform(self, X):
        """Euclidean distance of each sample to each center: ndarray (n_samples, n_clusters)."""
        from kmeans_core._kernels.common import all_distances, n_blocks_for

        X = self._check_test_data(X)
        out = np.empty((X.shape[0], self.cluster_centers_.shape[0]), dtype=X.dtype)
        n_blocks = n_blocks_for(X.shape[0])
        run_blocks(
            all_distances,
            n_blocks,
            self._threads_for(X),
            X,
            *self._centers_for_kernels(),
            n_blocks,
            out,
        )
        return np.sqrt(out, out=out)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of the training samples to the centers."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of ``X`` against the fitted centers (higher is better)."""
        from kmeans_core._loop import inertia_of

        X = self._check_test_data(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        labels = self._predict(X)
        return -inertia_of(X, sample_weight, self.cluster_centers_, labels, self._threads_for(X))


def _same_partition(labels1, labels2, n_clusters):
    """Whether two labelings are the same partition up to renaming the clusters."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    first = np.unique(labels1, return_index=True)[1]
    mapping[labels1[first]] = labels2[first]
    return bool(np.array_equal(mapping[labels1], labels2))


def _best_run(runs, n_clusters):
    """The best of the runs ``(labels, inertia, centers, n_iter, converged)``, in order: a
    run replaces the best only if it is better and not the same partition (the same partition
    can differ in inertia by rounding alone)."""
    best = None
    for run in runs:
        if best is None or (run[1] < best[1] and not _same_partition(run[0], best[0], n_clusters)):
            best = run
    return best


class _SideBySide(NamedTuple):
    """A fit of ``fit_many`` waiting for its runs: the model, its centered data, their mean,
    the absolute tolerance, the k-means++ random numbers of its ``n_init`` runs, and the runs'
    results once they are in."""

    model: KMeans
    X: np.ndarray
    X_mean: np.ndarray
    tol: float
    first: np.ndarray
    draws: np.ndarray
    results: list


def fit_many(models, datasets, *, on_fit=None):
    """Fit every model to its data set: what ``[m.fit(X) for m, X in zip(models, datasets)]``
    does, faster when there are many small fits.

    The fits that run Lloyd in NumPy from k-means++ (``algorithm="auto"`` on a small problem,
    ``init="k-means++"``, no ``refine``, float64 data) go side by side: their restarts run in
    one vectorised Lloyd per data width (``_small.lloyd_restarts`` with each run's own data and
    number of clusters), so NumPy's cost per call, which dominates on a few hundred rows, is
    paid once per step for all of them instead of once per fit. That is how the k sweep, the
    gap statistic's reference data sets and the bootstrap's draws are fitted. Each model ends
    bit for bit as its own ``fit`` would leave it, its random numbers drawn in the same order;
    the other models are fitted one by one as they come.

    Parameters
    ----------
    models : iterable of KMeans
    datasets : iterable of array-like of shape (n_samples, n_features)
        One per model, read in turn (a generator keeps one at a time in memory when the fits
        are not small).
    on_fit : callable or None
        ``on_fit(i, model)`` when the i-th model is fitted: at once for a fit one by one, after
        all of them for the fits side by side.

    Returns
    -------
    list of KMeans
        The models, fitted.
    """
    scratch = []

    def seeded(random_state):
        # An int seeds a fresh RandomState in ``fit``: re-seeding one gives the same numbers
        # without building a generator per fit.
        if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
            if not scratch:
                scratch.append(np.random.RandomState())
            scratch[0].seed(int(random_state))
            return scratch[0]
        return check_random_state(random_state)

    fitted, waiting = [], {}
    for i, (model, X) in enumerate(zip(models, datasets, strict=True)):
        fitted.append(model)
        fit = model._side_by_side(X, seeded)
        if fit is None:
            model.fit(X)
            if on_fit is not None:
                on_fit(i, model)
        else:
            waiting.setdefault((fit.X.shape[1], model.max_iter), []).append((i, fit))

    for (n_features, max_iter), fits in waiting.items():
        # The most clusters first: the runs that have center j are then the first ones; then
        # the most rows, so that a batch pads its data sets to fewer rows.
        by_clusters = sorted(
            (fit for _, fit in fits), key=lambda fit: (-fit.model.n_clusters, -fit.X.shape[0])
        )
        _run_side_by_side(by_clusters, n_features, max_iter)
    done = sorted((item for fits in waiting.values() for item in fits), key=lambda item: item[0])
    for i, fit in done:
        best = _best_run(fit.results, n_clusters=fit.model.n_clusters)
        fit.model._fitted(best, fit.X, fit.X_mean, "lloyd")
        if on_fit is not None:
            on_fit(i, fit.model)
    return fitted


def _run_side_by_side(fits, n_features, max_iter):
    """The runs of ``fits`` (of one width and ``max_iter``, the most clusters first): k-means++
    and Lloyd side by side, as many runs at once as ``_small.runs_per_batch`` allows for the
    most rows and clusters; each fit's ``results`` get its runs in order."""
    n_rows = max(fit.X.shape[0] for fit in fits)
    per_batch = _small.runs_per_batch(n_rows, n_features, fits[0].model.n_clusters)
    batch, n_runs = [], 0
    for fit in fits:
        n_init = fit.first.shape[0]
        for start in range(0, n_init, per_batch):
            stop = min(n_init, start + per_batch)
            if n_runs + stop - start > per_batch:
                _run_batch(batch, n_runs, max_iter)
                batch, n_runs = [], 0
            batch.append((fit, start, stop))
            n_runs += stop - start
    _run_batch(batch, n_runs, max_iter)


def _run_batch(batch, n_runs, max_iter):
    """The runs ``start:stop`` of each ``(fit, start, stop)`` in ``batch`` (the most clusters
    first), one data set per run, padded to the most rows among them."""
    n_rows = max(fit.X.shape[0] for fit, _, _ in batch)
    n_features = batch[0][0].X.shape[1]
    k_max = batch[0][0].model.n_clusters
    X = np.zeros((n_runs, n_rows, n_features))
    sample_weight = np.zeros((n_runs, n_rows))
    n_valid = np.empty(n_runs, dtype=np.intp)
    n_clusters = np.empty(n_runs, dtype=np.intp)
    tol = np.empty(n_runs)
    at = 0
    for fit, start, stop in batch:
        runs = slice(at, at + stop - start)
        n_samples = fit.X.shape[0]
        X[runs, :n_samples] = fit.X
        sample_weight[runs, :n_samples] = 1.0
        n_valid[runs] = n_samples
        n_clusters[runs] = fit.model.n_clusters
        tol[runs] = fit.tol
        at = runs.stop
    padded = n_valid if (n_valid < n_rows).any() else None
    # k-means++ for the runs of each number of clusters (their draws have its shape).
    centers = np.zeros((n_runs, k_max, n_features))
    at = 0
    for k, entries in itertools.groupby(batch, key=lambda entry: entry[0].model.n_clusters):
        entries = list(entries)
        first = np.concatenate([fit.first[start:stop] for fit, start, stop in entries])
        draws = np.concatenate([fit.draws[start:stop] for fit, start, stop in entries])
        runs = slice(at, at + first.shape[0])
        centers[runs, :k] = _small.kmeans_plusplus_of_runs(
            X[runs], sample_weight[runs], first, draws, None if padded is None else n_valid[runs]
        )
        at = runs.stop
    results = _small.lloyd_restarts(
        X,
        sample_weight,
        centers,
        max_iter=max_iter,
        tol=tol,
        n_valid=padded,
        n_clusters=n_clusters,
    )
    at = 0
    for fit, start, stop in batch:
        fit.results.extend(results[at : at + stop - start])
        at += stop - start
