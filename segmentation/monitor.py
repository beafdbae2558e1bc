"""Drift of a new batch of customers against a model's training data: PSI, shares, migration.

What is compared, and how:

- **Each feature** by the population stability index (PSI) between its training distribution
  and the batch's: ``PSI = sum over bins of (now - then) * ln(now / then)``, shares of customers
  per bin. A numeric feature's bins are the training deciles, stored in the model when it was
  fitted (:func:`describe_training`), in original units after gaps are filled as the model
  fills them: ``(-inf, e1], (e1, e2], ..., (e_last, inf)``, so that a batch value beyond the
  training range falls in an end bin. Ties merge bins (a feature with few distinct values has
  fewer than ten). A categorical feature's bins are its training categories plus one for the
  categories the training never saw. A share of 0 (an empty bin, in the batch or in training)
  is replaced by :data:`PSI_EPSILON` = 1e-4 before the logarithm, the usual convention.
- **The reading** is the usual one: below 0.1 no change, 0.1 to 0.25 moderate, above 0.25
  significant.
- **Chance.** PSI is noisy on small batches: a batch drawn from the training distribution
  itself reads about ``(bins - 1) * (1 / n_batch + 1 / n_train)`` on average (the chi-square
  approximation; 0.09 for 100 customers and decile bins), more once bins come out empty. So
  each PSI comes with ``noise_95``, the 95th percentile of the PSI between two samples of the
  training and batch sizes drawn from the training shares (:data:`NOISE_DRAWS` seeded draws).
  A reading counts towards the verdict only when its PSI is above ``noise_95``, and a batch
  with fewer than :data:`MIN_CUSTOMERS_PER_BIN` customers per bin gets a warning that says so.
- **The segments**: their shares in training (stored in the model) and in the batch, as the
  model assigns it (:meth:`SegmentationModel.assignment`, the one labelling path), with the PSI
  of those shares.
- **Migration**: given an earlier ``customers_segmented.csv`` and a customer id column in both,
  how many customers moved from each earlier segment to each segment now; customers in only one
  of the two are counted as new or gone.

A model saved before the training distribution was stored is refused with a sentence asking to
fit it again: the distribution cannot be rebuilt from the centers alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import SegmentationError
from .io import read_table, to_jsonable, write_json_atomic, write_text_atomic
from .model import SegmentationModel
from .preprocess import is_id_name
from .staging import output_set

__all__ = [
    "N_BINS",
    "PSI_EPSILON",
    "MODERATE_PSI",
    "SIGNIFICANT_PSI",
    "NOISE_DRAWS",
    "MIN_CUSTOMERS_PER_BIN",
    "UNSEEN",
    "quantile_edges",
    "bin_counts",
    "population_stability_index",
    "psi_reading",
    "psi_noise",
    "describe_training",
    "FeatureDrift",
    "SegmentShift",
    "Migration",
    "DriftReport",
    "migration_matrix",
    "drift",
    "MonitorResult",
    "monitor",
    "DRIFT_FILES",
]

#: Bins per numeric feature: training deciles.
N_BINS = 10
#: A share of 0 becomes this before the logarithm of PSI.
PSI_EPSILON = 1e-4
#: PSI at or above this reads "moderate"; above SIGNIFICANT_PSI "significant".
MODERATE_PSI = 0.1
SIGNIFICANT_PSI = 0.25
READINGS = ("no change", "moderate", "significant")
VERDICTS = {
    "no change": "no change",
    "moderate": "moderate drift",
    "significant": "significant drift",
}
#: Draws of the no-drift PSI behind ``noise_95`` (seeded: the same inputs give the same report).
NOISE_DRAWS = 2000
NOISE_QUANTILE = 0.95
#: Fewer customers per bin than this (on average) and PSI is dominated by chance.
MIN_CUSTOMERS_PER_BIN = 10
#: The bin of categories the training never saw.
UNSEEN = "(not seen in training)"
#: The files ``monitor`` writes into its output folder.
DRIFT_FILES = {"json": "drift.json", "html": "drift.html"}


# --------------------------------------------------------------------------- PSI


def quantile_edges(values, n_bins: int = N_BINS) -> np.ndarray:
    """Inner edges of quantile bins: ``(-inf, e1], (e1, e2], ..., (e_last, inf)``.

    The edges are training values (the inverted empirical CDF at 1/n_bins, 2/n_bins ...),
    repeated ones merged and none at the maximum, so every bin holds at least one training
    value; with many ties there are fewer than ``n_bins`` bins.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        Finite training values.
    n_bins : int

    Returns
    -------
    ndarray of shape (n_bins_out - 1,)
        Increasing; empty for a constant feature (one bin).
    """
    values = np.sort(np.asarray(values, dtype=np.float64))
    if values.size == 0:
        return np.empty(0)
    levels = np.arange(1, n_bins) / n_bins
    edges = np.unique(np.quantile(values, levels, method="inverted_cdf"))
    edges = edges[edges < values[-1]]
    if edges.size == 0:
        # Nearly everyone at the maximum: one edge just below it, if there is anything below.
        edges = values[values < values[-1]][-1:]
    return edges


def bin_counts(edges, values) -> np.ndarray:
    """How many values fall in each bin of :func:`quantile_edges`.

    Parameters
    ----------
    edges : array-like of shape (n_bins - 1,)
    values : array-like of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_bins,), dtype int64
    """
    edges = np.asarray(edges, dtype=np.float64)
    index = np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="left")
    return np.bincount(index, minlength=edges.size + 1).astype(np.int64)


def _psi_rows(expected: np.ndarray, actual: np.ndarray, epsilon: float) -> np.ndarray:
    """PSI of shares along the last axis (zero shares replaced by ``epsilon``)."""
    expected = np.maximum(expected, epsilon)
    actual = np.maximum(actual, epsilon)
    return np.sum((actual - expected) * np.log(actual / expected), axis=-1)


def population_stability_index(expected_shares, actual_counts, *, epsilon=PSI_EPSILON) -> float:
    """The population stability index of a batch against expected shares.

    ``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`` with ``a_i = actual_counts_i / n``; a share of
    0 on either side is replaced by ``epsilon``. Every term is >= 0, so PSI >= 0, and it is 0
    exactly when the shares are equal; swapping the two distributions gives the same value.

    Parameters
    ----------
    expected_shares : array-like of shape (n_bins,)
        Training shares, summing to 1.
    actual_counts : array-like of shape (n_bins,)
        Customers of the batch in each bin (not all zero).
    epsilon : float, default PSI_EPSILON

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the two do not have one value per bin, hold negative or non-finite values, the
        shares do not sum to 1, or the batch is empty.
    """
    expected = np.asarray(expected_shares, dtype=np.float64)
    counts = np.asarray(actual_counts, dtype=np.float64)
    if expected.ndim != 1 or expected.shape != counts.shape or expected.size == 0:
        raise ValueError(
            f"expected_shares and actual_counts need one value per bin, got shapes "
            f"{expected.shape} and {counts.shape}."
        )
    if not (np.all(np.isfinite(expected)) and np.all(np.isfinite(counts))):
        raise ValueError("Shares and counts must be finite.")
    if np.any(expected < 0) or np.any(counts < 0):
        raise ValueError("Shares and counts must be >= 0.")
    if abs(expected.sum() - 1.0) > 1e-6:
        raise ValueError(f"expected_shares must sum to 1, not {expected.sum():.6g}.")
    if counts.sum() <= 0:
        raise ValueError("actual_counts holds no customer.")
    return float(_psi_rows(expected, counts / counts.sum(), epsilon))


def psi_reading(psi: float) -> str:
    """The usual reading of a PSI: "no change" (< 0.1), "moderate" (0.1 to 0.25) or
    "significant" (> 0.25)."""
    if psi < MODERATE_PSI:
        return "no change"
    return "moderate" if psi <= SIGNIFICANT_PSI else "significant"


def psi_noise(
    expected_shares, n_train: int, n_batch: int, *, draws: int = NOISE_DRAWS, seed: int = 0
) -> tuple[float, float]:
    """What PSI reads by chance alone, with no drift.

    Two samples, of ``n_train`` and ``n_batch`` customers, are drawn from ``expected_shares``
    ``draws`` times (seeded) and their PSI computed as :func:`population_stability_index`
    does. For large samples the mean is about ``(bins - 1) * (1 / n_batch + 1 / n_train)``;
    for small ones empty bins (and the epsilon) push it higher.

    Parameters
    ----------
    expected_shares : array-like of shape (n_bins,)
    n_train, n_batch : int
    draws : int
    seed : int

    Returns
    -------
    mean : float
        The expected PSI under no drift.
    q95 : float
        Its 95th percentile: a PSI above it is unlikely to be chance.
    """
    shares = np.asarray(expected_shares, dtype=np.float64)
    shares = shares / shares.sum()
    rng = np.random.default_rng(seed)
    train = rng.multinomial(n_train, shares, size=draws) / n_train
    batch = rng.multinomial(n_batch, shares, size=draws) / n_batch
    values = _psi_rows(train, batch, PSI_EPSILON)
    return float(values.mean()), float(np.quantile(values, NOISE_QUANTILE))


# --------------------------------------------------------------------------- the training side


def _category_counts(categories: list[str], text: pd.Series) -> np.ndarray:
    """Customers per training category, then the unseen ones: shape (len(categories) + 1,)."""
    codes = pd.Index(categories).get_indexer(text.astype(str))
    codes = np.where(codes < 0, len(categories), codes)
    return np.bincount(codes, minlength=len(categories) + 1).astype(np.int64)


def describe_training(preprocessor, data: pd.DataFrame, segment_sizes) -> dict:
    """The training distribution that drift is measured against, as stored in ``model.json``.

    Parameters
    ----------
    preprocessor : Preprocessor
        Fitted on ``data``.
    data : pandas.DataFrame of shape (n_customers, n_columns)
        The training customers (or a sample of them).
    segment_sizes : array-like of shape (k,)
        Customers per segment (of all training customers).

    Returns
    -------
    dict
        JSON-safe: ``n_customers`` (of ``data``: what the distribution was measured on, and
        what the noise of a comparison is computed for), ``segment_shares`` and ``features``:
        per numeric feature
        ``{"kind": "numeric", "edges", "shares"}`` (decile edges in original units, gaps
        filled as the model fills them; one share per bin), per categorical feature
        ``{"kind": "categorical", "categories", "shares"}``.
    """
    imputed = preprocessor.impute(data)
    n = len(data)
    features = {}
    for name in preprocessor.numeric_features_:
        values = imputed[name].to_numpy(dtype=np.float64)
        edges = quantile_edges(values)
        features[name] = {
            "kind": "numeric",
            "edges": edges.tolist(),
            "shares": (bin_counts(edges, values) / n).tolist(),
        }
    for name in preprocessor.categorical_features_:
        categories = list(preprocessor.categories_[name])
        counts = _category_counts(categories, imputed[name])
        features[name] = {
            "kind": "categorical",
            "categories": categories,
            "shares": (counts[:-1] / n).tolist(),
        }
    sizes = np.asarray(segment_sizes, dtype=np.float64)
    return {
        "n_customers": int(n),
        "bins": f"deciles ({N_BINS} quantile bins; ties merged)",
        "segment_shares": (sizes / sizes.sum()).tolist(),
        "features": features,
    }


def _checked_training(model: SegmentationModel, source: str = "The model") -> dict:
    """The model's training distribution, or one sentence why drift cannot be measured."""
    training = model.training
    if training is None:
        raise SegmentationError(
            f"{source} was saved by an earlier segment, before models stored the training "
            "distribution that drift is measured against (it cannot be rebuilt from the "
            "centers); fit it again with 'segment run' on the training data."
        )
    try:
        n = int(training["n_customers"])
        shares = np.asarray(training["segment_shares"], dtype=np.float64)
        features = training["features"]
        ok = n > 0 and shares.shape == (model.n_segments,)
        pre = model.preprocessor
        for name in [*pre.numeric_features_, *pre.categorical_features_]:
            spec = features[name]
            bins = spec["edges"] if spec["kind"] == "numeric" else spec["categories"]
            ok = ok and len(spec["shares"]) == len(bins) + (spec["kind"] == "numeric")
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise SegmentationError(
            f"{source} has a damaged training distribution; fit it again with 'segment run'."
        )
    return training


