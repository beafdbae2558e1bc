"""Cluster-quality metrics: inertia, silhouette, Calinski-Harabasz and Davies-Bouldin.

Each metric gives scikit-learn's answer (to about 1e-12 on float64 data) with the same edge
rules, but is computed by numba kernels: the exact silhouette never forms the n x n distance
matrix, Calinski-Harabasz reads the data once and Davies-Bouldin twice. Up to 1,000 samples
(``_small``) the same sums come from vectorised NumPy instead, so a small data set never waits
for numba to compile a kernel.

Labels may be any integers or strings; they are encoded to 0..k-1 as scikit-learn does
(``np.unique`` order). The metrics compute in float64 whatever the input dtype (float32 data
are converted), as scikit-learn's scores do.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from kmeans_core import _small
from kmeans_core._validation import (
    check_array,
    check_int,
    check_labels,
    check_random_state,
    check_sample_weight,
)

# The kernels (``_kernels.metrics_kernels``) are imported by the functions that call them: a
# small data set is scored in NumPy and never loads numba.

#: The silhouette uses the pairwise block scheme (each distance computed once, one kernel call
#: per pair of clusters) for up to this many clusters, or more if there are at least
#: ``SIL_BLOCK_POINTS_PER_CLUSTER`` points per cluster; beyond, one call that computes every
#: distance twice is faster than the many small calls.
SIL_BLOCK_MAX_CLUSTERS = 16
SIL_BLOCK_POINTS_PER_CLUSTER = 100

__all__ = [
    "ClusterScores",
    "calinski_harabasz_score",
    "centroid_index",
    "cluster_scores",
    "davies_bouldin_score",
    "inertia",
    "silhouette_samples",
    "silhouette_score",
]


def _encode_labels(labels, n_samples):
    """Check ``labels`` against ``n_samples`` and encode them to 0..k-1 (np.unique order).

    Returns
    -------
    codes : ndarray of shape (n_samples,), int64
    n_labels : int
    """
    lab = check_labels(labels, n_samples)
    if lab.dtype.kind in "iu" and lab.size:
        # Integers over a modest range: a presence table gives np.unique's codes without the
        # O(n log n) sort.
        lo, hi = int(lab.min()), int(lab.max())
        if hi - lo <= max(n_samples, 1 << 16) and -(2**62) < lo and hi < 2**62:
            offsets = lab.astype(np.int64) - lo
            present = np.bincount(offsets, minlength=hi - lo + 1) > 0
            code_of = np.cumsum(present, dtype=np.int64) - 1
            return code_of[offsets], int(present.sum())
    try:
        classes, codes = np.unique(lab, return_inverse=True)
    except TypeError:
        raise ValueError(
            "labels mix types that cannot be compared (e.g. numbers and strings); "
            "use one type of label."
        ) from None
    return np.ascontiguousarray(codes.reshape(-1), dtype=np.int64), len(classes)


def _check_number_of_labels(n_labels, n_samples):
    """Raise scikit-learn's error unless 2 <= n_labels <= n_samples - 1."""
    if not 1 < n_labels < n_samples:
        raise ValueError(
            f"Number of labels is {n_labels}. Valid values are 2 to n_samples - 1 (inclusive); "
            "a clustering quality score needs at least two clusters and one cluster with "
            "two or more points."
        )


def _prepare(X, labels):
    """Validate ``X`` (as float64) and ``labels`` for a cluster-quality score: the public edge;
    the private functions below trust what it returns."""
    X = np.ascontiguousarray(check_array(X), dtype=np.float64)
    codes, n_labels = _encode_labels(labels, X.shape[0])
    _check_number_of_labels(n_labels, X.shape[0])
    return X, codes, n_labels


def _check_sample_size(sample_size):
    if sample_size is not None:
        check_int(sample_size, "sample_size", minimum=1)


def _sampled(X, codes, sample_size, random_state):
    """The rows a sampled silhouette scores, drawn as scikit-learn draws them
    (``random_state.permutation(n_samples)[:sample_size]``), their codes renumbered to
    0..k'-1 (a sample may miss a cluster)."""
    rng = check_random_state(random_state)
    indices = rng.permutation(X.shape[0])[:sample_size]
    return X[indices], codes[indices]


def _in_block_order(partials):
    """Sum per-block partial results along axis 0, first block first (deterministic)."""
    total = np.zeros(partials.shape[1:], dtype=np.float64)
    for part in partials:
        total += part
    return total


