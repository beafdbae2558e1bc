"""KPrototypes: clustering of mixed numeric and categorical data (Huang 1998).

The cost of a row against a prototype is the squared Euclidean distance on the numeric
features plus ``gamma`` times the number of categorical features that differ from the
prototype's modes. This is kmodes' algorithm (``kmodes.kprototypes``, 0.12), step for step:
the same initialisations (Cao, Huang, random rows; numeric prototypes drawn around the mean),
the same point-by-point moves that update the two prototypes concerned at once, the same
refill of an emptied cluster, the same stopping rule (no move, or a cost that did not fall) and
the same random draws, so with the same seed it returns kmodes' labels and cost. Categories are
turned into integer codes once (sorted, as kmodes sorts them) and the passes run in numba.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from kmeans_core._base import EstimatorMixin
from kmeans_core._validation import check_n_clusters, check_random_state

INITS = ("cao", "huang", "random")
#: kmodes' retry rule: an initialisation that leaves a cluster empty is drawn again; after this
#: many tries it switches to random rows, and after ``GIVE_UP_TRIES`` it gives up.
RANDOM_AFTER_TRIES = 20
GIVE_UP_TRIES = 100


class UnknownCategoryWarning(UserWarning):
    """``predict`` met categories that were not in the data the model was fitted on; they match
    no prototype's mode (one mismatch each)."""


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _column_positions(categorical, n_features, names):
    """Categorical column positions from indices (or names, for a DataFrame)."""
    if isinstance(categorical, (numbers.Integral, str)):
        categorical = [categorical]
    try:
        categorical = list(categorical)
    except TypeError:
        raise ValueError(
            f"categorical must be a list of column indices or names, got {categorical!r}."
        ) from None
    positions = []
    for col in categorical:
        if isinstance(col, str) or names is not None and col in names:
            if names is None or col not in names:
                raise ValueError(f"categorical column {col!r} is not a column of X.")
            positions.append(names.index(col))
        elif isinstance(col, numbers.Integral) and not isinstance(col, bool):
            if not -n_features <= col < n_features:
                raise ValueError(
                    f"categorical index {col} is out of range for X with {n_features} columns."
                )
            positions.append(int(col) % n_features)
        else:
            raise ValueError(f"categorical must hold column indices or names, got {col!r}.")
    if len(set(positions)) != len(positions):
        raise ValueError("categorical lists a column more than once.")
    return sorted(positions)


def _split_columns(X, categorical):
    """Split ``X`` into its numeric block and its categorical columns.

    Returns
    -------
    numeric : ndarray of shape (n_samples, n_numeric), float64, C-contiguous
    columns : list of ndarray of shape (n_samples,), the raw categorical columns
    cat_positions : list of int
    names : list of str or None
    """
    if _is_dataframe(X):
        names = [str(c) for c in X.columns]
        if categorical is None:
            categorical = [
                j for j, dtype in enumerate(X.dtypes) if getattr(dtype, "kind", "O") not in "iuf"
            ]
        raw = [X.iloc[:, j].to_numpy() for j in range(len(names))]
        n_samples, n_features = len(X), len(names)
    else:
        names = None
        arr = np.asarray(X, dtype=object if not hasattr(X, "dtype") else None)
        if arr.ndim != 2:
            raise ValueError(
                f"X must be 2-D of shape (n_samples, n_features), got shape {arr.shape}."
            )
        if categorical is None:
            raise ValueError(
                "categorical is required for an array: give the indices of its categorical "
                "columns, e.g. fit(X, categorical=[2, 3])."
            )
        n_samples, n_features = arr.shape
        raw = [arr[:, j] for j in range(n_features)]
    cat_positions = _column_positions(categorical, n_features, names)
    if not cat_positions:
        raise ValueError(
            "No categorical columns: K-Prototypes needs at least one (list them in categorical); "
            "for numeric data alone use KMeans."
        )
    if len(cat_positions) == n_features:
        raise ValueError(
            "Every column is categorical: K-Prototypes needs at least one numeric column "
            "(for categorical data alone use k-modes)."
        )
    if n_samples == 0:
        raise ValueError("X has no rows.")
    numeric = np.empty((n_samples, n_features - len(cat_positions)), dtype=np.float64)
    f = 0
    for j in range(n_features):
        if j in cat_positions:
            continue
        try:
            numeric[:, f] = raw[j]
        except (ValueError, TypeError):
            label = repr(names[j]) if names else j
            raise ValueError(
                f"Column {label} holds values that are not numbers; list it in categorical."
            ) from None
        f += 1
    if not np.isfinite(numeric).all():
        raise ValueError(
            "X has missing or infinite values in its numeric columns; impute or drop them first."
        )
    return numeric, [raw[j] for j in cat_positions], cat_positions, names