# --------------------------------------------------------------------------- the report


def _number(value: float) -> str:
    return f"{value:.4g}"


class _Reading:
    """The reading of a PSI and whether chance explains it (needs ``psi`` and ``noise_95``)."""

    psi: float
    noise_95: float

    @property
    def reading(self) -> str:
        """The reading: "no change", "moderate" or "significant" (:func:`psi_reading`)."""
        return psi_reading(self.psi)

    @property
    def beyond_noise(self) -> bool:
        """Whether the PSI is above what chance gives at this batch size."""
        return self.psi > self.noise_95


@dataclass(frozen=True)
class FeatureDrift(_Reading):
    """One feature of the batch against its training distribution.

    Attributes
    ----------
    name, kind : str
        The column, and "numeric" or "categorical".
    bins : list of str
        The bins, in words (``"<= 23"``, ``"(23, 31]"``, ``"> 67"``; categories).
    shares_then, shares_now : list of float
        Share of training and batch customers per bin.
    psi : float
    noise_mean, noise_95 : float
        Mean and 95th percentile of the PSI of a batch of this size with no drift.
    """

    name: str
    kind: str
    bins: list[str]
    shares_then: list[float]
    shares_now: list[float]
    psi: float
    noise_mean: float
    noise_95: float

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "psi": self.psi,
            "reading": self.reading,
            "expected_psi_no_drift": self.noise_mean,
            "noise_95": self.noise_95,
            "beyond_noise": self.beyond_noise,
            "bins": self.bins,
            "shares_then": self.shares_then,
            "shares_now": self.shares_now,
        }


