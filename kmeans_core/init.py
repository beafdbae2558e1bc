"""Initial centers: greedy k-means++ (weighted) and random sampling.

Both draw their random numbers exactly as scikit-learn does, from the same kind of generator, so
the same integer seed gives the same initial centers as ``sklearn.cluster.kmeans_plusplus``.
"""

from __future__ import annotations

import numpy as np

from kmeans_core import _small
from kmeans_core._parallel import run_blocks
from kmeans_core._validation import (
    check_array,
    check_int,
    check_n_clusters,
    check_random_state,
    check_sample_weight,
)


def _choose(random_state, n, *, size=None, replace=True, p=None):
    """``choice`` for both RandomState and Generator."""
    return random_state.choice(n, size=size, replace=replace, p=p)


def _candidate_pots(X, sample_weight, candidates, closest_dist_sq, n_blocks, out, n_threads):
    """Fill ``out[c] = min(closest_dist_sq, |X - X[candidates[c]]|^2)`` and return the weighted
    potential of each candidate, the blocks added in order; in NumPy when ``n_blocks`` is None
    (``_small.candidate_pots``)."""
    if n_blocks is None:
        return _small.candidate_pots(X, sample_weight, candidates, closest_dist_sq, out)
    from kmeans_core._kernels.common import transposed_if_few_features
    from kmeans_core._kernels.init import candidate_distances

    partial = np.zeros((n_blocks, candidates.shape[0]), dtype=np.float64)
    rows = np.ascontiguousarray(X[candidates])
    run_blocks(
        candidate_distances,
        n_blocks,
        n_threads,
        X,
        sample_weight,
        rows,
        transposed_if_few_features(rows),
        closest_dist_sq,
        n_blocks,
        out,
        partial,
    )
    return partial.sum(axis=0)


def greedy_kmeans_plusplus(
    X, n_clusters, sample_weight, random_state, n_local_trials=None, n_threads=None, small=None
):
    """k-means++ on validated arrays (no checks): returns (centers, indices).

    Each new center is the best of ``n_local_trials`` candidates drawn with probability
    proportional to ``sample_weight * D(x)^2``, the best being the one that lowers the total
    weighted squared distance the most (Arthur & Vassilvitskii's greedy variant). The
    candidates' distances come from NumPy when ``small`` (None: when ``_small.is_small``), else
    from the numba kernel; the same centers either way.
    """
    n_samples, n_features = X.shape
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    if small is None:
        small = _small.is_small(n_samples, n_features, n_clusters)
    if small:
        n_blocks = n_threads = None  # NumPy
    else:
        from kmeans_core._kernels.common import n_blocks_for

        n_blocks = n_blocks_for(n_samples)

    centers = np.empty((n_clusters, n_features), dtype=X.dtype)
    indices = np.full(n_clusters, -1, dtype=int)

    center_id = _choose(random_state, n_samples, p=sample_weight / sample_weight.sum())
    centers[0] = X[center_id]
    indices[0] = center_id

    # Squared distance of every point to its closest center so far, and their weighted total.
    # (The largest float stands in for infinity, which fastmath kernels may not compare.)
    far = np.full(n_samples, np.finfo(X.dtype).max, dtype=X.dtype)
    closest_dist_sq = np.empty((1, n_samples), dtype=X.dtype)
    current_pot = _candidate_pots(
        X, sample_weight, np.array([center_id]), far, n_blocks, closest_dist_sq, n_threads
    )[0]
    closest_dist_sq = closest_dist_sq[0]

    distance_to_candidates = np.empty((n_local_trials, n_samples), dtype=X.dtype)
    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        candidate_ids = np.searchsorted(np.cumsum(sample_weight * closest_dist_sq), rand_vals)
        # Rounding can put a draw just past the last cumulative sum.
        np.clip(candidate_ids, None, n_samples - 1, out=candidate_ids)

        candidates_pot = _candidate_pots(
            X,
            sample_weight,
            candidate_ids,
            closest_dist_sq,
            n_blocks,
            distance_to_candidates,
            n_threads,
        )
        best = int(np.argmin(candidates_pot))
        current_pot = candidates_pot[best]
        closest_dist_sq = distance_to_candidates[best].copy()
        centers[c] = X[candidate_ids[best]]
        indices[c] = candidate_ids[best]
    return centers, indices


