"""The whole segmentation job as library functions: ``segment``, ``run``, ``run_rfm``, ``predict``.

:func:`segment` is pure: from a customer table and the options it decides the columns' roles,
cleans and scales them, sweeps k, chooses it, fits the final model, assigns and profiles the
customers, and returns a :class:`~segmentation.result.Segmentation`; it writes nothing.
:func:`run` reads the customers (or draws synthetic ones), calls :func:`segment` and writes
every output derived from its result (:mod:`segmentation.outputs`). :func:`run_rfm` first turns
a transaction log into one row per customer (recency, frequency, monetary). :func:`predict`
assigns new customers with a saved model.

The CLI only parses options, calls these and prints; everything here can be used from Python.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from kmeans_core import PCA, KPrototypes
from kmeans_core.metrics import silhouette_samples

from . import figure_pool
from .config import ENGINES, RunConfig, check_k, check_method, parse_k_range
from .errors import SegmentationError
from .io import ensure_output_dir, read_table, table_size, write_csv_atomic
from .model import SegmentationModel, embed_mixed
from .monitor import describe_training
from .outputs import (
    OUTPUT_COLUMNS,
    OUTPUTS,
    PLOT_FILES,
    output_path,
    write_outputs,
)
from .preprocess import ColumnRoles, Preprocessor, infer_roles
from .profile import Profiles, build_profiles, customer_explanations
from .result import KChoice, PredictResult, Projection, RunResult, Segmentation, SilhouetteSample
from .rfm import rfm_scores, rfm_summary, transactions_to_rfm
from .rules import SegmentRules, columns_of, segment_rules
from .select_k import (
    GAP_MAX_ROWS,
    GAP_N_INIT,
    GAP_REFERENCES,
    SAMPLE_THRESHOLD,
    SWEEP_SAMPLE_REASON,
    SWEEP_SAMPLE_ROWS,
    check_k_rule,
    choose_k,
    choose_n_init,
    fit_mixed_sweep,
    fit_sweep,
    gap_choice,
    gap_statistic,
    kneedle,
    needs_gap,
    silhouette_rows,
)
from .stability import (
    MAX_ROWS,
    Stability,
    bootstrap_stability,
    check_bootstrap,
    structure_warnings,
)
from .staging import (
    DATASET_MANIFEST,
    OutputSet,
    output_file,
    output_set,
    refuse_inside_output_set,
)
from .synthetic import make_customers
from .timing import Timer

__all__ = [
    "RunConfig",
    "Segmentation",
    "RunResult",
    "PredictResult",
    "OUTPUT_COLUMNS",
    "PLOT_FILES",
    "segment",
    "run",
    "run_rfm",
    "predict",
    "parse_k_range",
    "ProgressCallback",
    "report_stage",
]

RFM_FEATURES = ["Recency", "Frequency", "Monetary"]
#: Where :func:`predict` writes by default (in the current folder): a CSV file, or on Dask a
#: folder of Parquet parts.
PREDICTIONS_FILE = "predictions.csv"
PREDICTIONS_FOLDER = "predictions"

#: How a run reports progress: ``progress(stage, done, total)`` says that ``stage`` has done
#: ``done`` of ``total`` steps (``total`` None: steps not counted, a spinner is shown). Each
#: stage calls it with ``done=0`` when it starts and with ``done == total`` (1 of 1 when not
#: counted) when it ends. The stages so far, in run order: "read", "sweep" (one step per k),
#: "gap" (one step per reference data set, when the k rule needs the gap statistic), "fit"
#: (the final assignment and the profiles), "stability" (one step per bootstrap replicate,
#: unless ``bootstrap`` is 0), "write" (plots, files, report). A new stage only calls it with
#: its own name; the command line draws one bar per stage name it sees. Use
#: :func:`report_stage` to wrap a stage that has no steps of its own.
ProgressCallback = Callable[[str, int, int | None], None]


@contextmanager
def report_stage(progress: ProgressCallback | None, stage: str) -> Iterator[None]:
    """Report ``stage`` as started (0 of None) and, when the block ends, done (1 of 1)."""
    _tell(progress, stage, 0, None)
    yield
    _tell(progress, stage, 1, 1)


def _tell(progress: ProgressCallback | None, stage: str, done: int, total: int | None) -> None:
    if progress is not None:
        progress(stage, done, total)


# --------------------------------------------------------------------------- segmenting


def segment(
    data: pd.DataFrame,
    config: RunConfig | None = None,
    *,
    source: str = "a table given in Python",
    log: Sequence[str] = (),
    progress: ProgressCallback | None = None,
) -> Segmentation:
    """Segment a customer table; write nothing.

    Parameters
    ----------
    data : pandas.DataFrame of shape (n_customers, n_columns)
        The customers, one row each.
    config : RunConfig, optional
        Only the clustering options are read (``features`` to ``n_init``); default
        ``RunConfig()``.
    source : str
        Where the data came from, in words (recorded in the summary and the model).
    log : sequence of str
        Cleaning-log lines of what came before (reading), kept first in the log.
    progress : callable or None
        A :data:`ProgressCallback`: ``progress(stage, done, total)`` for the stages "sweep"
        (before the first k and after each k) and "fit" (assignment, then profiles).

    Returns
    -------
    Segmentation

    Raises
    ------
    SegmentationError
        For every problem with the data or the options, in one sentence.
    """
    config = RunConfig() if config is None else config
    k = check_k(config.k)
    check_method(config.method)
    check_k_rule(config.k_rule)
    if config.method == "kprototypes" and config.k_rule == "gap":
        raise SegmentationError(
            "`k_rule` gap needs numeric features only: its uniform reference data have no "
            "categories; use `method` kmeans or another `k_rule`."
        )
    check_bootstrap(config.bootstrap)
    timer = Timer()
    log = list(log)
    with timer.stage("preprocess"):
        roles, preprocessor, X = _preprocess(data, config, log)
        ks = _ks_to_try(config, k, X, log)
        sweep = fit_sweep
        if config.method == "kprototypes":
            sweep = _mixed_sweep(preprocessor, X, log)
    choice, fitted = _choose_k(X, ks, k, config, progress, timer, sweep)
    _tell(progress, "fit", 0, 2)
    with timer.stage("fit"):
        draft = _model_by_size(preprocessor, fitted)
    result = _describe(data, X, roles, choice, draft, config, source, log, timer, progress)
    return _named(result)


def _describe(
    data, X, roles, choice, draft, config, source, log, timer, progress, population=None
) -> Segmentation:
    """Everything read from a fitted model: the customers' labels and distances (the saved
    model's assignment, so that `segment predict` on the training file reproduces them),
    profiles, names, projection and silhouette; ``draft`` keeps its placeholder names (see
    :func:`_named`). ``population``: the number of customers when ``data`` is a sample."""
    preprocessor = draft.preprocessor
    with timer.stage("fit"):
        labels, explanations = _assign_and_explain(draft, X)
    _tell(progress, "fit", 1, 2)
    with timer.stage("profile"):
        imputed = preprocessor.impute(data)
        values = imputed[preprocessor.numeric_features_]
        profiles = build_profiles(
            values,
            labels,
            choice.k,
            categorical_features=imputed[preprocessor.categorical_features_],
            profile_categoricals=data[roles.profile_categoricals],
        )
        # K-Prototypes: in the space where its cost is the squared Euclidean distance
        embedded = draft.embed(X)
        projection = _project(embedded, draft.embed(draft.centers), config.seed)
        silhouette = _silhouette(embedded, labels, config.seed)
        del embedded
    with timer.stage("rules"):
        rules = _segment_rules(X, labels, draft.centers, preprocessor, values)
    _tell(progress, "fit", 2, 2)
    with timer.stage("stability"):
        stability = _stability(X, labels, draft, config, progress)
    with timer.stage("profile"):
        # After the rules, whose search is the largest passing need of this stage.
        customer_columns = _output_columns(data, labels, profiles.names, explanations, log)
        del explanations
    created = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return Segmentation(
        data=data,
        source=source,
        config=config,
        roles=roles,
        X=X,
        values=values,
        choice=choice,
        model=draft,
        labels=labels,
        profiles=profiles,
        customer_columns=customer_columns,
        projection=projection,
        silhouette=silhouette,
        log=log,
        created=created,
        timings=timer.timings,
        rules=rules,
        stability=stability,
        warnings=structure_warnings(choice.sweep, choice.gap, stability, profiles.names),
        population=population,
    )


def _named(seg: Segmentation) -> Segmentation:
    """The segmentation whose model carries the segments' names, the run's metadata and what
    drift is measured against later (segment monitor)."""
    # On Dask, `data` is a sample: the deciles come from it, the segment sizes from everyone.
    sizes = [segment["size"] for segment in seg.profiles.segments]
    training = describe_training(seg.preprocessor, seg.data, sizes)
    model = seg.model.renamed(seg.profiles.names, _model_metadata(seg), training=training)
    return replace(seg, model=model)


def _segment_rules(X, labels, centers, preprocessor: Preprocessor, values) -> SegmentRules:
    """IMM's rule for every segment, judged on the customers' own numbers (gaps filled)."""
    n_numeric = len(preprocessor.numeric_features_)
    # The table's own columns and X's one-hot columns, where they are: no matrix copy.
    originals = [values[name].to_numpy(dtype=np.float64) for name in values.columns]
    originals += [X[:, j] for j in range(n_numeric, X.shape[1])]
    return segment_rules(X, labels, centers, columns_of(preprocessor), originals)


def _preprocess(
    data: pd.DataFrame, config: RunConfig, log: list[str]
) -> tuple[ColumnRoles, Preprocessor, np.ndarray]:
    roles = infer_roles(data, features=config.features, id_column=config.id_column)
    if config.method == "kprototypes" and config.features is None and roles.profile_categoricals:
        # K-Prototypes is for categories: the text columns that would only be profiled (few
        # distinct values) become features too.
        features = [*roles.numeric_features, *roles.profile_categoricals]
        roles = infer_roles(data, features=features, id_column=config.id_column)
    preprocessor = Preprocessor(scaler=config.scaler, log_transform=config.log_transform)
    X = preprocessor.fit_transform(data, roles)
    if config.method == "kprototypes":
        # the one-hot columns only carry the codes (and the categories, in the model file)
        log.extend(
            re.sub(r"^One-hot encoded ('.+') into (\d+) columns", r"Kept \1 as \2 categories", line)
            for line in preprocessor.log_
        )
    else:
        log.extend(preprocessor.log_)
    return roles, preprocessor, X


def _ks_to_try(config: RunConfig, k: str | int, X: np.ndarray, log: list[str]) -> list[int]:
    """The ks to sweep, clipped to what the number of customers and distinct rows allow."""
    n_rows = X.shape[0]
    low, high = config.k_range
    if isinstance(k, int):
        if k >= n_rows:
            raise SegmentationError(
                f"The input has {n_rows} customers, which is not more than k={k}; "
                "give a smaller `k` or more customers."
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

    n_distinct = _count_distinct_rows(X, at_most=max(ks))
    if isinstance(k, int) and n_distinct < k:
        raise SegmentationError(
            f"The customers have only {n_distinct} distinct feature rows, fewer than k={k}; "
            "give a smaller `k` or more varied data."
        )
    if n_distinct < max(ks):
        kept = [q for q in ks if q <= n_distinct]
        if not kept:
            raise SegmentationError(
                f"The customers have only {n_distinct} distinct feature rows, too few to "
                "form 2 segments; check the features."
            )
        log.append(f"Only {n_distinct} distinct feature rows: k is tried up to {max(kept)} only.")
        ks = kept
    return ks


#: Rows looked at a time when counting distinct rows.
DISTINCT_BLOCK_ROWS = 8192


def _count_distinct_rows(X: np.ndarray, at_most: int) -> int:
    """The number of distinct rows of ``X`` (up to bit equality) if it is below ``at_most``,
    else a number at least ``at_most``: enough to tell "too few distinct customers for k".
    A block of rows at a time, stopping as soon as ``at_most`` are seen: a sorted copy of
    the whole matrix was the largest need of the preprocessing."""
    seen: set[bytes] = set()
    for start in range(0, X.shape[0], DISTINCT_BLOCK_ROWS):
        block = np.ascontiguousarray(X[start : start + DISTINCT_BLOCK_ROWS])
        rows = block.view(np.dtype((np.void, block.dtype.itemsize * block.shape[1])))
        for row in np.unique(rows):
            seen.add(row.tobytes())
            if len(seen) >= at_most:
                return len(seen)
    return len(seen)


def _mixed_sweep(preprocessor: Preprocessor, X: np.ndarray, log: list[str]):
    """The K-Prototypes sweep over the preprocessed matrix: scaled numeric features and the
    category codes read back from the one-hot columns; gamma by kmodes' rule (half the mean
    standard deviation of the scaled numeric features), the same for every k."""
    n_numeric = len(preprocessor.numeric_features_)
    if not preprocessor.categorical_features_ or not n_numeric:
        missing = "categorical" if n_numeric else "numeric"
        raise SegmentationError(
            f"`method` kprototypes needs at least one {missing} feature and the features are "
            f"{', '.join(repr(f) for f in preprocessor.feature_names_out_)}; add one with "
            "`features`, or use `method` kmeans."
        )
    numeric = np.ascontiguousarray(X[:, :n_numeric])
    gamma = 0.5 * float(np.mean(np.asfortranarray(numeric).std(axis=0)))
    codes = SegmentationModel(preprocessor, np.zeros((1, X.shape[1])), ["codes"]).category_codes(X)
    log.append(
        f"K-Prototypes: {len(preprocessor.categorical_features_)} categorical feature(s) kept as "
        f"categories (no one-hot in the distance); a differing category weighs gamma={gamma:.4g}."
    )

    def sweep(_X, ks, **options):
        return fit_mixed_sweep(
            numeric, codes, embed_mixed(X, n_numeric, gamma), ks, gamma=gamma, **options
        )

    return sweep


def _choose_k(
    X, ks, k, config: RunConfig, progress: ProgressCallback | None, timer: Timer, sweep=fit_sweep
):
    """Sweep ``ks`` with ``sweep`` (:func:`fit_sweep` or the K-Prototypes one), choose k (or
    take the given one); the choice and its fitted model. ``timer`` gets the stages "sweep"
    and, when the k rule needs it, "gap"."""
    n_init = config.n_init or choose_n_init(X.shape[0])
    _tell(progress, "sweep", 0, len(ks))
    done = []

    def step(_k):
        done.append(_k)
        _tell(progress, "sweep", len(done), len(ks))

    with timer.stage("sweep"), warnings.catch_warnings():
        # Degenerate fits are reported through the metrics (NaN) and the log, not warnings.
        warnings.simplefilter("ignore")
        rows, models = sweep(
            X,
            ks,
            seed=config.seed,
            n_init=n_init,
            sample_threshold=SAMPLE_THRESHOLD,
            progress=step,
        )
    elbow = kneedle([row["k"] for row in rows], [row["inertia"] for row in rows])
    # K-Prototypes: no gap statistic (uniform references have no categories); auto votes
    # with the silhouette and the elbow
    if needs_gap(rows, config.k_rule) and config.method != "kprototypes":
        with timer.stage("gap"):
            gaps, gap = _gap(X, rows, config, progress)
    else:
        gaps, gap = None, None
    automatic_k, rule, reason = choose_k(rows, config.k_rule, gaps)
    if k == "auto":
        chosen = automatic_k
    else:
        chosen = k
        rule = "given"
        reason = f"k={k} was given; the automatic rule would choose {reason}"
    choice = KChoice(
        k=chosen,
        rule=rule,
        reason=reason,
        automatic_k=automatic_k,
        elbow=elbow,
        sweep=rows,
        n_init=n_init,
        k_rule=config.k_rule,
        gap=gap,
    )
    return choice, models[chosen]


def _gap(
    X: np.ndarray, rows: list[dict], config: RunConfig, progress: ProgressCallback | None
) -> tuple[list, dict]:
    """The gap statistic: its rows (k = 1 first), and what the summary records; ``gap`` and
    ``gap_se`` are added to the sweep rows."""
    with warnings.catch_warnings():
        # A reference or a degenerate data set may give fewer clusters than k: that is a
        # small W_k, which the statistic handles, not a warning for the user.
        warnings.simplefilter("ignore")
        gaps = gap_statistic(
            X,
            [row["k"] for row in rows],
            seed=config.seed,
            inertias={row["k"]: row["inertia"] for row in rows},
            progress=lambda done, total: _tell(progress, "gap", done, total),
        )
    by_k = {row["k"]: row for row in gaps}
    for row in rows:
        row["gap"] = by_k[row["k"]]["gap"]
        row["gap_se"] = by_k[row["k"]]["gap_se"]
    sampled = X.shape[0] > GAP_MAX_ROWS
    return gaps, {
        "reference": "uniform over the box aligned with the principal components of the "
        "scaled features (the paper's second method)",
        "n_references": GAP_REFERENCES,
        "n_init": GAP_N_INIT,
        "rows": (f"a seeded sample of {GAP_MAX_ROWS:,} customers" if sampled else "all customers"),
        "k1": {"gap": by_k[1]["gap"], "gap_se": by_k[1]["gap_se"]},
        "choice": gap_choice(gaps),
    }


def _stability(
    X: np.ndarray,
    labels: np.ndarray,
    model: SegmentationModel,
    config: RunConfig,
    progress: ProgressCallback | None,
) -> Stability | None:
    """Hennig's clusterboot of the segments: the run's method and k on every bootstrap draw,
    with the run's restarts for the draw's size; None when ``bootstrap`` is 0."""
    if config.bootstrap == 0:
        return None
    k = model.n_segments
    n_init = config.n_init or choose_n_init(min(X.shape[0], MAX_ROWS))
    cluster = None
    if model.method == "kprototypes":
        cluster = _kprototypes_refit(model, X, k, n_init)

    def step(done: int, total: int) -> None:
        _tell(progress, "stability", done, total)

    with warnings.catch_warnings():
        # a draw with fewer distinct customers than k is reported through its low Jaccard
        warnings.simplefilter("ignore")
        return bootstrap_stability(
            X,
            labels,
            k,
            n_boot=config.bootstrap,
            seed=config.seed,
            n_init=n_init,
            cluster=cluster,
            progress=step,
        )


def _kprototypes_refit(model: SegmentationModel, X: np.ndarray, k: int, n_init: int):
    """``cluster(rows, seed)`` for the bootstrap: K-Prototypes with the run's gamma."""
    n_numeric = len(model.preprocessor.numeric_features_)
    codes = model.category_codes(X)
    table = np.empty((X.shape[0], n_numeric + codes.shape[1]), dtype=object)
    table[:, :n_numeric] = X[:, :n_numeric]
    table[:, n_numeric:] = codes
    categorical = list(range(n_numeric, table.shape[1]))

    def cluster(rows: np.ndarray, seed: int) -> np.ndarray:
        fitted = KPrototypes(
            min(k, rows.shape[0]), gamma=model.gamma, init="cao", n_init=n_init, random_state=seed
        ).fit(table[rows], categorical=categorical)
        return np.asarray(fitted.labels_)

    return cluster


