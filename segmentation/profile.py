"""What each segment is: sizes, averages in original units, z-scores, shares, a readable name.

Everything a person reads about a segment is computed here (plots and the report only draw
it):

- per segment: size and share; mean and median of every numeric feature in the units of the
  input; the z-score of the segment mean against all customers, ``(mean_segment - mean_all) /
  std_all``, which says how unusual the segment is on that feature; the share of each value of
  every categorical column;
- a unique, readable name built from the segment's most distinctive features, for example
  "High income, low spending" (see :func:`name_segments`);
- per customer: the distance to its segment's center, the second-nearest segment and a margin
  ``(d2 - d1) / d2`` in [0, 1] that says how clear the assignment is (0: on the border).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
import pandas as pd

from .units import measuring_units

__all__ = [
    "HIGH_Z",
    "VERY_HIGH_Z",
    "Profiles",
    "build_profiles",
    "display_name",
    "level_phrase",
    "name_segments",
    "customer_explanations",
]

# |z| thresholds of the words: below HIGH_Z a feature is unremarkable.
HIGH_Z = 0.5
VERY_HIGH_Z = 1.25
# Most features a name is built from before collisions need more.
NAME_FEATURES = 2
# Most features a name grows to when telling twins apart; beyond, a number does (" (2)"), so
# that thousands of unremarkable features give short names, quickly.
MAX_NAME_FEATURES = 3

# Words that name a column but say nothing about it, dropped from display names.
_FILLER_WORDS = {"annual", "score", "total", "amount", "the", "of", "in", "per", "num", "number"}
# Features whose plain "high/low" reads badly get their own words: (very low, low, high, very high).
_SPECIAL_WORDS = {
    "age": ("young", "younger", "older", "senior"),
    "recency": ("very recent buyers", "recent buyers", "lapsed", "long lapsed"),
}
_RENAMES = {"monetary": "spend", "spending": "spending"}


class FeatureStats(TypedDict, total=False):
    """One numeric column over a set of customers, in the input's units: ``mean``, ``median``,
    and ``z`` (a segment) or ``std`` (all customers)."""

    mean: float
    median: float
    z: float
    std: float


class OverallProfile(TypedDict):
    """All customers: numeric columns' statistics, categorical columns' shares."""

    features: dict[str, FeatureStats]
    categoricals: dict[str, dict[str, float]]


class SegmentProfile(TypedDict):
    """One segment, JSON-ready (``Profiles.segments``)."""

    id: int
    name: str
    size: int
    share: float
    profile: dict


@dataclass
class Profiles:
    """The profile of every segment.

    Attributes
    ----------
    segments : list of SegmentProfile
        One per segment, by id: ``id``, ``name``, ``size``, ``share`` and ``profile`` =
        ``{"features": {column: {"mean", "median", "z"}}, "categoricals": {column: {value:
        share}} (most frequent first), "leading_categories": {column: {"value", "share"}}}``
        for the categorical features. JSON-ready.
    z : pandas.DataFrame of shape (k, n_columns)
        The z-score of each segment (rows, by id) on each numeric feature and on each value of
        the categorical features (columns ``"Gender=Female"``...): what the names and the
        heatmap use.
    overall : OverallProfile
        ``{"features": {column: {"mean", "median", "std"}}, "categoricals": {column: {value:
        share}}}`` over all customers.
    """

    segments: list[SegmentProfile]
    z: pd.DataFrame
    overall: OverallProfile = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Segment names, by id."""
        return [segment["name"] for segment in self.segments]

    def distinctive(self, columns: list[str], max_features: int | None) -> list[str]:
        """The ``max_features`` columns of :attr:`z` among ``columns`` that differ most between
        segments (largest mean |z|), in their own order; all of them when None or fewer.

        Parameters
        ----------
        columns : list of str
            Columns of :attr:`z` (numeric features, ``"Col=Value"`` indicators).
        max_features : int or None

        Returns
        -------
        list of str
        """
        if max_features is None or len(columns) <= max_features:
            return list(columns)
        spread = self.z[columns].abs().mean(axis=0).sort_values(ascending=False, kind="stable")
        keep = set(spread.index[:max_features])
        return [name for name in columns if name in keep]

    def table(self, max_features: int | None = None) -> pd.DataFrame:
        """One row per segment: name, size, share and the mean of each numeric feature.

        Parameters
        ----------
        max_features : int or None
            Keep only this many features, the most distinctive ones overall (largest mean
            |z| across segments); None keeps all.

        Returns
        -------
        pandas.DataFrame of shape (k, 4 + n_features)
        """
        features = self.distinctive(list(self.overall.get("features", {})), max_features)
        # Rows as lists: a feature may itself be called "Segment" or "Size".
        rows = [
            [
                segment["id"],
                segment["name"],
                segment["size"],
                segment["share"],
                *(segment["profile"]["features"][name]["mean"] for name in features),
            ]
            for segment in self.segments
        ]
        return pd.DataFrame(rows, columns=["Segment", "Name", "Size", "Share", *features])