def small_kmeans_plusplus_runs(X, n_clusters, sample_weight, random_state, n_runs):
    """The initial centers of ``n_runs`` runs: what ``n_runs`` calls of
    ``greedy_kmeans_plusplus(..., small=True)`` in a row return, computed side by side.

    The random numbers a call draws do not depend on the data (one ``choice``, then one
    ``uniform`` per further center), so they are drawn first, in the calls' order
    (``kmeans_plusplus_draws``); then one NumPy call serves every run at each step
    (``_small.kmeans_plusplus_of_runs``).

    Returns
    -------
    centers : ndarray of shape (n_runs, n_clusters, n_features)
    """
    first, draws = kmeans_plusplus_draws(random_state, sample_weight, n_clusters, n_runs)
    return _small.kmeans_plusplus_of_runs(X, sample_weight, first, draws)


def kmeans_plusplus_draws(random_state, sample_weight, n_clusters, n_runs):
    """The random numbers of ``n_runs`` calls of ``greedy_kmeans_plusplus`` in a row.

    Returns
    -------
    first : ndarray of shape (n_runs,), int
        Each call's first center, a row drawn with probability proportional to its weight.
    draws : ndarray of shape (n_runs, n_clusters - 1, n_local_trials)
        Each call's uniform numbers in [0, 1) for the later centers.
    """
    n_samples = sample_weight.shape[0]
    n_local_trials = 2 + int(np.log(n_clusters))
    total = sample_weight.sum()
    p = sample_weight / total
    fast = type(random_state) is np.random.RandomState and p.dtype == np.float64
    if fast and np.isfinite(total):  # else ``choice`` says what is wrong with ``p``
        # One call for every number: ``choice`` with ``p`` takes one ``random_sample`` and
        # looks it up in the normalised cumulative ``p`` (NumPy's legacy stream, which does not
        # change), and ``uniform`` in [0, 1) is ``random_sample`` itself.
        numbers = random_state.random_sample(n_runs * (1 + (n_clusters - 1) * n_local_trials))
        numbers = numbers.reshape(n_runs, -1)
        cdf = p.cumsum()
        cdf /= cdf[-1]
        first = cdf.searchsorted(numbers[:, 0], side="right")
        return first, numbers[:, 1:].reshape(n_runs, n_clusters - 1, n_local_trials)
    first = np.empty(n_runs, dtype=np.intp)
    draws = np.empty((n_runs, n_clusters - 1, n_local_trials))
    for run in range(n_runs):
        first[run] = _choose(random_state, n_samples, p=p)
        for c in range(n_clusters - 1):
            draws[run, c] = random_state.uniform(size=n_local_trials)
    return first, draws


def random_init(X, n_clusters, sample_weight, random_state):
    """``n_clusters`` distinct rows drawn with probability proportional to their weight."""
    seeds = _choose(
        random_state,
        X.shape[0],
        size=n_clusters,
        replace=False,
        p=sample_weight / sample_weight.sum(),
    )
    return X[seeds]


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, random_state=None, n_local_trials=None):
    """Choose initial centers with greedy k-means++.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data to pick seeds from.
    n_clusters : int
        Number of centers to choose.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each point; ``None`` weighs every point 1.
    random_state : int, numpy RandomState or Generator, default=None
        Source of randomness; an int reproduces ``sklearn.cluster.kmeans_plusplus``.
    n_local_trials : int, default=None
        Candidates tried per center; ``None`` means ``2 + int(ln(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The chosen centers, rows of ``X``.
    indices : ndarray of shape (n_clusters,)
        Their row numbers in ``X``: ``X[indices] == centers``.
    """
    X = check_array(X)
    check_n_clusters(n_clusters, X.shape[0])
    sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    check_int(n_local_trials, "n_local_trials", minimum=1, none=True, accepted="an int or None")
    random_state = check_random_state(random_state)
    return greedy_kmeans_plusplus(X, n_clusters, sample_weight, random_state, n_local_trials)