@dataclass(frozen=True)
class SegmentShift(_Reading):
    """The segment shares in training and in the batch (the model's assignment).

    Attributes
    ----------
    names : list of str
    shares_then, shares_now : list of float
    customers_now : list of int
    psi, noise_mean, noise_95 : float
        The PSI of the shares, and what chance gives (as for a feature).
    """

    names: list[str]
    shares_then: list[float]
    shares_now: list[float]
    customers_now: list[int]
    psi: float
    noise_mean: float
    noise_95: float

    def to_dict(self) -> dict:
        return {
            "psi": self.psi,
            "reading": self.reading,
            "expected_psi_no_drift": self.noise_mean,
            "noise_95": self.noise_95,
            "beyond_noise": self.beyond_noise,
            "shares": [
                {"id": i, "name": name, "then": then, "now": now, "customers_now": count}
                for i, (name, then, now, count) in enumerate(
                    zip(
                        self.names,
                        self.shares_then,
                        self.shares_now,
                        self.customers_now,
                        strict=True,
                    )
                )
            ],
        }


@dataclass(frozen=True)
class Migration:
    """How customers moved between an earlier segmentation and the batch's.

    Attributes
    ----------
    id_column : str
        The column that matched customers.
    before : list of str
        The earlier segments (rows), by their number in the earlier file.
    now : list of str
        The model's segments (columns).
    matrix : ndarray of shape (len(before), len(now)), dtype int64
        Customers in both: earlier segment -> segment now.
    new : ndarray of shape (len(now),), dtype int64
        Customers of the batch not in the earlier file, by segment now.
    gone : ndarray of shape (len(before),), dtype int64
        Customers of the earlier file not in the batch, by earlier segment.
    named : bool
        Whether the earlier file named its segments (``Segment_name``); if not, they are
        "Segment 0", "Segment 1" ... and a customer stayed when its number did not change.
    """

    id_column: str
    before: list[str]
    now: list[str]
    matrix: np.ndarray
    new: np.ndarray
    gone: np.ndarray
    named: bool = True

    @property
    def matched(self) -> int:
        """Customers in both."""
        return int(self.matrix.sum())

    def same(self, i: int, j: int) -> bool:
        """Whether earlier segment ``i`` and segment ``j`` now are the same segment: the same
        name (or, when the earlier file named none, the same number)."""
        return self.before[i] == self.now[j] if self.named else i == j

    @property
    def stayed(self) -> int:
        """Matched customers who are in the same segment as before (see :meth:`same`)."""
        return int(
            sum(
                self.matrix[i, j]
                for i in range(len(self.before))
                for j in range(len(self.now))
                if self.same(i, j)
            )
        )

    def to_dict(self) -> dict:
        return {
            "id_column": self.id_column,
            "before": self.before,
            "now": self.now,
            "matrix": self.matrix,
            "new": self.new,
            "gone": self.gone,
            "matched": self.matched,
            "stayed": self.stayed,
            "moved": self.matched - self.stayed,
        }


