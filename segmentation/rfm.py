"""Transactions -> one row per customer: recency, frequency, monetary (RFM).

Cleaning rules, applied in this order and each counted in the returned log:

1. drop rows without a customer;
2. drop cancellations (invoice numbers starting with ``"C"``);
3. keep quantity > 0;
4. keep price > 0;
5. keep purchases strictly before ``as_of`` (only when ``as_of`` is given).

Then per customer:

- ``Recency``: calendar days from the day of the last purchase to ``as_of`` (default: the day
  after the last transaction left after cleaning, so a customer who bought that day has 1);
- ``Frequency``: the number of distinct invoices;
- ``Monetary``: the sum of quantity x price.

:func:`rfm_scores` then speaks the marketers' language: quintile scores ``R_score``,
``F_score``, ``M_score`` (1-5, 5 best) and a named segment (``RFM_segment``) from the map of
R's rfm package (:data:`RFM_SEGMENT_MAP`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .errors import SegmentationError

__all__ = [
    "transactions_to_rfm",
    "rfm_scores",
    "rfm_crosstab",
    "rfm_summary",
    "quintile_scores",
    "RFM_COLUMNS",
    "RFM_SCORE_COLUMNS",
    "RFM_SEGMENT_MAP",
    "RFM_OTHERS",
]

RFM_COLUMNS = ("Recency", "Frequency", "Monetary")


def _rows(count: int, what: str = "rows") -> str:
    """'1 row', '2 rows', '1,204 cancellation rows' ..."""
    words = what if count != 1 else what[:-1]
    return f"{count:,} {words}"


def _format_columns(columns) -> str:
    return ", ".join(f"'{c}'" for c in columns)


def _require(df: pd.DataFrame, column: str, role: str, option: str) -> None:
    if column not in df.columns:
        raise SegmentationError(
            f"The {role} column '{column}' is not in the transactions; choose it with {option} "
            f"among {_format_columns([str(c) for c in df.columns])}."
        )


def _numbers(series: pd.Series, column: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna() & series.notna()
    if bad.any():
        example = series[bad].iloc[0]
        raise SegmentationError(
            f"Column '{column}' has text where numbers are expected (for example {example!r}); "
            "fix the transactions file or choose another column."
        )
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _customer_ids(series: pd.Series) -> pd.Series:
    """Customer ids as clean text: 17850.0 -> "17850", " A12 " -> "A12", missing stays missing."""
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(values)
        if np.all(values[present] == np.round(values[present])):
            whole = np.where(present, values, 0).astype(np.int64).astype(str)
            return pd.Series(whole, index=series.index, dtype="str").where(present)
    text = series.astype("str").str.strip()
    return text.where(series.notna() & (text != ""))


def _parse_as_of(as_of) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise SegmentationError(
            f"`as_of` {as_of!r} is not a date; write it as YYYY-MM-DD."
        ) from None
    if stamp is pd.NaT:
        raise SegmentationError(f"`as_of` {as_of!r} is not a date; write it as YYYY-MM-DD.")
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def transactions_to_rfm(
    df: pd.DataFrame,
    *,
    customer_col: str = "CustomerID",
    date_col: str = "InvoiceDate",
    quantity_col: str = "Quantity",
    price_col: str = "UnitPrice",
    invoice_col: str = "InvoiceNo",
    as_of=None,
) -> tuple[pd.DataFrame, list[str]]:
    """Summarise a transaction log as recency, frequency and monetary value per customer.

    Parameters
    ----------
    df : pandas.DataFrame of shape (n_transactions, n_columns)
        One row per invoice line.
    customer_col, date_col, quantity_col, price_col, invoice_col : str
        The columns to use.
    as_of : str, date or pandas.Timestamp, optional
        The reference day. Default: the day after the last transaction after cleaning.

    Returns
    -------
    rfm : pandas.DataFrame of shape (n_customers, 4)
        Columns ``customer_col`` (text), ``Recency`` (int days), ``Frequency`` (int invoices),
        ``Monetary`` (float), one row per customer sorted by customer id.
    log : list of str
        One sentence per cleaning rule with the number of rows it removed, and a summary.

    Raises
    ------
    SegmentationError
        If a column is missing (the message lists those that exist), dates cannot be parsed,
        quantity or price hold text, ``as_of`` is not a date, or no transaction is left.
    """
    columns = _read_transactions(df, customer_col, date_col, quantity_col, price_col, invoice_col)
    n_start = len(df)
    log = [f"Read {n_start:,} transaction rows."]
    reference = None if as_of is None else _parse_as_of(as_of)
    keep = _rows_to_keep(columns, reference, log)
    clean = pd.DataFrame(
        {
            "customer": columns.customers[keep].to_numpy(),
            "invoice": columns.invoices[keep].to_numpy(),
            "date": columns.dates[keep].to_numpy(),
            "amount": columns.quantity[keep] * columns.price[keep],
        }
    )
    if reference is None:
        reference = clean["date"].max().normalize() + pd.Timedelta(days=1)
        log.append(f"Recency is counted up to {reference.date()} (the day after the last sale).")
    else:
        log.append(f"Recency is counted up to {reference.date()}, the as-of day.")
    rfm = _per_customer(clean, reference, customer_col)
    log.append(
        f"Kept {int(keep.sum()):,} of {n_start:,} rows: {len(rfm):,} customers with recency, "
        "frequency and monetary value."
    )
    return rfm, log


class _Transactions(NamedTuple):
    """The columns of a transaction log that RFM reads, parsed (one entry per row)."""

    #: Customer ids as text, NaN where missing.
    customers: pd.Series
    #: Invoice numbers as stripped text, NaN where missing.
    invoices: pd.Series
    quantity: np.ndarray
    price: np.ndarray
    #: Timestamps, NaT where missing.
    dates: pd.Series


def _read_transactions(
    df: pd.DataFrame,
    customer_col: str,
    date_col: str,
    quantity_col: str,
    price_col: str,
    invoice_col: str,
) -> _Transactions:
    """The five columns, checked to exist and parsed; a column that is missing or cannot be
    parsed is a ``SegmentationError``."""
    _require(df, customer_col, "customer", "`customer_col`")
    _require(df, date_col, "date", "`date_col`")
    _require(df, quantity_col, "quantity", "`quantity_col`")
    _require(df, price_col, "price", "`price_col`")
    _require(df, invoice_col, "invoice", "`invoice_col`")
    return _Transactions(
        customers=_customer_ids(df[customer_col]),
        invoices=df[invoice_col].astype("str").str.strip().where(df[invoice_col].notna()),
        quantity=_numbers(df[quantity_col], quantity_col),
        price=_numbers(df[price_col], price_col),
        dates=_parse_dates(df[date_col], date_col),
    )


def _rows_to_keep(
    columns: _Transactions, reference: pd.Timestamp | None, log: list[str]
) -> np.ndarray:
    """The rows that are sales to a known customer before ``reference`` (None: any day), as a
    boolean mask; one sentence per cleaning rule in ``log``. No row left is a
    ``SegmentationError``."""
    keep = np.ones(len(columns.quantity), dtype=bool)
    _drop(keep, columns.customers.isna().to_numpy(), "without a customer", log)
    cancelled = columns.invoices.str.upper().str.startswith("C").fillna(False)
    _drop(
        keep,
        cancelled.to_numpy(dtype=bool),
        "(invoice starting with 'C')",
        log,
        what="cancellation rows",
    )
    _drop(keep, ~(columns.quantity > 0), "with quantity <= 0 or missing", log)  # NaN is bad
    _drop(keep, ~(columns.price > 0), "with price <= 0 or missing", log)
    _drop(keep, columns.dates.isna().to_numpy(), "without a date", log, quiet_when_none=True)
    if reference is not None:
        late = (columns.dates >= reference).to_numpy()
        _drop(keep, late, f"on or after the as-of day, {reference.date()}", log)
    if not keep.any():
        raise SegmentationError(
            "No transaction is left after cleaning (rows without a customer, cancellations, "
            "quantity or price <= 0, dates after `as_of`); check the columns and `as_of`."
        )
    return keep


def _drop(
    keep: np.ndarray,
    mask: np.ndarray,
    description: str,
    log: list[str],
    *,
    what: str = "rows",
    quiet_when_none: bool = False,
) -> None:
    """Drop the rows of ``mask`` from ``keep`` (in place) and log how many were still kept."""
    dropped = int((keep & mask).sum())
    if dropped or not quiet_when_none:
        log.append(f"Dropped {_rows(dropped, what)} {description}.")
    keep &= ~mask


def _per_customer(clean: pd.DataFrame, reference: pd.Timestamp, customer_col: str):
    """Recency (days), frequency (invoices) and monetary value (sum) per customer, sorted."""
    grouped = clean.groupby("customer", sort=True)
    last = grouped["date"].max()
    return pd.DataFrame(
        {
            customer_col: pd.array(last.index.astype(str), dtype="str"),
            "Recency": (reference.normalize() - last.dt.normalize()).dt.days.to_numpy(np.int64),
            "Frequency": grouped["invoice"].nunique().to_numpy(np.int64),
            "Monetary": grouped["amount"].sum().to_numpy(np.float64),
        }
    )


def _parse_dates(series: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        dates = series
    else:
        text = series.astype("str").str.strip().where(series.notna())
        try:
            dates = pd.to_datetime(text, errors="raise", format="mixed")
        except (ValueError, TypeError, OverflowError):
            example = _first_bad_date(text)
            raise SegmentationError(
                f"Column '{column}' has values that are not dates"
                f"{f' (for example {example!r})' if example is not None else ''}; "
                "choose the date column with `date_col`."
            ) from None
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return dates


def _first_bad_date(text: pd.Series):
    parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    bad = parsed.isna() & text.notna()
    return text[bad].iloc[0] if bad.any() else None


# --------------------------------------------------------------------------- scores and names

#: The columns :func:`rfm_scores` adds, in this order.
RFM_SCORE_COLUMNS = ("R_score", "F_score", "M_score", "RFM_segment")

#: The named segments of R's rfm package, with the ranges of its vignette "RFM - Customer
#: Level Data" (rsquaredacademy/rfm, vignettes/rfm-customer-level-data.Rmd, section
#: "Segments"): (name, (R low, R high), (F low, F high), (M low, M high)), scores inclusive.
#: A customer takes the first row whose three ranges hold its scores, as ``rfm::rfm_segment``
#: does with the rows in the order it is given. The vignette lists "New Customers" and
#: "Promising" after "Potential Loyalist", whose box holds theirs, and "Can't Lose Them" after
#: "At Risk", likewise: in that order they could never be chosen, so here a row comes before
#: any row that holds it (pass the names to ``rfm_segment`` in this order to get the same in
#: R). "Lost" is the very box of "Hibernating" in the vignette (R, F and M all 1-2); kept as
#: published, it stays empty.
RFM_SEGMENT_MAP = (
    ("Champions", (4, 5), (4, 5), (4, 5)),
    ("Loyal Customers", (2, 5), (3, 5), (3, 5)),
    ("New Customers", (4, 5), (1, 1), (1, 1)),
    ("Promising", (3, 4), (1, 1), (1, 1)),
    ("Potential Loyalist", (3, 5), (1, 3), (1, 3)),
    ("Need Attention", (2, 3), (2, 3), (2, 3)),
    ("About To Sleep", (2, 3), (1, 2), (1, 2)),
    ("Can't Lose Them", (1, 1), (4, 5), (4, 5)),
    ("At Risk", (1, 2), (2, 5), (2, 5)),
    ("Hibernating", (1, 2), (1, 2), (1, 2)),
    ("Lost", (1, 2), (1, 2), (1, 2)),
)
#: The name of a customer no row of the map holds (rfm's word for it).
RFM_OTHERS = "Others"


def quintile_scores(values, *, higher_is_better: bool = True) -> np.ndarray:
    """Rank-based quintile scores 1-5 (5 best), about a fifth of the values each.

    The values are ranked, ties in the order given (a stable sort), and the rank r (0-based)
    of n values gets ``1 + floor(5 r / n)``: dplyr's ``ntile``, which ranks ties by row order
    too. Equal values on either side of a quintile boundary may so get neighbouring scores;
    in exchange every score holds n/5 values (give or take one) even when a value is very
    common (a third of online-retail customers bought once).

    Parameters
    ----------
    values : array-like of shape (n,)
    higher_is_better : bool
        False for recency in days: the smallest values then score 5.

    Returns
    -------
    ndarray of shape (n,), dtype int64
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    key = values if higher_is_better else -values
    order = np.argsort(key, kind="stable")
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n)
    return 1 + (5 * ranks) // max(n, 1)


