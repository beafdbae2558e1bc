"""The ``--engine dask`` paths: tables too large for one machine's memory, on Dask.

``transactions_to_rfm_dask`` reads a file, a folder of Parquet or CSV parts, or a glob with
``dask.dataframe``, cleans every partition by the in-process rules (``segmentation.rfm``), and
builds the same per-customer table as ``transactions_to_rfm`` from grouped aggregations: the
last date and the amount per customer, and the distinct invoices exactly, as the number of
(customer, invoice) groups per customer (two grouped aggregations, not an approximate count).
Memory is bounded by the partitions and the per-customer results, not by the log.

For ``segment run`` and ``segment predict`` on Dask (orchestrated by
``segmentation.pipeline``): ``read_customers`` reads a customer table the same ways; a
``DaskTable`` counts its rows, draws a seeded sample that does not depend on the partitioning
(``sample``), turns every partition into the matrix k-means sees (``matrix``) and writes every
partition, segmented, as one Parquet part (``write_parts``); ``DaskStatistics`` computes on the
cluster what ``Preprocessor.fit`` learns (exact medians and percentiles by a radix selection,
two-pass moments, category counts), so the fitted preprocessor takes the in-process decisions.

``cluster(scheduler)`` gives a Dask client: the cluster at ``scheduler`` when given, else a
LocalCluster sized to the machine, closed on exit. Nothing here is imported unless asked for.
"""

from __future__ import annotations

import contextlib
import glob
import math
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SegmentationError
from .preprocess import NumericSummary, _numeric_column, _text_column
from .rfm import _customer_ids, _numbers, _parse_as_of, _parse_dates
from .units import measuring_units

