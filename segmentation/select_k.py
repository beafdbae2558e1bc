"""Choosing the number of segments: a sweep over k, the elbow (Kneedle) and one documented rule.

For every k in the range we fit k-means (k-means++ with several restarts, so that a small data
set does not land in a poor local minimum) and measure four things:

- **inertia**: the within-segment sum of squares; always falls as k grows, so only its *shape*
  matters: the elbow, found by the Kneedle method (Satopää et al. 2011);
- **silhouette** (higher is better, in [-1, 1]): how much closer each customer is to its own
  segment than to the next one; exact up to ``sample_threshold`` rows, estimated on a seeded
  sample of that many rows above;
- **Calinski-Harabasz** (higher is better): between-segment over within-segment dispersion;
- **Davies-Bouldin** (lower is better): how much each segment overlaps its most similar one.

The rule (:func:`choose_k`), in one sentence: *take the k with the highest silhouette, unless the
elbow of the inertia curve is a smaller k whose silhouette is within* ``SILHOUETTE_TOLERANCE``
*of the best, in which case take the elbow.* The silhouette is the primary criterion because it
is bounded, comparable across k and directly means "customers are clearly in one segment"; the
elbow only breaks near-ties in favour of fewer segments, which a marketer can act on more
easily. Calinski-Harabasz and Davies-Bouldin do not vote; the reason sentence says whether they
agree, so that a disagreement is visible.

With K-Prototypes (:func:`fit_mixed_sweep`) the same rule runs on the same four measures, taken
with the mixed cost: "inertia" is the K-Prototypes cost (squared distances on the numeric
features plus gamma per categorical mismatch), and the silhouette, Calinski-Harabasz and
Davies-Bouldin are computed in the space where that cost is a squared Euclidean distance (the
numeric features, then each categorical feature one-hot times sqrt(gamma / 2): two columns
differ per mismatch, each by gamma / 2 squared). So the silhouette is that of the mixed
distance, the square root of the cost between two customers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from kmeans_core import KMeans, KPrototypes
from kmeans_core.metrics import cluster_scores

from .errors import SegmentationError

__all__ = [
    "SILHOUETTE_TOLERANCE",
    "SAMPLE_THRESHOLD",
    "RULE",
    "REFINE",
    "choose_n_init",
    "silhouette_rows",
    "fit_sweep",
    "fit_mixed_sweep",
    "sweep",
    "kneedle",
    "choose_k",
]

SILHOUETTE_TOLERANCE = 0.02
SAMPLE_THRESHOLD = 10_000
RULE = (
    "highest silhouette; the inertia elbow (Kneedle) instead when it is a smaller k whose "
    f"silhouette is within {SILHOUETTE_TOLERANCE} of the best"
)


#: The sweep's fits are k-means++ restarts without ``KMeans(refine="swap")``: fewer starts plus
#: swaps were faster but gave a higher inertia at some k on the synthetic default and on the
#: data sets in data/ (benchmarks/README.md, "The k sweep"). The summary records it.
REFINE = None


def choose_n_init(n_samples: int) -> int:
    """Number of k-means++ restarts per k: many for small data, fewer when each fit is costly.

    Restarts are what protects a small data set from a poor local minimum; on large data the
    k-means++ seeding already lands close to the best solution and one fit costs much more.

    Parameters
    ----------
    n_samples : int

    Returns
    -------
    int
        20 up to 2,000 rows, 10 up to 10,000 rows, 3 above.
    """
    if n_samples <= 2_000:
        return 20
    if n_samples <= 10_000:
        return 10
    return 3


def silhouette_rows(
    n_samples: int, *, seed: int | None = 0, sample_threshold: int = SAMPLE_THRESHOLD
) -> np.ndarray | None:
    """The customers the silhouette is measured on: all of them, or one seeded sample.

    The sweep's scores and the silhouette plot both use these rows, so the plot's mean is the
    score of the chosen k. The sample is drawn as scikit-learn's ``silhouette_score`` draws it
    (``RandomState(seed).permutation(n_samples)[:sample_threshold]``), so the same seed gives
    scikit-learn's value.

    Parameters
    ----------
    n_samples : int
    seed : int or None, default 0
    sample_threshold : int, default 10,000
        Above this many rows a sample of this size is drawn.

    Returns
    -------
    ndarray of shape (sample_threshold,) or None
        Row indices in the order drawn, or None when every row is used.
    """
    if n_samples <= sample_threshold:
        return None
    return np.random.RandomState(seed).permutation(n_samples)[:sample_threshold]


def fit_sweep(
    X: np.ndarray,
    k_range: Sequence[int],
    *,
    seed: int | None = 0,
    n_init: int | None = None,
    sample_threshold: int = SAMPLE_THRESHOLD,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[dict], dict[int, KMeans]]:
    """Fit k-means for every k and measure inertia, silhouette, Calinski-Harabasz, Davies-Bouldin.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The preprocessed (scaled) features, float64.
    k_range : sequence of int
        The values of k to try, each in [2, n_samples - 1].
    seed : int or None, default 0
        Seeds every fit and the silhouette sample, so the sweep is reproducible.
    n_init : int or None
        Restarts per k; None uses :func:`choose_n_init`.
    sample_threshold : int, default 10,000
        Above this many rows the silhouette is estimated on a seeded sample of this size
        (:func:`silhouette_rows`).
    progress : callable or None
        Called with k after each k is done (for a progress bar).

    Returns
    -------
    rows : list of dict
        One per k, in order: ``k``, ``inertia``, ``silhouette``, ``calinski_harabasz``,
        ``davies_bouldin`` (floats; NaN when a metric is undefined because the fit found fewer
        than two distinct segments).
    models : dict of int to KMeans
        The fitted model of each k.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n_samples = X.shape[0]
    ks = [int(k) for k in k_range]
    if not ks:
        raise SegmentationError("The k range is empty; give one such as `k_range` 2-10.")
    bad = [k for k in ks if k < 2 or k >= n_samples]
    if bad:
        raise SegmentationError(
            f"Cannot try k={bad[0]} on {n_samples} customers; k must be between 2 and "
            f"{n_samples - 1}."
        )
    if n_init is None:
        n_init = choose_n_init(n_samples)
    # The silhouette's sample is the one silhouette_rows draws (the plot shows those rows).
    sample_size = sample_threshold if n_samples > sample_threshold else None
    rows, models = [], {}
    for k in ks:
        km = KMeans(k, n_init=n_init, random_state=seed, refine=REFINE).fit(X)
        labels = np.asarray(km.labels_)
        rows.append(_sweep_row(k, km.inertia_, X, labels, sample_size, seed))
        models[k] = km
        if progress is not None:
            progress(k)
    return rows, models