@dataclass(frozen=True)
class DriftReport:
    """A batch against a model's training data (see the module docstring).

    Attributes
    ----------
    n_batch, n_train : int
    features : list of FeatureDrift
        In the model's feature order.
    segments : SegmentShift
    migration : Migration or None
        Only when an earlier segmentation was given.
    verdict : str
        "no change", "moderate drift" or "significant drift".
    reason : str
        Why, in one sentence.
    warnings : list of str
        For example a batch too small for PSI to tell small shifts from chance.
    model : dict
        Which model: its checksum (its id), when it was made, by which version, k.
    labels : ndarray of shape (n_batch,)
        The batch's segments.
    """

    n_batch: int
    n_train: int
    features: list[FeatureDrift]
    segments: SegmentShift
    migration: Migration | None
    verdict: str
    reason: str
    warnings: list[str]
    model: dict
    labels: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        """What ``drift.json`` holds (without where the files came from)."""
        return to_jsonable(
            {
                "verdict": self.verdict,
                "reason": self.reason,
                "warnings": self.warnings,
                "n_batch": self.n_batch,
                "n_train": self.n_train,
                "model": self.model,
                "features": {f.name: f.to_dict() for f in self.features},
                "segments": self.segments.to_dict(),
                "migration": None if self.migration is None else self.migration.to_dict(),
                "method": {
                    "psi": "sum over bins of (share now - share then) * ln(share now / share then)",
                    "bins": "numeric features: training deciles in original units (ties "
                    "merged, open-ended end bins); categorical features: the training "
                    "categories and one bin for unseen ones",
                    "epsilon": PSI_EPSILON,
                    "readings": {
                        "no change": f"PSI < {MODERATE_PSI}",
                        "moderate": f"{MODERATE_PSI} <= PSI <= {SIGNIFICANT_PSI}",
                        "significant": f"PSI > {SIGNIFICANT_PSI}",
                    },
                    "noise": f"noise_95 is the {NOISE_QUANTILE:.0%} quantile of the PSI between "
                    f"two samples of the training and batch sizes drawn from the training "
                    f"shares ({NOISE_DRAWS} seeded draws); a reading counts towards the "
                    "verdict only above it",
                },
            }
        )


