"""Column roles, missing values, skew, encoding and scaling: the table turned into a matrix.

Two steps, kept apart so that each can be tested and explained:

1. :func:`infer_roles` decides what every column is for: an identifier (kept in the output,
   never a feature), a numeric feature, a categorical feature (one-hot encoded), a categorical
   column that is only profiled (its share in each segment), or dropped (with the reason).
2. :class:`Preprocessor` learns, on the training table, everything needed to turn a table into
   the matrix k-means sees, in this order:

   - gaps in numeric features are filled with the column's median, in categorical features
     with the most frequent value (ties: the first in sorted order);
   - constant columns are dropped with a warning (they cannot separate customers);
   - ``log_transform="auto"`` applies ``log1p`` to non-negative columns whose sample skewness
     (adjusted Fisher-Pearson, as ``pandas.Series.skew``) is above :data:`SKEW_THRESHOLD` = 1.0.
     Spending amounts such as the wholesale customers' columns (skew 2.6 to 11) are caught;
     age, income and spending score of the mall customers (skew -0.05 to 0.49) are not;
   - numeric features are scaled (standard, robust, minmax or none; written here, not borrowed);
     one-hot columns stay 0/1, named ``"Col=Value"`` in sorted category order.

Everything learnt is plain numbers and strings: :meth:`Preprocessor.to_dict` and
:meth:`Preprocessor.from_dict` carry it through JSON, and the restored preprocessor gives
bit-identical matrices (Python's ``json`` writes floats with ``repr``, which round-trips).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from .errors import SegmentationError
from .units import HUGE, measuring_units

__all__ = [
    "ColumnRoles",
    "infer_roles",
    "Preprocessor",
    "SCALERS",
    "SKEW_THRESHOLD",
    "MAX_CATEGORIES",
    "is_id_name",
    "NumericSummary",
    "TableStatistics",
]

SCALERS = ("standard", "robust", "minmax", "none")
#: ``log_transform="auto"`` takes the log of a non-negative column whose skewness is above this.
SKEW_THRESHOLD = 1.0
#: A text column with more distinct values than this is neither one-hot encoded nor profiled.
MAX_CATEGORIES = 50
#: A text column whose non-missing values are at least this share of numbers is meant to be
#: numeric: the remaining text is an error to report, not a category.
NUMERIC_TEXT_SHARE = 0.8
#: A numeric feature may hold a few cells that are not finite numbers (a stray "n/a!" or
#: "#REF!", an infinity from a division by zero): up to this share of its non-missing values
#: they are treated as missing, and the log says how many and where; more are refused with the
#: first row and value. Below 100 values not even one is allowed: each cell counts there.
MAX_BAD_SHARE = 0.01
#: Values beyond this magnitude are refused: within a factor 18 of the float64 limit (1.8e308),
#: a difference or the mean of two of them overflows.
MAX_MAGNITUDE = 1e307
#: How many offending rows a message or log line quotes.
QUOTED_ROWS = 5
#: Row-counter detection (an integer column 1..n without an id-like name) needs this many rows,
#: so that a short column of consecutive ages is not mistaken for one.
MIN_ROWS_FOR_COUNTER = 20

_ID_NAMES = {
    "id",
    "ids",
    "identifier",
    "index",
    "rowid",
    "rownumber",
    "uuid",
    "guid",
    "key",
    "unnamed0",
    "customer",
    "customerid",
    "customerno",
    "customernumber",
    "customercode",
    "custid",
    "custno",
    "clientid",
    "clientno",
    "userid",
    "memberid",
    "accountid",
    "accountno",
    "accountnumber",
}
# "customer_id", "Client ID", "id-number", "CustomerID" (camel case ending in ID).
_ID_PATTERNS = (
    re.compile(r"(?i)(^|[\s_\-.])(id|uuid|guid)$"),
    re.compile(r"(?i)^(id|uuid|guid)([\s_\-.]|$)"),
    re.compile(r"[a-z]ID$"),
)


def is_id_name(name: str) -> bool:
    """Whether a column name says the column is an identifier (``id``, ``CustomerID``, ...).

    Parameters
    ----------
    name : str

    Returns
    -------
    bool
    """
    name = str(name).strip()
    normalized = re.sub(r"[^a-z0-9]", "", name.lower())
    return normalized in _ID_NAMES or any(pattern.search(name) for pattern in _ID_PATTERNS)


def _format_columns(columns) -> str:
    names = [f"'{c}'" for c in columns]
    if len(names) > 30:
        names = names[:30] + [f"... ({len(columns) - 30} more)"]
    return ", ".join(names)


def _kind(series: pd.Series) -> str:
    """'numeric', 'datetime' or 'text' (bool counts as numeric: 0/1)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "datetime"
    return "text"


