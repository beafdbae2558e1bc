"""The ``--engine dask`` paths: a transaction log too large for one machine's memory, on Dask.

``transactions_to_rfm_dask`` reads a file, a folder of Parquet or CSV parts, or a glob with
``dask.dataframe``, cleans every partition by the in-process rules (``segmentation.rfm``), and
builds the same per-customer table as ``transactions_to_rfm`` from grouped aggregations: the
last date and the amount per customer, and the distinct invoices exactly, as the number of
(customer, invoice) groups per customer (two grouped aggregations, not an approximate count).
Memory is bounded by the partitions and the per-customer results, not by the log.

``cluster(scheduler)`` gives a Dask client: the cluster at ``scheduler`` when given, else a
LocalCluster sized to the machine, closed on exit. Nothing here is imported unless asked for.
"""

from __future__ import annotations

import contextlib
import glob
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SegmentationError
from .rfm import _customer_ids, _numbers, _parse_as_of, _parse_dates

__all__ = ["cluster", "read_transactions", "transactions_to_rfm_dask"]

_CLEAN_META = pd.DataFrame(
    {
        "customer": pd.Series(dtype="str"),
        "invoice": pd.Series(dtype="str"),
        "date": pd.Series(dtype="datetime64[ns]"),
        "amount": pd.Series(dtype="float64"),
    }
)


@contextlib.contextmanager
def cluster(scheduler=None):
    """A ``distributed.Client``: connected to ``scheduler`` (an address such as
    ``tcp://host:8786``), or to a LocalCluster on this machine that is closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as error:
            raise SegmentationError(
                f"Could not reach the Dask scheduler at {scheduler!r} ({error}); check `scheduler`."
            ) from None
        with client:
            yield client
        return
    with LocalCluster(processes=True, dashboard_address=":0") as local, Client(local) as client:
        yield client


def _files(path) -> list[str]:
    """The files a path names: itself, the Parquet or CSV parts of a folder, or a glob."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(glob.glob(text))
    elif Path(text).is_dir():
        files = sorted(str(p) for p in Path(text).iterdir() if p.suffix.lower() in _READERS)
    else:
        files = [text] if Path(text).exists() else []
    if not files:
        raise SegmentationError(f"No transactions file found at {text!r}.")
    kinds = {Path(f).suffix.lower() for f in files}
    if len(kinds) != 1 or not kinds <= set(_READERS):
        raise SegmentationError(
            f"The transactions at {text!r} must all be Parquet or all CSV files, got "
            f"{', '.join(sorted(kinds))}."
        )
    return files


def _read_parquet(files):
    import dask.dataframe as dd

    return dd.read_parquet(files)


def _read_csv(files):
    import dask.dataframe as dd

    # Text throughout: the cleaning rules parse numbers and dates themselves, and no partition
    # can then disagree with the dtypes guessed from the first one.
    return dd.read_csv(files, dtype=str, keep_default_na=True, blocksize="64MB")


_READERS = {".parquet": _read_parquet, ".csv": _read_csv}


def read_transactions(path):
    """A ``dask.dataframe`` of the transactions at ``path`` (file, folder of parts, glob)."""
    files = _files(path)
    return _READERS[Path(files[0]).suffix.lower()](files)


def _clean_partition(df, columns, as_of, numeric_ids):
    """One partition cleaned by ``segmentation.rfm``'s rules: (customer, invoice, date,
    amount) of the rows kept. ``numeric_ids``: the customer column, read as text, holds only
    numbers in every partition (pandas would have read it as numbers: 17850.0 -> "17850")."""
    customer_col, date_col, quantity_col, price_col, invoice_col = columns
    ids = df[customer_col]
    if numeric_ids and not pd.api.types.is_numeric_dtype(ids.dtype):
        ids = pd.to_numeric(ids, errors="coerce").astype(np.float64)
    customers = _customer_ids(ids)
    invoices = df[invoice_col].astype("str").str.strip().where(df[invoice_col].notna())
    quantity = _numbers(df[quantity_col], quantity_col)
    price = _numbers(df[price_col], price_col)
    dates = _parse_dates(df[date_col], date_col)
    keep = customers.notna().to_numpy(dtype=bool, copy=True)
    keep &= ~invoices.str.upper().str.startswith("C").fillna(False).to_numpy(dtype=bool)
    keep &= quantity > 0
    keep &= price > 0
    keep &= ~dates.isna().to_numpy()
    if as_of is not None:
        keep &= ~(dates >= as_of).to_numpy()
    return pd.DataFrame(
        {
            "customer": pd.array(customers[keep].to_numpy(), dtype="str"),
            "invoice": pd.array(invoices[keep].to_numpy(), dtype="str"),
            "date": dates[keep].to_numpy().astype("datetime64[ns]"),
            "amount": quantity[keep] * price[keep],
        }
    )


