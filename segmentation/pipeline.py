"""The whole segmentation job as library functions: ``segment run``, ``rfm`` and ``predict``.

:func:`run` reads the customers (or draws synthetic ones), decides the columns' roles, cleans
and scales them, sweeps k, chooses it, fits the final model, profiles and names the segments,
draws the plots, writes the report and every output file, and returns a :class:`RunResult`
with everything it computed and how long each stage took. :func:`run_rfm` first turns a
transaction log into one row per customer (recency, frequency, monetary), then does the same.
:func:`predict` assigns new customers with a saved model.

The CLI only parses options, calls these and prints; everything here can be used from Python.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from kmeans_core import PCA
from kmeans_core.metrics import silhouette_samples

from . import __version__
from . import plots as plotting
from .errors import SegmentationError
from .io import (
    ensure_output_dir,
    read_table,
    to_jsonable,
    write_bytes_atomic,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
)
from .model import SegmentationModel
from .preprocess import ColumnRoles, Preprocessor, infer_roles
from .profile import Profiles, build_profiles, customer_explanations
from .rfm import transactions_to_rfm
from .select_k import SAMPLE_THRESHOLD, choose_k, choose_n_init, fit_sweep, kneedle
from .synthetic import make_customers

__all__ = [
    "RunConfig",
    "RunResult",
    "PredictResult",
    "OUTPUT_COLUMNS",
    "PLOT_FILES",
    "run",
    "run_rfm",
    "predict",
    "parse_k_range",
]

#: Columns added after the input's own columns, in this order.
OUTPUT_COLUMNS = (
    "Segment",
    "Segment_name",
    "Distance_to_center",
    "Second_nearest_segment",
    "Assignment_margin",
)
#: The figures of a run: file name -> what it shows.
PLOT_FILES = {
    "elbow_silhouette.png": "Inertia and silhouette for every k tried, the chosen k marked",
    "pca_clusters.png": "Customers on the first two principal components, with segment centers",
    "feature_distributions.png": "Distribution of every numeric feature in each segment",
    "silhouette.png": "Silhouette of every customer, by segment",
    "segment_profiles.png": "How far each segment's mean is from all customers (z-scores)",
}
RFM_FEATURES = ["Recency", "Frequency", "Monetary"]

ProgressCallback = Callable[[int, int], None]


@dataclass
class RunConfig:
    """Every option of a run; the CLI fills it from its flags.

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
    plots, report : bool
        Whether to draw the figures and write the HTML report.
    transactions, customer_col, date_col, quantity_col, price_col, invoice_col, as_of
        Options of :func:`run_rfm` (a transaction log instead of a customer table).
    """

    input: str | Path | None = None
    features: list[str] | None = None
    id_column: str | None = None
    k: str | int = "auto"
    k_range: tuple[int, int] = (2, 10)
    scaler: str = "standard"
    log_transform: str | list[str] = "auto"
    seed: int = 0
    out: str | Path = "outputs"
    n_synthetic: int = 400
    n_init: int | None = None
    plots: bool = True
    report: bool = True
    transactions: str | Path | None = None
    customer_col: str = "CustomerID"
    date_col: str = "InvoiceDate"
    quantity_col: str = "Quantity"
    price_col: str = "UnitPrice"
    invoice_col: str = "InvoiceNo"
    as_of: str | None = None

    def parameters(self) -> dict:
        """The options as a JSON-safe dict (for the summary and the model)."""
        params = to_jsonable(asdict(self))
        if self.transactions is None:
            for name in (
                "transactions",
                "customer_col",
                "date_col",
                "quantity_col",
                "price_col",
                "invoice_col",
                "as_of",
            ):
                params.pop(name, None)
        return params


@dataclass
class RunResult:
    """Everything a run computed.

    Attributes
    ----------
    data : pandas.DataFrame of shape (n_customers, n_columns)
        The customer table that was segmented (as read, or synthetic, or the RFM table).
    segmented : pandas.DataFrame of shape (n_customers, n_columns + 5)
        ``data`` followed by :data:`OUTPUT_COLUMNS`: what ``customers_segmented.csv`` holds.
    X : ndarray of shape (n_customers, n_features_out)
        The matrix k-means saw.
    labels : ndarray of shape (n_customers,)
    k : int
    rule, reason : str
        How k was chosen and why, in words.
    elbow : int or None
        The Kneedle elbow of the inertia curve.
    sweep : list of dict
        One row per k tried: ``k``, ``inertia``, ``silhouette``, ``calinski_harabasz``,
        ``davies_bouldin``.
    profiles : Profiles
    model : SegmentationModel
    roles : ColumnRoles
    log : list of str
        The data-cleaning log, one sentence per step.
    summary : dict
        What ``cluster_summary.json`` holds.
    paths : dict of str to pathlib.Path
        Every file written.
    timings : dict of str to float
        Seconds per stage, in order.
    """

    data: pd.DataFrame
    segmented: pd.DataFrame
    X: np.ndarray
    labels: np.ndarray
    k: int
    rule: str
    reason: str
    elbow: int | None
    sweep: list[dict]
    profiles: Profiles
    model: SegmentationModel
    roles: ColumnRoles
    log: list[str]
    summary: dict
    paths: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class PredictResult:
    """What :func:`predict` did.

    Attributes
    ----------
    segmented : pandas.DataFrame
        The input followed by :data:`OUTPUT_COLUMNS`.
    labels : ndarray of shape (n_rows,)
    counts : dict of str to int
        Customers per segment name, in segment order.
    path : pathlib.Path
        The CSV written.
    """

    segmented: pd.DataFrame
    labels: np.ndarray
    counts: dict[str, int]
    path: Path


class _Timer:
    """Seconds per named stage, in the order the stages ran."""

    def __init__(self):
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


# --------------------------------------------------------------------------- options


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
            f"--k-range '{text}' is not a range such as 2-10; give two whole numbers."
        ) from None
    if len(numbers) == 1:
        numbers = numbers * 2
    if len(numbers) != 2:
        raise SegmentationError(f"--k-range '{text}' is not a range such as 2-10.")
    low, high = numbers
    if low < 2:
        raise SegmentationError(
            f"--k-range starts at {low}, but a segmentation needs at least 2 segments; "
            "start it at 2 or more."
        )
    if high < low:
        raise SegmentationError(
            f"--k-range '{text}' ends before it starts; give the smaller number first."
        )
    return low, high


def _check_k(config: RunConfig) -> str | int:
    k = config.k
    if isinstance(k, str):
        if k.strip().lower() == "auto":
            return "auto"
        try:
            k = int(k)
        except ValueError:
            raise SegmentationError(f"--k must be 'auto' or a whole number, got '{k}'.") from None
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise SegmentationError(f"--k must be 'auto' or a whole number, got {k!r}.")
    if k < 2:
        raise SegmentationError(
            f"--k is {k}, but a segmentation needs at least 2 segments; give 2 or more, or auto."
        )
    return int(k)


def _k_values(config: RunConfig, k: str | int, n_rows: int, log: list[str]) -> list[int]:
    """The ks to sweep, clipped to what the number of customers allows."""
    low, high = config.k_range
    if isinstance(k, int):
        if k >= n_rows:
            raise SegmentationError(
                f"The input has {n_rows} customers, which is not more than k={k}; "
                f"give a smaller --k or more customers."
            )
    elif n_rows < 3:
        raise SegmentationError(f"The input has {n_rows} customers; choosing k needs at least 3.")
    # k must be below the number of customers for the silhouette to be defined.
    limit = n_rows - 1
    if high > limit:
        log.append(
            f"Clipped the k range {low}-{high} to {min(low, limit)}-{limit}: "
            f"there are only {n_rows} customers."
        )
        high = limit
        low = min(low, limit)
    ks = list(range(low, high + 1))
    if isinstance(k, int) and k not in ks:
        ks = sorted({*ks, k})
    return ks


# --------------------------------------------------------------------------- running


def run(config: RunConfig, progress: ProgressCallback | None = None) -> RunResult:
    """Segment a customer table and write every output (see the module docstring).

    Parameters
    ----------
    config : RunConfig
    progress : callable or None
        Called as ``progress(done, total)`` before the k sweep and after each k.

    Returns
    -------
    RunResult

    Raises
    ------
    SegmentationError
        For every problem with the input or the options, in one sentence.
    """
    timer = _Timer()
    k = _check_k(config)
    with timer.stage("read"):
        out = ensure_output_dir(config.out)
        if config.input is None:
            data = make_customers(config.n_synthetic, seed=config.seed)
            source = f"built-in synthetic customers (n={config.n_synthetic}, seed={config.seed})"
            protect = []
        else:
            _refuse_outputs_over_inputs(out, [config.input])
            data = read_table(config.input)
            source = str(config.input)
            protect = [config.input]
    extra_log = [f"Read {len(data):,} rows and {data.shape[1]} columns from {source}."]
    extra_paths = {}
    if config.input is None:
        with timer.stage("write"):
            extra_paths["input"] = write_csv_atomic(data, out / "customers_input.csv")
        extra_log.append(f"Wrote the synthetic customers used to {extra_paths['input'].name}.")
    return _segment(
        data,
        config,
        k=k,
        out=out,
        source=source,
        protect=protect,
        log=extra_log,
        timer=timer,
        progress=progress,
        extra_paths=extra_paths,
    )


def run_rfm(config: RunConfig, progress: ProgressCallback | None = None) -> RunResult:
    """Turn a transaction log into recency, frequency and monetary value, then segment it.

    The three columns are log-transformed when ``log_transform`` is "auto" (they are heavy-
    tailed); the RFM table is written as ``rfm_customers.csv`` and segmented like :func:`run`.

    Parameters
    ----------
    config : RunConfig
        ``transactions`` and the column options must be set; ``input`` is ignored.
    progress : callable or None

    Returns
    -------
    RunResult
        ``data`` is the RFM table.
    """
    if config.transactions is None:
        raise SegmentationError("segment rfm needs --transactions PATH, a transaction log.")
    timer = _Timer()
    k = _check_k(config)
    with timer.stage("read"):
        out = ensure_output_dir(config.out)
        _refuse_outputs_over_inputs(out, [config.transactions])
        transactions = read_table(config.transactions)
    with timer.stage("rfm"):
        rfm, rfm_log = transactions_to_rfm(
            transactions,
            customer_col=config.customer_col,
            date_col=config.date_col,
            quantity_col=config.quantity_col,
            price_col=config.price_col,
            invoice_col=config.invoice_col,
            as_of=config.as_of,
        )
    del transactions
    log = list(rfm_log)
    if config.features is None:
        config = _replace(config, features=list(RFM_FEATURES), id_column=config.customer_col)
    if config.log_transform == "auto":
        logged = [name for name in config.features if name in RFM_FEATURES]
        config = _replace(config, log_transform=logged)
        log.append(f"RFM values are heavy-tailed: log1p is taken of {', '.join(logged)}.")
    with timer.stage("write"):
        rfm_path = write_csv_atomic(rfm, out / "rfm_customers.csv", protect=[config.transactions])
    return _segment(
        rfm,
        config,
        k=k,
        out=out,
        source=f"RFM of the transactions in {config.transactions}",
        protect=[config.transactions],
        log=log,
        timer=timer,
        progress=progress,
        extra_paths={"rfm": rfm_path},
    )


#: Every file a run may write, relative to the output folder.
OUTPUT_FILES = (
    "customers_segmented.csv",
    "cluster_summary.json",
    "model.json",
    "report.html",
    "customers_input.csv",
    "rfm_customers.csv",
    *(f"plots/{name}" for name in PLOT_FILES),
)


def _refuse_outputs_over_inputs(out: Path, inputs: list) -> None:
    """Refuse before any work when an output of the run would replace an input file."""
    for item in inputs:
        source = Path(item)
        if not source.exists():
            continue  # read_table says so in its own words
        for name in OUTPUT_FILES:
            target = out / name
            if target.exists() and os.path.samefile(target, source):
                raise SegmentationError(
                    f"Refusing to overwrite the input file '{item}', which is where the run "
                    f"writes {name}; choose another --out folder."
                )


def _replace(config: RunConfig, **changes) -> RunConfig:
    return RunConfig(**{**asdict(config), **changes})


def _segment(
    data: pd.DataFrame,
    config: RunConfig,
    *,
    k: str | int,
    out: Path,
    source: str,
    protect: list,
    log: list[str],
    timer: _Timer,
    progress: ProgressCallback | None,
    extra_paths: dict,
) -> RunResult:
    n_rows = len(data)
    with timer.stage("preprocess"):
        roles = infer_roles(data, features=config.features, id_column=config.id_column)
        preprocessor = Preprocessor(scaler=config.scaler, log_transform=config.log_transform)
        X = preprocessor.fit_transform(data, roles)
        log.extend(preprocessor.log_)
        ks = _k_values(config, k, n_rows, log)
        n_distinct = _count_distinct_rows(X)
        if isinstance(k, int) and n_distinct < k:
            raise SegmentationError(
                f"The customers have only {n_distinct} distinct feature rows, fewer than k={k}; "
                "give a smaller --k or more varied data."
            )
        if n_distinct < max(ks):
            kept = [q for q in ks if q <= n_distinct]
            if not kept:
                raise SegmentationError(
                    f"The customers have only {n_distinct} distinct feature rows, too few to "
                    "form 2 segments; check the features."
                )
            log.append(
                f"Only {n_distinct} distinct feature rows: k is tried up to {max(kept)} only."
            )
            ks = kept

    n_init = config.n_init or choose_n_init(n_rows)
    sampled = n_rows > SAMPLE_THRESHOLD
    with timer.stage("sweep"):
        if progress is not None:
            progress(0, len(ks))
        done = []

        def step(_k):
            done.append(_k)
            if progress is not None:
                progress(len(done), len(ks))

        with warnings.catch_warnings():
            # Degenerate fits are reported through the metrics (NaN) and the log, not warnings.
            warnings.simplefilter("ignore")
            try:
                sweep, models = fit_sweep(X, ks, seed=config.seed, n_init=n_init, progress=step)
            except ValueError as exc:
                raise SegmentationError(f"k-means could not run on these data ({exc}).") from None
        elbow = kneedle([row["k"] for row in sweep], [row["inertia"] for row in sweep])
        auto_k, rule, reason = choose_k(sweep)
        if k == "auto":
            chosen = auto_k
        else:
            chosen = k
            rule = "given with --k"
            reason = f"k={k} was given with --k; the automatic rule would choose {reason}"

    with timer.stage("fit"):
        kmeans = models[chosen]
        # Segment 0 is the largest: ids then read in order of importance.
        sizes = np.bincount(np.asarray(kmeans.labels_), minlength=chosen)
        order = np.argsort(-sizes, kind="stable")
        centers = np.asarray(kmeans.cluster_centers_, dtype=np.float64)[order]
        placeholder = [f"Segment {i}" for i in range(chosen)]
        draft = SegmentationModel(preprocessor, centers, placeholder)
        # The training labels are what the saved model predicts, so that `segment predict`
        # on the training file reproduces them exactly.
        squared = draft.squared_distances_matrix(X)
        labels = np.argmin(squared, axis=1).astype(np.int64)
        distances = np.sqrt(squared)

    with timer.stage("profile"):
        imputed = preprocessor.impute(data)
        profiles = build_profiles(
            imputed[preprocessor.numeric_features_],
            labels,
            chosen,
            categorical_features=imputed[preprocessor.categorical_features_],
            profile_categoricals=data[roles.profile_categoricals],
        )
        explanations = customer_explanations(distances, labels)
        names = profiles.names
        coords, center_coords, ratio = _pca_2d(X, centers, config.seed)
        if sampled:
            rng = np.random.default_rng(config.seed)
            shown = np.sort(rng.choice(n_rows, SAMPLE_THRESHOLD, replace=False))
        else:
            shown = np.arange(n_rows)
        sil_values = np.asarray(silhouette_samples(X[shown], labels[shown]), dtype=float)

    created = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    summary = {
        "package": "kmeans-segment",
        "version": __version__,
        "created": created,
        "input": source,
        "n_customers": n_rows,
        "k": chosen,
        "k_selection": {
            "rule": rule,
            "reason": reason,
            "automatic_k": auto_k,
            "elbow": elbow,
            "n_init": n_init,
            "silhouette": (
                f"estimated on a seeded sample of {SAMPLE_THRESHOLD:,} customers"
                if sampled
                else "exact, on all customers"
            ),
            "sweep": sweep,
        },
        "segments": profiles.segments,
        "overall": profiles.overall,
        "columns": {
            **roles.to_dict(),
            "features_used": preprocessor.feature_names_out_,
            "log_transformed": list(preprocessor.log_columns_),
        },
        "pca": {"explained_variance_ratio": [float(r) for r in ratio]},
        "seed": config.seed,
        "parameters": {**config.parameters(), "k": config.k, "n_init": n_init},
        "cleaning_log": log,
    }
    model = SegmentationModel(
        preprocessor,
        centers,
        names,
        metadata={
            "created": created,
            "input": source,
            "n_customers": n_rows,
            "k": chosen,
            "seed": config.seed,
            "parameters": summary["parameters"],
            "k_selection": {"rule": rule, "reason": reason},
            "segment_sizes": [segment["size"] for segment in profiles.segments],
            "id_columns": roles.id_columns,
        },
    )

    segmented = _with_output_columns(data, labels, names, explanations, log)
    paths = dict(extra_paths)
    images: dict[str, bytes] = {}
    if config.plots:
        with timer.stage("plots"):
            images = {
                "elbow_silhouette.png": plotting.elbow_silhouette(sweep, chosen, elbow),
                "pca_clusters.png": plotting.pca_clusters(
                    coords, labels, center_coords, ratio, names, seed=config.seed
                ),
                "feature_distributions.png": plotting.feature_distributions(
                    imputed[preprocessor.numeric_features_],
                    labels,
                    names,
                    log_columns=preprocessor.log_columns_,
                ),
                "silhouette.png": plotting.silhouette(
                    sil_values,
                    labels[shown],
                    names,
                    mean=float(np.mean(sil_values)) if sil_values.size else None,
                    n_total=n_rows,
                ),
                "segment_profiles.png": plotting.segment_profiles(profiles.z, names),
            }
    with timer.stage("write"):
        plot_dir = out / "plots"
        if images:
            plot_dir.mkdir(exist_ok=True)
            for name, png in images.items():
                paths[name] = write_bytes_atomic(png, plot_dir / name, protect=protect)
        paths["customers"] = write_csv_atomic(
            segmented, out / "customers_segmented.csv", protect=protect
        )
        paths["model"] = model.save(out / "model.json", protect=protect)
    summary["outputs"] = {name: str(path) for name, path in paths.items()}
    if config.report:
        from .report import render_report  # only needed when a report is written

        with timer.stage("report"):
            html = render_report(summary, images, plot_descriptions=PLOT_FILES)
            paths["report"] = write_text_atomic(html, out / "report.html", protect=protect)
        summary["outputs"]["report"] = str(paths["report"])
    summary["timings"] = {name: round(seconds, 4) for name, seconds in timer.timings.items()}
    with timer.stage("write"):
        paths["summary"] = write_json_atomic(summary, out / "cluster_summary.json", protect=protect)

    return RunResult(
        data=data,
        segmented=segmented,
        X=X,
        labels=labels,
        k=chosen,
        rule=rule,
        reason=reason,
        elbow=elbow,
        sweep=sweep,
        profiles=profiles,
        model=model,
        roles=roles,
        log=log,
        summary=summary,
        paths=paths,
        timings=dict(timer.timings),
    )


def _count_distinct_rows(X: np.ndarray) -> int:
    # Distinct up to bit equality; enough to tell "too few distinct customers for k".
    if X.shape[0] == 0:
        return 0
    view = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * X.shape[1])))
    return int(np.unique(view).shape[0])


def _pca_2d(X: np.ndarray, centers: np.ndarray, seed: int):
    """Project the customers and centers on two principal components (pads a 1-feature X)."""
    if X.shape[1] >= 2:
        pca = PCA(n_components=2).fit(X)
        return (
            np.asarray(pca.transform(X)),
            np.asarray(pca.transform(centers)),
            np.asarray(pca.explained_variance_ratio_, dtype=float),
        )
    # One feature: the feature itself on x, nothing on y.
    zeros = np.zeros((X.shape[0], 1))
    return (
        np.hstack([X, zeros]),
        np.hstack([centers, np.zeros((centers.shape[0], 1))]),
        np.array([1.0, 0.0]),
    )


def _with_output_columns(
    data: pd.DataFrame,
    labels: np.ndarray,
    names: list[str],
    explanations: pd.DataFrame,
    log: list[str] | None = None,
) -> pd.DataFrame:
    """The input, unchanged and in order, then the segment columns (renamed if taken)."""
    taken = {str(column) for column in data.columns}
    values = {
        "Segment": labels.astype(np.int64),
        "Segment_name": np.asarray(names, dtype=object)[labels],
        "Distance_to_center": explanations["Distance_to_center"].to_numpy(),
        "Second_nearest_segment": explanations["Second_nearest_segment"].to_numpy(),
        "Assignment_margin": explanations["Assignment_margin"].to_numpy(),
    }
    added = {}
    for name, column in values.items():
        final = name
        suffix = 2
        while final in taken:
            final = f"{name}_{suffix}"
            suffix += 1
        if final != name and log is not None:
            log.append(f"The input already has a column '{name}'; the new one is '{final}'.")
        added[final] = column
    extra = pd.DataFrame(added, index=data.index)
    return pd.concat([data, extra], axis=1)


# --------------------------------------------------------------------------- predicting


def predict(model_path, input_path, out_path=None) -> PredictResult:
    """Assign the customers of a table to the segments of a saved model.

    Parameters
    ----------
    model_path : path
        A ``model.json`` written by :func:`run`.
    input_path : path
        A CSV or Parquet table holding the model's feature columns.
    out_path : path or None
        Where to write the result; default ``outputs/predictions.csv``.

    Returns
    -------
    PredictResult

    Raises
    ------
    SegmentationError
        For a bad model file, an unreadable input, missing feature columns, or an unwritable
        output.
    """
    model = SegmentationModel.load(model_path)
    data = read_table(input_path)
    out_path = Path(out_path) if out_path is not None else Path("outputs") / "predictions.csv"
    ensure_output_dir(out_path.parent if str(out_path.parent) else ".")
    if out_path.is_dir():
        raise SegmentationError(
            f"--out '{out_path}' is a folder; give a file name such as "
            f"{out_path / 'predictions.csv'}."
        )
    X = model.preprocessor.transform(data)
    squared = model.squared_distances_matrix(X)
    labels = np.argmin(squared, axis=1).astype(np.int64)
    explanations = customer_explanations(np.sqrt(squared), labels)
    segmented = _with_output_columns(data, labels, model.segment_names, explanations)
    path = write_csv_atomic(segmented, out_path, protect=[input_path, model_path])
    counts = np.bincount(labels, minlength=model.n_segments)
    return PredictResult(
        segmented=segmented,
        labels=labels,
        counts={name: int(c) for name, c in zip(model.segment_names, counts, strict=True)},
        path=path,
    )