def build_profiles(
    numeric: pd.DataFrame,
    labels: np.ndarray,
    k: int,
    *,
    categorical_features: pd.DataFrame | None = None,
    profile_categoricals: pd.DataFrame | None = None,
) -> Profiles:
    """Profile every segment in the units of the input.

    Parameters
    ----------
    numeric : pandas.DataFrame of shape (n_samples, n_numeric)
        The numeric features with gaps filled, in original units (``Preprocessor.impute``),
        before any log transform or scaling.
    labels : ndarray of shape (n_samples,)
        Segment of each customer, in [0, k).
    k : int
        Number of segments (a segment may be empty; its statistics are then NaN).
    categorical_features : pandas.DataFrame of shape (n_samples, n_cat), optional
        Categorical columns used as features (one-hot encoded for clustering): their shares
        are profiled and each value's share takes part in the names.
    profile_categoricals : pandas.DataFrame of shape (n_samples, n_prof), optional
        Categorical columns not used as features: only their shares are profiled.

    Returns
    -------
    Profiles
    """
    labels = np.asarray(labels)
    n_samples = labels.shape[0]
    if len(numeric) != n_samples:
        raise ValueError(f"numeric has {len(numeric)} rows but labels has {n_samples}.")
    numeric = numeric.reset_index(drop=True).astype("float64")
    numeric, units = _in_safe_units(numeric)
    categorical_features = _as_text(categorical_features, n_samples)
    profile_categoricals = _as_text(profile_categoricals, n_samples)
    all_categoricals = pd.concat([categorical_features, profile_categoricals], axis=1)

    overall = _overall_profile(numeric, units, all_categoricals)
    indicators = _indicators(categorical_features)
    z_source = pd.concat([numeric, indicators], axis=1)
    z_mean = z_source.mean(axis=0)
    z_std = z_source.std(axis=0, ddof=0)

    segments, z_rows = [], []
    for segment_id in range(k):
        mask = labels == segment_id
        z_row = _z(z_source[mask].mean(axis=0), z_mean, z_std)
        z_rows.append(z_row)
        segments.append(
            _segment_profile(
                segment_id, mask, numeric, units, z_row, categorical_features, all_categoricals
            )
        )
    z = pd.DataFrame(z_rows, columns=z_source.columns).reset_index(drop=True)
    z.index.name = "segment"
    names = name_segments(z, sizes=[segment["size"] for segment in segments])
    for segment, name in zip(segments, names, strict=True):
        segment["name"] = name
    return Profiles(segments=segments, z=z, overall=overall)


def _overall_profile(
    numeric: pd.DataFrame, units: dict[str, float], categoricals: pd.DataFrame
) -> OverallProfile:
    """Mean, median and population standard deviation of every numeric column (in the input's
    units), and the shares of every categorical column, over all customers."""
    mean = numeric.mean(axis=0)
    # Population std (ddof=0): the z-score compares against this very set of customers.
    std = numeric.std(axis=0, ddof=0)
    return {
        "features": {
            name: {
                "mean": float(mean[name]) * units[name],
                "median": float(numeric[name].median()) * units[name],
                "std": float(std[name]) * units[name],
            }
            for name in numeric.columns
        },
        "categoricals": {name: _shares(categoricals[name]) for name in categoricals.columns},
    }


def _segment_profile(
    segment_id: int,
    mask: np.ndarray,
    numeric: pd.DataFrame,
    units: dict[str, float],
    z_row: pd.Series,
    categorical_features: pd.DataFrame,
    categoricals: pd.DataFrame,
) -> SegmentProfile:
    """One segment (the customers where ``mask``): size, share, per numeric column the mean
    and median (input units) and ``z_row``'s z-score, the shares of every categorical column
    and the leading value of each categorical feature. Its name is given afterwards."""
    n_samples = mask.shape[0]
    size = int(mask.sum())
    part = numeric[mask]
    means = part.mean(axis=0)
    medians = part.median(axis=0)
    shares = {name: _shares(categoricals.loc[mask, name]) for name in categoricals.columns}
    return {
        "id": segment_id,
        "name": "",
        "size": size,
        "share": size / n_samples if n_samples else 0.0,
        "profile": {
            "features": {
                name: {
                    "mean": _float(means[name]) * units[name],
                    "median": _float(medians[name]) * units[name],
                    "z": _float(z_row[name]),
                }
                for name in numeric.columns
            },
            "categoricals": shares,
            "leading_categories": {
                name: {"value": value, "share": share}
                for name in categorical_features.columns
                for value, share in list(shares[name].items())[:1]
            },
        },
    }