def _bin_words(spec: dict) -> list[str]:
    if spec["kind"] == "categorical":
        return [*spec["categories"], UNSEEN]
    edges = [f"{e:g}" for e in spec["edges"]]
    if not edges:
        return ["all"]
    middle = [f"({a}, {b}]" for a, b in pairwise(edges)]
    return [f"<= {edges[0]}", *middle, f"> {edges[-1]}"]


def _feature_drift(name: str, spec: dict, values: pd.Series, n_train: int, seed: int):
    if spec["kind"] == "numeric":
        then = np.asarray(spec["shares"], dtype=np.float64)
        counts = bin_counts(spec["edges"], values.to_numpy(dtype=np.float64))
    else:
        then = np.append(np.asarray(spec["shares"], dtype=np.float64), 0.0)
        counts = _category_counts(list(spec["categories"]), values)
    then = then / then.sum()  # the stored shares sum to 1 up to rounding
    psi = population_stability_index(then, counts)
    noise_mean, noise_95 = psi_noise(then, n_train, len(values), seed=seed)
    return FeatureDrift(
        name=name,
        kind=spec["kind"],
        bins=_bin_words(spec),
        shares_then=then.tolist(),
        shares_now=(counts / counts.sum()).tolist(),
        psi=psi,
        noise_mean=noise_mean,
        noise_95=noise_95,
    )


