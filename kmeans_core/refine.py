"""Swap refinement: a local search over Lloyd fixed points, out of poor local minima.

Lloyd stops in the first fixed point it reaches, which can hold two centers in one true cluster
and one center over two (Fränti & Sieranoja 2018). A *swap* moves one center to a data point
elsewhere; Lloyd from there finds a new fixed point, which is kept if its inertia is lower
(Fränti's random swap, "Efficiency of random swap clustering", J. Big Data 2018).

The swaps tried here are guided, and most are judged without running Lloyd:

- the candidate points are drawn with probability proportional to their weighted squared
  distance to the nearest center (the k-means++ rule): points where the clustering is poor;
- for each candidate, one pass over the data gives the exact change of the inertia for swapping
  it with *every* center, the points reassigned but no center moved yet (``_kernels/swap.py``);
  the center with the lowest change is the one swapped;
- a swap that lowers the inertia by itself goes on to Lloyd, which can only lower it further;
  one that raises it by less than ``PROBE_BELOW`` of an average cluster's share of the inertia
  gets ``PROBE_ITERATIONS`` Lloyd iterations first, and goes on only if they brought the
  inertia below the current one (on overlapping clusters, such as S4, the right swap often
  pays only once the centers around it have moved); any other swap is rejected at once. So
  most rejected trials cost one pass over the data without the centers, not a Lloyd run.

It stops after ``patience(n_clusters)`` trials in a row without a kept swap, or after
``max_swaps`` trials. Every Lloyd run here is strict (``tol=0``: until no label changes), so what
it returns is a fixed point: every label is the nearest center, every center its points' mean.
"""

from __future__ import annotations

import numpy as np

from kmeans_core._parallel import run_blocks, threads_for

#: Candidate points judged per trial (each costs one pass over the data without the centers).
CANDIDATES_PER_TRIAL = 3
#: See the module docstring: which swaps that raise the inertia get a probe, and how long it is.
PROBE_BELOW = 0.2
PROBE_ITERATIONS = 2
#: A swap is kept only if it lowers the inertia by more than this fraction: rounding alone never
#: does, so the same partition found again is never taken for a better one.
MIN_RELATIVE_GAIN = 1e-9


#: The search stops after this many trials per cluster in a row without a kept swap: every
#: center has then been the one judged best to swap about this often.
PATIENCE_PER_CLUSTER = 2
#: The default cap on trials, per cluster.
MAX_SWAPS_PER_CLUSTER = 50


def patience(n_clusters):
    """Trials in a row without a kept swap after which the search stops."""
    return PATIENCE_PER_CLUSTER * n_clusters


def default_max_swaps(n_clusters):
    """The cap on trials when the user sets none."""
    return MAX_SWAPS_PER_CLUSTER * n_clusters


def swap_refine(X, sample_weight, lloyd, start, *, n_threads, max_iter, max_swaps, random_state):
    """Refine a K-Means solution by guided swaps (see the module docstring).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The fit's (centered) data.
    sample_weight : ndarray of shape (n_samples,)
    lloyd : callable
        ``lloyd(centers, max_iter, tol)`` runs one K-Means on ``X`` from ``centers`` and returns
        ``(labels, inertia, centers, n_iter, converged)`` as ``_loop.run_kmeans`` does.
    start : tuple
        The Lloyd result to start from: ``(labels, inertia, centers, n_iter, converged)`` as
        ``_loop.run_kmeans`` returns them.
    n_threads : int
        Threads for the passes over every center (fewer for the candidates' passes).
    max_iter : int
        Most iterations of each Lloyd run.
    max_swaps : int
        Most swaps tried.
    random_state : numpy RandomState or Generator
        Draws the candidate points.

    Returns
    -------
    result : tuple
        ``(labels, inertia, centers, n_iter, converged)`` of the last Lloyd run kept, as
        ``_loop.run_kmeans`` returns them.
    n_tried, n_kept : int
        Swaps tried and kept.
    """
    from kmeans_core._kernels.common import n_blocks_for, transposed_if_few_features
    from kmeans_core._kernels.swap import swap_changes, two_nearest

    # First make the start a strict fixed point. If it is one already, it stays as it is (the
    # centers summed afresh could differ from its own in the last bits).
    best = lloyd(start[2], max_iter, 0.0)
    if np.array_equal(best[0], start[0]) and not best[1] < start[1]:
        best = start
    n_samples, n_features = X.shape
    n_clusters = start[2].shape[0]
    n_blocks = n_blocks_for(n_samples)
    n_candidates = CANDIDATES_PER_TRIAL
    # The fit's thread count for the pass over every center, fewer for the candidates' pass.
    candidate_threads = min(n_threads, threads_for(n_samples * n_candidates * (n_features + 2)))
    nearest = np.empty(n_samples, dtype=X.dtype)
    second = np.empty(n_samples, dtype=X.dtype)
    parts = np.empty((n_blocks, n_candidates, n_clusters + 1), dtype=np.float64)

    n_tried = n_kept = since_kept = 0
    stale = True
    while n_clusters > 1 and n_tried < max_swaps and since_kept < patience(n_clusters):
        labels, inertia, centers = best[0], best[1], best[2]
        if stale:
            run_blocks(
                two_nearest,
                n_blocks,
                n_threads,
                X,
                centers,
                transposed_if_few_features(centers),
                n_blocks,
                nearest,
                second,
            )
            cumulative = np.cumsum(sample_weight * nearest, dtype=np.float64)
            stale = False
            if not cumulative[-1] > 0:
                break  # every point sits on a center
        draws = random_state.uniform(size=n_candidates) * cumulative[-1]
        candidate_ids = np.minimum(np.searchsorted(cumulative, draws), n_samples - 1)
        candidates = np.ascontiguousarray(X[candidate_ids])
        run_blocks(
            swap_changes,
            n_blocks,
            candidate_threads,
            X,
            sample_weight,
            candidates,
            labels,
            nearest,
            second,
            n_blocks,
            parts,
        )
        totals = parts.sum(axis=0)
        changes = totals[:, :n_clusters] + totals[:, n_clusters:]
        c, j = np.unravel_index(np.argmin(changes), changes.shape)
        n_tried += 1
        since_kept += 1
        change = changes[c, j]
        if not change < PROBE_BELOW * inertia / n_clusters:
            continue
        trial_centers = centers.copy()
        trial_centers[j] = candidates[c]
        if not change < -MIN_RELATIVE_GAIN * inertia:
            probe = lloyd(trial_centers, PROBE_ITERATIONS, 0.0)
            if not probe[1] < inertia * (1 - MIN_RELATIVE_GAIN):
                continue
            trial_centers = probe[2]
        trial = lloyd(trial_centers, max_iter, 0.0)
        if trial[4] and trial[1] < inertia * (1 - MIN_RELATIVE_GAIN):
            best = trial
            n_kept += 1
            since_kept = 0
            stale = True
    return best, n_tried, n_kept