def _sweep_row(k, inertia, points, labels, sample_size, seed) -> dict:
    """One row of the sweep: k, its inertia (or cost) and the three scores of ``labels`` on
    ``points`` (NaN where fewer than two clusters are left)."""
    row = {"k": k, "inertia": float(inertia)}
    if np.unique(labels).shape[0] < 2:
        row.update(silhouette=math.nan, calinski_harabasz=math.nan, davies_bouldin=math.nan)
        return row
    scores = cluster_scores(points, labels, sample_size=sample_size, random_state=seed)
    row["silhouette"] = float(scores.silhouette)
    row["calinski_harabasz"] = float(scores.calinski_harabasz)
    row["davies_bouldin"] = float(scores.davies_bouldin)
    return row


def fit_mixed_sweep(
    numeric: np.ndarray,
    codes: np.ndarray,
    embedded: np.ndarray,
    k_range: Sequence[int],
    *,
    gamma: float,
    seed: int | None = 0,
    n_init: int | None = None,
    sample_threshold: int = SAMPLE_THRESHOLD,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[dict], dict[int, KPrototypes]]:
    """Fit K-Prototypes for every k; measure its cost, silhouette, Calinski-Harabasz and
    Davies-Bouldin with the mixed distance.

    Parameters
    ----------
    numeric : ndarray of shape (n_samples, n_numeric)
        The scaled numeric features.
    codes : ndarray of shape (n_samples, n_categorical), int
        Category codes of the categorical features (0 .. n_categories - 1).
    embedded : ndarray of shape (n_samples, n_features_out)
        The rows in the space where the mixed cost is the squared Euclidean distance
        (:meth:`segmentation.model.SegmentationModel.embed`).
    k_range : sequence of int
    gamma : float
        The weight of a categorical mismatch, the same for every k.
    seed, n_init, sample_threshold, progress
        As in :func:`fit_sweep`; ``n_init`` is the number of K-Prototypes runs (Cao's
        initialisation, numeric parts drawn from the seed).

    Returns
    -------
    rows : list of dict
        As :func:`fit_sweep`'s, with ``inertia`` the K-Prototypes cost.
    models : dict of int to KPrototypes
    """
    n_samples = numeric.shape[0]
    ks = [int(k) for k in k_range]
    if not ks:
        raise SegmentationError("The k range is empty; give one such as `k_range` 2-10.")
    bad = [k for k in ks if k < 2 or k >= n_samples]
    if bad:
        raise SegmentationError(
            f"Cannot try k={bad[0]} on {n_samples} customers; k must be between 2 and "
            f"{n_samples - 1}."
        )
    if n_init is None:
        n_init = choose_n_init(n_samples)
    n_numeric = numeric.shape[1]
    table = np.empty((n_samples, n_numeric + codes.shape[1]), dtype=object)
    table[:, :n_numeric] = numeric
    table[:, n_numeric:] = codes
    categorical = list(range(n_numeric, table.shape[1]))
    # the silhouette's sample is the one silhouette_rows draws, as in fit_sweep
    sample_size = sample_threshold if n_samples > sample_threshold else None
    rows, models = [], {}
    for k in ks:
        model = KPrototypes(k, gamma=gamma, init="cao", n_init=n_init, random_state=seed)
        labels = model.fit(table, categorical=categorical).labels_
        rows.append(_sweep_row(k, model.cost_, embedded, labels, sample_size, seed))
        models[k] = model
        if progress is not None:
            progress(k)
    return rows, models