def _encode_fit(columns, labels):
    """Sorted categories per column and the codes of every row, int32 (n, m)."""
    codes = np.empty((len(columns[0]), len(columns)), dtype=np.int32)
    categories = []
    for a, (col, label) in enumerate(zip(columns, labels, strict=True)):
        values = col.tolist()
        distinct = set(values)
        if any(v is None or (isinstance(v, float) and v != v) for v in distinct):
            raise ValueError(
                f"Categorical column {label} has missing values; fill them (for example with "
                "'unknown') first."
            )
        try:
            uniques = sorted(distinct)
        except TypeError:
            raise ValueError(
                f"Categorical column {label} mixes kinds of values (text with numbers); make "
                "the column one type."
            ) from None
        lookup = {value: code for code, value in enumerate(uniques)}
        codes[:, a] = np.fromiter(map(lookup.__getitem__, values), dtype=np.int32, count=len(col))
        uniques_array = np.empty(len(uniques), dtype=object)
        uniques_array[:] = uniques
        if col.dtype != object:
            uniques_array = uniques_array.astype(col.dtype)
        categories.append(uniques_array)
    return codes, categories


def _encode_known(columns, categories):
    """Codes of rows against fitted categories (-1 where a category is unknown), int32 (n, m),
    and the number of unknown values per column."""
    codes = np.empty((len(columns[0]), len(columns)), dtype=np.int32)
    n_unknown = []
    for a, (col, cats) in enumerate(zip(columns, categories, strict=True)):
        lookup = {value: code for code, value in enumerate(cats.tolist())}
        codes[:, a] = np.fromiter(
            (lookup.get(value, -1) for value in col.tolist()), dtype=np.int32, count=len(col)
        )
        n_unknown.append(int((codes[:, a] < 0).sum()))
    return codes, n_unknown


def cao_modes(codes, n_clusters):
    """Cao et al. (2009) initial modes, as kmodes computes them: the densest row first, then
    each time the row farthest (in mismatches, weighted by density) from the modes so far.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_categorical), int32
    n_clusters : int

    Returns
    -------
    modes : ndarray of shape (n_clusters, n_categorical), int32
    """
    n, m = codes.shape
    density = np.zeros(n)
    for a in range(m):
        frequency = np.bincount(codes[:, a])
        density += frequency[codes[:, a]] / float(n) / float(m)
    modes = np.empty((n_clusters, m), dtype=np.int32)
    modes[0] = codes[np.argmax(density)]
    nearest = None
    for c in range(1, n_clusters):
        weighted = (codes != modes[c - 1]).sum(axis=1) * density
        nearest = weighted if nearest is None else np.minimum(nearest, weighted)
        modes[c] = codes[np.argmax(nearest)]
    return modes


def huang_modes(codes, n_clusters, random_state):
    """Huang (1997) initial modes, as kmodes draws them: a random category per column and mode
    (with the columns' frequencies), then each mode replaced by the nearest row that is not
    already a mode.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_categorical), int32
    n_clusters : int
    random_state : numpy.random.RandomState

    Returns
    -------
    modes : ndarray of shape (n_clusters, n_categorical), int32
    """
    n, m = codes.shape
    modes = np.empty((n_clusters, m), dtype=np.int32)
    for a in range(m):
        modes[:, a] = np.sort(codes[:, a])[random_state.randint(0, n, size=n_clusters)]
    for c in range(n_clusters):
        order = np.argsort((codes != modes[c]).sum(axis=1))
        candidates = codes[order[:-1]]
        is_mode = np.zeros(n - 1, dtype=bool)
        for mode in modes:
            is_mode |= (candidates == mode).all(axis=1)
        free = np.flatnonzero(~is_mode)
        modes[c] = codes[order[free[0]] if free.size else order[-1]]
    return modes


