"""The options of a run, and the checks of k and the k range.

Messages name options by their parameter (`k`, `k_range`); the command line spells them as
its flags (see :meth:`segmentation.errors.SegmentationError.spelled`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import SegmentationError
from .io import to_jsonable

__all__ = [
    "ENGINE_OPTIONS",
    "ENGINES",
    "RunConfig",
    "parse_k_range",
    "check_k",
    "check_method",
    "METHODS",
    "RFM_OPTIONS",
]

#: The clustering methods of a run.
METHODS = ("kmeans", "kprototypes")

#: The options that only :func:`segmentation.pipeline.run_rfm` reads.
RFM_OPTIONS = (
    "transactions",
    "customer_col",
    "date_col",
    "quantity_col",
    "price_col",
    "invoice_col",
    "as_of",
)
#: Where a run computes: in this process or on Dask (``engine``, ``scheduler``).
ENGINE_OPTIONS = ("engine", "scheduler")
#: The engines of a run.
ENGINES = ("inprocess", "dask")


@dataclass(frozen=True)
class RunConfig:
    """Every option of a run; the CLI fills it from its flags.

    :func:`segmentation.pipeline.segment` reads the clustering options (``features`` to
    ``n_init``); :func:`~segmentation.pipeline.run` also the input and output ones.

    Attributes
    ----------
    input : path or None
        Customer table (CSV or Parquet); None draws ``n_synthetic`` synthetic customers.
    features : list of str or None
        Feature columns; None uses every numeric column that is not an identifier.
    id_column : str or None
        A column to keep as the identifier (never a feature).
    k : "auto" or int
        Number of segments, or "auto" to choose it over ``k_range``.
    k_range : tuple of two int
        Smallest and largest k to try (inclusive).
    k_rule : {"auto", "silhouette", "elbow", "gap"}
        How k is chosen over ``k_range`` (:func:`segmentation.select_k.choose_k`).
    bootstrap : int
        Bootstrap replicates of the stability of every segment
        (:mod:`segmentation.stability`); 0 skips it.
    scaler : {"standard", "robust", "minmax", "none"}
    log_transform : "auto", "none" or list of str
    seed : int
        Seeds the synthetic data, every k-means fit and every sample.
    out : path
        Output folder.
    n_synthetic : int
        Number of synthetic customers when ``input`` is None.
    n_init : int or None
        k-means++ restarts per k; None chooses by data size (``select_k.choose_n_init``).
    method : {"kmeans", "kprototypes"}
        ``kmeans`` one-hot encodes categorical features and clusters the matrix;
        ``kprototypes`` keeps them categorical (K-Prototypes: numeric distance plus a weight
        per category that differs from the segment's mode).
    plots, report : bool
        Whether to draw the figures and write the HTML report.
    encoding, decimal : str or None
        Text encoding and decimal mark of a CSV input (or transaction log); None detects them
        (:func:`segmentation.io.read_table`).
    transactions, customer_col, date_col, quantity_col, price_col, invoice_col, as_of
        Options of :func:`~segmentation.pipeline.run_rfm` (a transaction log instead of a
        customer table).
    engine : {"inprocess", "dask"}
        Where the run computes: in this process, or on Dask (``input`` or ``transactions`` may
        then be a folder of parts or a glob; :func:`~segmentation.pipeline.run` then writes
        the segmented customers as Parquet parts).
    scheduler : str or None
        With ``engine="dask"``: the address of a Dask scheduler; None starts a LocalCluster.
    """

    input: str | Path | None = None
    features: list[str] | None = None
    id_column: str | None = None
    k: str | int = "auto"
    k_range: tuple[int, int] = (2, 10)
    k_rule: str = "auto"
    bootstrap: int = 50  # segmentation.stability.DEFAULT_BOOTSTRAPS
    scaler: str = "standard"
    log_transform: str | list[str] = "auto"
    seed: int = 0
    out: str | Path = "outputs"
    n_synthetic: int = 400
    n_init: int | None = None
    method: str = "kmeans"
    plots: bool = True
    report: bool = True
    encoding: str | None = None
    decimal: str | None = None
    transactions: str | Path | None = None
    customer_col: str = "CustomerID"
    date_col: str = "InvoiceDate"
    quantity_col: str = "Quantity"
    price_col: str = "UnitPrice"
    invoice_col: str = "InvoiceNo"
    as_of: str | None = None
    engine: str = "inprocess"
    scheduler: str | None = None

    def rfm_options(self) -> dict:
        """The keyword arguments of :func:`segmentation.rfm.transactions_to_rfm`."""
        return {name: getattr(self, name) for name in RFM_OPTIONS if name != "transactions"}

    def parameters(self) -> dict:
        """The options as a JSON-safe dict (for the summary and the model)."""
        params = to_jsonable(asdict(self))
        if self.transactions is None:
            for name in RFM_OPTIONS:
                params.pop(name, None)
            if self.engine == "inprocess":
                for name in ENGINE_OPTIONS:
                    params.pop(name, None)
        return params


def parse_k_range(text: str) -> tuple[int, int]:
    """Read a k range such as ``"2-10"`` (or a single ``"5"``).

    Parameters
    ----------
    text : str

    Returns
    -------
    tuple of two int
        (smallest, largest), both inclusive.

    Raises
    ------
    SegmentationError
        If it is not two whole numbers with a dash, the smallest is below 2, or they are in
        the wrong order.
    """
    parts = str(text).replace(" ", "").split("-")
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        raise SegmentationError(
            f"`k_range` '{text}' is not a range such as 2-10; give two whole numbers."
        ) from None
    if len(numbers) == 1:
        numbers = numbers * 2
    if len(numbers) != 2:
        raise SegmentationError(f"`k_range` '{text}' is not a range such as 2-10.")
    low, high = numbers
    if low < 2:
        raise SegmentationError(
            f"`k_range` starts at {low}, but a segmentation needs at least 2 segments; "
            "start it at 2 or more."
        )
    if high < low:
        raise SegmentationError(
            f"`k_range` '{text}' ends before it starts; give the smaller number first."
        )
    return low, high


def check_k(k) -> str | int:
    """``"auto"`` or k as an int of at least 2.

    Raises
    ------
    SegmentationError
        If ``k`` is neither "auto" nor a whole number of at least 2.
    """
    if isinstance(k, str):
        if k.strip().lower() == "auto":
            return "auto"
        try:
            k = int(k)
        except ValueError:
            raise SegmentationError(f"`k` must be 'auto' or a whole number, got '{k}'.") from None
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise SegmentationError(f"`k` must be 'auto' or a whole number, got {k!r}.")
    if k < 2:
        raise SegmentationError(
            f"`k` is {k}, but a segmentation needs at least 2 segments; give 2 or more, or auto."
        )
    return int(k)


def check_method(method) -> str:
    """The clustering method, "kmeans" or "kprototypes".

    Raises
    ------
    SegmentationError
        If ``method`` is neither.
    """
    if method not in METHODS:
        raise SegmentationError(f"`method` must be one of {', '.join(METHODS)}, got {method!r}.")
    return method
