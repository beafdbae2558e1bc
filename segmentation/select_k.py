"""Choosing the number of segments: a sweep over k, the elbow, the gap statistic, and the rules.

For every k in the range we fit k-means (k-means++ with several restarts, so that a small data
set does not land in a poor local minimum) and measure four things:

- **inertia**: the within-segment sum of squares; always falls as k grows, so only its *shape*
  matters: the elbow, found by the Kneedle method (Satopää et al. 2011);
- **silhouette** (higher is better, in [-1, 1]): how much closer each customer is to its own
  segment than to the next one; exact up to ``sample_threshold`` rows, estimated on a seeded
  sample of that many rows above;
- **Calinski-Harabasz** (higher is better): between-segment over within-segment dispersion;
- **Davies-Bouldin** (lower is better): how much each segment overlaps its most similar one.

The gap statistic (:func:`gap_statistic`, Tibshirani, Walther & Hastie 2001) compares log W_k,
the log inertia, with its mean over reference data sets drawn uniformly over the box aligned
with the data's principal components; Tibshirani's rule (:func:`gap_choice`) takes the smallest
k with Gap(k) >= Gap(k+1) - s_(k+1), and k = 1 is a possible answer: no structure.

The rules (:func:`choose_k`, ``k_rule``): ``silhouette`` (the highest), ``elbow`` (Kneedle),
``gap`` (Tibshirani's rule), and ``auto``, the default: *the highest silhouette when it is 0.5
or more; below that, the k named by two of silhouette, elbow and gap, or the silhouette's when
all three differ.* Kaufman & Rousseeuw read an average silhouette above 0.5 as "a reasonable
structure", and there the highest silhouette is the criterion that finds the Fränti sets'
true k (data/franti). Below it the silhouette tends to prefer a coarse two-way split of a
continuum (wholesale customers, online-retail RFM), so a second kind of evidence must agree:
the shape of the inertia curve, or the comparison with structureless data. The gap statistic
is computed only when the rule needs it. Measured (``python -m benchmarks.compare k-rules``;
gap*: Tibshirani's rule, 1 = no structure; README.md gives the stability at each k too):

========================  =====  ==========  =====  ====  ====  =========
data (k tried)            truth  silhouette  elbow  gap*  auto  best sil.
========================  =====  ==========  =====  ====  ====  =========
mall, 3 columns (2-10)    -      6           4      2     6     0.427
mall income+spending      -      5           5      1     5     0.555
wholesale customers       -      2           5      2     2     0.313
online retail RFM         -      2           5      5     5     0.433
Fränti S1, S2 (2-20)      15     15, 15      6, 5   1, 3  15    0.71, 0.63
Fränti S3, S4 (2-20)      15     15, 15      7, 6   2, 1  15    0.49, 0.48
Fränti A1 (2-25)          20     20          7      3     20    0.560
Fränti A2 (2-40)          35     35          8      1     35    0.583
Fränti A3 (2-55)          50     49          9      1     49    0.598
Fränti Unbalance (2-13)   8      6           5      1     6     0.827
Fränti DIM32 (2-21)       16     16          12     16    16    0.943
one Gaussian blob         1      3           4      1     3     0.329
uniform square            1      4           4      1     4     0.413
========================  =====  ==========  =====  ====  ====  =========

On the last two the run says, in its warnings, that the gap statistic prefers one segment.
Calinski-Harabasz and Davies-Bouldin do not vote; the reason sentence says whether they agree,
so that a disagreement is visible.

With K-Prototypes (:func:`fit_mixed_sweep`) the same rules run on the same four measures (no
gap statistic: uniform references have no categories, so ``auto`` votes with two), taken
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

from kmeans_core import KMeans, KPrototypes, fit_many
from kmeans_core.metrics import cluster_scores

from .errors import SegmentationError

__all__ = [
    "SAMPLE_THRESHOLD",
    "SWEEP_SAMPLE_ROWS",
    "SWEEP_SAMPLE_REASON",
    "RULE",
    "REFINE",
    "choose_n_init",
    "silhouette_rows",
    "fit_sweep",
    "fit_mixed_sweep",
    "sweep",
    "kneedle",
    "choose_k",
    "needs_gap",
    "check_k_rule",
    "K_RULES",
    "RULES",
    "REASONABLE_STRUCTURE",
    "NO_STRUCTURE",
    "GAP_REFERENCES",
    "GAP_MAX_ROWS",
    "GAP_N_INIT",
    "gap_statistic",
    "gap_choice",
]

SAMPLE_THRESHOLD = 10_000
#: On Dask (``segment run --engine dask``) the k sweep runs on a seeded sample of this many
#: customers: see :data:`SWEEP_SAMPLE_REASON`.
SWEEP_SAMPLE_ROWS = 100_000
SWEEP_SAMPLE_REASON = (
    "the silhouette that chooses k is estimated on 10,000 customers even in process; 100,000 "
    "rows put a segment of 1% of the customers at 1,000 rows, its center within about 3% of a "
    "standard deviation; the final fit then runs on every customer from the sample's centers"
)
#: Reference data sets of the gap statistic, and the rows above which it runs on a sample.
GAP_REFERENCES = 10
GAP_MAX_ROWS = 10_000
#: k-means++ starts per reference fit: uniform references have few poor local minima.
GAP_N_INIT = 3
#: Mixed with the seed, so that the references are not drawn from the sweep's random stream.
_GAP_STREAM = 4
#: Kaufman & Rousseeuw's reading of the best average silhouette: at least this, "a reasonable
#: structure has been found"; below NO_STRUCTURE, "no substantial structure".
REASONABLE_STRUCTURE = 0.5
NO_STRUCTURE = 0.25
#: The rules that choose k, in words.
RULES = {
    "auto": (
        "the highest silhouette when it is 0.5 or more (reasonable structure, Kaufman & "
        "Rousseeuw); below, a vote of the highest silhouette, the inertia elbow (Kneedle) and the "
        "gap statistic (Tibshirani's rule): a k named by two wins, otherwise the silhouette's"
    ),
    "silhouette": "the highest silhouette",
    "elbow": "the elbow of the inertia curve (Kneedle); the highest silhouette if it has none",
    "gap": (
        "the gap statistic, Tibshirani's rule: the smallest k with Gap(k) >= Gap(k+1) - s_(k+1), "
        "against references uniform over the box aligned with the principal components"
    ),
}
K_RULES = tuple(RULES)
RULE = RULES["auto"]


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
    rows, fitted = [None] * len(ks), [None] * len(ks)

    def measure(i: int, km: KMeans) -> None:
        rows[i] = _sweep_row(ks[i], km.inertia_, X, np.asarray(km.labels_), sample_size, seed)
        fitted[i] = km
        if progress is not None:
            progress(ks[i])

    # Every k in one call: on small data their fits run side by side.
    fit_many(
        (KMeans(k, n_init=n_init, random_state=seed, refine=REFINE) for k in ks),
        (X for _ in ks),
        on_fit=measure,
    )
    return rows, dict(zip(ks, fitted, strict=True))


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


def choose_k(
    rows: Sequence[dict],
    rule: str = "auto",
    gaps: Sequence[dict] | None = None,
) -> tuple[int, str, str]:
    """Choose k from the sweep rows by one of :data:`K_RULES`, and say why in numbers.

    Parameters
    ----------
    rows : sequence of dict
        The rows of :func:`sweep`.
    rule : {"auto", "silhouette", "elbow", "gap"}, default "auto"
        ``silhouette``: the highest silhouette. ``elbow``: the Kneedle elbow of the inertia
        (the highest silhouette when the curve has none). ``gap``: Tibshirani's rule on
        ``gaps``. ``auto``: the highest silhouette when it is at least
        ``REASONABLE_STRUCTURE``; below, the k that two of silhouette, elbow and gap name, or
        the silhouette's when all three differ.
    gaps : sequence of dict, optional
        The rows of :func:`gap_statistic` (k = 1 included); needed by ``gap``, and by ``auto``
        when :func:`needs_gap` says so (without them ``auto`` votes with two criteria).

    Returns
    -------
    k : int
    rule : str
        The rule, in words (the same for every call with this ``rule``).
    reason : str
        One or two sentences with the numbers behind this choice.
    """
    check_k_rule(rule)
    if not rows:
        raise SegmentationError("No k was tried, so none can be chosen.")
    by_k = {int(row["k"]): row for row in rows}
    ks = sorted(by_k)
    sil = {k: by_k[k]["silhouette"] for k in ks}
    scored = [k for k in ks if sil[k] is not None and np.isfinite(sil[k])]
    elbow = kneedle(ks, [by_k[k]["inertia"] for k in ks])
    if not scored:
        # No k gave two distinct segments (e.g. all customers identical).
        k = ks[0]
        return (
            k,
            RULES[rule],
            f"k={k}: no k gave a defined silhouette, so the smallest k was taken.",
        )
    best = max(scored, key=lambda k: (sil[k], -k))
    elbow_text = f"the inertia elbow is at k={elbow}" if elbow is not None else "no inertia elbow"
    if rule == "gap":
        if gaps is None:
            raise SegmentationError("The gap rule needs the gap statistic of the sweep.")
        k, reason = _gap_reason(gaps, ks)
    elif rule == "elbow":
        if elbow is not None:
            k = elbow
            reason = (
                f"k={k}: the elbow of the inertia curve (silhouette {_number(sil.get(k))}; the "
                f"best is {sil[best]:.3f} at k={best})"
            )
        else:
            k = best
            reason = (
                f"k={k}: the inertia curve has no elbow, so the highest silhouette ({sil[k]:.3f})"
            )
    elif rule == "silhouette" or sil[best] >= REASONABLE_STRUCTURE:
        k = best
        strength = ", reasonable structure (0.5 or more)" if rule == "auto" else ""
        reason = f"k={k}: highest silhouette ({sil[k]:.3f}){strength}; {elbow_text}"
    else:
        k, reason = _vote(
            best, sil[best], elbow, gap_choice(gaps) if gaps else None, gaps is not None
        )
    reason += _agreement(by_k, ks, k) + "."
    return k, RULES[rule], reason


def needs_gap(rows: Sequence[dict], rule: str) -> bool:
    """Whether ``rule`` needs the gap statistic on these sweep rows (``gap`` always; ``auto``
    when no silhouette reaches ``REASONABLE_STRUCTURE``)."""
    if rule == "gap":
        return True
    if rule != "auto":
        return False
    values = [row["silhouette"] for row in rows if np.isfinite(row["silhouette"])]
    return not values or max(values) < REASONABLE_STRUCTURE


def check_k_rule(rule) -> str:
    """The k rule, one of :data:`K_RULES`.

    Raises
    ------
    SegmentationError
        If ``rule`` is not one of them.
    """
    if rule not in K_RULES:
        raise SegmentationError(f"`k_rule` must be one of {', '.join(K_RULES)}, got {rule!r}.")
    return rule


def _number(value) -> str:
    return f"{value:.3f}" if value is not None and np.isfinite(value) else "undefined"


def _gap_reason(gaps: Sequence[dict], ks: list[int]) -> tuple[int, str]:
    by_k = {int(row["k"]): row for row in gaps}
    chosen = gap_choice(gaps)
    if chosen is None:
        k = ks[-1]
        return k, (
            f"k={k}: the gap statistic still rises at the largest k tried "
            f"(Gap({k})={by_k[k]['gap']:.3f}), so the largest is used"
        )
    following = min(q for q in by_k if q > chosen)
    test = (
        f"Gap({chosen})={by_k[chosen]['gap']:.3f} >= Gap({following}) - s_{following} = "
        f"{by_k[following]['gap'] - by_k[following]['gap_se']:.3f}"
    )
    if chosen == 1:
        k = ks[0]
        return k, (
            f"k={k}: the gap statistic prefers a single segment ({test}): no more structure than "
            f"uniform random data; k={k}, the smallest tried, is used"
        )
    return (
        chosen,
        f"k={chosen}: the first k of the gap statistic that the next does not beat ({test})",
    )


def _vote(best: int, best_sil: float, elbow: int | None, gap: int | None, with_gap: bool):
    """auto below reasonable structure: silhouette, elbow and gap vote."""
    weak = f"the best silhouette, {best_sil:.3f} at k={best}, shows only weak structure (below 0.5)"
    gap_text = f"the gap statistic at k={gap}" if gap else "the gap statistic at no k tried"
    if gap == 1:
        gap_text = "the gap statistic prefers one segment"
    elbow_text = f"the inertia elbow at k={elbow}" if elbow is not None else "no inertia elbow"
    if elbow is not None and elbow == gap and elbow != best:
        return elbow, f"k={elbow}: the inertia elbow and the gap statistic agree; {weak}"
    if best in (elbow, gap):
        agree = "the inertia elbow" if best == elbow else "the gap statistic"
        reason = f"k={best}: highest silhouette ({best_sil:.3f}), and {agree} agrees"
        if best != elbow:
            reason += f"; {elbow_text}"
        elif with_gap:
            reason += f"; {gap_text}"
        return best, reason
    others = f"{elbow_text}, {gap_text}" if with_gap else elbow_text
    return (
        best,
        f"k={best}: highest silhouette ({best_sil:.3f}), weak structure (below 0.5); {others}",
    )


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


# --------------------------------------------------------------------------- gap statistic


def gap_statistic(
    X: np.ndarray,
    k_range: Sequence[int],
    *,
    n_refs: int = GAP_REFERENCES,
    seed: int | None = 0,
    n_init: int = GAP_N_INIT,
    max_rows: int = GAP_MAX_ROWS,
    inertias: dict[int, float] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """The gap statistic of Tibshirani, Walther & Hastie (2001) for k = 1 and every k given.

    Gap(k) = E*[log W*_k] - log W_k, where W_k is the within-segment sum of squares (the
    inertia) of k-means on the data and E* its mean over ``n_refs`` reference data sets drawn
    uniformly over the box aligned with the data's principal components (the paper's second
    reference distribution: it follows the shape of the data, so an elongated cloud is not
    mistaken for clusters). k-means is translation- and rotation-invariant, so the references
    are drawn and clustered in principal-component coordinates. W_1 is the total sum of
    squares (no clustering needed).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    k_range : sequence of int
        The ks to measure besides 1.
    n_refs : int, default ``GAP_REFERENCES``
        Reference data sets (B in the paper).
    seed : int or None, default 0
        Seeds the sample, the references and every fit (None: fresh randomness).
    n_init : int, default ``GAP_N_INIT``
        k-means++ starts per fit of a reference (and of the data when it is fitted here).
    max_rows : int, default ``GAP_MAX_ROWS``
        Above this many rows the statistic is computed on a seeded sample of this size (the
        data's W_k refitted on it), and the references have as many rows.
    inertias : dict of int to float, optional
        The data's W_k by k, from the sweep (its restarts); used when the whole data is
        measured. Missing ones are fitted here.
    progress : callable or None
        Called as ``progress(done, n_refs)`` before the first reference and after each.

    Returns
    -------
    list of dict
        One per k (1 first), in order: ``k``, ``gap``, ``gap_se`` (s_k = sd_k * sqrt(1 + 1/B),
        sd_k the standard deviation of log W*_k over the references), ``log_w`` and
        ``log_w_ref`` (the mean over the references).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    ks = sorted({1, *(int(k) for k in k_range)})
    rng = np.random.default_rng(
        np.random.SeedSequence(None if seed is None else [seed, _GAP_STREAM])
    )
    if X.shape[0] > max_rows:
        X = X[np.sort(rng.choice(X.shape[0], max_rows, replace=False))]
        inertias = None  # the sweep's are of all the rows
    inertias = dict(inertias or {})
    centered = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    rotated = centered @ vt.T
    low, high = rotated.min(axis=0), rotated.max(axis=0)

    def log_of(inertia: float) -> float:
        return math.log(max(inertia, np.finfo(float).tiny))

    def total_sum_of_squares(points: np.ndarray) -> float:
        return float(((points - points.mean(axis=0)) ** 2).sum())

    data = {k: log_of(inertias[k]) for k in ks if inertias.get(k) is not None}
    if 1 not in data:
        data[1] = log_of(total_sum_of_squares(rotated))
    references = []
    for _ in range(n_refs):
        points = rng.uniform(low, high, size=rotated.shape)
        references.append((points, int(rng.integers(0, 2**31 - 1))))
    reference = np.empty((n_refs, len(ks)))
    column = {k: i for i, k in enumerate(ks)}
    for b, (points, _) in enumerate(references):
        reference[b, column[1]] = log_of(total_sum_of_squares(points))

    # Every k-means fit in one call, so that the small ones run side by side: the data's
    # missing W_k, then each reference's. ``None`` stands for the data.
    fits = [(None, k) for k in ks if k not in data]
    fits += [(b, k) for b in range(n_refs) for k in ks if k != 1]
    left = [len(ks) - 1] * n_refs
    if progress is not None:
        progress(0, n_refs)

    def fitted(i: int, model: KMeans) -> None:
        b, k = fits[i]
        if b is None:
            data[k] = log_of(model.inertia_)
            return
        reference[b, column[k]] = log_of(model.inertia_)
        left[b] -= 1
        if left[b] == 0 and progress is not None:
            progress(n_refs - sum(1 for n in left if n), n_refs)

    fit_many(
        (
            KMeans(k, n_init=n_init, random_state=seed if b is None else references[b][1])
            for b, k in fits
        ),
        (rotated if b is None else references[b][0] for b, _ in fits),
        on_fit=fitted,
    )
    if len(ks) == 1 and progress is not None:  # no k but 1: nothing to fit
        for b in range(n_refs):
            progress(b + 1, n_refs)
    mean = reference.mean(axis=0)
    sd = reference.std(axis=0)  # the paper's sd_k: 1/B, not 1/(B-1)
    se = sd * math.sqrt(1.0 + 1.0 / n_refs)
    return [
        {
            "k": k,
            "gap": float(mean[i] - data[k]),
            "gap_se": float(se[i]),
            "log_w": float(data[k]),
            "log_w_ref": float(mean[i]),
        }
        for i, k in enumerate(ks)
    ]


def gap_choice(gaps: Sequence[dict]) -> int | None:
    """Tibshirani's rule: the smallest k with Gap(k) >= Gap(k+1) - s_(k+1).

    "k+1" is the next k measured. None when no k passes (the gap still rises at the largest
    k measured).
    """
    rows = sorted(gaps, key=lambda row: row["k"])
    for row, following in zip(rows, rows[1:], strict=False):
        if row["gap"] >= following["gap"] - following["gap_se"]:
            return int(row["k"])
    return None