def one_pass(numeric, codes, centers, modes, gamma, labels, counts, sums, freq, random_state):
    """One pass of kmodes' iteration over every row, in place; returns the number of moves.

    A move that empties a cluster refills it with a random row of the largest cluster (the
    first largest), drawn from ``random_state`` as kmodes draws it.
    """
    from kmeans_core._kernels.kprototypes import move_pass, move_row

    result = np.zeros(3, dtype=np.int64)
    n_moves, start = 0, 0
    while True:
        move_pass(numeric, codes, centers, modes, gamma, labels, counts, sums, freq, start, result)
        n_moves += int(result[1])
        if result[2] < 0:
            return n_moves
        members = np.flatnonzero(labels == np.argmax(counts))
        row = members[random_state.randint(0, len(members))]
        move_row(numeric, codes, row, result[2], labels, counts, sums, freq, modes)
        start = result[0]


def _one_run(numeric, codes, n_levels, n_clusters, max_iter, gamma, init, seed, mean, std):
    """One k-prototypes run from one seed; returns (centers_num, modes, labels, cost, n_iter).

    ``mean`` and ``std`` (n_numeric,) of the numeric columns place the initial numeric centers.
    """
    from kmeans_core._kernels.kprototypes import assign, assign_and_count

    random_state = np.random.RandomState(seed)
    n, p = numeric.shape
    labels = np.empty(n, dtype=np.int64)
    counts = np.empty(n_clusters)
    sums = np.empty((n_clusters, p))
    freq = np.empty((n_clusters, codes.shape[1], n_levels), dtype=np.int64)
    kind = init if isinstance(init, str) else "given"
    tries = 0
    while True:
        tries += 1
        if kind == "huang":
            modes = huang_modes(codes, n_clusters, random_state)
        elif kind == "cao":
            modes = cao_modes(codes, n_clusters)
        elif kind == "random":
            modes = codes[random_state.randint(0, n, size=n_clusters)]
        if kind == "given":
            centers, modes = init[0].copy(), init[1].copy()
        else:
            centers = mean + random_state.randn(n_clusters, p) * std
        modes = np.ascontiguousarray(modes, dtype=np.int32)
        assign_and_count(numeric, codes, centers, modes, gamma, labels, counts, sums, freq)
        if counts.min() > 0:
            break
        if tries == RANDOM_AFTER_TRIES:
            kind = "random"
        elif tries == GIVE_UP_TRIES:
            raise ValueError(
                f"Could not initialise {n_clusters} non-empty clusters in {GIVE_UP_TRIES} tries; "
                "use fewer clusters or give the initial centers."
            )
    centers = sums / counts[:, None]
    modes = np.ascontiguousarray(np.argmax(freq, axis=2), dtype=np.int32)
    nearest = np.empty(n, dtype=np.int64)
    cost = assign(numeric, codes, centers, modes, gamma, nearest)
    n_iter = 0
    converged = False
    while n_iter < max_iter and not converged:
        n_iter += 1
        n_moves = one_pass(
            numeric, codes, centers, modes, gamma, labels, counts, sums, freq, random_state
        )
        new_cost = assign(numeric, codes, centers, modes, gamma, nearest)
        converged = n_moves == 0 or new_cost >= cost
        cost = new_cost
    return centers, modes, nearest, cost, n_iter