def rfm_scores(rfm: pd.DataFrame) -> pd.DataFrame:
    """Quintile scores and rfm's named segment for every customer of an RFM table.

    ``R_score`` is 5 for the most recent fifth of the customers (smallest ``Recency``),
    ``F_score`` and ``M_score`` 5 for the fifth with the most invoices and the most money
    (:func:`quintile_scores`). Ties are ranked in the table's row order, which
    :func:`transactions_to_rfm` sorts by customer id: the same customer always wins the same
    tie, whichever engine built the table. ``Monetary`` is ranked in millionths, so that sums
    taken in another order (on Dask) rank alike. ``RFM_segment`` is the first row of
    :data:`RFM_SEGMENT_MAP` that holds the three scores, else :data:`RFM_OTHERS`.

    See :data:`RFM_SEGMENT_MAP` for the order the rows are tested in, and why "Lost" stays
    empty.

    Parameters
    ----------
    rfm : pandas.DataFrame of shape (n_customers, n_columns)
        Holds ``Recency``, ``Frequency`` and ``Monetary`` (numbers, no gaps), as
        :func:`transactions_to_rfm` returns.

    Returns
    -------
    pandas.DataFrame of shape (n_customers, 4)
        ``R_score``, ``F_score``, ``M_score`` (int 1-5) and ``RFM_segment`` (text), same index.

    Raises
    ------
    SegmentationError
        If a column is missing, holds text or gaps, or the table is empty.
    """
    missing = [name for name in RFM_COLUMNS if name not in rfm.columns]
    if missing:
        raise SegmentationError(
            f"RFM scores need the columns {_format_columns(RFM_COLUMNS)}; "
            f"{_format_columns(missing)} {'is' if len(missing) == 1 else 'are'} missing."
        )
    if rfm.empty:
        raise SegmentationError("RFM scores need at least one customer; the table is empty.")
    columns = {}
    for name in RFM_COLUMNS:
        values = _numbers(rfm[name], name)
        if not np.all(np.isfinite(values)):
            raise SegmentationError(
                f"Column '{name}' has missing or infinite values; RFM scores need a number "
                "for every customer."
            )
        columns[name] = values
    r = quintile_scores(columns["Recency"], higher_is_better=False)
    f = quintile_scores(columns["Frequency"])
    m = quintile_scores(np.round(columns["Monetary"], 6))
    return pd.DataFrame(
        {"R_score": r, "F_score": f, "M_score": m, "RFM_segment": rfm_segment_names(r, f, m)},
        index=rfm.index,
    )