def _verdict(features: list[FeatureDrift], segments: SegmentShift, n: int) -> tuple[str, str]:
    """The overall verdict and its reason: the worst reading that chance does not explain."""
    signals = [(f"'{f.name}'", f) for f in features] + [("the segment shares", segments)]
    real = [(label, s) for label, s in signals if s.reading != "no change" and s.beyond_noise]
    chance = [(label, s) for label, s in signals if s.reading != "no change" and not s.beyond_noise]
    if real:
        worst = max(READINGS.index(s.reading) for _, s in real)
        verdict = VERDICTS[READINGS[worst]]
        listed = "; ".join(
            f"{label} {s.reading} (PSI {s.psi:.3f})"
            for label, s in sorted(real, key=lambda item: -item[1].psi)
        )
        reason = (
            f"{verdict.capitalize()}: {listed}, beyond what chance gives for a batch of {n:,} "
            "customers."
        )
        return verdict, reason
    if chance:
        listed = "; ".join(
            f"{label} reads {s.reading} (PSI {s.psi:.3f}) but up to {s.noise_95:.3f} is chance"
            for label, s in chance
        )
        return "no change", (f"No change that a batch of {n:,} customers can show: {listed}.")
    largest = max((s for _, s in signals), key=lambda s: s.psi)
    label = next(label for label, s in signals if s is largest)
    small_but_real = ", a small shift beyond chance" if largest.beyond_noise else ""
    return "no change", (
        f"No change: every PSI is below {MODERATE_PSI} (largest: {label}, {largest.psi:.3f}"
        f"{small_but_real})."
    )


def _id_keys(series: pd.Series, what: str, id_column: str) -> pd.Index:
    """Customer ids as text keys (integer-valued numbers without a ".0"); unique, none missing."""
    if series.isna().any():
        raise SegmentationError(
            f"{what} has {int(series.isna().sum()):,} rows without a '{id_column}'; every "
            "customer needs an id to be matched."
        )
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64)
        if np.all(values == np.round(values)):
            keys = pd.Index(values.astype(np.int64).astype(str))
        else:
            keys = pd.Index(values.astype(str))
    else:
        keys = pd.Index(series.astype(str).str.strip())
    if not keys.is_unique:
        duplicated = keys[keys.duplicated()][0]
        raise SegmentationError(
            f"{what} has the '{id_column}' {duplicated!r} more than once; customers cannot "
            "be matched."
        )
    return keys


def _shared_id_column(model, data: pd.DataFrame, previous: pd.DataFrame, id_column) -> str:
    """The id column to match on: the one given, else the model's identifier found in both
    tables, else a column named like an id in both."""
    if id_column is not None:
        for table, what in ((data, "the new batch"), (previous, "the earlier segmentation")):
            if id_column not in table.columns:
                raise SegmentationError(
                    f"`id_column` '{id_column}' is not in {what}; its columns are "
                    f"{', '.join(repr(str(c)) for c in table.columns)}."
                )
        return id_column
    shared = [c for c in data.columns if c in previous.columns]
    known = [c for c in model.metadata.get("id_columns", []) if c in shared]
    named = [c for c in shared if is_id_name(str(c))]
    if known or named:
        return str((known or named)[0])
    raise SegmentationError(
        "Matching customers with the `previous` segmentation needs a customer id column in both "
        "tables, and none was found (no column of the two is named like an id or was an "
        "identifier in training); name it with `id_column`."
    )


