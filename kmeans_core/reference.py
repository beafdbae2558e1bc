"""Textbook K-Means in plain NumPy: greedy k-means++ seeding and Lloyd's iterations.

This module is written to be read from top to bottom. It makes the same choices as
scikit-learn's ``KMeans(algorithm="lloyd")`` -- the same convergence tests, the same treatment
of empty clusters, the same random draws in k-means++ -- but spells every step out instead of
making it fast. The tests use it as a second oracle next to scikit-learn: the fast engine must
return what this file returns.

Lloyd's algorithm alternates two steps until the centers stop moving:

1. *assignment*: every point joins the cluster of its nearest center;
2. *update*: every center moves to the (weighted) mean of the points that joined it.

Each step can only lower the inertia (the weighted sum of squared distances from the points to
their centers), so the loop always ends.
"""

from __future__ import annotations

import numpy as np

from kmeans_core._validation import (
    check_array,
    check_int,
    check_n_clusters,
    check_random_state,
    check_sample_weight,
)

__all__ = ["kmeans_plusplus", "lloyd"]


# ---------------------------------------------------------------------------------------------
# Small building blocks
# ---------------------------------------------------------------------------------------------
def squared_distances(X, centers):
    """Squared Euclidean distance from every point to every center.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    centers : ndarray of shape (n_clusters, n_features)

    Returns
    -------
    distances : ndarray of shape (n_samples, n_clusters)
        ``distances[i, j] = ||X[i] - centers[j]||^2``.
    """
    distances = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
    # One center at a time: memory stays at n_samples * n_features, however many centers.
    for j, center in enumerate(centers):
        distances[:, j] = ((X - center) ** 2).sum(axis=1)
    return distances


def assign(X, centers):
    """Index of the nearest center of every point; on an exact tie, the lowest index wins.

    Returns
    -------
    labels : ndarray of shape (n_samples,), int32
    """
    # np.argmin returns the first minimum, which is the tie rule of scikit-learn as well.
    return np.argmin(squared_distances(X, centers), axis=1).astype(np.int32)


def weighted_inertia(X, sample_weight, centers, labels):
    """Weighted sum of squared distances from the points to their assigned centers."""
    squared_distance_to_own_center = ((X - centers[labels]) ** 2).sum(axis=1)
    return float(np.dot(sample_weight, squared_distance_to_own_center))


def tolerance(X, tol):
    """Turn the relative ``tol`` into an absolute bound on the sum of squared center shifts.

    The bound is ``tol`` times the mean variance of the features, so that it does not depend on
    the scale of the data.
    """
    if tol == 0:
        return 0.0
    return np.var(X, axis=0).mean() * tol


# ---------------------------------------------------------------------------------------------
# Seeding: greedy k-means++
# ---------------------------------------------------------------------------------------------
def kmeans_plusplus(X, n_clusters, random_state=None, sample_weight=None, n_local_trials=None):
    """Choose ``n_clusters`` rows of ``X`` as initial centers with greedy k-means++.

    The first center is a random row (drawn with probability proportional to its weight).
    Every following center is chosen among ``n_local_trials`` candidates, each drawn with
    probability proportional to ``weight * D(x)^2`` -- ``D(x)`` being the distance from ``x`` to
    its closest center so far -- and the candidate kept is the one that lowers the total
    weighted ``D(x)^2`` the most. The random numbers are drawn exactly as scikit-learn draws
    them, so an int ``random_state`` picks the same rows as ``sklearn.cluster.kmeans_plusplus``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_clusters : int
    random_state : None, int, numpy RandomState or Generator
    sample_weight : array-like of shape (n_samples,), default=None
    n_local_trials : int, default=None
        Candidates per center; ``None`` means ``2 + int(ln(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
    indices : ndarray of shape (n_clusters,)
        ``X[indices] == centers``.
    """
    X = check_array(X)
    n_samples, n_features = X.shape
    check_n_clusters(n_clusters, n_samples)
    sample_weight = check_sample_weight(sample_weight, n_samples, X.dtype)
    random_state = check_random_state(random_state)
    if n_local_trials is None:
        # Arthur and Vassilvitskii's suggestion, also scikit-learn's default.
        n_local_trials = 2 + int(np.log(n_clusters))

    centers = np.empty((n_clusters, n_features), dtype=X.dtype)
    indices = np.full(n_clusters, -1, dtype=int)

    # Step 1: the first center is a row drawn with probability proportional to its weight.
    first = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
    centers[0] = X[first]
    indices[0] = first

    # closest_sq[i] is D(x_i)^2, the squared distance of point i to its closest center so far;
    # the "potential" is the weighted total of these, the inertia if we stopped here.
    closest_sq = ((X - X[first]) ** 2).sum(axis=1)
    potential = closest_sq @ sample_weight

    for c in range(1, n_clusters):
        # Step 2: draw candidates with probability proportional to weight * D(x)^2. A uniform
        # number in [0, potential) falls into point i's slice of the cumulative sum with exactly
        # that probability; searchsorted finds the slice.
        thresholds = random_state.uniform(size=n_local_trials) * potential
        candidates = np.searchsorted(np.cumsum(sample_weight * closest_sq), thresholds)
        # Rounding can put a threshold just past the last cumulative sum.
        candidates = np.minimum(candidates, n_samples - 1)

        # Step 3: for each candidate, what D(x)^2 and the potential would become if it joined.
        closest_sq_if_added = np.empty((n_local_trials, n_samples), dtype=X.dtype)
        for t, candidate in enumerate(candidates):
            distance_to_candidate = ((X - X[candidate]) ** 2).sum(axis=1)
            closest_sq_if_added[t] = np.minimum(closest_sq, distance_to_candidate)
        potentials = closest_sq_if_added @ sample_weight

        # Step 4: keep the greedy best candidate (the first one on a tie).
        best = int(np.argmin(potentials))
        potential = potentials[best]
        closest_sq = closest_sq_if_added[best]
        centers[c] = X[candidates[best]]
        indices[c] = candidates[best]

    return centers, indices