def _model_by_size(preprocessor: Preprocessor, fitted, sizes=None) -> SegmentationModel:
    """The fitted centers, numbered by size: segment 0 is the largest, ids read by importance.

    ``fitted`` is a KMeans, or a KPrototypes whose modes are written one-hot after its numeric
    centers (the columns of the preprocessed matrix); ``sizes``, when given, the number of
    customers of each of its clusters (else counted from its labels)."""
    k = fitted.n_clusters
    if sizes is None:
        sizes = np.bincount(np.asarray(fitted.labels_), minlength=k)
    order = np.argsort(-sizes, kind="stable")
    names = [f"Segment {i}" for i in range(k)]
    if not hasattr(fitted, "categorical_modes_"):
        centers = np.asarray(fitted.cluster_centers_, dtype=np.float64)[order]
        return SegmentationModel(preprocessor, centers, names)
    blocks = [fitted.numeric_centers_]
    for a, name in enumerate(preprocessor.categorical_features_):
        modes = fitted.categories_[a][fitted.categorical_modes_[:, a]].astype(np.int64)
        blocks.append(np.eye(len(preprocessor.categories_[name]))[modes])
    centers = np.hstack(blocks)[order]
    return SegmentationModel(
        preprocessor, centers, names, method="kprototypes", gamma=fitted.gamma_
    )