def migration_matrix(
    previous: pd.DataFrame,
    ids: pd.Series,
    labels,
    names: list[str],
    id_column: str,
) -> Migration:
    """Count customers by earlier segment and segment now, matched by id.

    Parameters
    ----------
    previous : pandas.DataFrame of shape (n_before, n_columns)
        An earlier ``customers_segmented.csv``: a ``Segment`` column (numbers) and, if there,
        ``Segment_name``.
    ids : pandas.Series of shape (n_batch,)
        The batch's customer ids (the earlier ones are ``previous[id_column]``).
    labels : array-like of shape (n_batch,)
        The batch's segments, 0 .. len(names) - 1.
    names : list of str
        The model's segment names.
    id_column : str

    Returns
    -------
    Migration
    """
    if "Segment" not in previous.columns:
        raise SegmentationError(
            "The `previous` table has no 'Segment' column; give a customers_segmented.csv "
            "written by 'segment run' or 'segment predict'."
        )
    segment = pd.to_numeric(previous["Segment"], errors="coerce")
    if segment.isna().any() or not np.all(segment == np.round(segment)) or (segment < 0).any():
        raise SegmentationError(
            "The `previous` table's 'Segment' column must hold segment numbers (0, 1, ...)."
        )
    before_codes = segment.to_numpy(dtype=np.int64)
    n_before = int(before_codes.max()) + 1
    before_names = [f"Segment {i}" for i in range(n_before)]
    if "Segment_name" in previous.columns:
        for code, name in zip(before_codes, previous["Segment_name"].astype(str), strict=True):
            before_names[code] = name
    before_keys = _id_keys(previous[id_column], "The `previous` table", id_column)
    now_keys = _id_keys(ids, "The new batch", id_column)
    labels = np.asarray(labels, dtype=np.int64)
    position = pd.Series(np.arange(len(before_keys)), index=before_keys)
    found = now_keys.isin(before_keys)
    rows = position.reindex(now_keys[found]).to_numpy()
    matrix = np.zeros((n_before, len(names)), dtype=np.int64)
    np.add.at(matrix, (before_codes[rows], labels[found]), 1)
    new = np.bincount(labels[~found], minlength=len(names)).astype(np.int64)
    gone_mask = ~before_keys.isin(now_keys)
    gone = np.bincount(before_codes[gone_mask], minlength=n_before).astype(np.int64)
    named = "Segment_name" in previous.columns
    return Migration(id_column, before_names, list(names), matrix, new, gone, named)


def drift(
    model: SegmentationModel,
    data: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    id_column: str | None = None,
    *,
    seed: int = 0,
) -> DriftReport:
    """Compare a batch of customers with the model's training data.

    Parameters
    ----------
    model : SegmentationModel
        Saved with its training distribution (every model of this version is).
    data : pandas.DataFrame of shape (n_batch, n_columns)
        The new batch; it must hold the model's feature columns.
    previous : pandas.DataFrame or None
        An earlier ``customers_segmented.csv``; with it the report has a migration matrix.
    id_column : str or None
        The customer id column shared by ``data`` and ``previous`` (default: the model's
        identifier column if both hold it, else a column named like an id in both).
    seed : int
        Seed of the no-drift draws behind ``noise_95``.

    Returns
    -------
    DriftReport

    Raises
    ------
    SegmentationError
        For a model without a training distribution (saved before it was stored), an empty
        batch, missing feature columns, an earlier table without segments or without a shared
        id column, or ids missing or repeated.
    """
    training = _checked_training(model)
    if len(data) == 0:
        raise SegmentationError("The new batch has no customers to compare.")
    X = model.preprocessor.transform(data)
    labels = model.assignment(X).labels
    imputed = model.preprocessor.impute(data)
    n, m = len(data), int(training["n_customers"])
    features = [
        _feature_drift(name, training["features"][name], imputed[name], m, seed)
        for name in imputed.columns
    ]
    counts = np.bincount(labels, minlength=model.n_segments)
    then = np.asarray(training["segment_shares"], dtype=np.float64)
    then = then / then.sum()
    noise_mean, noise_95 = psi_noise(then, m, n, seed=seed)
    segments = SegmentShift(
        names=list(model.segment_names),
        shares_then=then.tolist(),
        shares_now=(counts / n).tolist(),
        customers_now=counts.tolist(),
        psi=population_stability_index(then, counts),
        noise_mean=noise_mean,
        noise_95=noise_95,
    )
    migration = None
    if previous is not None:
        column = _shared_id_column(model, data, previous, id_column)
        migration = migration_matrix(previous, data[column], labels, model.segment_names, column)
    warnings = []
    most_bins = max(len(f.bins) for f in features)
    if n < MIN_CUSTOMERS_PER_BIN * most_bins:
        widest = max(features, key=lambda f: f.noise_95)
        warnings.append(
            f"The batch has {n:,} customers, fewer than {MIN_CUSTOMERS_PER_BIN} per bin: PSI is "
            f"noisy at this size (a batch drawn from the training data itself reads up to "
            f"{widest.noise_95:.2f} on '{widest.name}' by chance), so only large shifts show."
        )
    verdict, reason = _verdict(features, segments, n)
    document = model.to_dict()
    return DriftReport(
        n_batch=n,
        n_train=m,
        features=features,
        segments=segments,
        migration=migration,
        verdict=verdict,
        reason=reason,
        warnings=warnings,
        model={
            "sha256": document["sha256"],
            "package_version": document["package_version"],
            "created": model.metadata.get("created"),
            "input": model.metadata.get("input"),
            "k": model.n_segments,
            "method": model.method,
        },
        labels=labels,
    )