def _numeric_cells(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column's values as float64 with NaN for gaps, and where its unusable cells are.

    Unusable: present but not a finite number (text such as ``"thirty"``, an infinity). They
    are NaN in the values too.

    Returns
    -------
    values : ndarray of shape (n_rows,), float64
    bad : ndarray of shape (n_rows,), bool
    """
    if _kind(series) == "numeric":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isinf(values)
        if bad.any():
            values = np.where(bad, np.nan, values)
        return values, bad
    text = series.astype("str").str.strip()
    present = (series.notna() & (text != "")).to_numpy()
    numbers = pd.to_numeric(text.where(present), errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = present & ~np.isfinite(values)
    return np.where(bad, np.nan, values), bad


def _quoted_cells(series: pd.Series, bad: np.ndarray) -> str:
    """The first offending cells as "data row 18: 'thirty'" (1-based rows, as a user counts)."""
    rows = np.flatnonzero(bad)
    quoted = []
    for position in rows[:QUOTED_ROWS]:
        value = series.iloc[position]
        value = value.item() if isinstance(value, np.generic) else value
        quoted.append(f"{position + 1}: {value!r}")
    more = f", ... ({len(rows) - QUOTED_ROWS} more)" if len(rows) > QUOTED_ROWS else ""
    return f"data row{'s' if len(rows) > 1 else ''} {', '.join(quoted)}{more}"


def _only_infinities(series: pd.Series, bad: np.ndarray) -> bool:
    """Whether every unusable cell of the column is an infinity (not text)."""
    if _kind(series) == "numeric":
        return True
    numbers = pd.to_numeric(series[bad].astype("str").str.strip(), errors="coerce")
    return bool(np.all(np.isinf(numbers.to_numpy(dtype=np.float64, na_value=np.nan))))


def _bad_cells_error(name: str, series: pd.Series, bad: np.ndarray) -> SegmentationError:
    n_bad = int(bad.sum())
    n_present = int(series.notna().sum())
    where = f"{n_bad} of {n_present} values, {_quoted_cells(series, bad)}"
    if _only_infinities(series, bad):
        return SegmentationError(
            f"Column '{name}' has infinite values ({where}), more than the {MAX_BAD_SHARE:.0%} "
            "that would be treated as missing; replace them with numbers or leave them empty."
        )
    return SegmentationError(
        f"Column '{name}' has text where numbers are expected ({where}), more than the "
        f"{MAX_BAD_SHARE:.0%} that would be treated as missing; fix those values or leave the "
        "column out of `features`."
    )


def _mostly_numbers(series: pd.Series) -> bool:
    """A text column whose values are nearly all finite numbers, with some other text among
    them (not zero-padded codes such as "0042": those are text)."""
    values = series.dropna().astype("str").str.strip()
    values = values[values != ""]
    if values.empty or values.str.match(r"[+-]?0\d+$").any():
        return False
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    share = np.isfinite(numbers).mean()
    return NUMERIC_TEXT_SHARE <= share < 1.0


@dataclass
class ColumnRoles:
    """What each column of the input table is used for.

    Attributes
    ----------
    id_columns : list of str
        Identifiers: kept in the output, never features.
    numeric_features : list of str
        Numeric columns that k-means uses.
    categorical_features : list of str
        Text columns that k-means uses after one-hot encoding.
    profile_categoricals : list of str
        Text columns that are not features but whose share per segment is reported.
    dropped : dict of str to str
        Column -> why it is not used (constant, all missing, too many distinct values, ...).
        Identifiers are not listed here.
    """

    id_columns: list[str] = field(default_factory=list)
    numeric_features: list[str] = field(default_factory=list)
    categorical_features: list[str] = field(default_factory=list)
    profile_categoricals: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """Numeric then categorical features, the order the matrix uses."""
        return [*self.numeric_features, *self.categorical_features]

    def to_dict(self) -> dict:
        """A JSON-safe copy."""
        return asdict(self)


def _looks_like_row_ids(series: pd.Series, n_rows: int) -> bool:
    """Unique per row and either text, or integers forming a counter (max - min = n - 1)."""
    if n_rows < 2 or series.isna().any() or series.nunique() != n_rows:
        return False
    kind = _kind(series)
    if kind == "text":
        return not _mostly_numbers(series)
    if kind == "numeric" and not pd.api.types.is_bool_dtype(series.dtype):
        if n_rows < MIN_ROWS_FOR_COUNTER:
            return False
        values = series.to_numpy(dtype=float)
        if not np.all(values == np.round(values)):
            return False
        with np.errstate(over="ignore"):  # near the float64 limit: certainly not a counter
            return values.max() - values.min() == n_rows - 1
    return False


def infer_roles(
    df: pd.DataFrame, features: list[str] | None = None, id_column: str | None = None
) -> ColumnRoles:
    """Decide what each column is for.

    Parameters
    ----------
    df : pandas.DataFrame of shape (n_rows, n_columns)
        The input table, as :func:`segmentation.io.read_table` returns it.
    features : list of str, optional
        The feature columns. Default: every numeric column that is not an identifier.
        A text column named here is one-hot encoded.
    id_column : str, optional
        A column to treat as the identifier, on top of those found automatically: columns
        named like an id (``id``, ``customer_id``, ``CustomerID``, ...), text columns unique
        per row and integer row counters (unique, consecutive; at least 20 rows).

    Returns
    -------
    ColumnRoles

    Raises
    ------
    SegmentationError
        If a named column does not exist (the message lists those that do), an identifier or a
        date column is named as a feature, a feature column mixes numbers and text, a text
        feature has more than :data:`MAX_CATEGORIES` distinct values, or no numeric feature
        is left.
    """
    columns = [str(c) for c in df.columns]
    features = _checked_names(columns, features, id_column)
    roles = ColumnRoles()
    roles.id_columns = [
        name
        for name in columns
        if name == id_column or is_id_name(name) or _looks_like_row_ids(df[name], len(df))
    ]
    if features is not None:
        named_ids = [f for f in features if f in roles.id_columns]
        if named_ids:
            raise SegmentationError(
                f"Column {_format_columns(named_ids)} looks like an identifier (named like an id "
                "or unique per row) and cannot be a feature; leave it out of `features`."
            )
        candidates = features
    else:
        # Numeric columns, and text columns that are numbers with a few typos: those are
        # meant to be numeric, and the typos are reported rather than silently encoded.
        candidates = [
            c
            for c in columns
            if c not in roles.id_columns
            and (_kind(df[c]) == "numeric" or (_kind(df[c]) == "text" and _mostly_numbers(df[c])))
        ]
    for name in candidates:
        _assign_feature(roles, name, df[name])
    for name in columns:
        if name not in roles.id_columns and name not in candidates:
            _assign_other(roles, name, df[name], features_named=features is not None)

    if not roles.numeric_features:
        if features is None:
            raise SegmentationError(
                "The input has no usable numeric column to segment on (columns: "
                f"{_format_columns(columns)}); name feature columns with `features`."
            )
        raise SegmentationError(
            f"None of the chosen features {_format_columns(features)} is a usable numeric column; "
            "include at least one numeric column in `features`."
        )
    return roles


def _checked_names(columns: list[str], features, id_column) -> list[str] | None:
    """The named features, stripped and without repeats; refuse names that are not columns."""
    if id_column is not None and id_column not in columns:
        raise SegmentationError(
            f"ID column '{id_column}' is not in the input; "
            f"the columns are {_format_columns(columns)}."
        )
    if features is None:
        return None
    features = list(dict.fromkeys(str(f).strip() for f in features if str(f).strip()))
    if not features:
        raise SegmentationError("`features` names no column; give at least one column name.")
    missing = [f for f in features if f not in columns]
    if missing:
        label = "Feature" if len(missing) == 1 else "Features"
        raise SegmentationError(
            f"{label} {_format_columns(missing)} not in the input; "
            f"the columns are {_format_columns(columns)}."
        )
    return features


def _assign_feature(roles: ColumnRoles, name: str, series: pd.Series) -> None:
    """A candidate feature: numeric, categorical, dropped (unusable), or refused."""
    kind = _kind(series)
    if kind == "datetime":
        raise SegmentationError(
            f"Column '{name}' holds dates, which cannot be a feature; derive a number from it "
            "(for example days since) or leave it out of `features`."
        )
    numbers_with_typos = kind == "text" and _mostly_numbers(series)
    if kind == "numeric" or numbers_with_typos:
        # Refused here if it cannot be computed with: too many cells that are not finite
        # numbers, or values too close to the float64 limit.
        _numeric_values(name, series)
    reason = _unusable_reason(series)
    if reason is not None:
        roles.dropped[name] = reason
    elif kind == "numeric" or numbers_with_typos:
        roles.numeric_features.append(name)
    else:
        n_categories = series.dropna().astype("str").nunique()
        if n_categories > MAX_CATEGORIES:
            raise SegmentationError(
                f"Column '{name}' has {n_categories} distinct values, too many to one-hot "
                f"encode (at most {MAX_CATEGORIES}); leave it out of `features`."
            )
        roles.categorical_features.append(name)


def _assign_other(roles: ColumnRoles, name: str, series: pd.Series, features_named: bool):
    """A column that is neither an identifier nor a feature: profiled if text, else left out."""
    kind = _kind(series)
    if kind == "datetime":
        roles.dropped[name] = "dates (not used as a feature)"
    elif kind == "text":
        # Text columns not used as features are still worth a share per segment.
        reason = _unusable_reason(series)
        n_categories = series.dropna().astype("str").nunique()
        if reason is not None:
            roles.dropped[name] = reason
        elif n_categories > MAX_CATEGORIES:
            roles.dropped[name] = (
                f"{n_categories} distinct text values (too many to profile; at most "
                f"{MAX_CATEGORIES})"
            )
        else:
            roles.profile_categoricals.append(name)
    elif features_named:
        roles.dropped[name] = "not among the chosen features"


def _unusable_reason(series: pd.Series) -> str | None:
    present = series.dropna()
    if present.empty:
        return "all values missing"
    if _all_infinite(present):
        return "no finite value (every value is infinite or missing)"
    if present.nunique() == 1:
        return f"constant (every value is {_describe_value(present.iloc[0])})"
    return None


def _all_infinite(present: pd.Series) -> bool:
    """Whether every value of a column without gaps is an infinity (a number, or text "inf")."""
    if _kind(present) == "text":
        first = pd.to_numeric(present.iloc[:1].astype("str").str.strip(), errors="coerce")
        if not np.isinf(first.to_numpy(dtype=np.float64, na_value=np.nan)).all():
            return False  # the cheap test first: most text columns are words
    values, bad = _numeric_cells(present)
    return bool(bad.all())


def _describe_value(value) -> str:
    """A value as a user would write it: 7, 2.5, 'FR' (numpy scalars unwrapped)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def _sample_skewness(values: np.ndarray) -> float:
    """Adjusted Fisher-Pearson skewness G1 (what ``pandas.Series.skew`` returns); 0 if undefined.

    Parameters
    ----------
    values : ndarray of shape (n_samples,)
    """
    n = values.shape[0]
    if n < 3:
        return 0.0
    # Cubes of values near the float64 limits overflow or underflow; skewness ignores the unit.
    unit = measuring_units(np.max(np.abs(values)))
    skewness = _moment_ratio(values if unit == 1.0 else values / unit)
    if not np.isfinite(skewness):
        return 0.0
    return float(skewness * math.sqrt(n * (n - 1)) / (n - 2))


def _moment_ratio(values: np.ndarray) -> float:
    """m3 / m2^1.5 of the values (0 when they do not vary)."""
    deviations = values - values.mean()
    m2 = np.mean(deviations**2)
    if m2 <= 0.0:
        return 0.0
    m3 = np.mean(deviations**3)
    return m3 / m2**1.5


class Preprocessor:
    """Fill gaps, log-transform skewed columns, one-hot encode and scale: table -> matrix.

    Parameters
    ----------
    scaler : {"standard", "robust", "minmax", "none"}, default "standard"
        How numeric features are scaled: ``standard`` subtracts the mean and divides by the
        standard deviation (ddof=0, like scikit-learn's StandardScaler); ``robust`` uses the
        median and the interquartile range; ``minmax`` maps the training range to [0, 1];
        ``none`` leaves the values. A zero spread is replaced by 1. One-hot columns stay 0/1.
    log_transform : "auto", "none" or list of str, default "auto"
        ``auto`` applies ``log1p`` to non-negative numeric features with skewness above
        :data:`SKEW_THRESHOLD`; a list names the columns to transform (they must be
        non-negative numeric features).

    Attributes
    ----------
    numeric_features_ : list of str
    categorical_features_ : list of str
    categories_ : dict of str to list of str
        Sorted categories of each categorical feature, in one-hot column order.
    numeric_fill_ : dict of str to float
        Median used to fill gaps, in original units.
    categorical_fill_ : dict of str to str
        Most frequent value used to fill gaps.
    skewness_ : dict of str to float
        Skewness of each numeric feature after filling gaps, before any log.
    log_columns_ : list of str
        Numeric features that get ``log1p``.
    center_, scale_ : ndarray of shape (n_numeric_features,)
        The scaler: ``(x - center_) / scale_`` after the log.
    feature_names_out_ : list of str
        Matrix column names: numeric features, then ``"Col=Value"`` one-hot columns.
    log_ : list of str
        One sentence per decision taken (roles, gaps filled, columns dropped, logs, scaling).
    """

    def __init__(self, scaler: str = "standard", log_transform="auto"):
        self.scaler = scaler
        self.log_transform = log_transform

    # ------------------------------------------------------------------ fitting

    def _check_params(self):
        if self.scaler not in SCALERS:
            raise SegmentationError(
                f"Unknown scaler '{self.scaler}'; choose one of {', '.join(SCALERS)}."
            )
        setting = self.log_transform
        if isinstance(setting, str):
            if setting in ("auto", "none"):
                return setting
            setting = [part.strip() for part in setting.split(",") if part.strip()]
        setting = [str(name) for name in setting]
        if not setting:
            raise SegmentationError(
                "`log_transform` needs 'auto', 'none' or a comma-separated list of columns."
            )
        return setting

    def fit(self, df: pd.DataFrame, roles: ColumnRoles) -> Preprocessor:
        """Learn fill values, logs, categories and the scaler from the training table.

        Parameters
        ----------
        df : pandas.DataFrame of shape (n_rows, n_columns)
        roles : ColumnRoles
            Usually :func:`infer_roles` of the same table.

        Returns
        -------
        self

        Raises
        ------
        SegmentationError
            On a bad option, a missing or non-numeric feature column, infinite values, a
            log-transform column that is not a non-negative numeric feature, or no usable
            feature.
        """
        self._check_params()
        self._require_columns(df, [*roles.numeric_features, *roles.categorical_features])
        if len(df) == 0:
            raise SegmentationError("The table has no rows to learn from.")
        return self.fit_statistics(TableStatistics(df), roles)

    def fit_statistics(self, stats: TableStatistics, roles: ColumnRoles) -> Preprocessor:
        """:meth:`fit` from what ``stats`` says about the training table: the same decisions
        whether the table is in memory (:class:`TableStatistics`) or on a cluster
        (``segmentation.distributed.DaskStatistics``).

        Parameters
        ----------
        stats : TableStatistics or an object with the same methods
        roles : ColumnRoles

        Returns
        -------
        self
        """
        log_setting = self._check_params()
        log = _roles_log(roles)
        numeric, numeric_fill, skewness = _fit_numeric(stats, roles.numeric_features, log)
        categorical, categorical_fill, categories = _fit_categorical(
            stats, roles.categorical_features, log
        )
        if not numeric and not categorical:
            raise SegmentationError(
                "No usable feature is left after dropping constant and empty columns; "
                "choose other columns with `features`."
            )
        log_columns = self._choose_log_columns(stats, numeric, numeric_fill, skewness, log_setting)
        log.extend(_log_transform_log(numeric, log_columns, skewness, log_setting))

        self.log_setting_ = log_setting
        self.numeric_features_ = numeric
        self.categorical_features_ = categorical
        self.categories_ = categories
        self.numeric_fill_ = numeric_fill
        self.categorical_fill_ = categorical_fill
        self.skewness_ = skewness
        self.log_columns_ = log_columns
        self.feature_names_out_ = [
            *numeric,
            *(f"{name}={level}" for name in categorical for level in categories[name]),
        ]

        # The scaler is learnt on exactly what transform computes before scaling.
        self.center_, self.scale_, magnitude = stats.scaler(self._numeric_block, self.scaler)
        beyond = [name for name, s in zip(numeric, self.scale_, strict=True) if not np.isfinite(s)]
        if beyond:
            raise SegmentationError(
                f"Column '{beyond[0]}' spans more than a float64 number can hold (its values "
                "reach both ends of the range, near 1e308); rescale it, for example divide it "
                "by 1e300, or leave it out of `features`."
            )
        for name, largest, unit in zip(numeric, magnitude, measuring_units(magnitude), strict=True):
            if unit != 1.0:
                where = "so large (up to" if largest > HUGE else "so small (at most"
                log.append(
                    f"'{name}' has values {where} {largest:.3g}) that their powers leave float64; "
                    "its scaler and profile are computed in units of its largest value, which "
                    "gives the same result."
                )
        if numeric:
            log.append(
                f"Scaled {len(numeric)} numeric feature{'s' if len(numeric) > 1 else ''} "
                f"{_SCALED[self.scaler]}."
            )
        self.log_ = log
        return self

    def _choose_log_columns(self, stats, numeric, fill, skewness, setting) -> list[str]:
        if setting == "none":
            return []
        minimum = {}
        for name in numeric:
            summary = stats.numeric(name)  # the smallest value once gaps are filled
            gaps = summary.n_present < stats.n_rows
            minimum[name] = min(summary.minimum, fill[name]) if gaps else summary.minimum
        if setting == "auto":
            return [
                name for name in numeric if skewness[name] > SKEW_THRESHOLD and minimum[name] >= 0.0
            ]
        unknown = [name for name in setting if name not in numeric]
        if unknown:
            raise SegmentationError(
                f"`log_transform` names {_format_columns(unknown)}, which "
                f"{'is not a numeric feature' if len(unknown) == 1 else 'are not numeric features'}"
                f"; the numeric features are {_format_columns(numeric)}."
            )
        negative = [name for name in setting if minimum[name] < 0.0]
        if negative:
            raise SegmentationError(
                f"`log_transform` needs values >= 0, but {_format_columns(negative)} "
                "has negative values; leave it out of `log_transform`."
            )
        return [name for name in numeric if name in setting]

    # ------------------------------------------------------------------ transforming

    def _check_fitted(self):
        if not hasattr(self, "feature_names_out_"):
            raise RuntimeError("This Preprocessor is not fitted yet; call fit first.")

    def check_columns(self, columns: list[str]) -> None:
        """Refuse, in one sentence, a table whose ``columns`` lack a feature of the model."""
        self._check_fitted()
        self._require_columns(
            pd.DataFrame(columns=columns), [*self.numeric_features_, *self.categorical_features_]
        )

    @staticmethod
    def _require_columns(df: pd.DataFrame, needed: list[str]):
        missing = [name for name in needed if name not in df.columns]
        if missing:
            label = "Column" if len(missing) == 1 else "Columns"
            raise SegmentationError(
                f"{label} {_format_columns(missing)} needed by the model "
                f"{'is' if len(missing) == 1 else 'are'} missing from the input; the input has "
                f"{_format_columns([str(c) for c in df.columns])}."
            )

    def _numeric_block(self, df: pd.DataFrame) -> np.ndarray:
        """Numeric features with gaps filled and logs taken, before scaling: (n_rows, n_numeric)."""
        block = np.empty((len(df), len(self.numeric_features_)), dtype=np.float64)
        for j, name in enumerate(self.numeric_features_):
            values = _numeric_column(df, name)
            values = np.where(np.isnan(values), self.numeric_fill_[name], values)
            if name in self.log_columns_:
                if np.any(values < 0.0):
                    raise SegmentationError(
                        f"Column '{name}' has negative values, but the model takes its log; "
                        "check the input."
                    )
                values = np.log1p(values)
            block[:, j] = values
        return block

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Turn a table into the matrix k-means sees.

        Parameters
        ----------
        df : pandas.DataFrame of shape (n_rows, n_columns)
            Must hold every feature column; other columns are ignored.

        Returns
        -------
        ndarray of shape (n_rows, len(feature_names_out_)), dtype float64
            Scaled numeric features, then one-hot columns. A category not seen in training
            gives all-zero one-hot columns.

        Raises
        ------
        SegmentationError
            If a feature column is missing or a numeric feature holds text or infinite values.
        """
        self._check_fitted()
        self._require_columns(df, [*self.numeric_features_, *self.categorical_features_])
        n_rows = len(df)
        # Scaled where it was built: no copy of the matrix (it is the run's largest array).
        numeric = _scale_in_place(self._numeric_block(df), self.center_, self.scale_)
        if not self.categorical_features_:
            return numeric
        matrix = np.zeros((n_rows, len(self.feature_names_out_)), dtype=np.float64)
        matrix[:, : numeric.shape[1]] = numeric
        start = numeric.shape[1]
        del numeric
        for name in self.categorical_features_:
            text = _text_column(df, name).fillna(self.categorical_fill_[name]).astype(str)
            codes = pd.Index(self.categories_[name]).get_indexer(text)  # -1: not seen
            known = np.flatnonzero(codes >= 0)
            matrix[known, start + codes[known]] = 1.0
            start += len(self.categories_[name])
        return matrix

    def fit_transform(self, df: pd.DataFrame, roles: ColumnRoles) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same table (same matrix, bit for bit)."""
        return self.fit(df, roles).transform(df)

    def impute(self, df: pd.DataFrame) -> pd.DataFrame:
        """The feature columns with gaps filled, in original units (no log, no scaling).

        Parameters
        ----------
        df : pandas.DataFrame of shape (n_rows, n_columns)

        Returns
        -------
        pandas.DataFrame of shape (n_rows, n_numeric + n_categorical)
            Numeric features as float64, then categorical features as text; same index as df.
        """
        self._check_fitted()
        self._require_columns(df, [*self.numeric_features_, *self.categorical_features_])
        out = {}
        for name in self.numeric_features_:
            values = _numeric_column(df, name)
            gaps = np.isnan(values)
            # A float column without gaps is the table's own values, not a copy of them.
            out[name] = np.where(gaps, self.numeric_fill_[name], values) if gaps.any() else values
        for name in self.categorical_features_:
            out[name] = _text_column(df, name).fillna(self.categorical_fill_[name]).astype(str)
        return pd.DataFrame(out, index=df.index, copy=False)

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict:
        """Everything learnt, as JSON-safe dicts, lists, str and float."""
        self._check_fitted()
        return {
            "scaler": self.scaler,
            "log_transform": self.log_setting_,
            "numeric_features": list(self.numeric_features_),
            "categorical_features": list(self.categorical_features_),
            "categories": {name: list(levels) for name, levels in self.categories_.items()},
            "numeric_fill": {name: float(v) for name, v in self.numeric_fill_.items()},
            "categorical_fill": dict(self.categorical_fill_),
            "skewness": {name: float(v) for name, v in self.skewness_.items()},
            "log_columns": list(self.log_columns_),
            "center": [float(v) for v in self.center_],
            "scale": [float(v) for v in self.scale_],
            "feature_names_out": list(self.feature_names_out_),
            "log": list(self.log_),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict`.

        Raises
        ------
        SegmentationError
            If the dict is incomplete or inconsistent (a damaged model file).
        """
        try:
            return cls._from_dict(data)
        except SegmentationError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SegmentationError(
                f"The model's preprocessing section is damaged ({type(exc).__name__}: {exc}); "
                "train the model again with 'segment run'."
            ) from None

    @classmethod
    def _from_dict(cls, data: dict) -> Preprocessor:
        if not isinstance(data, dict):
            raise TypeError("expected an object")
        log_setting = data["log_transform"]
        pre = cls(scaler=data["scaler"], log_transform=log_setting)
        pre._check_params()
        numeric = [str(v) for v in data["numeric_features"]]
        categorical = [str(v) for v in data["categorical_features"]]
        pre.log_setting_ = log_setting
        pre.numeric_features_ = numeric
        pre.categorical_features_ = categorical
        pre.categories_ = {name: [str(v) for v in data["categories"][name]] for name in categorical}
        pre.numeric_fill_ = {name: float(data["numeric_fill"][name]) for name in numeric}
        pre.categorical_fill_ = {name: str(data["categorical_fill"][name]) for name in categorical}
        pre.skewness_ = {name: float(v) for name, v in data.get("skewness", {}).items()}
        pre.log_columns_ = [str(v) for v in data["log_columns"]]
        pre.center_ = np.asarray(data["center"], dtype=np.float64)
        pre.scale_ = np.asarray(data["scale"], dtype=np.float64)
        pre.feature_names_out_ = [str(v) for v in data["feature_names_out"]]
        pre.log_ = [str(v) for v in data.get("log", [])]
        expected_names = [
            *numeric,
            *(f"{name}={level}" for name in categorical for level in pre.categories_[name]),
        ]
        if pre.feature_names_out_ != expected_names:
            raise ValueError("feature names do not match the features and categories")
        if pre.center_.shape != (len(numeric),) or pre.scale_.shape != (len(numeric),):
            raise ValueError("scaler size does not match the numeric features")
        if not set(pre.log_columns_) <= set(numeric):
            raise ValueError("a log column is not a numeric feature")
        values = [*pre.numeric_fill_.values(), *pre.center_, *pre.scale_]
        if not np.all(np.isfinite(values)) or np.any(pre.scale_ == 0.0):
            raise ValueError("non-finite or zero scaler values")
        return pre

    def __repr__(self) -> str:
        return f"Preprocessor(scaler={self.scaler!r}, log_transform={self.log_transform!r})"


_SCALED = {
    "standard": "to mean 0 and standard deviation 1",
    "robust": "by median and interquartile range",
    "minmax": "to the range [0, 1]",
    "none": "not at all (scaler 'none')",
}


def _roles_log(roles: ColumnRoles) -> list[str]:
    """The log's first lines: identifiers kept and columns left out by :func:`infer_roles`."""
    log = [
        f"Kept '{name}' as an identifier (in the output, not a feature)."
        for name in roles.id_columns
    ]
    for name, reason in roles.dropped.items():
        unusable = reason.startswith(("constant", "all values", "no finite"))
        prefix = "Warning: dropped" if unusable else "Left out"
        log.append(f"{prefix} '{name}': {reason}.")
    return log


def _filled(n_missing: int, name: str, value: str) -> str:
    return (
        f"Filled {n_missing} missing value{'s' if n_missing > 1 else ''} in '{name}' with {value}."
    )


class NumericSummary(NamedTuple):
    """A numeric column's present (non-missing) values: how many, the smallest, the largest,
    and their median (NaN when there is none)."""

    n_present: int
    minimum: float
    maximum: float
    median: float


class TableStatistics:
    """What :meth:`Preprocessor.fit` learns from, computed from a table in memory.

    ``segmentation.distributed.DaskStatistics`` answers the same questions for a table on a
    Dask cluster, so both paths take the same decisions (:meth:`Preprocessor.fit_statistics`).

    Parameters
    ----------
    df : pandas.DataFrame of shape (n_rows, n_columns)
    """

    def __init__(self, df: pd.DataFrame):
        self.df = df
        self.n_rows = len(df)

    def numeric(self, name: str, log: list[str] | None = None) -> NumericSummary:
        """Count, extremes and median of the present values of a numeric column (cells that
        are not finite numbers count as missing, said in ``log`` if given)."""
        values = _numeric_column(self.df, name, log)
        present = values[~np.isnan(values)]
        if present.size == 0:
            return NumericSummary(0, math.nan, math.nan, math.nan)
        return NumericSummary(
            int(present.size), float(present.min()), float(present.max()), float(np.median(present))
        )

    def skewness(self, name: str, fill: float) -> float:
        """Sample skewness of a numeric column once its gaps are filled with ``fill``."""
        values = _numeric_column(self.df, name)
        return _sample_skewness(np.where(np.isnan(values), fill, values))

    def counts(self, name: str) -> pd.Series:
        """How often each present value of a text column occurs (stripped text -> count)."""
        return _text_column(self.df, name).dropna().value_counts()

    def scaler(self, block, scaler: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Center, scale and largest magnitude per column of ``block(table)``, the numeric
        features just before scaling."""
        values = block(self.df)
        magnitude = np.max(np.abs(values), axis=0) if values.size else np.zeros(values.shape[1])
        return (*_fit_scaler(values, scaler), magnitude)


def _fit_numeric(stats: TableStatistics, names: list[str], log: list[str]):
    """Numeric features kept (not empty, not constant), their medians and skewness."""
    kept: list[str] = []
    fill: dict[str, float] = {}
    skewness: dict[str, float] = {}
    for name in names:
        summary = stats.numeric(name, log)
        if summary.n_present == 0:
            log.append(f"Warning: dropped '{name}': all values missing.")
            continue
        if summary.minimum == summary.maximum:
            log.append(f"Warning: dropped '{name}': constant (every value is {summary.minimum:g}).")
            continue
        median = summary.median
        if summary.n_present < stats.n_rows:
            log.append(_filled(stats.n_rows - summary.n_present, name, f"the median {median:g}"))
        kept.append(name)
        fill[name] = median
        skewness[name] = stats.skewness(name, median)
    return kept, fill, skewness


def _fit_categorical(stats: TableStatistics, names: list[str], log: list[str]):
    """Text features kept (not empty, not constant), their modes and sorted categories."""
    kept: list[str] = []
    fill: dict[str, str] = {}
    categories: dict[str, list[str]] = {}
    for name in names:
        counts = stats.counts(name)
        n_present = int(counts.sum())
        if n_present == 0:
            log.append(f"Warning: dropped '{name}': all values missing.")
            continue
        # Most frequent; ties go to the first in sorted order so the choice is reproducible.
        top = counts.max()
        mode = sorted(str(v) for v in counts.index[counts == top])[0]
        levels = sorted({str(v) for v in counts.index})
        if len(levels) == 1:
            log.append(f"Warning: dropped '{name}': constant (every value is {levels[0]!r}).")
            continue
        if n_present < stats.n_rows:
            log.append(_filled(stats.n_rows - n_present, name, f"the most frequent value {mode!r}"))
        kept.append(name)
        fill[name] = mode
        categories[name] = levels
        log.append(
            f"One-hot encoded '{name}' into {len(levels)} columns "
            f"({', '.join(f'{name}={level}' for level in levels[:6])}"
            f"{', ...' if len(levels) > 6 else ''})."
        )
    return kept, fill, categories


def _log_transform_log(numeric, log_columns, skewness, setting) -> list[str]:
    """The log's lines on which columns got log1p, and which skewed ones could not."""
    lines = []
    for name in log_columns:
        if setting == "auto":
            lines.append(
                f"Applied log1p to '{name}' (skewness {skewness[name]:.2f} > {SKEW_THRESHOLD:g})."
            )
        else:
            lines.append(f"Applied log1p to '{name}' (as asked).")
    if setting == "auto":
        for name in numeric:
            if name not in log_columns and skewness[name] > SKEW_THRESHOLD:
                lines.append(
                    f"'{name}' is skewed ({skewness[name]:.2f}) but has negative values, "
                    "so no log was taken."
                )
    return lines


def _fit_scaler(block: np.ndarray, scaler: str) -> tuple[np.ndarray, np.ndarray]:
    """Center and scale per column of ``block`` (n_rows, n_numeric); a zero spread becomes 1.

    Columns with values beyond :data:`HUGE` or below :data:`TINY` (whose squares overflow or
    underflow) are measured divided by their largest magnitude and the result multiplied back;
    the others are measured as they are, so their scaler is exactly the direct formula's. A
    column whose range itself is beyond float64 gets an infinite scale, for the caller to
    refuse.
    """
    n_columns = block.shape[1]
    if scaler == "none" or n_columns == 0 or block.shape[0] == 0:
        return np.zeros(n_columns), np.ones(n_columns)
    magnitude = np.max(np.abs(block), axis=0)
    units = measuring_units(magnitude)
    huge = units != 1.0
    if huge.any():
        block = block / units
    center, scale = _center_and_scale(block, scaler)
    if huge.any():
        with np.errstate(over="ignore"):
            center, scale = center * units, scale * units
    scale = np.where(scale > 0.0, scale, 1.0)
    return np.asarray(center, dtype=np.float64), np.asarray(scale, dtype=np.float64)


def _center_and_scale(block: np.ndarray, scaler: str) -> tuple[np.ndarray, np.ndarray]:
    if scaler == "standard":
        center = block.mean(axis=0)
        scale = block.std(axis=0)  # ddof=0, like scikit-learn's StandardScaler
    elif scaler == "robust":
        center = np.median(block, axis=0)
        q25, q75 = np.percentile(block, [25.0, 75.0], axis=0)
        scale = q75 - q25
        # A column whose middle half is one value still varies in its tails: use its std.
        scale = np.where(scale > 0.0, scale, block.std(axis=0))
    else:  # minmax
        center = block.min(axis=0)
        scale = block.max(axis=0) - center
    return np.asarray(center, dtype=np.float64), np.asarray(scale, dtype=np.float64)


def _scale_in_place(block: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``block`` made ``(block - center) / scale``, in place (the same arithmetic, bit for bit).

    Values are at most :data:`MAX_MAGNITUDE` = 1e307, so the difference cannot overflow."""
    np.subtract(block, center, out=block)
    np.divide(block, scale, out=block)
    return block


def _numeric_column(df: pd.DataFrame, name: str, log: list[str] | None = None) -> np.ndarray:
    """The feature column ``name`` of ``df`` as :func:`_numeric_values` gives it."""
    return _numeric_values(name, df[name], log)


def _numeric_values(name: str, series: pd.Series, log: list[str] | None = None) -> np.ndarray:
    """A feature column as float64 with NaN for gaps and for its few unusable cells.

    Cells that are not finite numbers (text, infinities) are missing values when they are at
    most :data:`MAX_BAD_SHARE` of the column's values (said in ``log``, if given), an error
    naming the first of them otherwise. Values beyond :data:`MAX_MAGNITUDE` are an error.
    """
    if _kind(series) == "datetime":
        raise SegmentationError(
            f"Column '{name}' holds dates where numbers are expected; check the input."
        )
    values, bad = _numeric_cells(series)
    n_bad = int(np.count_nonzero(bad))
    if n_bad and np.isnan(values).all():
        return values  # no finite value: the column is dropped as such
    if n_bad:
        if n_bad > MAX_BAD_SHARE * series.notna().sum():
            raise _bad_cells_error(name, series, bad)
        if log is not None:
            what = "infinite" if _only_infinities(series, bad) else "not a number"
            log.append(
                f"Warning: treated {n_bad} value{'s' if n_bad > 1 else ''} of '{name}' that "
                f"{'are' if n_bad > 1 else 'is'} {what} as missing ({_quoted_cells(series, bad)}); "
                f"a column may hold up to {MAX_BAD_SHARE:.0%} of such values."
            )
    with np.errstate(invalid="ignore"):
        too_large = np.abs(values) > MAX_MAGNITUDE
    if too_large.any():
        raise SegmentationError(
            f"Column '{name}' has values too close to the float64 limit to compute with "
            f"({_quoted_cells(series, too_large)}; at most {MAX_MAGNITUDE:.0e} in magnitude); "
            "rescale it, for example divide it by 1e300, or leave it out of `features`."
        )
    return values


def _text_column(df: pd.DataFrame, name: str) -> pd.Series:
    """A categorical column as text (missing stays missing), stripped of surrounding spaces."""
    series = df[name]
    text = series.astype("str").str.strip()
    return text.where(series.notna() & (text != ""))