def _project(X: np.ndarray, centers: np.ndarray, seed: int) -> Projection:
    """Customers and centers on two principal components (a 1-feature X is padded)."""
    if X.shape[1] >= 2:
        pca = PCA(n_components=2).fit(X)
        return Projection(
            np.asarray(pca.transform(X)),
            np.asarray(pca.transform(centers)),
            np.asarray(pca.explained_variance_ratio_, dtype=float),
        )
    # One feature: the feature itself on x, nothing on y.
    return Projection(
        np.hstack([X, np.zeros((X.shape[0], 1))]),
        np.hstack([centers, np.zeros((centers.shape[0], 1))]),
        np.array([1.0, 0.0]),
    )


def _silhouette(X: np.ndarray, labels: np.ndarray, seed: int) -> SilhouetteSample:
    """The silhouette at the chosen k on the rows the sweep scored (:func:`silhouette_rows`)."""
    rows = silhouette_rows(X.shape[0], seed=seed, sample_threshold=SAMPLE_THRESHOLD)
    sampled = rows is not None
    if rows is None:
        rows = np.arange(X.shape[0])
    values = np.asarray(silhouette_samples(X[rows], labels[rows]), dtype=float)
    return SilhouetteSample(rows=rows, values=values, sampled=sampled)


def _model_metadata(seg: Segmentation) -> dict:
    return {
        "created": seg.created,
        "input": seg.source,
        "n_customers": seg.n_customers,
        "k": seg.k,
        "seed": seg.config.seed,
        "parameters": seg.parameters,
        "k_selection": {"rule": seg.choice.rule, "reason": seg.choice.reason},
        "segment_sizes": [segment["size"] for segment in seg.profiles.segments],
        "id_columns": seg.roles.id_columns,
    }


