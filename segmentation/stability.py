"""Are the segments real? Bootstrap stability per segment (Hennig's clusterboot).

Hennig (2007), "Cluster-wise assessment of cluster stability", Computational Statistics & Data
Analysis 52, 258-271, as R's ``fpc::clusterboot`` computes it with its defaults
(``bootmethod="boot"``, ``multipleboot=FALSE``):

1. draw n customers with replacement and keep the distinct ones (a customer drawn twice counts
   once);
2. cluster those customers again with the same method and k (here the engine's k-means,
   k-means++ seeding, a seed derived from the run's seed);
3. for every original segment, restrict it to the customers of the draw and take its best
   Jaccard similarity |A ∩ B| / |A ∪ B| among the new clusters (0 if the segment has no
   customer in the draw);
4. repeat B times; a segment's stability is the mean of its B best matches.

clusterboot's reading of the mean: 0.85 or more *highly stable*; 0.75 or more *stable*;
0.6 to 0.75 *doubtful*, a pattern in the data whose members are uncertain; below 0.6 *not to
be trusted*. A segment whose best match is 0.5 or less in a replicate has *dissolved* there
(clusterboot's ``bootbrd``); above 0.75 it was *recovered* (``bootrecover``).

On many customers the replicates draw ``max_rows`` customers (with replacement, distinct ones
kept) instead of n: an m-out-of-n bootstrap that bounds the cost. Smaller draws make
k-means a little noisier, so the figures, if anything, understate the stability; the result
says when it happened.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kmeans_core import KMeans, fit_many

from .errors import SegmentationError
from .select_k import NO_STRUCTURE, choose_n_init

__all__ = [
    "DEFAULT_BOOTSTRAPS",
    "MAX_ROWS",
    "READINGS",
    "UNSTABLE",
    "DISSOLVED",
    "RECOVERED",
    "Stability",
    "stability_label",
    "best_jaccard",
    "check_bootstrap",
    "bootstrap_stability",
    "structure_warnings",
]

#: Bootstrap replicates by default (see README: the standard error of the mean Jaccard).
DEFAULT_BOOTSTRAPS = 50
#: Above this many customers each replicate draws this many (an m-out-of-n bootstrap).
MAX_ROWS = 20_000
#: clusterboot's reading of a mean Jaccard similarity, from the top.
READINGS = (
    (0.85, "highly stable"),
    (0.75, "stable"),
    (0.6, "doubtful"),
    (-math.inf, "not to be trusted"),
)
#: Below this mean a segment is not to be trusted.
UNSTABLE = 0.6
#: A best match at or below this dissolved the segment in that replicate; above RECOVERED it
#: was found again (clusterboot's ``dissolution`` and ``recover``).
DISSOLVED = 0.5
RECOVERED = 0.75
#: Mixed with the run's seed, so that the draws are not those of the run's other random steps.
_STREAM = 19


def stability_label(value: float) -> str:
    """clusterboot's word for a segment's mean Jaccard similarity."""
    for threshold, label in READINGS:
        if value >= threshold:
            return label
    return READINGS[-1][1]  # NaN


@dataclass(frozen=True)
class Stability:
    """The bootstrap of a segmentation: every replicate's best Jaccard match per segment.

    Attributes
    ----------
    jaccard : ndarray of shape (n_boot, k)
        Best Jaccard similarity of each segment in each replicate.
    n_customers : int
        Customers in the segmentation.
    draw_size : int
        Customers drawn (with replacement) per replicate: ``n_customers``, or ``MAX_ROWS``
        when there are more.
    n_init : int
        k-means++ starts per replicate.
    seed : int or None
        The run's seed, from which every replicate's draw and fit are derived.
    """

    jaccard: np.ndarray
    n_customers: int
    draw_size: int
    n_init: int
    seed: int | None

    @property
    def n_boot(self) -> int:
        return int(self.jaccard.shape[0])

    @property
    def sampled(self) -> bool:
        """Whether the replicates drew fewer customers than there are."""
        return self.draw_size < self.n_customers

    @property
    def mean(self) -> np.ndarray:
        """Mean Jaccard per segment: its stability."""
        return self.jaccard.mean(axis=0)

    @property
    def standard_error(self) -> np.ndarray:
        """Standard error of each mean (sample standard deviation over sqrt(B))."""
        if self.n_boot < 2:
            return np.full(self.jaccard.shape[1], math.nan)
        return self.jaccard.std(axis=0, ddof=1) / math.sqrt(self.n_boot)

    @property
    def dissolved(self) -> np.ndarray:
        """Per segment, the replicates in which its best match was at most ``DISSOLVED``."""
        return (self.jaccard <= DISSOLVED).sum(axis=0)

    @property
    def recovered(self) -> np.ndarray:
        """Per segment, the replicates in which its best match was above ``RECOVERED``."""
        return (self.jaccard > RECOVERED).sum(axis=0)

    @property
    def labels(self) -> list[str]:
        return [stability_label(value) for value in self.mean]

    @property
    def unstable(self) -> list[int]:
        """The segments not to be trusted (mean below ``UNSTABLE``)."""
        return [int(i) for i in np.flatnonzero(self.mean < UNSTABLE)]

    def segment(self, i: int) -> dict:
        """The fields of segment ``i`` in the summary."""
        return {
            "stability": round(float(self.mean[i]), 4),
            "stability_label": self.labels[i],
            "stability_se": round(float(self.standard_error[i]), 4),
            "stability_dissolved": int(self.dissolved[i]),
            "stability_recovered": int(self.recovered[i]),
        }

    @property
    def description(self) -> str:
        """How the stability was measured, in words."""
        draw = (
            f"{self.draw_size:,} of the {self.n_customers:,} customers drawn with replacement"
            " (an m-out-of-n bootstrap, to bound the cost)"
            if self.sampled
            else f"{self.n_customers:,} customers drawn with replacement"
        )
        starts = f"{self.n_init} start{'s' if self.n_init != 1 else ''}"
        return (
            f"mean over {self.n_boot} bootstrap re-clusterings ({draw}, customers drawn twice "
            f"counted once, {starts} each) of the segment's best Jaccard similarity to a "
            "cluster found again"
        )

    def to_dict(self) -> dict:
        """The method and its parameters for the summary (the values are per segment)."""
        return {
            "method": "clusterboot (Hennig 2007): bootstrap, distinct customers, best Jaccard "
            "match per segment, mean over the replicates",
            "description": self.description,
            "n_boot": self.n_boot,
            "draw_size": self.draw_size,
            "sampled": self.sampled,
            "n_init": self.n_init,
            "seed": self.seed,
            "thresholds": {label: threshold for threshold, label in READINGS[:-1]},
            "dissolved_at_most": DISSOLVED,
            "recovered_above": RECOVERED,
        }


def best_jaccard(original: np.ndarray, found: np.ndarray, k: int, k_found: int) -> np.ndarray:
    """For each original segment, its best Jaccard similarity among the clusters found.

    Parameters
    ----------
    original : ndarray of shape (n,), int
        The original segment (0 .. k-1) of each customer of the draw.
    found : ndarray of shape (n,), int
        Their cluster (0 .. k_found-1) in the re-clustering.
    k, k_found : int

    Returns
    -------
    ndarray of shape (k,)
        max over found clusters of |A ∩ B| / |A ∪ B|; 0 for a segment absent from the draw.
    """
    both = np.bincount(original * k_found + found, minlength=k * k_found).reshape(k, k_found)
    union = both.sum(axis=1)[:, None] + both.sum(axis=0)[None, :] - both
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, both / np.maximum(union, 1), 0.0)
    return jaccard.max(axis=1)


def check_bootstrap(value) -> int:
    """The number of bootstrap replicates: a whole number, 0 for none.

    Raises
    ------
    SegmentationError
        If it is not a whole number of at least 0.
    """
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise SegmentationError(
                f"`bootstrap` must be a whole number of replicates (0 for none), got '{value}'."
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise SegmentationError(
            f"`bootstrap` must be a whole number of replicates (0 for none), got {value!r}."
        )
    if value < 0:
        raise SegmentationError(
            f"`bootstrap` is {value}; give a number of replicates such as "
            f"{DEFAULT_BOOTSTRAPS}, or 0 for none."
        )
    return int(value)


def bootstrap_stability(
    X: np.ndarray,
    labels: np.ndarray,
    n_clusters: int,
    *,
    n_boot: int = DEFAULT_BOOTSTRAPS,
    seed: int | None = 0,
    n_init: int | None = None,
    max_rows: int = MAX_ROWS,
    cluster: Callable[[np.ndarray, int], np.ndarray] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Stability:
    """Hennig's clusterboot of a segmentation: each segment's mean best Jaccard match.

    Parameters
    ----------
    X : ndarray of shape (n_customers, n_features)
        The matrix the segmentation clustered.
    labels : ndarray of shape (n_customers,), int
        The segment of every customer, 0 .. n_clusters-1.
    n_clusters : int
    n_boot : int, default 50
        Bootstrap replicates (at least 1).
    seed : int or None, default 0
        The run's seed: every replicate's draw and k-means seed derive from it (None: fresh
        randomness).
    n_init : int or None
        k-means++ starts per replicate; None gives the run's restarts for the draw's size
        (:func:`segmentation.select_k.choose_n_init`: 20 up to 2,000 customers, 10 up to
        10,000, 3 above). Fewer count k-means's poor local minima as instability: on Fränti
        A1 the lowest segment reads 0.77 with 1 start, 0.90 with 10 and 0.97 with 20
        (benchmarks/results/stability.md).
    max_rows : int, default 20,000
        Above this many customers each replicate draws ``max_rows`` of them.
    cluster : callable or None
        ``cluster(rows, seed) -> labels`` re-clusters the customers ``rows`` (distinct
        indices into X) into ``n_clusters``; None uses the engine's k-means on ``X[rows]``.
    progress : callable or None
        Called as ``progress(done, n_boot)`` before the first replicate and after each.

    Returns
    -------
    Stability
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n = X.shape[0]
    if n_boot < 1:
        raise SegmentationError(f"`bootstrap` is {n_boot}; the bootstrap needs at least 1.")
    draw_size = min(n, max_rows)
    if n_init is None:
        n_init = choose_n_init(draw_size)
    # One child sequence per replicate: replicate b is the same whatever B is.
    entropy = None if seed is None else [seed, _STREAM]
    children = np.random.SeedSequence(entropy).spawn(n_boot)
    jaccard = np.empty((n_boot, n_clusters))
    draws = []
    for child in children:
        rng = np.random.default_rng(child)
        rows = np.unique(rng.integers(0, n, draw_size))
        draws.append((rows, int(rng.integers(0, 2**31 - 1))))
    if progress is not None:
        progress(0, n_boot)
    done = []

    def compare(b: int, found: np.ndarray) -> None:
        found = np.asarray(found, dtype=np.int64)
        k_found = int(found.max()) + 1 if found.size else 1
        jaccard[b] = best_jaccard(labels[draws[b][0]], found, n_clusters, k_found)
        done.append(b)
        if progress is not None:
            progress(len(done), n_boot)

    if cluster is None:
        # Every re-clustering in one call: small draws run side by side.
        fit_many(
            # a draw of a tiny table may hold fewer customers than segments
            (
                KMeans(min(n_clusters, rows.shape[0]), n_init=n_init, random_state=fit_seed)
                for rows, fit_seed in draws
            ),
            (X[rows] for rows, _ in draws),
            on_fit=lambda b, model: compare(b, model.labels_),
        )
    else:
        for b, (rows, fit_seed) in enumerate(draws):
            compare(b, cluster(rows, fit_seed))
    return Stability(jaccard=jaccard, n_customers=n, draw_size=draw_size, n_init=n_init, seed=seed)