def _cluster_moments(X, codes, n_labels):
    """Count, mean and sum of squared deviations of every cluster, in one pass over ``X``.

    Per-block Welford moments from the kernel, merged with Chan et al.'s formula for many
    groups: ``ssd = sum_b ssd_b + sum_b n_b |mean_b - mean|**2``.

    Returns
    -------
    count : ndarray of shape (n_labels,)
    mean : ndarray of shape (n_labels, n_features)
    ssd : ndarray of shape (n_labels,)
    """
    if _small.is_small(*X.shape, n_labels):
        return _small.cluster_moments(X, codes, n_labels)
    from kmeans_core._kernels import metrics_kernels as _mk
    from kmeans_core._kernels.common import n_blocks_for
    from kmeans_core._parallel import run_blocks, threads_for

    n_blocks = n_blocks_for(X.shape[0])
    counts = np.zeros((n_blocks, n_labels))
    means = np.zeros((n_blocks, n_labels, X.shape[1]))
    m2 = np.zeros((n_blocks, n_labels))
    run_blocks(
        _mk.cluster_moments_blocks,
        n_blocks,
        threads_for(X.size),
        X,
        codes,
        n_blocks,
        counts,
        means,
        m2,
    )
    # All blocks at once: the deviations of the block means are taken from the cluster mean,
    # so nothing cancels.
    count = counts.sum(axis=0)
    mean = np.einsum("bk,bkf->kf", counts, means) / np.where(count > 0, count, 1.0)[:, None]
    delta = means - mean
    ssd = m2.sum(axis=0) + np.einsum("bk,bkf,bkf->k", counts, delta, delta)
    return count, mean, ssd


def inertia(X, labels, centers, sample_weight=None):
    """Weighted sum of squared Euclidean distances from each point to its assigned center.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Index of each point's center, an integer in ``0..n_clusters - 1``.
    centers : array-like of shape (n_clusters, n_features)
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each point; ``None`` weighs every point 1.

    Returns
    -------
    inertia : float
        ``sum_i sample_weight[i] * ||X[i] - centers[labels[i]]||**2``, accumulated in float64.
    """
    X = np.ascontiguousarray(check_array(X), dtype=np.float64)
    centers = np.ascontiguousarray(check_array(centers, name="centers"), dtype=np.float64)
    if centers.shape[1] != X.shape[1]:
        raise ValueError(
            f"centers have {centers.shape[1]} features but X has {X.shape[1]}; "
            "pass centers fitted on data with the same columns."
        )
    lab = check_labels(labels, X.shape[0])
    if lab.dtype.kind not in "iu":
        if lab.dtype.kind == "f" and np.all(np.mod(lab, 1) == 0):
            lab = lab.astype(np.int64)
        else:
            raise ValueError(
                "labels for inertia must be integer indices of rows of centers, "
                f"got dtype {lab.dtype}."
            )
    n_clusters = centers.shape[0]
    if lab.size and (lab.min() < 0 or lab.max() >= n_clusters):
        raise ValueError(
            f"labels must be in 0..{n_clusters - 1} to index the {n_clusters} centers, "
            f"found values from {lab.min()} to {lab.max()}."
        )
    weights = check_sample_weight(sample_weight, X.shape[0], np.float64)
    lab = np.ascontiguousarray(lab, dtype=np.int64)
    return float(_centroid_distance_sums(X, lab, centers, weights)[:, 0].sum())


def _centroid_distance_sums(X, codes, centers, sample_weight):
    """Per cluster, the sums of ``w * |x - c|^2`` and of ``|x - c|`` over its points: ndarray
    of shape (n_clusters, 2), the row blocks added in order."""
    if _small.is_small(*X.shape, centers.shape[0]):
        return _small.centroid_distance_sums(X, codes, centers, sample_weight)
    from kmeans_core._kernels import metrics_kernels as _mk
    from kmeans_core._kernels.common import n_blocks_for
    from kmeans_core._parallel import run_blocks, threads_for

    n_blocks = n_blocks_for(X.shape[0])
    sums = np.zeros((n_blocks, centers.shape[0], 2))
    run_blocks(
        _mk.centroid_distance_blocks,
        n_blocks,
        threads_for(X.size),
        X,
        codes,
        centers,
        sample_weight,
        n_blocks,
        sums,
    )
    return _in_block_order(sums)