#: Customers assigned at a time when only their nearest two segments are kept (a multiple of
#: the model's own block, so that every distance is computed exactly as in one call).
ASSIGN_BLOCK_ROWS = 64 * 8192


def _assign_and_explain(model: SegmentationModel, X: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
    """The model's labels of ``X`` (:meth:`SegmentationModel.assignment`) and every customer's
    explanation (:func:`customer_explanations`), a block of rows at a time: the distances to
    every center (n x k) are never held for all customers. Every step is row by row, so the
    values are those of one call on all rows, bit for bit."""
    n_rows = X.shape[0]
    labels = np.empty(n_rows, dtype=np.int64)
    own = np.empty(n_rows, dtype=np.float64)
    second = np.empty(n_rows, dtype=np.int64)
    margin = np.empty(n_rows, dtype=np.float64)
    for start in range(0, n_rows, ASSIGN_BLOCK_ROWS):
        rows = slice(start, min(start + ASSIGN_BLOCK_ROWS, n_rows))
        block_labels, distances = model.assignment(X[rows])
        explained = customer_explanations(distances, block_labels)
        labels[rows] = block_labels
        own[rows] = explained["Distance_to_center"].to_numpy()
        second[rows] = explained["Second_nearest_segment"].to_numpy()
        margin[rows] = explained["Assignment_margin"].to_numpy()
    explanations = pd.DataFrame(
        {"Distance_to_center": own, "Second_nearest_segment": second, "Assignment_margin": margin},
        copy=False,
    )
    return labels, explanations


def _output_columns(
    data: pd.DataFrame,
    labels: np.ndarray,
    names: list[str],
    explanations: pd.DataFrame,
    log: list[str] | None = None,
) -> pd.DataFrame:
    """The segment columns written after the input's own, renamed where the input already
    has a column of that name; same index as ``data``."""
    taken = {str(column) for column in data.columns}
    segment_name = np.asarray(names, dtype=object)[labels]
    values = dict(
        zip(
            OUTPUT_COLUMNS,
            (
                labels.astype(np.int64),
                segment_name,
                explanations["Distance_to_center"].to_numpy(),
                explanations["Second_nearest_segment"].to_numpy(),
                explanations["Assignment_margin"].to_numpy(),
            ),
            strict=True,
        )
    )
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
    return pd.DataFrame(added, index=data.index, copy=False)


# --------------------------------------------------------------------------- running


def run(config: RunConfig, progress: ProgressCallback | None = None) -> RunResult:
    """Segment a customer table (or synthetic customers) and write every output.

    The outputs are prepared beside ``config.out`` and put in place together at the end
    (:func:`segmentation.staging.output_set`): a run that fails or is killed leaves the
    previous outputs as they were.

    Parameters
    ----------
    config : RunConfig
    progress : callable or None
        A :data:`ProgressCallback`, called for the stages "read", "sweep", "fit" and "write".

    Returns
    -------
    RunResult

    Raises
    ------
    SegmentationError
        For every problem with the input or the options, in one sentence; also when another
        run is writing to ``out`` or ``out`` holds files no run wrote.
    """
    check_k(config.k)  # before any reading
    _check_engine(config.engine, config.scheduler)
    if config.engine == "dask":
        return _run_on_dask(config, progress)
    if config.input is not None:
        _refuse_outputs_over_inputs(Path(config.out), [config.input])
        check_fits_in_memory(config.input)
    timer = Timer()
    with _output_set(config, "run") as stage:
        _start_figure_workers(config)
        written: dict[str, Path] = {}
        with timer.stage("read"), report_stage(progress, "read"):
            if config.input is None:
                data = make_customers(config.n_synthetic, seed=config.seed)
                source = (
                    f"built-in synthetic customers (n={config.n_synthetic}, seed={config.seed})"
                )
                protect = []
            else:
                data = read_table(config.input, encoding=config.encoding, decimal=config.decimal)
                source = str(config.input)
                protect = [config.input]
        read_as = f" ({data.attrs['read_as']})" if "read_as" in data.attrs else ""
        log = [f"Read {len(data):,} rows and {data.shape[1]} columns from {source}{read_as}."]
        log.extend(data.attrs.get("read_log", []))
        if config.input is None:
            with timer.stage("write"):
                written["input"] = stage.final(write_csv_atomic(data, _staged(stage, "input")))
            log.append(f"Wrote the synthetic customers used to {written['input'].name}.")
        seg = segment(data, config, source=source, log=log, progress=progress)
        return _write(seg, stage, protect=protect, written=written, timer=timer, progress=progress)


#: Peak memory of a command in this process, measured (benchmarks/README.md, "memory"), with
#: a margin: the process itself (Python, NumPy, numba's compiled kernels, matplotlib), plus a
#: multiple of the input's values in memory (Parquet: rows x columns x 8 bytes) or of the CSV
#: file's size (its text is parsed).
RUN_MEMORY_BASE = 600 * 2**20
#: `segment run`: 4.8x at its peak, the k sweep (10 million customers, Parquet); 2.4x the
#: CSV file, whose text columns are held once parsed.
RUN_MEMORY_PER_PARQUET_BYTE = 6
RUN_MEMORY_PER_CSV_BYTE = 3
#: `segment predict`: the table, its matrix, the segment columns (1.9x at 10 million); a CSV
#: file's text as for a run.
PREDICT_MEMORY_PER_PARQUET_BYTE = 3
PREDICT_MEMORY_PER_CSV_BYTE = 3
#: `segment rfm`: the transaction log, whose text columns take more than 8 bytes a value
#: (4.2x; CSV 3.1x the file), and the RFM sums; the RFM table it segments has one row per
#: customer, far fewer.
RFM_MEMORY_PER_PARQUET_BYTE = 6
RFM_MEMORY_PER_CSV_BYTE = 4
#: Per command: (multiple of a Parquet file's values, multiple of a CSV file's size, what
#: the command does with the input, in words).
_MEMORY_PER_BYTE = {
    "run": (RUN_MEMORY_PER_PARQUET_BYTE, RUN_MEMORY_PER_CSV_BYTE, "segment"),
    "predict": (PREDICT_MEMORY_PER_PARQUET_BYTE, PREDICT_MEMORY_PER_CSV_BYTE, "score"),
    "rfm": (RFM_MEMORY_PER_PARQUET_BYTE, RFM_MEMORY_PER_CSV_BYTE, "turn into RFM"),
}


def check_fits_in_memory(path, available: int | None = None, *, command: str = "run") -> None:
    """Refuse, before reading, an input that clearly will not fit in this machine's memory.

    Parameters
    ----------
    path : path of a CSV or Parquet file
    available : int or None
        Bytes of memory available; None reads it from the system (``MemAvailable`` of
        /proc/meminfo, else the free physical pages). The check is skipped when unknown.
    command : {"run", "predict", "rfm"}
        The command that reads ``path`` (the customers, the customers to score, or the
        transaction log): each has its own measured multiples.

    Raises
    ------
    SegmentationError
        If the command's estimated peak (:data:`RUN_MEMORY_BASE` plus a multiple of the
        input's size) is more than the available memory; the message points to the Dask
        engine.
    """
    per_parquet_byte, per_csv_byte, doing = _MEMORY_PER_BYTE[command]
    size = table_size(path)
    available = available_memory() if available is None else available
    if size is None or available is None:
        return
    kind, n_bytes = size
    per_byte = per_parquet_byte if kind == "parquet" else per_csv_byte
    needed = RUN_MEMORY_BASE + per_byte * n_bytes
    if needed > available:
        what = "values" if kind == "parquet" else "file"
        raise SegmentationError(
            f"Input file '{path}' ({_gib(n_bytes)} of {what}) needs about {_gib(needed)} of "
            f"memory to {doing} in this process and {_gib(available)} is available; run it "
            "with `engine` dask, which reads it in parts."
        )


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation, or None when the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _gib(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.1f} GiB"


def _output_set(config: RunConfig, command: str):
    """The run's output set in ``config.out`` (:func:`segmentation.staging.output_set`)."""
    return output_set(
        config.out,
        command=command,
        parameters=config.parameters(),
        known=[output.file for output in OUTPUTS],
    )


def _start_figure_workers(config: RunConfig) -> None:
    """Figure workers import matplotlib while this run reads and clusters (figure_pool)."""
    if config.plots:
        figure_pool.start()


def _staged(stage: OutputSet, key: str) -> Path:
    """Where the output ``key`` of :data:`OUTPUTS` is written while the set is prepared."""
    return stage.path(output_path(Path(), key))


def _check_engine(engine, scheduler) -> None:
    if engine not in ENGINES:
        raise SegmentationError(f"`engine` must be one of {', '.join(ENGINES)}, got {engine!r}.")
    if scheduler and engine != "dask":
        raise SegmentationError("`scheduler` is the address of a Dask cluster; add `engine` dask.")


def _on_dask():
    """``segmentation.distributed``: the only way the pipeline reaches dask."""
    try:
        from . import distributed
    except ImportError:
        raise SegmentationError(
            '`engine` dask needs dask and distributed: pip install -e ".[dask]".'
        ) from None
    return distributed


def _rfm_on_dask(transactions, scheduler, options):
    """RFM on Dask (``segmentation.distributed``)."""
    distributed = _on_dask()
    with distributed.cluster(scheduler), distributed.workers_lost():
        return distributed.transactions_to_rfm_dask(transactions, **options)


def _segment_partition(part: pd.DataFrame, model: SegmentationModel):
    """One partition segmented by ``model`` as in process (the input, then the segment
    columns), and its counts: customers per segment, then rows with an unseen category per
    categorical feature."""
    X = model.preprocessor.transform(part)
    labels, explanations = _assign_and_explain(model, X)
    frame = pd.concat(
        [part, _output_columns(part, labels, model.segment_names, explanations)], axis=1
    )
    counts = np.bincount(labels, minlength=model.n_segments)
    unknown = (model.category_codes(X) < 0).sum(axis=0)
    return frame, np.concatenate([counts, unknown]).astype(np.int64)


def _refuse_inputs_inside(distributed, folder: Path, source, role: str = "`out`") -> None:
    """Refuse before any work when the input's files are inside ``folder``, which the run
    replaces whole."""
    if not folder.exists():
        return
    for item in distributed.input_files(source):
        if _is_within(Path(item), folder):
            raise SegmentationError(
                f"Refusing to overwrite the input '{source}', which is inside '{folder}', the "
                f"folder the run replaces; choose another {role}."
            )


def _is_within(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def _run_on_dask(config: RunConfig, progress: ProgressCallback | None) -> RunResult:
    """:func:`run` on Dask: the statistics of the preprocessing and the final fit on every
    customer, on the cluster; the k sweep, profiles, figures and silhouette on a seeded sample
    of :data:`SWEEP_SAMPLE_ROWS`; the segmented table written as Parquet parts."""
    if config.input is None:
        raise SegmentationError(
            "`engine` dask needs `input`: a Parquet or CSV file, a folder of parts or a glob."
        )
    if config.method != "kmeans":
        raise SegmentationError("`engine` dask runs `method` kmeans only; leave out `method`.")
    k = check_k(config.k)
    distributed = _on_dask()
    from kmeans_core.dask import KMeans as DaskKMeans

    _refuse_inputs_inside(distributed, Path(config.out), config.input)
    timer = Timer()
    source = str(config.input)
    with (
        _output_set(config, "run") as stage,
        distributed.cluster(config.scheduler),
        distributed.workers_lost(),
    ):
        _start_figure_workers(config)
        with timer.stage("read"), report_stage(progress, "read"):
            table = distributed.DaskTable(
                distributed.read_customers(
                    config.input, encoding=config.encoding, decimal=config.decimal
                )
            )
            data = table.sample(SWEEP_SAMPLE_ROWS, config.seed)
        log = [
            f"Read {table.n_rows:,} rows and {data.shape[1]} columns from {source} on Dask "
            f"({table.n_partitions} partitions)."
        ]
        if len(data) < table.n_rows:
            log.append(
                f"The k sweep, the profiles' statistics, the figures and the silhouette use a "
                f"seeded sample of {len(data):,} of the {table.n_rows:,} customers (enough: "
                f"{SWEEP_SAMPLE_REASON}); the preprocessing statistics, the final fit, the "
                "segment sizes and the segmented table use every customer."
            )
        with timer.stage("preprocess"):
            roles = infer_roles(data, features=config.features, id_column=config.id_column)
            statistics = distributed.DaskStatistics(
                table, roles.numeric_features, roles.categorical_features
            )
            preprocessor = Preprocessor(scaler=config.scaler, log_transform=config.log_transform)
            preprocessor.fit_statistics(statistics, roles)
            del statistics
            log.extend(preprocessor.log_)
            X = preprocessor.transform(data)
            ks = _ks_to_try(config, k, X, log)
        choice, fitted = _choose_k(X, ks, k, config, progress, timer)
        _tell(progress, "fit", 0, 2)
        with timer.stage("fit"):
            # Lloyd on every customer, from the sample's best centers.
            final = DaskKMeans(
                choice.k, init=fitted.cluster_centers_, n_init=1, random_state=config.seed
            )
            log.extend(_fit_saying_lost_workers(final, table.matrix(preprocessor)))
            sizes = final.labels_.map_blocks(
                np.bincount, minlength=choice.k, chunks=(choice.k,), dtype=np.int64
            )
            sizes = sizes.reshape(-1, choice.k).sum(axis=0).compute()
            draft = _model_by_size(preprocessor, final, sizes)
            log.append(
                f"Fitted k={choice.k} on all {table.n_rows:,} customers on Dask "
                f"({final.n_iter_} Lloyd iterations from the sample's centers)."
            )
        seg = _describe(
            data, X, roles, choice, draft, config, source, log, timer, progress, table.n_rows
        )
        with timer.stage("write"), report_stage(progress, "write"):
            # Every partition, segmented, as one Parquet part, written by the workers into the
            # output set being prepared (on a real cluster: a folder they all reach).
            folder = _staged(stage, "customers_parts")
            folder.mkdir()
            model = draft.renamed(seg.profiles.names)
            totals = table.write_parts(partial(_segment_partition, model=model), folder)
        seg = _named(replace(seg, profiles=_resized(seg.profiles, totals[: choice.k])))
        written = {"customers_parts": stage.final(folder)}
        # The segmentation's stages were timed by this run's own timer: not to be added again.
        seg = replace(seg, timings={})
        return _write(seg, stage, protect=[], written=written, timer=timer, progress=progress)


def _fit_saying_lost_workers(model, X) -> list[str]:
    """``model.fit(X)`` on Dask; what it said of workers lost (it restarts), for the log. Its
    other warnings go on as they were."""
    from kmeans_core.dask import WorkerLostWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WorkerLostWarning)
        model.fit(X)
    said = []
    for warning in caught:
        if issubclass(warning.category, WorkerLostWarning):
            said.append(str(warning.message))
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return said


def _resized(profiles, sizes) -> Profiles:
    """``profiles`` with every segment's size and share counted on all customers."""
    total = int(np.sum(sizes))
    segments = []
    for segment, size in zip(profiles.segments, sizes, strict=True):
        segments.append({**segment, "size": int(size), "share": int(size) / total})
    return replace(profiles, segments=segments)


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
        Its segmentation's ``data`` is the RFM table; its ``segmented`` table (and
        ``rfm_customers.csv``) also hold each customer's RFM scores and named segment
        (:func:`segmentation.rfm.rfm_scores`), and its ``rfm`` the cross-table.
    """
    if config.transactions is None:
        raise SegmentationError("An RFM run needs `transactions`, the path of a transaction log.")
    check_k(config.k)
    _check_engine(config.engine, config.scheduler)
    _refuse_outputs_over_inputs(Path(config.out), [config.transactions])
    if config.engine != "dask":
        check_fits_in_memory(config.transactions, command="rfm")
    timer = Timer()
    with _output_set(config, "rfm") as stage:
        _start_figure_workers(config)
        if config.engine == "dask":
            with timer.stage("rfm"):
                rfm, rfm_log = _rfm_on_dask(
                    config.transactions, config.scheduler, config.rfm_options()
                )
        else:
            with timer.stage("read"), report_stage(progress, "read"):
                transactions = read_table(
                    config.transactions, encoding=config.encoding, decimal=config.decimal
                )
            with timer.stage("rfm"):
                rfm, rfm_log = transactions_to_rfm(transactions, **config.rfm_options())
            rfm_log = [*transactions.attrs.get("read_log", []), *rfm_log]
            del transactions
        log = list(rfm_log)
        if config.features is None:
            config = replace(config, features=list(RFM_FEATURES), id_column=config.customer_col)
        if config.log_transform == "auto":
            logged = [name for name in config.features if name in RFM_FEATURES]
            config = replace(config, log_transform=logged)
            log.append(f"RFM values are heavy-tailed: log1p is taken of {', '.join(logged)}.")
        with timer.stage("rfm"):
            # On the collected table, whichever engine built it: the same scores either way.
            scores = rfm_scores(rfm)
        protect = [config.transactions]
        with timer.stage("write"):
            path = write_csv_atomic(rfm, _staged(stage, "rfm"), beside=scores)
            written = {"rfm": stage.final(path)}
        seg = segment(
            rfm,
            config,
            source=f"RFM of the transactions in {config.transactions}",
            log=log,
            progress=progress,
        )
        seg = _with_rfm_scores(seg, rfm, scores)
        return _write(seg, stage, protect=protect, written=written, timer=timer, progress=progress)


def _with_rfm_scores(seg: Segmentation, rfm: pd.DataFrame, scores: pd.DataFrame) -> Segmentation:
    """The segmentation with the RFM scores beside the k-means segments, and the cross-table."""
    columns = pd.concat([seg.customer_columns, scores.set_axis(seg.data.index)], axis=1)
    return replace(
        seg, customer_columns=columns, rfm=rfm_summary(seg.labels, seg.names, rfm, scores)
    )


def _write(
    seg: Segmentation, stage: OutputSet, *, protect, written, timer: Timer, progress=None
) -> RunResult:
    timer.add(seg.timings)
    with report_stage(progress, "write"):
        paths, summary = write_outputs(seg, stage, protect=protect, written=written, timer=timer)
    return RunResult(segmentation=seg, summary=summary, paths=paths, timings=dict(timer.timings))


def _refuse_outputs_over_inputs(out: Path, inputs: list) -> None:
    """Refuse before any work when an output of the run would replace an input file."""
    for item in inputs:
        source = Path(item)
        if not source.exists():
            continue  # read_table says so in its own words
        for output in OUTPUTS:
            target = out / output.file
            if target.exists() and os.path.samefile(target, source):
                raise SegmentationError(
                    f"Refusing to overwrite the input file '{item}', which is where the run "
                    f"writes {output.file}; choose another `out` folder."
                )


# --------------------------------------------------------------------------- predicting


def predict(
    model_path,
    input_path,
    out_path=None,
    *,
    encoding=None,
    decimal=None,
    engine="inprocess",
    scheduler=None,
) -> PredictResult:
    """Assign the customers of a table to the segments of a saved model.

    Parameters
    ----------
    model_path : path
        A ``model.json`` written by :func:`run`.
    input_path : path
        A CSV or Parquet table holding the model's feature columns.
    out_path : path or None
        The CSV file to write; default ``predictions.csv`` in the current folder. Not inside
        a run's output folder, which the next run replaces whole. Written atomically, under a
        lock: a second process writing the same file at the same time is refused.
    encoding, decimal : str or None
        Text encoding and decimal mark of a CSV input; None detects them.
    engine : {"inprocess", "dask"}
        On Dask, ``input_path`` may be a folder of Parquet or CSV parts or a glob, and the
        result is a folder of Parquet parts (default ``predictions``), one per input
        partition, each row labelled as in process, written as an output set
        (:func:`segmentation.staging.output_set`) with a ``_manifest.json``.
    scheduler : str or None
        With ``engine="dask"``: a Dask scheduler's address; None starts a LocalCluster.

    Returns
    -------
    PredictResult

    Raises
    ------
    SegmentationError
        For a bad model file, an unreadable input, missing feature columns, or an unwritable
        output.
    """
    _check_engine(engine, scheduler)
    model = SegmentationModel.load(model_path)
    if engine == "dask":
        return _predict_on_dask(
            model, model_path, input_path, out_path, scheduler, encoding, decimal
        )
    check_fits_in_memory(input_path, command="predict")
    data = read_table(input_path, encoding=encoding, decimal=decimal)
    out_path = Path(out_path) if out_path is not None else Path(PREDICTIONS_FILE)
    ensure_output_dir(out_path.parent)
    if out_path.is_dir():
        raise SegmentationError(
            f"`out` '{out_path}' is a folder; give a file name such as "
            f"{out_path / PREDICTIONS_FILE}."
        )
    refuse_inside_output_set(out_path)
    with output_file(out_path):
        X = model.preprocessor.transform(data)
        labels, explanations = _assign_and_explain(model, X)
        unknown = (model.category_codes(X) < 0).sum(axis=0)
        del X
        added = _output_columns(data, labels, model.segment_names, explanations)
        del explanations
        path = write_csv_atomic(data, out_path, protect=[input_path, model_path], beside=added)
        segmented = pd.concat([data, added], axis=1)
    counts = np.bincount(labels, minlength=model.n_segments)
    return PredictResult(
        segmented=segmented,
        labels=labels,
        counts={name: int(c) for name, c in zip(model.segment_names, counts, strict=True)},
        path=path,
        unknown_categories={
            name: int(n)
            for name, n in zip(model.preprocessor.categorical_features_, unknown, strict=True)
        },
    )


def _predict_on_dask(model, model_path, input_path, out_path, scheduler, encoding, decimal):
    """:func:`predict` on Dask: every partition scored by :func:`_segment_partition`."""
    distributed = _on_dask()
    folder = Path(out_path) if out_path is not None else Path(PREDICTIONS_FOLDER)
    if folder.exists() and not folder.is_dir():
        raise SegmentationError(
            f"`out` '{folder}' is a file; on Dask the predictions are a folder of Parquet parts."
        )
    _refuse_inputs_inside(distributed, folder, input_path)
    if _is_within(Path(model_path), folder):
        raise SegmentationError(
            f"Refusing to overwrite the model '{model_path}', which is inside '{folder}'; "
            "choose another `out`."
        )
    refuse_inside_output_set(folder)
    parameters = {"model": model_path, "input": input_path, "engine": "dask"}
    parameters |= {"scheduler": scheduler, "encoding": encoding, "decimal": decimal}
    # The parts are the folder itself, so that Parquet readers take it as one dataset: its
    # manifest is named so that they skip it.
    with (
        output_set(
            folder, command="predict", parameters=parameters, manifest=DATASET_MANIFEST
        ) as stage,
        distributed.cluster(scheduler),
        distributed.workers_lost(),
    ):
        frame = distributed.read_customers(input_path, encoding=encoding, decimal=decimal)
        model.preprocessor.check_columns(list(frame.columns))
        table = distributed.DaskTable(frame)
        segmented = partial(_segment_partition, model=model)
        totals = table.write_parts(segmented, stage.folder)
    k = model.n_segments
    return PredictResult(
        segmented=None,
        labels=None,
        counts={name: int(c) for name, c in zip(model.segment_names, totals[:k], strict=True)},
        path=folder,
        unknown_categories={
            name: int(n)
            for name, n in zip(model.preprocessor.categorical_features_, totals[k:], strict=True)
        },
    )