__all__ = [
    "cluster",
    "workers_lost",
    "read_transactions",
    "transactions_to_rfm_dask",
    "read_customers",
    "DaskTable",
    "DaskStatistics",
]

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
    ``tcp://host:8786``, or the path of a scheduler file such as dask-jobqueue and dask-mpi
    write); else the client already current in this Python session (a dask-gateway or
    Kubernetes cluster's, say), left open; else a LocalCluster on this machine, sized to it and
    closed on exit."""
    from distributed import Client, LocalCluster, default_client

    if scheduler:
        as_file = str(scheduler).endswith(".json") and Path(scheduler).is_file()
        try:
            if as_file:
                client = Client(scheduler_file=str(scheduler), timeout="10s")
            else:
                client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as error:
            raise SegmentationError(
                f"Could not reach the Dask scheduler at {scheduler!r} ({error}); check `scheduler`."
            ) from None
        with client:
            yield client
        return
    try:
        current = default_client()
    except ValueError:
        current = None
    if current is not None:
        yield current
        return
    with LocalCluster(processes=True, dashboard_address=":0") as local, Client(local) as client:
        yield client


@contextlib.contextmanager
def workers_lost():
    """Dask workers lost beyond what Dask and the fit recover from, as one sentence: a fit
    restarts after losing a worker (``kmeans_core.dask.WorkerLostError`` when that happens too
    often) and Dask computes a lost task again (``KilledWorker`` when the task killed three
    workers, often by running out of memory)."""
    from distributed import KilledWorker

    from kmeans_core.dask import WorkerLostError

    try:
        yield
    except WorkerLostError as error:
        raise SegmentationError(str(error)) from None
    except KilledWorker:
        raise SegmentationError(
            "A task of the run stopped three Dask workers, often by running out of memory; "
            "give the workers more memory or the input smaller partitions, then run it again."
        ) from None


def _files(path, what="transactions") -> list[str]:
    """The files a path names: itself, the Parquet or CSV parts of a folder, or a glob."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(glob.glob(text))
    elif Path(text).is_dir():
        files = sorted(str(p) for p in Path(text).iterdir() if p.suffix.lower() in _READERS)
    else:
        files = [text] if Path(text).exists() else []
    if not files:
        raise SegmentationError(f"No {what} file found at {text!r}.")
    kinds = {Path(f).suffix.lower() for f in files}
    if len(kinds) != 1 or not kinds <= set(_READERS):
        raise SegmentationError(
            f"The files of the {what} at {text!r} must be all Parquet or all CSV, got "
            f"{', '.join(sorted(kinds)) or 'files without an extension'}."
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


# --------------------------------------------------------------------------- customer tables


def input_files(path, what="customer table") -> list[str]:
    """The files of a Parquet or CSV table at ``path``: a file, a folder of parts or a glob."""
    return _files(path, what=what)


def read_customers(path, *, encoding=None, decimal=None):
    """A ``dask.dataframe`` of the customer table at ``path``: a Parquet or CSV file, a folder
    of Parquet or CSV parts, or a glob. Each CSV part is read by ``segmentation.io.read_table``
    (the in-process rules: delimiter, encoding and decimal mark detected, numbers typed)."""
    import dask.dataframe as dd

    from .io import read_table

    files = _files(path, what="customer table")
    if Path(files[0]).suffix.lower() == ".parquet":
        try:
            frame = dd.read_parquet(files)
        except (OSError, ValueError) as error:
            raise SegmentationError(
                f"Cannot read the Parquet parts at {str(path)!r} ({error})."
            ) from None
        return frame.map_partitions(_text_as_read_table, meta=_text_as_read_table(frame._meta))
    return dd.from_map(partial(read_table, encoding=encoding, decimal=decimal), files)


def _text_as_read_table(part):
    """Text columns as ``read_table`` gives them (pandas' default string dtype, NaN for gaps),
    not dask's pyarrow strings with ``pd.NA``."""
    text = [
        name
        for name, dtype in part.dtypes.items()
        if isinstance(dtype, pd.StringDtype) and dtype != pd.StringDtype(na_value=np.nan)
    ]
    return part.astype({name: pd.StringDtype(na_value=np.nan) for name in text}) if text else part


_MASK = np.uint64(2**64 - 1)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(z):
    """splitmix64's finalizer (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _row_keys(seed, start, stop):
    """A number in [0, 1) per global row in ``[start, stop)``, a function of (seed, row) only:
    the rows with the smallest keys are a seeded sample whatever the partitions."""
    with np.errstate(over="ignore"):
        key = _mix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + _GOLDEN)
        rows = np.arange(start, stop, dtype=np.uint64)
        z = _mix64(key ^ ((rows + np.uint64(1)) * _GOLDEN))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _partition_rows_below(part, offset, seed, threshold):
    """The rows of a partition whose key is below ``threshold``, with their keys and global
    row numbers (columns ``__key__`` and ``__row__`` added)."""
    keys = _row_keys(seed, offset, offset + len(part))
    picked = np.flatnonzero(keys < threshold)
    rows = part.iloc[picked].copy()
    rows["__key__"] = keys[picked]
    rows["__row__"] = offset + picked
    return rows


def _add_all(*parts):
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


class DaskTable:
    """A customer table on Dask: its partitions, their lengths and first global rows.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    """

    def __init__(self, frame):
        import dask

        self.frame = frame
        self.parts = frame.to_delayed()
        lengths = dask.compute(*[dask.delayed(len)(part) for part in self.parts])
        self.lengths = [int(n) for n in lengths]
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.n_rows = int(sum(self.lengths))
        if self.n_rows == 0:
            raise SegmentationError("The customer table has a header but no rows.")
        # Empty partitions hold no customer; leaving them out keeps every chunk non-empty.
        kept = [i for i, n in enumerate(self.lengths) if n > 0]
        self.parts = [self.parts[i] for i in kept]
        self.lengths = [self.lengths[i] for i in kept]
        self.offsets = self.offsets[kept]

    @property
    def n_partitions(self) -> int:
        return len(self.parts)

    def sample(self, n_rows: int, seed: int) -> pd.DataFrame:
        """The whole table when it has at most ``n_rows`` rows, else the ``n_rows`` rows with
        the smallest keys (``_row_keys``): a seeded sample that depends on (seed, row) only.
        Rows keep the table's order; the index is 0..n-1."""
        import dask

        threshold = 1.0 if self.n_rows <= n_rows else min(1.0, 1.2 * n_rows / self.n_rows + 1e-4)
        while True:
            parts = dask.compute(
                *[
                    dask.delayed(_partition_rows_below)(part, int(offset), seed, threshold)
                    for part, offset in zip(self.parts, self.offsets, strict=True)
                ]
            )
            rows = pd.concat(parts, ignore_index=True)
            if len(rows) >= min(n_rows, self.n_rows):
                break
            threshold = min(1.0, threshold * 2)  # too few below the threshold: rare, draw more
        if len(rows) > n_rows:
            rows = rows.iloc[np.argsort(rows["__key__"].to_numpy(), kind="stable")[:n_rows]]
        rows = rows.iloc[np.argsort(rows["__row__"].to_numpy(), kind="stable")]
        return rows.drop(columns=["__key__", "__row__"]).reset_index(drop=True)

    def matrix(self, preprocessor):
        """Every partition as the matrix k-means sees: a dask array of shape (n_rows,
        n_features), one row chunk per partition."""
        import dask
        import dask.array as da

        width = len(preprocessor.feature_names_out_)
        blocks = [
            da.from_delayed(
                dask.delayed(preprocessor.transform)(part), shape=(n, width), dtype=np.float64
            )
            for part, n in zip(self.parts, self.lengths, strict=True)
        ]
        return da.concatenate(blocks)

    def write_parts(self, segmented, folder: Path) -> np.ndarray:
        """Write ``segmented(partition)`` (a DataFrame and an array of counts) of every
        partition to ``folder/part.NNNNN.parquet`` on the workers; the counts, summed."""
        import dask

        width = max(5, len(str(self.n_partitions)))
        written = [
            dask.delayed(_write_part)(segmented, part, str(folder / f"part.{i:0{width}d}.parquet"))
            for i, part in enumerate(self.parts)
        ]
        return dask.compute(_tree(written, _add_all))[0]


def _write_part(segmented, part, path):
    frame, counts = segmented(part)
    frame.to_parquet(path, index=False)
    return counts


# ----------------------------------------------------------------- the preprocessor's statistics
_SIGN = np.uint64(1 << 63)
_RADIX_BITS = 16


def _sortable_keys(values):
    """float64 -> uint64 keys in the same order (NaN excluded beforehand)."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    return np.where(bits >> np.uint64(63) == 1, ~bits, bits | _SIGN)


def _value_of_key(key: int) -> float:
    key = np.uint64(key)
    bits = key ^ _SIGN if key >> np.uint64(63) == 1 else ~key
    return float(np.array([bits], dtype=np.uint64).view(np.float64)[0])


def _radix_histograms(block, targets, level):
    """For each target (column, key prefix), the histogram of the next ``_RADIX_BITS`` bits of
    the keys of the column's present values that share the prefix so far: (n_targets, 2**16)."""
    shift = np.uint64(64 - _RADIX_BITS * (level + 1))
    out = np.zeros((len(targets), 2**_RADIX_BITS), dtype=np.int64)
    keys_of = {}
    for t, (column, prefix) in enumerate(targets):
        if column not in keys_of:
            values = block[:, column]
            keys_of[column] = _sortable_keys(values[~np.isnan(values)])
        keys = keys_of[column]
        if level:
            high = shift + np.uint64(_RADIX_BITS)
            keys = keys[(keys >> high) == (np.uint64(prefix) >> high)]
        digits = ((keys >> shift) & np.uint64(2**_RADIX_BITS - 1)).astype(np.intp)
        out[t] = np.bincount(digits, minlength=2**_RADIX_BITS)
    return out


def order_statistics(blocks, ranks):
    """Exact order statistics of the columns of delayed float64 blocks (NaN = missing).

    Parameters
    ----------
    blocks : list of dask.delayed, each an ndarray of shape (n_i, n_columns)
    ranks : list of (column, rank)
        ``rank`` counts from 0 among the column's present values.

    Returns
    -------
    list of float
        The value of each rank: a radix selection, ``64 / 16`` passes over the blocks.
    """
    import dask

    prefixes = [0] * len(ranks)
    remaining = [int(rank) for _, rank in ranks]
    for level in range(64 // _RADIX_BITS):
        targets = [(column, prefix) for (column, _), prefix in zip(ranks, prefixes, strict=True)]
        parts = [dask.delayed(_radix_histograms)(block, targets, level) for block in blocks]
        histograms = dask.compute(_tree(parts, _add_all))[0]
        shift = 64 - _RADIX_BITS * (level + 1)
        for t, histogram in enumerate(histograms):
            below = np.cumsum(histogram)
            digit = int(np.searchsorted(below, remaining[t], side="right"))
            remaining[t] -= int(below[digit - 1]) if digit else 0
            prefixes[t] |= digit << shift
    return [_value_of_key(prefix) for prefix in prefixes]


def _median_ranks(n):
    """Ranks whose mean is ``np.median`` of n sorted values."""
    return [(n - 1) // 2, n // 2]


def _median(low, high):
    return float(np.mean(np.array([low, high]))) if low != high else float(low)


def _percentile_ranks(n, q):
    """The two ranks ``np.percentile(..., q)`` (method "linear") interpolates between, and the
    weight of the second, computed as NumPy computes them."""
    virtual = (n - 1) * np.true_divide(q, 100)
    previous = float(np.floor(virtual))
    gamma = virtual - previous
    if virtual >= n - 1:
        return n - 1, n - 1, gamma
    return int(previous), int(previous) + 1, gamma


def _lerp(a, b, t):
    """NumPy's linear interpolation of ``np.percentile``, the same rounding."""
    a, b = np.float64(a), np.float64(b)
    diff = b - a
    return float(b - diff * (1 - t) if t >= 0.5 else a + diff * t)


def _numeric_block(part, names):
    """The numeric columns of a partition as float64, NaN for gaps: (n_i, len(names))."""
    out = np.empty((len(part), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        out[:, j] = _numeric_column(part, name)
    return out


def _summaries(block):
    """Per column: present count, smallest, largest and float64 sum of the present values."""
    present = ~np.isnan(block)
    count = present.sum(axis=0).astype(np.int64)
    with np.errstate(invalid="ignore"):
        low = np.where(present, block, np.inf).min(axis=0, initial=np.inf)
        high = np.where(present, block, -np.inf).max(axis=0, initial=-np.inf)
    total = np.where(present, block, 0.0).sum(axis=0)
    return np.stack([count.astype(np.float64), low, high, total])


def _combine_summaries(*parts):
    out = parts[0].copy()
    for part in parts[1:]:
        out[0] += part[0]
        out[1] = np.minimum(out[1], part[1])
        out[2] = np.maximum(out[2], part[2])
        out[3] += part[3]
    return out


def _central_moments(block, fill, mean, units=1.0):
    """Sums of the squared and cubed deviations from ``mean`` of ``block / units``, gaps
    filled: (2, n_columns)."""
    values = np.where(np.isnan(block), fill, block) / units
    deviations = values - mean
    return np.stack([(deviations**2).sum(axis=0), (deviations**3).sum(axis=0)])


def _scaler_block(block, names, transform_block):
    return transform_block(pd.DataFrame(block, columns=names))


def _counts(part, names):
    return [_text_column(part, name).dropna().value_counts() for name in names]


def _add_counts(*parts):
    return [
        pd.concat([part[j] for part in parts]).groupby(level=0, sort=False).sum()
        for j in range(len(parts[0]))
    ]


def _tree(parts, combine, fan_in=8):
    import dask

    while len(parts) > 1:
        parts = [
            dask.delayed(combine)(*parts[i : i + fan_in]) for i in range(0, len(parts), fan_in)
        ]
    return parts[0]


class DaskStatistics:
    """What ``Preprocessor.fit`` learns, computed on a Dask cluster (see
    ``segmentation.preprocess.TableStatistics``, the in-memory twin): exact counts, extremes,
    medians and percentiles (order statistics by radix selection), and means, standard
    deviations and skewness in two passes (first the mean, then the deviations from it), so
    equal to the in-process values to rounding.

    Parameters
    ----------
    table : DaskTable
    numeric, categorical : list of str
        The feature columns (``ColumnRoles``) it is asked about.
    """

    def __init__(self, table: DaskTable, numeric: list[str], categorical: list[str]):
        import dask

        self.table = table
        self.n_rows = table.n_rows
        self.names = list(numeric)
        # The numeric features as float64 blocks, kept on the workers for the passes below.
        blocks = [dask.delayed(_numeric_block)(part, self.names) for part in table.parts]
        self.blocks = list(dask.persist(*blocks)) if self.names else []
        counts = [dask.delayed(_counts)(part, list(categorical)) for part in table.parts]
        if self.names:
            summary = _tree([dask.delayed(_summaries)(b) for b in self.blocks], _combine_summaries)
            summary, counts = dask.compute(summary, _tree(counts, _add_counts))
        else:
            summary, counts = np.zeros((4, 0)), dask.compute(_tree(counts, _add_counts))[0]
        self._counts = dict(zip(categorical, counts, strict=True))
        n_present = summary[0].astype(np.int64)
        ranks = [
            (j, rank) for j, n in enumerate(n_present) if n > 0 for rank in _median_ranks(int(n))
        ]
        values = iter(order_statistics(self.blocks, ranks))
        self._summaries = {}
        self._sums = {}
        for j, name in enumerate(self.names):
            n = int(n_present[j])
            median = _median(next(values), next(values)) if n else float("nan")
            low, high = (float(summary[1, j]), float(summary[2, j])) if n else (np.nan, np.nan)
            self._summaries[name] = NumericSummary(n, low, high, median)
            self._sums[name] = float(summary[3, j])
        self._skewness = None

    def numeric(self, name: str, log: list[str] | None = None) -> NumericSummary:
        """Count, extremes and median of a numeric feature's present values (cells that are
        not finite numbers count as missing, as in process; the log does not list them)."""
        return self._summaries[name]

    def skewness(self, name: str, fill: float) -> float:
        """Skewness of every numeric feature with gaps filled by its median, in one pass (the
        first call computes all of them)."""
        import dask

        if fill != self._summaries[name].median:
            raise ValueError("DaskStatistics.skewness fills gaps with the median only.")
        if self._skewness is None:
            fills = np.array([self._summaries[c].median for c in self.names])
            fills = np.where(np.isnan(fills), 0.0, fills)
            missing = np.array([self.n_rows - self._summaries[c].n_present for c in self.names])
            sums = np.array([self._sums[c] for c in self.names])
            # Near the float64 limit cubes overflow: such columns in units of their largest
            # value (skewness does not depend on the unit).
            largest = np.array(
                [np.nanmax(np.abs(self._summaries[c][1:3] + (0.0,))) for c in self.names]
            )
            units = measuring_units(largest)
            mean = (sums / units + missing * (fills / units)) / self.n_rows
            parts = [dask.delayed(_central_moments)(b, fills, mean, units) for b in self.blocks]
            moments = dask.compute(_tree(parts, _add_all))[0] / self.n_rows
            self._skewness = {
                c: _skewness_from_moments(self.n_rows, moments[0, j], moments[1, j])
                for j, c in enumerate(self.names)
            }
        return self._skewness[name]

    def counts(self, name: str) -> pd.Series:
        return self._counts[name]

    def scaler(self, transform_block, scaler: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Center, scale and largest magnitude per column of ``transform_block(partition)``
        over the whole table, as ``segmentation.preprocess._fit_scaler`` computes them in
        memory (columns beyond ``HUGE`` or below ``TINY`` measured in units of their largest
        value)."""
        import dask

        blocks = [dask.delayed(_scaler_block)(b, self.names, transform_block) for b in self.blocks]
        if not blocks:
            return np.zeros(0), np.ones(0), np.zeros(0)
        blocks = list(dask.persist(*blocks))
        summary = dask.compute(
            _tree([dask.delayed(_summaries)(b) for b in blocks], _combine_summaries)
        )[0]
        width = summary.shape[1]
        magnitude = np.maximum(np.abs(summary[1]), np.abs(summary[2]))
        if scaler == "none" or width == 0:
            return np.zeros(width), np.ones(width), magnitude
        units = measuring_units(magnitude)
        if (units != 1.0).any():
            blocks = list(dask.persist(*[dask.delayed(np.divide)(b, units) for b in blocks]))
            summary = dask.compute(
                _tree([dask.delayed(_summaries)(b) for b in blocks], _combine_summaries)
            )[0]
        center, scale = self._center_and_scale(blocks, summary, scaler)
        with np.errstate(over="ignore"):
            center, scale = center * units, scale * units
        scale = np.where(scale > 0.0, scale, 1.0)
        return np.asarray(center, dtype=np.float64), np.asarray(scale, dtype=np.float64), magnitude

    def _center_and_scale(self, blocks, summary, scaler):
        import dask

        n = self.n_rows
        width = summary.shape[1]
        mean = summary[3] / n
        parts = [dask.delayed(_central_moments)(b, 0.0, mean) for b in blocks]
        std = np.sqrt(dask.compute(_tree(parts, _add_all))[0][0] / n)
        if scaler == "standard":
            return mean, std
        if scaler == "minmax":
            return summary[1], summary[2] - summary[1]
        # robust: the median and the interquartile range, the std where that range is 0
        low25, high25, gamma25 = _percentile_ranks(n, 25.0)
        low75, high75, gamma75 = _percentile_ranks(n, 75.0)
        ranks = [
            (j, rank)
            for j in range(width)
            for rank in (*_median_ranks(n), low25, high25, low75, high75)
        ]
        values = np.array(order_statistics(blocks, ranks)).reshape(width, 6)
        center = np.array([_median(v[0], v[1]) for v in values])
        q25 = np.array([_lerp(v[2], v[3], gamma25) for v in values])
        q75 = np.array([_lerp(v[4], v[5], gamma75) for v in values])
        return center, np.where(q75 - q25 > 0.0, q75 - q25, std)


def _skewness_from_moments(n, m2, m3):
    """``segmentation.preprocess._sample_skewness`` from the second and third central moments."""
    if n < 3 or not m2 > 0.0:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        skewness = m3 / m2**1.5
    return float(skewness * math.sqrt(n * (n - 1)) / (n - 2)) if np.isfinite(skewness) else 0.0