def sweep(X: np.ndarray, k_range: Sequence[int], **options) -> list[dict]:
    """The rows of :func:`fit_sweep` without the fitted models (same keyword options)."""
    rows, _ = fit_sweep(X, k_range, **options)
    return rows


def kneedle(ks: Sequence[float], inertias: Sequence[float]) -> int | None:
    """The elbow of a convex decreasing curve by the Kneedle method (Satopää et al. 2011).

    Both axes are scaled to [0, 1]; a decreasing convex curve is flipped vertically so that it
    becomes increasing and concave; the knee is the point farthest above the diagonal, i.e. the
    maximum of the difference curve ``(1 - y_norm) - x_norm``.

    Parameters
    ----------
    ks : sequence of shape (n_points,)
        Increasing x values (the k tried).
    inertias : sequence of shape (n_points,)
        The inertia at each k.

    Returns
    -------
    int or None
        The k at the elbow, or None when there is none: fewer than three points, a flat curve,
        or a curve with no point above the diagonal (straight or concave).
    """
    x = np.asarray(ks, dtype=np.float64)
    y = np.asarray(inertias, dtype=np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.shape[0] < 3:
        return None
    x_span = x.max() - x.min()
    y_span = y.max() - y.min()
    if x_span <= 0 or y_span <= 0:
        return None
    x_norm = (x - x.min()) / x_span
    y_norm = (y - y.min()) / y_span
    difference = (1.0 - y_norm) - x_norm
    best = int(np.argmax(difference))
    # A tiny positive maximum is rounding on a straight line, not an elbow.
    if difference[best] <= 1e-9:
        return None
    return int(round(x[best]))


def choose_k(rows: Sequence[dict], tolerance: float = SILHOUETTE_TOLERANCE) -> tuple[int, str, str]:
    """Choose k from the sweep rows by the module's one rule, and say why in numbers.

    Parameters
    ----------
    rows : sequence of dict
        The rows of :func:`sweep`.
    tolerance : float, default ``SILHOUETTE_TOLERANCE``
        How much silhouette the elbow may give up against the best k.

    Returns
    -------
    k : int
    rule : str
        The rule, in words (the same for every call).
    reason : str
        One or two sentences with the numbers behind this choice.
    """
    if not rows:
        raise SegmentationError("No k was tried, so none can be chosen.")
    by_k = {int(row["k"]): row for row in rows}
    ks = sorted(by_k)
    sil = {k: by_k[k]["silhouette"] for k in ks}
    scored = [k for k in ks if sil[k] is not None and np.isfinite(sil[k])]
    elbow = kneedle(ks, [by_k[k]["inertia"] for k in ks])
    if not scored:
        # No k gave two distinct segments (e.g. all customers identical): fall back to the elbow.
        k = elbow if elbow is not None else ks[0]
        return k, RULE, f"k={k}: no k gave a defined silhouette, so the smallest k was taken."
    best_sil = max(scored, key=lambda k: (sil[k], -k))
    use_elbow = (
        elbow is not None
        and elbow < best_sil
        and elbow in scored
        and sil[elbow] >= sil[best_sil] - tolerance
    )
    k = elbow if use_elbow else best_sil

    if use_elbow:
        reason = (
            f"k={k}: the elbow of the inertia curve, with silhouette {sil[k]:.3f} within "
            f"{tolerance} of the best ({sil[best_sil]:.3f} at k={best_sil}), so fewer segments "
            "were preferred"
        )
    elif elbow == k:
        reason = f"k={k}: highest silhouette ({sil[k]:.3f}) and the elbow of the inertia curve"
    else:
        elbow_text = f"at k={elbow}" if elbow is not None else "not found"
        reason = f"k={k}: highest silhouette ({sil[k]:.3f}); the inertia elbow is {elbow_text}"
    reason += _agreement(by_k, ks, k) + "."
    return k, RULE, reason


def _agreement(by_k: dict, ks: list[int], k: int) -> str:
    """Say whether Calinski-Harabasz (max) and Davies-Bouldin (min) point at the same k."""
    parts = []
    ch = {q: by_k[q]["calinski_harabasz"] for q in ks if np.isfinite(by_k[q]["calinski_harabasz"])}
    db = {q: by_k[q]["davies_bouldin"] for q in ks if np.isfinite(by_k[q]["davies_bouldin"])}
    if ch:
        ch_best = max(ch, key=ch.get)
        if ch_best == k:
            parts.append(f"Calinski-Harabasz ({ch[k]:.0f}) also peaks here")
        else:
            parts.append(f"Calinski-Harabasz peaks at k={ch_best} ({ch[ch_best]:.0f})")
    if db:
        db_best = min(db, key=db.get)
        if db_best == k:
            parts.append(f"Davies-Bouldin ({db[k]:.2f}) is lowest here")
        else:
            parts.append(f"Davies-Bouldin is lowest at k={db_best} ({db[db_best]:.2f})")
    return "; " + ", and ".join(parts) if parts else ""