def _in_safe_units(numeric: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Columns with values beyond ``HUGE`` or below ``TINY`` divided by their largest magnitude
    (:func:`~segmentation.units.measuring_units`), and the unit of every column (1 for
    ordinary ones, which stay exactly as they are). Means, medians and
    standard deviations are multiplied back by the unit; z-scores do not depend on it."""
    units = {name: 1.0 for name in numeric.columns}
    if numeric.empty:
        return numeric, units
    measured = measuring_units(numeric.abs().max(axis=0).to_numpy())
    unusual = [name for name, unit in zip(numeric.columns, measured, strict=True) if unit != 1.0]
    if not unusual:
        return numeric, units
    numeric = numeric.copy()
    for name in unusual:
        units[name] = float(measured[list(numeric.columns).index(name)])
        numeric[name] = numeric[name] / units[name]
    return numeric, units


def _as_text(frame: pd.DataFrame | None, n_samples: int) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(index=range(n_samples))
    frame = frame.reset_index(drop=True)
    # Missing values count as their own value so the shares still add up to one.
    return frame.astype("object").where(frame.notna(), "(missing)").astype(str)


def _shares(values: pd.Series) -> dict[str, float]:
    if len(values) == 0:
        return {}
    counts = values.value_counts(normalize=True, sort=True)
    return {str(value): float(share) for value, share in counts.items()}


def _indicators(categorical: pd.DataFrame) -> pd.DataFrame:
    columns = {}
    for name in categorical.columns:
        for value in sorted(categorical[name].unique()):
            columns[f"{name}={value}"] = (categorical[name] == value).astype("float64")
    return pd.DataFrame(columns, index=categorical.index)


def _z(segment_mean: pd.Series, overall_mean: pd.Series, overall_std: pd.Series) -> pd.Series:
    # A constant column has std 0: no segment can be unusual on it (z = 0, not a division by 0).
    z = (segment_mean - overall_mean) / overall_std.where(overall_std > 0, np.inf)
    # An empty segment has no mean, so no z either.
    return z.where(segment_mean.notna(), np.nan)


def _float(value) -> float:
    return float(value) if pd.notna(value) else float("nan")


# --------------------------------------------------------------------------- names


def display_name(column: str) -> str:
    """A short lower-case name of a column for segment names.

    ``"Annual Income (k$)"`` -> ``"income"``, ``"Spending Score (1-100)"`` -> ``"spending"``,
    ``"Detergents_Paper"`` -> ``"detergents paper"``, ``"Monetary"`` -> ``"spend"``.

    Parameters
    ----------
    column : str

    Returns
    -------
    str
    """
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", str(column))
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)  # camelCase -> camel Case
    words = re.split(r"[\s_\-./]+", text.lower())
    kept = [word for word in words if word and word not in _FILLER_WORDS]
    name = " ".join(kept) if kept else str(column).strip().lower()
    return _RENAMES.get(name, name)


def level_phrase(column: str, z: float) -> str:
    """Words for a feature at a z-score: "very high income", "low spending", "younger"...

    Parameters
    ----------
    column : str
        The column name; a categorical value column ``"Gender=Female"`` gives "mostly Female"
        (positive z) or "few Female" (negative z).
    z : float

    Returns
    -------
    str
        Lower case; "average <feature>" when ``|z| < HIGH_Z``.
    """
    if "=" in column:
        _, value = column.split("=", 1)
        if abs(z) < HIGH_Z:
            return f"mixed {value}"
        return f"mostly {value}" if z > 0 else f"few {value}"
    feature = display_name(column)
    magnitude = abs(z)
    if magnitude < HIGH_Z:
        return f"average {feature}"
    very = magnitude >= VERY_HIGH_Z
    if feature in _SPECIAL_WORDS:
        very_low, low, high, very_high = _SPECIAL_WORDS[feature]
        if z > 0:
            return very_high if very else high
        return very_low if very else low
    level = ("very high" if very else "high") if z > 0 else ("very low" if very else "low")
    return f"{level} {feature}"


def _ranked(z_row: pd.Series) -> list[str]:
    """Columns by how distinctive they are for this segment; a categorical column only once."""
    order = z_row.abs().sort_values(ascending=False, kind="stable").index
    ranked, seen_categoricals = [], set()
    for column in order:
        if not np.isfinite(z_row[column]):
            continue
        if "=" in column:
            base = column.split("=", 1)[0]
            # A value is named only when it is over-represented ("mostly Female"), and a
            # column is named once.
            if z_row[column] <= 0 or base in seen_categoricals:
                continue
            seen_categoricals.add(base)
        ranked.append(column)
    return ranked


def _compose(z_row: pd.Series, columns: list[str]) -> str:
    # The most distinctive features are chosen, then said in column order, so that the names
    # of different segments read alike ("High income, low spending", "Low income, ...").
    position = {column: i for i, column in enumerate(z_row.index)}
    columns = sorted(columns, key=position.__getitem__)
    phrases = [level_phrase(column, z_row[column]) for column in columns]
    if not phrases:
        return "Average customers"
    text = ", ".join(phrases)
    return text[0].upper() + text[1:]


def name_segments(z: pd.DataFrame, sizes: list[int] | None = None) -> list[str]:
    """Give each segment a unique, readable name from its most distinctive features.

    A segment is named after its (up to) two features with the largest ``|z|`` that reach
    ``HIGH_Z``, each with a level word ("Very low", "Low", "High", "Very high"), said in
    column order. A segment
    with no such feature is "Average customers". When two segments get the same name, each
    of them takes the next most distinctive feature, until the names differ or the features
    run out; a number then tells any remaining twins apart ("... (2)").

    Parameters
    ----------
    z : pandas.DataFrame of shape (k, n_columns)
        Segment z-scores (:attr:`Profiles.z`).
    sizes : list of int, optional
        Segment sizes; an empty segment is named "Empty segment".

    Returns
    -------
    list of str of length k
    """
    k = z.shape[0]
    ranked = [_ranked(z.iloc[i]) for i in range(k)]
    n_used = []
    for i in range(k):
        strong = [c for c in ranked[i] if abs(z.iloc[i][c]) >= HIGH_Z]
        n_used.append(min(NAME_FEATURES, len(strong)))
    empty = [bool(sizes is not None and sizes[i] == 0) for i in range(k)]

    def names_now() -> list[str]:
        return [
            "Empty segment" if empty[i] else _compose(z.iloc[i], ranked[i][: n_used[i]])
            for i in range(k)
        ]

    names = names_now()
    while True:
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            groups.setdefault(name, []).append(i)
        grew = False
        for members in groups.values():
            if len(members) < 2:
                continue
            for i in members:
                if not empty[i] and n_used[i] < min(len(ranked[i]), MAX_NAME_FEATURES):
                    n_used[i] += 1
                    grew = True
        if not grew:
            break
        names = names_now()

    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


# --------------------------------------------------------------------------- customers


def customer_explanations(distances: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Per customer: distance to its center, the second-nearest segment and the margin.

    Parameters
    ----------
    distances : ndarray of shape (n_samples, k)
        Euclidean distance of each customer to each segment center (k >= 2), in the
        preprocessed space the segments were found in.
    labels : ndarray of shape (n_samples,)
        The segment of each customer (its nearest center).

    Returns
    -------
    pandas.DataFrame of shape (n_samples, 3)
        ``Distance_to_center`` (float), ``Second_nearest_segment`` (int) and
        ``Assignment_margin`` = ``(d2 - d1) / d2`` in [0, 1]: 1 means right at its own center,
        0 means as close to the second segment as to its own (0 as well when both distances
        are 0).
    """
    distances = np.asarray(distances, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n_samples, k = distances.shape
    if k < 2:
        raise ValueError("customer_explanations needs at least two segments.")
    rows = np.arange(n_samples)
    own = distances[rows, labels]
    others = distances.copy()
    others[rows, labels] = np.inf
    second = np.argmin(others, axis=1)
    second_distance = others[rows, second]
    with np.errstate(invalid="ignore", divide="ignore"):
        margin = np.where(second_distance > 0, (second_distance - own) / second_distance, 0.0)
    margin = np.clip(margin, 0.0, 1.0)
    return pd.DataFrame(
        {
            "Distance_to_center": own,
            "Second_nearest_segment": second.astype(np.int64),
            "Assignment_margin": margin,
        }
    )