def _has_text(ids):
    """Whether a partition of customer ids (text) holds a value that is not a number."""
    text = ids.astype("str").str.strip().where(ids.notna())
    present = text.notna() & (text != "")
    return pd.Series([bool((pd.to_numeric(text, errors="coerce").isna() & present).any())])


def transactions_to_rfm_dask(
    path,
    *,
    customer_col: str = "CustomerID",
    date_col: str = "InvoiceDate",
    quantity_col: str = "Quantity",
    price_col: str = "UnitPrice",
    invoice_col: str = "InvoiceNo",
    as_of=None,
) -> tuple[pd.DataFrame, list[str]]:
    """``segmentation.rfm.transactions_to_rfm`` on Dask, from the transactions at ``path``.

    Runs on the current Dask client (see ``cluster``). Returns the same table (customers
    sorted by id; Monetary summed in another order, so equal to rounding) and a short log.
    """
    transactions = read_transactions(path)
    for column, role, option in (
        (customer_col, "customer", "`customer_col`"),
        (date_col, "date", "`date_col`"),
        (quantity_col, "quantity", "`quantity_col`"),
        (price_col, "price", "`price_col`"),
        (invoice_col, "invoice", "`invoice_col`"),
    ):
        if column not in transactions.columns:
            names = ", ".join(f"'{c}'" for c in transactions.columns)
            raise SegmentationError(
                f"The {role} column '{column}' is not in the transactions; choose it with "
                f"{option} among {names}."
            )
    reference = None if as_of is None else _parse_as_of(as_of)
    columns = (customer_col, date_col, quantity_col, price_col, invoice_col)
    import dask

    numeric_ids = True
    if not pd.api.types.is_numeric_dtype(transactions[customer_col].dtype):
        numeric_ids = not bool(
            transactions[customer_col].map_partitions(_has_text, meta=(None, bool)).any().compute()
        )
    clean = transactions.map_partitions(
        _clean_partition, columns, reference, numeric_ids, meta=_CLEAN_META
    )

    per_customer = clean.groupby("customer").agg({"date": "max", "amount": "sum"})
    invoices = clean.groupby(["customer", "invoice"])["amount"].count().reset_index()
    frequency = invoices.groupby("customer")["invoice"].count()
    n_rows = transactions.map_partitions(len).sum()
    per_customer, frequency, n_rows = dask.compute(per_customer, frequency, n_rows)
    if per_customer.empty:
        raise SegmentationError(
            "No transaction is left after cleaning (rows without a customer, cancellations, "
            "quantity or price <= 0, dates after `as_of`); check the columns and `as_of`."
        )
    per_customer = per_customer.sort_index()
    last = per_customer["date"]
    if reference is None:
        reference = last.max().normalize() + pd.Timedelta(days=1)
    rfm = pd.DataFrame(
        {
            customer_col: pd.array(per_customer.index.astype(str), dtype="str"),
            "Recency": (reference.normalize() - last.dt.normalize()).dt.days.to_numpy(np.int64),
            "Frequency": frequency.reindex(per_customer.index).to_numpy(np.int64),
            "Monetary": per_customer["amount"].to_numpy(np.float64),
        }
    )
    log = [
        f"Read {int(n_rows):,} transaction rows on Dask ({transactions.npartitions} partitions).",
        f"Recency is counted up to {reference.date()}.",
        f"{len(rfm):,} customers with recency, frequency and monetary value.",
    ]
    return rfm, log