def centroid_index(centers_a, centers_b):
    """Centroid Index (Fränti, Rezaei & Zhao 2014): how many clusters two solutions disagree on.

    Each centroid of one set is mapped to its nearest centroid of the other; a centroid of the
    other set that nothing maps to is an *orphan*. The index is the larger orphan count of the
    two directions: 0 when both solutions have the same cluster structure (each centroid the
    nearest of exactly one of the other's). A typical failure of K-Means, two centers in one
    true cluster and one center over two others, counts 1.

    Parameters
    ----------
    centers_a : array-like of shape (n_clusters_a, n_features)
    centers_b : array-like of shape (n_clusters_b, n_features)

    Returns
    -------
    int
        In ``0 .. max(n_clusters_a, n_clusters_b) - 1``; 0 for the same centers in any order.
    """
    a = np.asarray(check_array(centers_a, name="centers_a"), dtype=np.float64)
    b = np.asarray(check_array(centers_b, name="centers_b"), dtype=np.float64)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"centers_a have {a.shape[1]} features but centers_b have {b.shape[1]}; "
            "compare centers of the same space."
        )
    return max(_orphans(a, b), _orphans(b, a))


def _orphans(a, b):
    """Rows of ``b`` that are the nearest of no row of ``a`` (direct differences, a few rows of
    ``a`` at a time: no rounding from expanded squares, bounded memory)."""
    nearest = np.empty(a.shape[0], dtype=np.int64)
    step = max(1, 2**22 // max(1, b.size))
    for start in range(0, a.shape[0], step):
        diff = a[start : start + step, None, :] - b[None, :, :]
        nearest[start : start + step] = np.einsum("ijf,ijf->ij", diff, diff).argmin(axis=1)
    return b.shape[0] - np.unique(nearest).shape[0]


def silhouette_samples(X, labels):
    """Silhouette coefficient of every sample (Euclidean distance).

    ``s = (b - a) / max(a, b)`` where ``a`` is the mean distance to the other points of the
    sample's cluster and ``b`` the mean distance to the points of the nearest other cluster.
    A point alone in its cluster has silhouette 0, as in scikit-learn.

    The work is O(n_samples**2 * n_features) but the memory is O(n_samples * n_clusters): a
    numba kernel sums the distances from each point to every cluster without ever holding the
    n x n distance matrix, computing each distance once for both of its points. (Up to 1,000
    samples NumPy computes the whole matrix at once: ``_small.silhouette_cluster_sums``.)

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Any integers or strings; at least 2 distinct values and at most n_samples - 1.

    Returns
    -------
    silhouette : ndarray of shape (n_samples,), float64
        Values in [-1, 1].
    """
    return _silhouette_samples(*_prepare(X, labels))


def _silhouette_samples(X, codes, n_labels):
    """``silhouette_samples`` of validated float64 ``X`` and labels encoded 0..n_labels-1."""
    counts = np.bincount(codes, minlength=n_labels)
    if _small.is_small_pairwise(*X.shape):
        sums = _small.silhouette_cluster_sums(X, codes, n_labels)
    else:
        sums = _kernel_silhouette_sums(X, codes, n_labels, counts)

    # scikit-learn's arithmetic, step by step (a singleton's 0/0 and max(a, b) == 0 give NaN,
    # which becomes 0).
    rows = np.arange(X.shape[0])
    intra = sums[rows, codes]
    sums[rows, codes] = np.inf
    inter = (sums / counts).min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        intra /= counts[codes] - 1
        sil = (inter - intra) / np.maximum(intra, inter)
    return np.nan_to_num(sil)


def _kernel_silhouette_sums(X, codes, n_labels, counts):
    """Sum of the distances from every point to the points of every cluster, from the
    kernels: ndarray of shape (n_samples, n_labels)."""
    from kmeans_core._kernels import metrics_kernels as _mk

    # Sorting the points by cluster turns "add this distance to cluster labels[j]" into a
    # contiguous reduction per cluster, which vectorises. Features are zero-padded to a
    # multiple of 4 for the kernel (zeros add nothing to a distance).
    order = np.argsort(codes, kind="stable")
    starts = np.zeros(n_labels + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    n_padded = -(-X.shape[1] // 4) * 4
    XT = np.zeros((n_padded, X.shape[0]), dtype=np.float64)
    XT[: X.shape[1]] = X[order].T
    sums = np.empty((X.shape[0], n_labels), dtype=np.float64)
    if n_labels <= max(SIL_BLOCK_MAX_CLUSTERS, X.shape[0] // SIL_BLOCK_POINTS_PER_CLUSTER):
        sums[order] = _silhouette_cluster_sums(XT, starts)
    else:
        # Many small clusters: one call that walks every row against every column beats
        # n_labels**2 / 2 small block calls.
        by_cluster = np.ascontiguousarray(codes[order])
        sorted_sums = np.empty_like(sums)
        _mk.silhouette_scatter_sums(XT, by_cluster, sorted_sums)
        sums[order] = sorted_sums
    return sums


def _split(first, stop, n_pieces):
    """``n_pieces`` contiguous, nearly equal half-open ranges covering ``first:stop``."""
    size = stop - first
    return [
        (first + q * size // n_pieces, first + (q + 1) * size // n_pieces) for q in range(n_pieces)
    ]


def _silhouette_cluster_sums(XT, starts):
    """Sum of distances from every point to every cluster, for points sorted by cluster.

    Every distance between two different clusters is computed once and added to both sides.
    Within a cluster, the cluster is cut into a few pieces: distances between two pieces are
    computed once as well, and only each piece with itself is done in full (rows only).
    Calls are made in a fixed order and every kernel is deterministic, so the sums do not
    depend on the number of threads.

    Parameters
    ----------
    XT : ndarray of shape (n_padded, n_samples), float64, columns sorted by cluster
    starts : ndarray of shape (n_clusters + 1,), int64; cluster c is columns starts[c]:starts[c+1]

    Returns
    -------
    sums : ndarray of shape (n_samples, n_clusters), float64
    """
    import numba

    from kmeans_core._kernels import metrics_kernels as _mk

    n_samples = XT.shape[1]
    n_labels = starts.shape[0] - 1
    sizes = np.diff(starts)
    sums = np.zeros((n_samples, n_labels), dtype=np.float64)
    scratch = np.empty((_mk.SIL_MAX_PARTS, int(sizes.max())), dtype=np.float64)

    def block(rows, cols, row_cluster, col_cluster, symmetric):
        n_parts = _mk.silhouette_parts_for(rows[1] - rows[0])
        _mk.silhouette_block_sums(
            XT, rows, cols, row_cluster, col_cluster, symmetric, n_parts, scratch, sums
        )

    # The one place the engine runs on numba's threads rather than its own (``_parallel``):
    # rows cost very different amounts here, so the parts are handed out one at a time to
    # whichever thread is free (which thread computes a part does not change its result).
    # numba keeps this setting per calling thread, so concurrent callers do not see each other's.
    previous_chunksize = numba.set_parallel_chunksize(1)
    try:
        _all_block_sums(starts, sizes, block)
    finally:
        numba.set_parallel_chunksize(previous_chunksize)
    return sums


def _all_block_sums(starts, sizes, block):
    """Call ``block`` for every pair of pieces of a cluster and every pair of clusters."""
    from kmeans_core._kernels import metrics_kernels as _mk

    n_labels = sizes.shape[0]
    for a in range(n_labels):
        first, stop = int(starts[a]), int(starts[a + 1])
        pieces = _split(first, stop, _mk.silhouette_pieces_for(stop - first))
        for u, piece_u in enumerate(pieces):
            block(piece_u, piece_u, a, a, False)
            for piece_v in pieces[u + 1 :]:
                block(piece_u, piece_v, a, a, True)
        for b in range(a + 1, n_labels):
            # The larger cluster gives the rows: more parts to share between threads.
            if sizes[a] >= sizes[b]:
                block((first, stop), (int(starts[b]), int(starts[b + 1])), a, b, True)
            else:
                block((int(starts[b]), int(starts[b + 1])), (first, stop), b, a, True)


def silhouette_score(X, labels, *, sample_size=None, random_state=None):
    """Mean silhouette coefficient of all samples, or of a random subset of them.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
    sample_size : int, default=None
        If given, score only this many points drawn without replacement, exactly as
        scikit-learn draws them (``random_state.permutation(n_samples)[:sample_size]``), so the
        same seed gives scikit-learn's value.
    random_state : None, int, numpy RandomState or Generator, default=None
        Seed of the subset draw; an int means ``np.random.RandomState(int)``.

    Returns
    -------
    silhouette : float
        In [-1, 1]; higher is better.
    """
    X = check_array(X)
    labels = check_labels(labels, X.shape[0])
    _check_sample_size(sample_size)
    if sample_size is not None:
        X, labels = _sampled(X, labels, sample_size, random_state)
    return _silhouette_mean(*_prepare(X, labels))


def _silhouette_mean(X, codes, n_labels):
    return float(np.mean(_silhouette_samples(X, codes, n_labels)))


def calinski_harabasz_score(X, labels):
    """Calinski-Harabasz score (variance ratio criterion); higher is better.

    ``CH = [B / (k - 1)] / [W / (n - k)]`` with ``B`` the between-cluster and ``W`` the
    within-cluster dispersion; 1.0 when ``W == 0``, as in scikit-learn.

    Computed in one pass over the data: Welford's running mean and squared deviations of each
    cluster within each row block, then the blocks merged (Chan et al.).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)

    Returns
    -------
    score : float
    """
    X, codes, n_labels = _prepare(X, labels)
    return _calinski_harabasz(X.shape[0], *_cluster_moments(X, codes, n_labels))


def _calinski_harabasz(n_samples, count, mean, ssd):
    """The score from the clusters' moments (``_cluster_moments``)."""
    n_labels = count.shape[0]
    overall_mean = (count @ mean) / n_samples
    extra_disp = 0.0
    intra_disp = 0.0
    for k in range(n_labels):
        extra_disp += count[k] * float(np.sum((mean[k] - overall_mean) ** 2))
        intra_disp += ssd[k]
    if intra_disp == 0.0:
        return 1.0
    return float(extra_disp * (n_samples - n_labels) / (intra_disp * (n_labels - 1.0)))


def davies_bouldin_score(X, labels):
    """Davies-Bouldin score: mean over clusters of the worst (s_i + s_j) / d(c_i, c_j); lower
    is better.

    ``s_i`` is the mean distance of cluster i's points to its centroid and ``d(c_i, c_j)`` the
    distance between centroids. As in scikit-learn the score is 0 when every ``s_i`` or every
    centroid distance is (close to) 0, and coinciding centroids are ignored (distance taken as
    infinite).

    Computed in two passes over the data (one cannot be exact: the mean distance to the
    centroid needs the centroid first): per-block cluster moments, merged, then per-block sums
    of the distances to the centroids, added in block order.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)

    Returns
    -------
    score : float
    """
    X, codes, n_labels = _prepare(X, labels)
    count, centroids, _ = _cluster_moments(X, codes, n_labels)
    return _davies_bouldin(X, codes, count, centroids)


def _davies_bouldin(X, codes, count, centroids):
    """The score from the clusters' counts and centroids (``_cluster_moments``): one more pass
    over ``X`` for the mean distances to the centroids."""
    centroids = np.ascontiguousarray(centroids)
    sums = _centroid_distance_sums(X, codes, centroids, np.ones(X.shape[0]))
    intra = sums[:, 1] / count
    diff = centroids[:, None, :] - centroids[None, :, :]
    centroid_distances = np.sqrt(np.einsum("ijf,ijf->ij", diff, diff))
    if np.all(np.isclose(intra, 0.0)) or np.all(np.isclose(centroid_distances, 0.0)):
        return 0.0
    centroid_distances[centroid_distances == 0] = np.inf
    combined = intra[:, None] + intra[None, :]
    scores = np.max(combined / centroid_distances, axis=1)
    return float(np.mean(scores))


class ClusterScores(NamedTuple):
    """The three cluster-quality scores of one clustering (``cluster_scores``)."""

    silhouette: float
    calinski_harabasz: float
    davies_bouldin: float


def cluster_scores(X, labels, *, sample_size=None, random_state=None):
    """Silhouette, Calinski-Harabasz and Davies-Bouldin of one clustering, in one call.

    The same numbers, bit for bit, as ``silhouette_score(X, labels, sample_size=sample_size,
    random_state=random_state)``, ``calinski_harabasz_score(X, labels)`` and
    ``davies_bouldin_score(X, labels)``, for less: ``X`` is checked and converted once, the
    labels encoded once, and the clusters' moments computed once for both Calinski-Harabasz and
    Davies-Bouldin. Meant for a sweep over k.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Any integers or strings; at least 2 distinct values and at most n_samples - 1.
    sample_size : int, default=None
        If given, the silhouette is that of this many points drawn without replacement as
        ``silhouette_score`` draws them; the other two scores always use every point.
    random_state : None, int, numpy RandomState or Generator, default=None
        Seed of the silhouette's sample.

    Returns
    -------
    scores : ClusterScores
        ``(silhouette, calinski_harabasz, davies_bouldin)``, floats, also by those names.
    """
    _check_sample_size(sample_size)
    X, codes, n_labels = _prepare(X, labels)
    if sample_size is None:
        silhouette = _silhouette_mean(X, codes, n_labels)
    else:
        X_sample, codes_sample = _sampled(X, codes, sample_size, random_state)
        codes_sample, n_sample_labels = _encode_labels(codes_sample, codes_sample.shape[0])
        _check_number_of_labels(n_sample_labels, codes_sample.shape[0])
        silhouette = _silhouette_mean(X_sample, codes_sample, n_sample_labels)
    count, mean, ssd = _cluster_moments(X, codes, n_labels)
    return ClusterScores(
        silhouette,
        _calinski_harabasz(X.shape[0], count, mean, ssd),
        _davies_bouldin(X, codes, count, mean),
    )