class KPrototypes(EstimatorMixin):
    """K-Prototypes clustering of mixed numeric and categorical data, kmodes' algorithm compiled.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    gamma : float or None, default=None
        Weight of one categorical mismatch against the squared Euclidean distance of the numeric
        features. None: half the mean standard deviation of the numeric columns (kmodes'
        default).
    init : {"cao", "huang", "random"} or array-like of shape (n_clusters, n_features), \
default="cao"
        Initial modes: Cao's density method, Huang's, or random rows; the numeric parts are
        drawn around the mean of the data (as kmodes does). An array gives the initial
        prototypes in X's column layout (numbers and category values); then one run is made.
    n_init : int, default=10
        Number of runs from different seeds; the one with the lowest cost is kept.
    max_iter : int, default=100
        Most passes over the data in one run.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the runs; the same int gives the same result (and kmodes' result).

    Attributes
    ----------
    cluster_centroids_ : ndarray of shape (n_clusters, n_features), object
        The prototypes in X's column layout: means of the numeric columns, modes (category
        values) of the categorical ones.
    numeric_centers_ : ndarray of shape (n_clusters, n_numeric), float64
    categorical_modes_ : ndarray of shape (n_clusters, n_categorical), int32
        Codes of the modes: index into ``categories_[j]``.
    categories_ : list of ndarray
        The sorted categories of each categorical column.
    categorical_ : list of int
        Positions of the categorical columns.
    labels_ : ndarray of shape (n_samples,), int64
        Nearest prototype of each row at the end.
    cost_ : float
        Sum over rows of the squared distance on the numeric columns plus ``gamma_`` times the
        mismatches, to the nearest prototype (kmodes' ``cost_``).
    n_iter_ : int
        Passes of the best run.
    gamma_ : float
        The weight used.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X was a DataFrame.
    """

    _estimator_type = "clusterer"
    _fitted_attribute = "numeric_centers_"

    def __init__(
        self,
        n_clusters=8,
        *,
        gamma=None,
        init="cao",
        n_init=10,
        max_iter=100,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.gamma = gamma
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def _check_params(self):
        for name in ("n_init", "max_iter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if self.gamma is not None:
            if (
                not isinstance(self.gamma, numbers.Real)
                or not np.isfinite(self.gamma)
                or (self.gamma < 0)
            ):
                raise ValueError(
                    f"gamma must be a non-negative number or None, got {self.gamma!r}."
                )
        if isinstance(self.init, str) and self.init.lower() not in INITS:
            raise ValueError(
                f"init must be one of {', '.join(INITS)} or an array of prototypes, "
                f"got {self.init!r}."
            )

    def _given_init(self, n_numeric):
        """The given prototypes as (float64 numeric centers, int32 mode codes)."""
        numeric, columns, positions, _ = _split_columns(self.init, self.categorical_)
        if (
            numeric.shape[0] != self.n_clusters
            or positions != self.categorical_
            or (numeric.shape[1] != n_numeric)
        ):
            raise ValueError(
                f"init must have shape ({self.n_clusters}, {self.n_features_in_}) in X's column "
                f"layout, got {len(numeric)} rows and {numeric.shape[1] + len(columns)} columns."
            )
        codes, n_unknown = _encode_known(columns, self.categories_)
        if sum(n_unknown):
            raise ValueError("init holds categories that are not in X.")
        return numeric, codes

    def fit(self, X, y=None, categorical=None):
        """Cluster ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or DataFrame
            Object array with numbers and category values (as kmodes takes it), or a DataFrame.
        y : ignored
        categorical : list of int or str, optional
            Positions (or DataFrame column names) of the categorical columns. Required for an
            array; for a DataFrame, by default every column that is not numeric.

        Returns
        -------
        self
        """
        from kmeans_core._kernels.kprototypes import assign, distinct_rows

        self._check_params()
        numeric, columns, positions, names = _split_columns(X, categorical)
        n_samples, n_numeric = numeric.shape
        check_n_clusters(self.n_clusters, n_samples)
        self.categorical_ = positions
        self.n_features_in_ = n_numeric + len(positions)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        labels_text = [repr(names[j]) if names else str(j) for j in positions]
        codes, self.categories_ = _encode_fit(columns, labels_text)
        # column by column (Fortran order), as kmodes sums them: the same floats to the last bit
        by_column = np.asfortranarray(numeric)
        mean, std = by_column.mean(axis=0), by_column.std(axis=0)
        gamma = 0.5 * np.mean(std) if self.gamma is None else float(self.gamma)
        self.gamma_ = float(gamma)

        first_rows = np.empty(self.n_clusters + 1, dtype=np.int64)
        n_distinct = distinct_rows(numeric, codes, self.n_clusters + 1, first_rows)
        if n_distinct < self.n_clusters:
            raise ValueError(
                f"X has only {n_distinct} distinct rows, fewer than n_clusters={self.n_clusters}; "
                "use fewer clusters."
            )
        labels = np.empty(n_samples, dtype=np.int64)
        if n_distinct == self.n_clusters:  # every distinct row is a prototype
            centers = numeric[first_rows[:n_distinct]].copy()
            modes = codes[first_rows[:n_distinct]].copy()
            cost = assign(numeric, codes, centers, modes, gamma, labels)
            best = (centers, modes, labels, cost, 0)
        else:
            init = self.init.lower() if isinstance(self.init, str) else self._given_init(n_numeric)
            n_init = self.n_init if isinstance(init, str) else 1
            random_state = check_random_state(self.random_state)
            if isinstance(random_state, np.random.Generator):
                seeds = random_state.integers(np.iinfo(np.int32).max, size=n_init)
            else:
                seeds = random_state.randint(np.iinfo(np.int32).max, size=n_init)
            n_levels = max(len(c) for c in self.categories_)
            best = None
            for seed in seeds:
                run = _one_run(
                    numeric,
                    codes,
                    n_levels,
                    self.n_clusters,
                    self.max_iter,
                    gamma,
                    init,
                    seed,
                    mean,
                    std,
                )
                if best is None or run[3] < best[3]:
                    best = run
        centers, modes, self.labels_, cost, self.n_iter_ = best
        self.numeric_centers_ = centers
        self.categorical_modes_ = modes
        self.cost_ = float(cost)
        return self

    @property
    def cluster_centroids_(self):
        self._check_fitted()
        k = self.numeric_centers_.shape[0]
        out = np.empty((k, self.n_features_in_), dtype=object)
        numeric_positions = [j for j in range(self.n_features_in_) if j not in self.categorical_]
        for f, j in enumerate(numeric_positions):
            out[:, j] = self.numeric_centers_[:, f]
        for a, j in enumerate(self.categorical_):
            out[:, j] = self.categories_[a][self.categorical_modes_[:, a]]
        return out

    def _encode(self, X, categorical):
        self._check_fitted()
        if categorical is None:
            categorical = (
                [self.feature_names_in_[j] for j in self.categorical_]
                if _is_dataframe(X) and hasattr(self, "feature_names_in_")
                else self.categorical_
            )
        numeric, columns, positions, names = _split_columns(X, categorical)
        if positions != self.categorical_ or numeric.shape[1] + len(columns) != (
            self.n_features_in_
        ):
            raise ValueError(
                f"X must have the fitted layout: {self.n_features_in_} columns, categorical at "
                f"positions {self.categorical_}."
            )
        if names is not None and hasattr(self, "feature_names_in_"):
            if list(names) != list(self.feature_names_in_):
                raise ValueError("X's columns are not the columns the model was fitted on.")
        codes, n_unknown = _encode_known(columns, self.categories_)
        return numeric, codes, n_unknown

    def unknown_categories(self, X, categorical=None):
        """How many values of each categorical column of ``X`` were not seen in fit.

        Returns
        -------
        counts : dict
            Column position (or name, for a DataFrame fitted by name) -> number of unknown values.
        """
        _, _, n_unknown = self._encode(X, categorical)
        return dict(zip(self._categorical_labels(), n_unknown, strict=True))

    def _categorical_labels(self):
        if hasattr(self, "feature_names_in_"):
            return [str(self.feature_names_in_[j]) for j in self.categorical_]
        return list(self.categorical_)

    def predict(self, X, categorical=None):
        """Nearest prototype of each row of ``X`` by the mixed cost.

        A category not seen in fit matches no mode (it counts as one mismatch against every
        prototype); an ``UnknownCategoryWarning`` says how many there were.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or DataFrame
        categorical : list of int or str, optional
            Defaults to the columns used in fit.

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
        """
        from kmeans_core._kernels.kprototypes import assign

        numeric, codes, n_unknown = self._encode(X, categorical)
        if sum(n_unknown):
            detail = ", ".join(
                f"{count} in column {label}"
                for label, count in zip(self._categorical_labels(), n_unknown, strict=True)
                if count
            )
            warnings.warn(
                f"{sum(n_unknown)} categorical value(s) were not seen in fit ({detail}); "
                "each counts as a mismatch against every prototype.",
                UnknownCategoryWarning,
                stacklevel=2,
            )
        labels = np.empty(len(numeric), dtype=np.int64)
        assign(numeric, codes, self.numeric_centers_, self.categorical_modes_, self.gamma_, labels)
        return labels

    def fit_predict(self, X, y=None, categorical=None):
        """Fit and return ``labels_``."""
        return self.fit(X, categorical=categorical).labels_
