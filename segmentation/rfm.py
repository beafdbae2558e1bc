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
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import SegmentationError

__all__ = ["transactions_to_rfm", "RFM_COLUMNS"]

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
    _require(df, customer_col, "customer", "`customer_col`")
    _require(df, date_col, "date", "`date_col`")
    _require(df, quantity_col, "quantity", "`quantity_col`")
    _require(df, price_col, "price", "`price_col`")
    _require(df, invoice_col, "invoice", "`invoice_col`")

    n_start = len(df)
    log = [f"Read {n_start:,} transaction rows."]
    customers = _customer_ids(df[customer_col])
    invoices = df[invoice_col].astype("str").str.strip().where(df[invoice_col].notna())
    quantity = _numbers(df[quantity_col], quantity_col)
    price = _numbers(df[price_col], price_col)
    dates = _parse_dates(df[date_col], date_col)

    keep = np.ones(n_start, dtype=bool)
    _drop(keep, customers.isna().to_numpy(), "without a customer", log)
    cancelled = invoices.str.upper().str.startswith("C").fillna(False).to_numpy(dtype=bool)
    _drop(keep, cancelled, "(invoice starting with 'C')", log, what="cancellation rows")
    _drop(keep, ~(quantity > 0), "with quantity <= 0 or missing", log)  # NaN counts as bad
    _drop(keep, ~(price > 0), "with price <= 0 or missing", log)
    _drop(keep, dates.isna().to_numpy(), "without a date", log, quiet_when_none=True)
    if as_of is not None:
        reference = _parse_as_of(as_of)
        late = (dates >= reference).to_numpy()
        _drop(keep, late, f"on or after the as-of day, {reference.date()}", log)
    if not keep.any():
        raise SegmentationError(
            "No transaction is left after cleaning (rows without a customer, cancellations, "
            "quantity or price <= 0, dates after `as_of`); check the columns and `as_of`."
        )

    clean = pd.DataFrame(
        {
            "customer": customers[keep].to_numpy(),
            "invoice": invoices[keep].to_numpy(),
            "date": dates[keep].to_numpy(),
            "amount": quantity[keep] * price[keep],
        }
    )
    if as_of is None:
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