# --------------------------------------------------------------------------- files


def _refuse_inputs_inside(out, inputs: dict) -> None:
    """The output folder is replaced as a whole: it must not hold an input (such as the
    model.json of the run folder it would be written over)."""
    folder = Path(out).resolve()
    for what, path in inputs.items():
        if path is not None and folder in Path(path).resolve().parents:
            raise SegmentationError(
                f"The output folder '{out}' holds {what} ('{path}'), and monitor replaces its "
                "output folder as a whole; choose another `out` folder."
            )


@dataclass(frozen=True)
class MonitorResult:
    """What :func:`monitor` computed and wrote.

    Attributes
    ----------
    report : DriftReport
    document : dict
        What ``drift.json`` holds.
    paths : dict of str to pathlib.Path
        ``"json"`` and ``"html"``: the files written.
    """

    report: DriftReport
    document: dict
    paths: dict


def monitor(
    model_path,
    input_path,
    *,
    previous_path=None,
    id_column: str | None = None,
    out="monitor",
    encoding: str | None = None,
    decimal: str | None = None,
) -> MonitorResult:
    """Read a model and a new batch (and an earlier segmentation), measure the drift, and
    write ``drift.json`` and ``drift.html`` into ``out``.

    The output folder is one set (:func:`segmentation.staging.output_set`): both files are
    prepared beside it and swapped in together with a ``manifest.json``, so a run that fails
    or is killed leaves the previous drift files as they were. The folder must not hold an
    input or files that no segment run wrote.

    Parameters
    ----------
    model_path : path
        A ``model.json`` written by ``segment run``.
    input_path : path
        The new batch: a CSV or Parquet table with the model's feature columns.
    previous_path : path or None
        An earlier ``customers_segmented.csv``, for the migration matrix.
    id_column : str or None
        See :func:`drift`.
    out : path
        The output folder.
    encoding, decimal : str or None
        Text encoding and decimal mark of CSV inputs; None detects them.

    Returns
    -------
    MonitorResult
    """
    model = SegmentationModel.load(model_path)
    # Before reading anything else: a model from before is refused.
    _checked_training(model, f"Model file '{model_path}'")
    inputs = {
        "the model": model_path,
        "the new batch": input_path,
        "the earlier segmentation": previous_path,
    }
    _refuse_inputs_inside(out, inputs)
    parameters = {
        "model": model_path,
        "input": input_path,
        "previous": previous_path,
        "id_column": id_column,
        "encoding": encoding,
        "decimal": decimal,
    }
    protect = [path for path in inputs.values() if path is not None]
    # All or nothing: both files are prepared beside `out` and put in place together.
    with output_set(
        out, command="monitor", parameters=to_jsonable(parameters), known=DRIFT_FILES.values()
    ) as stage:
        data = read_table(input_path, encoding=encoding, decimal=decimal)
        previous = None
        if previous_path is not None:
            previous = read_table(previous_path, encoding=encoding, decimal=decimal)
        report = drift(model, data, previous, id_column)
        document = {
            "package": "kmeans-segment",
            "version": __version__,
            "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            "input": str(input_path),
            "previous": None if previous_path is None else str(previous_path),
            **report.to_dict(),
        }
        document["model"] = {"path": str(model_path), **document["model"]}
        from .drift_report import render_drift_page  # matplotlib only when writing

        html = render_drift_page(report, document)
        paths = {}
        for key, write, content in (
            ("html", write_text_atomic, html),
            ("json", write_json_atomic, document),
        ):
            staged = write(content, stage.path(DRIFT_FILES[key]), protect=protect)
            paths[key] = stage.final(staged)
    return MonitorResult(report=report, document=document, paths=paths)
