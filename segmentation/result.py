"""What a segmentation computed, as typed values: every output is derived from these.

:class:`Segmentation` is what :func:`segmentation.pipeline.segment` returns (nothing written);
:class:`RunResult` adds what :func:`~segmentation.pipeline.run` wrote; :class:`PredictResult`
is what :func:`~segmentation.pipeline.predict` did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import RunConfig
from .model import SegmentationModel
from .preprocess import ColumnRoles, Preprocessor
from .profile import Profiles
from .rules import SegmentRules
from .stability import Stability

__all__ = [
    "KChoice",
    "SilhouetteSample",
    "Projection",
    "Segmentation",
    "RunResult",
    "PredictResult",
]


@dataclass(frozen=True)
class KChoice:
    """The k sweep and the choice of k.

    Attributes
    ----------
    k : int
        The number of segments used.
    rule, reason : str
        How k was chosen and why, in words.
    automatic_k : int
        What the rule chooses (equal to ``k`` unless k was given).
    elbow : int or None
        The Kneedle elbow of the inertia curve.
    sweep : list of dict
        One row per k tried: ``k``, ``inertia``, ``silhouette``, ``calinski_harabasz``,
        ``davies_bouldin``; ``gap`` and ``gap_se`` too when the gap statistic was computed.
    n_init : int
        k-means++ restarts per k.
    k_rule : str
        The rule asked for (``auto``, ``silhouette``, ``elbow`` or ``gap``).
    gap : dict or None
        The gap statistic's settings, its k = 1 row and its choice, when it was computed.
    """

    k: int
    rule: str
    reason: str
    automatic_k: int
    elbow: int | None
    sweep: list[dict]
    n_init: int
    k_rule: str = "auto"
    gap: dict | None = None


@dataclass(frozen=True)
class SilhouetteSample:
    """The silhouette of the customers it is measured on (all, or the sweep's sample).

    Attributes
    ----------
    rows : ndarray of shape (n_scored,)
        Indices of the customers scored.
    values : ndarray of shape (n_scored,)
        Their silhouette at the chosen k.
    sampled : bool
        Whether ``rows`` is a seeded sample rather than every customer.
    """

    rows: np.ndarray
    values: np.ndarray
    sampled: bool

    @property
    def mean(self) -> float | None:
        """The mean silhouette, or None when no customer was scored."""
        return float(np.mean(self.values)) if self.values.size else None

    @property
    def description(self) -> str:
        """How the silhouette was measured, in words."""
        if self.sampled:
            return f"estimated on a seeded sample of {self.rows.shape[0]:,} customers"
        return "exact, on all customers"


@dataclass(frozen=True)
class Projection:
    """Customers and centers on the first two principal components.

    Attributes
    ----------
    customers : ndarray of shape (n_customers, 2)
    centers : ndarray of shape (k, 2)
    explained_variance_ratio : ndarray of shape (2,)
    """

    customers: np.ndarray
    centers: np.ndarray
    explained_variance_ratio: np.ndarray


@dataclass(frozen=True)
class Segmentation:
    """Everything a segmentation computed; the outputs are drawn from it, nothing else.

    Attributes
    ----------
    data : pandas.DataFrame of shape (n_customers, n_columns)
        The customer table that was segmented (as read, synthetic, or the RFM table).
    source : str
        Where ``data`` came from, in words.
    config : RunConfig
        The options used.
    roles : ColumnRoles
        What each column was used for.
    X : ndarray of shape (n_customers, n_features_out)
        The matrix k-means saw.
    values : pandas.DataFrame of shape (n_customers, n_numeric_features)
        The numeric features in their own units, missing values filled.
    choice : KChoice
        The sweep and the choice of k.
    model : SegmentationModel
        Preprocessing, centers (segment 0 the largest), names and metadata.
    labels : ndarray of shape (n_customers,)
        The model's assignment of every customer.
    profiles : Profiles
        Per-segment statistics and names.
    customer_columns : pandas.DataFrame of shape (n_customers, 5)
        The columns written after ``data``'s own in ``customers_segmented.csv``: segment,
        segment name, distance to its center, second-nearest segment and assignment margin
        (:data:`segmentation.outputs.OUTPUT_COLUMNS`, renamed where ``data`` has a column of
        that name); for an RFM run, the RFM scores after them. Same index as ``data``.
    projection : Projection
    silhouette : SilhouetteSample
        At the chosen k, on the rows the sweep scored.
    log : list of str
        The data-cleaning log, one sentence per step.
    created : str
        UTC time of the segmentation, ISO 8601.
    timings : dict of str to float
        Seconds per stage, in order.
    rules : SegmentRules or None
        One readable rule per segment from IMM's threshold tree, with its precision and
        coverage (:func:`segmentation.rules.segment_rules`).
    rfm : dict or None
        For an RFM run: how the RFM scores were made and the cross-table of k-means segments
        by RFM name (:func:`segmentation.rfm.rfm_summary`); None otherwise.
    stability : Stability or None
        The bootstrap stability of every segment (:mod:`segmentation.stability`); None when
        ``bootstrap`` is 0.
    warnings : list of str
        What must be said before the segments are trusted (no structure, unstable segments),
        one sentence each; empty when nothing.
    population : int or None
        On Dask: the number of customers in the whole table, of which ``data`` is a seeded
        sample (the k sweep, profiles, figures and silhouette are the sample's; the final fit,
        the segment sizes and the segmented table cover every customer). None: ``data`` is
        every customer.
    """

    data: pd.DataFrame
    source: str
    config: RunConfig
    roles: ColumnRoles
    X: np.ndarray
    values: pd.DataFrame
    choice: KChoice
    model: SegmentationModel
    labels: np.ndarray
    profiles: Profiles
    customer_columns: pd.DataFrame
    projection: Projection
    silhouette: SilhouetteSample
    log: list[str]
    created: str
    timings: dict[str, float] = field(default_factory=dict)
    rules: SegmentRules | None = None
    rfm: dict | None = None
    stability: Stability | None = None
    warnings: list[str] = field(default_factory=list)
    population: int | None = None

    @property
    def k(self) -> int:
        """The number of segments."""
        return self.choice.k

    @property
    def names(self) -> list[str]:
        """Segment names, by segment number."""
        return self.model.segment_names

    @property
    def n_customers(self) -> int:
        """Every customer segmented (the whole table, also when ``data`` is a sample)."""
        return len(self.data) if self.population is None else self.population

    @property
    def preprocessor(self) -> Preprocessor:
        return self.model.preprocessor

    @property
    def segmented(self) -> pd.DataFrame:
        """``data`` followed by :attr:`customer_columns`: what ``customers_segmented.csv``
        holds, of shape (n_customers, n_columns + 5). Joined when asked for; the run writes
        the file from the two parts without joining them."""
        return pd.concat([self.data, self.customer_columns], axis=1)

    @property
    def distances(self) -> np.ndarray:
        """Distance of every customer to every center in the scaled space, of shape
        (n_customers, k); computed when asked for (the run keeps only each customer's nearest
        two, in :attr:`customer_columns`)."""
        return self.model.assignment(self.X).distances

    @property
    def parameters(self) -> dict:
        """The options as recorded in the summary and the model (k as given, n_init used)."""
        return {**self.config.parameters(), "k": self.config.k, "n_init": self.choice.n_init}


@dataclass(frozen=True)
class RunResult:
    """A segmentation and the files that :func:`~segmentation.pipeline.run` wrote from it.

    Attributes
    ----------
    segmentation : Segmentation
    summary : dict
        What ``cluster_summary.json`` holds.
    paths : dict of str to pathlib.Path
        Every file written, by its key in :data:`segmentation.outputs.OUTPUTS`.
    timings : dict of str to float
        Seconds per stage of the whole run (reading and writing included), in order.
    """

    segmentation: Segmentation
    summary: dict
    paths: dict[str, Path]
    timings: dict[str, float]


@dataclass(frozen=True)
class PredictResult:
    """What :func:`~segmentation.pipeline.predict` did.

    Attributes
    ----------
    segmented : pandas.DataFrame or None
        The input followed by the segment columns (None on Dask: they stay in the Parquet
        parts at ``path``).
    labels : ndarray of shape (n_rows,) or None
        None on Dask.
    counts : dict of str to int
        Customers per segment name, in segment order.
    path : pathlib.Path
        The CSV written (on Dask: the folder of Parquet parts).
    unknown_categories : dict of str to int
        Per categorical feature, how many rows hold a category the model was not trained on
        (they match no segment's category; the row is still assigned).
    """

    segmented: pd.DataFrame | None
    labels: np.ndarray | None
    counts: dict[str, int]
    path: Path
    unknown_categories: dict[str, int] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        """Rows assigned."""
        return sum(self.counts.values())