def structure_warnings(
    sweep: list[dict],
    gap: dict | None,
    stability: Stability | None,
    names: list[str],
) -> list[str]:
    """What a reader must be told before trusting the segments, one sentence each.

    Parameters
    ----------
    sweep : list of dict
        The k sweep's rows (``k``, ``silhouette``; ``gap``, ``gap_se`` when computed).
    gap : dict or None
        The gap statistic's summary (``choice``, ``k1``) when it was computed.
    stability : Stability or None
    names : list of str
        The segment names.

    Returns
    -------
    list of str
        Empty when the data show structure and every segment is stable enough: no best
        silhouette below 0.25 (Kaufman & Rousseeuw's "no substantial structure"), no gap
        statistic preferring one segment, no segment below 0.6 (clusterboot's "not to be
        trusted").
    """
    warnings = []
    scored = [(row["silhouette"], row["k"]) for row in sweep if np.isfinite(row["silhouette"])]
    if scored:
        best, at = max(scored)
        if best < NO_STRUCTURE:
            ks = [row["k"] for row in sweep]
            warnings.append(
                f"No substantial cluster structure: the best silhouette over k={min(ks)}-"
                f"{max(ks)} is {best:.2f} (at k={at}), below 0.25 (Kaufman & Rousseeuw); the "
                "segments cut the customers into parts rather than find groups among them."
            )
    if gap is not None and gap["choice"] == 1:
        following = min((row for row in sweep if "gap" in row), key=lambda row: row["k"])
        warnings.append(
            "The gap statistic finds no more structure than in uniform random data of the same "
            f"shape: one segment fits as well as k={following['k']} does (Gap(1) = "
            f"{gap['k1']['gap']:.3f} >= Gap({following['k']}) - s = "
            f"{following['gap'] - following['gap_se']:.3f}); read the segments as a convenient "
            "partition, not as natural groups."
        )
    if stability is not None and stability.unstable:
        unstable = stability.unstable
        listed = ", ".join(f"{i} {names[i]} ({stability.mean[i]:.2f})" for i in unstable)
        verb = "is" if len(unstable) == 1 else "are"
        warnings.append(
            f"{len(unstable)} of the {len(names)} segments {verb} not to be trusted: bootstrap "
            f"stability below 0.6 (Hennig's clusterboot): {listed}; try fewer segments, or "
            "do not act on these alone."
        )
    return warnings