# ---------------------------------------------------------------------------------------------
# Lloyd's iterations
# ---------------------------------------------------------------------------------------------
def update_centers(X, sample_weight, labels, centers_old):
    """The update step: weighted means of the clusters, with empty clusters re-seeded.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    labels : ndarray of shape (n_samples,)
        The assignment just computed from ``centers_old``.
    centers_old : ndarray of shape (n_clusters, n_features)

    Returns
    -------
    centers_new : ndarray of shape (n_clusters, n_features)
    """
    n_clusters, n_features = centers_old.shape

    # Weighted sum of the points of each cluster, and the total weight of each cluster.
    sums = np.zeros((n_clusters, n_features), dtype=X.dtype)
    weight_in_cluster = np.zeros(n_clusters, dtype=X.dtype)
    for j in range(n_clusters):
        members = labels == j
        sums[j] = sample_weight[members] @ X[members]
        weight_in_cluster[j] = sample_weight[members].sum()

    # A cluster with no weight would have no mean. Like scikit-learn, give each such cluster one
    # of the points farthest from the (old) center of the cluster they belong to. The point
    # stays labelled where it was; only the sums move. np.argpartition(...)[:-n-1:-1] picks the
    # n largest distances in the very order scikit-learn takes them.
    empty = np.flatnonzero(weight_in_cluster == 0)
    if empty.size > 0:
        distances = ((X - centers_old[labels]) ** 2).sum(axis=1)
        farthest = np.argpartition(distances, -empty.size)[: -empty.size - 1 : -1]
        # If every point sits on its center (more clusters than distinct points), moving a
        # point would change nothing, so scikit-learn does not relocate at all.
        if distances.max() != 0:
            for new_cluster, point in zip(empty, farthest, strict=True):
                weight = sample_weight[point]
                old_cluster = labels[point]
                sums[old_cluster] -= X[point] * weight
                sums[new_cluster] = X[point] * weight
                weight_in_cluster[new_cluster] = weight
                weight_in_cluster[old_cluster] -= weight

    # Divide the sums by the weights (scikit-learn multiplies by the reciprocal; so do we, to
    # round the same way). A cluster still empty is parked on the heaviest cluster. scikit-learn
    # does this inside the same loop, so when the heaviest cluster comes later in the loop it is
    # not divided yet and the parked center gets its *sum*; we reproduce that to the letter, as
    # it decides ties in the next assignment.
    heaviest = int(np.argmax(weight_in_cluster))
    centers_new = sums
    for j in range(n_clusters):
        if weight_in_cluster[j] > 0:
            centers_new[j] *= 1 / weight_in_cluster[j]
        else:
            centers_new[j] = centers_new[heaviest]
    return centers_new


def lloyd(X, init_centers, max_iter=300, tol=1e-4, sample_weight=None):
    """Run Lloyd's algorithm from the given initial centers.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    init_centers : array-like of shape (n_clusters, n_features)
    max_iter : int, default=300
        Most iterations (assignment + update).
    tol : float, default=1e-4
        Stop when the sum of squared center shifts is at most ``tol`` times the mean variance
        of the features.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
    labels : ndarray of shape (n_samples,), int32
        Nearest center of every point, for the returned centers.
    inertia : float
        Weighted sum of squared distances from the points to their centers.
    n_iter : int
        Number of iterations run.
    """
    X = check_array(X)
    n_samples, n_features = X.shape
    centers = check_array(init_centers, name="init_centers", dtype=(X.dtype,))
    n_clusters = centers.shape[0]
    check_n_clusters(n_clusters, n_samples)
    if centers.shape[1] != n_features:
        raise ValueError(
            f"init_centers has {centers.shape[1]} features but X has {n_features}; "
            "give one center per row with X's columns."
        )
    check_int(max_iter, "max_iter", minimum=1)
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}.")
    sample_weight = check_sample_weight(sample_weight, n_samples, X.dtype)
    tol = tolerance(X, tol)

    # Subtracting the mean changes no distance but keeps the numbers small, so rounding errors
    # are smaller (scikit-learn does the same). We add it back at the end.
    X_mean = X.mean(axis=0)
    X = X - X_mean
    centers = centers - X_mean

    labels_old = np.full(n_samples, -1, dtype=np.int32)
    strict_convergence = False
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is returned)
        # Assignment step, then update step.
        labels = assign(X, centers)
        centers_new = update_centers(X, sample_weight, labels, centers)
        # How far each center moved (Euclidean distance).
        center_shift = np.sqrt(((centers_new - centers) ** 2).sum(axis=1))
        centers = centers_new

        # Stop if no point changed cluster: the next update would give the same centers.
        if np.array_equal(labels, labels_old):
            strict_convergence = True
            break
        # ... or if the centers barely moved.
        if (center_shift**2).sum() <= tol:
            break
        labels_old = labels

    # Unless the labels were already final, the centers moved after the last assignment:
    # assign once more so that every label is the nearest of the returned centers.
    if not strict_convergence:
        labels = assign(X, centers)

    inertia = weighted_inertia(X, sample_weight, centers, labels)
    return centers + X_mean, labels, inertia, n_iter