def rfm_segment_names(r, f, m, segment_map=RFM_SEGMENT_MAP) -> np.ndarray:
    """The named segment of each customer's scores: the first row of ``segment_map`` whose
    ranges hold all three, else :data:`RFM_OTHERS` (``rfm::rfm_segment``'s rule).

    Parameters
    ----------
    r, f, m : array-like of shape (n,)
        Recency, frequency and monetary scores.
    segment_map : sequence of (name, (low, high), (low, high), (low, high))

    Returns
    -------
    ndarray of shape (n,), dtype object
    """
    r, f, m = (np.asarray(a) for a in (r, f, m))
    names = np.full(r.shape[0], RFM_OTHERS, dtype=object)
    free = np.ones(r.shape[0], dtype=bool)
    for name, (r_lo, r_hi), (f_lo, f_hi), (m_lo, m_hi) in segment_map:
        hit = free & (r >= r_lo) & (r <= r_hi) & (f >= f_lo) & (f <= f_hi)
        hit &= (m >= m_lo) & (m <= m_hi)
        names[hit] = name
        free &= ~hit
    return names


def rfm_crosstab(labels, segment_names, rfm_segments) -> dict:
    """How many customers of each k-means segment carry each RFM name.

    Parameters
    ----------
    labels : array-like of shape (n,)
        k-means segment of each customer, in [0, k).
    segment_names : list of str
        The k-means segments' names, by id.
    rfm_segments : array-like of shape (n,)
        ``RFM_segment`` of each customer.

    Returns
    -------
    dict
        ``columns``: the RFM names in the map's order, then "Others"; ``rows``: one per k-means
        segment, ``{"id", "name", "counts": {RFM name: count}, "total"}``; ``totals``: the
        count per RFM name over all customers. JSON-ready.
    """
    labels = np.asarray(labels)
    rfm_segments = np.asarray(rfm_segments, dtype=object)
    columns = [row[0] for row in RFM_SEGMENT_MAP] + [RFM_OTHERS]
    rows = []
    for segment_id, name in enumerate(segment_names):
        members = rfm_segments[labels == segment_id]
        counts = {column: int(np.sum(members == column)) for column in columns}
        rows.append({"id": segment_id, "name": name, "counts": counts, "total": len(members)})
    totals = {column: int(np.sum(rfm_segments == column)) for column in columns}
    return {"columns": columns, "rows": rows, "totals": totals}


#: How the scores are made, in words (the summary and the report say it).
SCORES_DESCRIPTION = (
    "Quintile scores 1-5, 5 best (R: most recent), by rank: about a fifth of the customers "
    "each, ties ranked by customer id (dplyr's ntile); named segments from R's rfm package "
    "(vignette 'RFM - Customer Level Data'), the first row that holds the scores, else Others."
)


def rfm_summary(labels, segment_names, rfm: pd.DataFrame, scores: pd.DataFrame) -> dict:
    """The ``rfm`` section of the summary: how scores are made, what each score stands for,
    the map and the cross-table.

    Parameters
    ----------
    labels : array-like of shape (n,)
        k-means segment of each customer.
    segment_names : list of str
        The k-means segments' names, by id.
    rfm : pandas.DataFrame of shape (n, n_columns)
        The RFM table the scores were computed from.
    scores : pandas.DataFrame of shape (n, 4)
        What :func:`rfm_scores` returned, in the customers' order.

    Returns
    -------
    dict
        ``scores`` (in words); ``score_ranges``: per score column and score 1-5, the smallest
        and largest value of its customers (``{"R_score": {"1": [min, max], ...}, ...}``);
        ``segment_map`` (one ``{"name", "R", "F", "M"}`` per row, in the order tested);
        ``crosstab`` (:func:`rfm_crosstab`). JSON-ready.
    """
    ranges = {}
    for column, score in zip(RFM_COLUMNS, RFM_SCORE_COLUMNS, strict=False):
        # Sums in millionths, as they are ranked (no float noise such as 250.26000000000002).
        values = np.round(rfm[column].to_numpy(dtype=np.float64), 6)
        ranges[score] = {
            str(s): [
                float(values[scores[score] == s].min()),
                float(values[scores[score] == s].max()),
            ]
            for s in range(1, 6)
            if (scores[score] == s).any()
        }
    return {
        "scores": SCORES_DESCRIPTION,
        "score_ranges": ranges,
        "segment_map": [
            {"name": name, "R": list(r), "F": list(f), "M": list(m)}
            for name, r, f, m in RFM_SEGMENT_MAP
        ],
        "crosstab": rfm_crosstab(labels, segment_names, scores["RFM_segment"].to_numpy()),
    }
