"""Every file a run writes, in one table, and how each is derived from a :class:`Segmentation`.

Adding an output is one row of :data:`OUTPUTS` (and, for a figure, one entry of
:data:`PLOTS`); :func:`write_outputs` writes them in table order into the run's output set
(:mod:`segmentation.staging`: prepared aside, put in place whole with a ``manifest.json``), and
the summary, the report and the command line read the paths it returns instead of looking at
the disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import __version__, figure_pool
from .figure_pool import FigureJob
from .io import write_bytes_atomic, write_csv_atomic, write_json_atomic, write_text_atomic
from .result import Segmentation
from .select_k import REFINE, SWEEP_SAMPLE_REASON
from .staging import OutputSet
from .timing import Timer

__all__ = [
    "Output",
    "OUTPUTS",
    "PLOTS",
    "PLOT_FILES",
    "OUTPUT_COLUMNS",
    "output_path",
    "figure_jobs",
    "summary_of",
    "write_outputs",
]

#: Columns added after the input's own columns, in this order.
OUTPUT_COLUMNS = (
    "Segment",
    "Segment_name",
    "Distance_to_center",
    "Second_nearest_segment",
    "Assignment_margin",
)


@dataclass(frozen=True)
class Output:
    """One file of a run.

    Attributes
    ----------
    key : str
        Its name in :attr:`RunResult.paths` and in the summary's ``outputs``.
    file : str
        Its path relative to the output folder.
    description : str
        What it holds, in words.
    """

    key: str
    file: str
    description: str


# Each figure is described by the inputs it is drawn from (a FigureJob): figure_pool draws it
# in a worker process or in this one, and matplotlib is imported only where it is drawn.


def _elbow(seg: Segmentation) -> FigureJob:
    return FigureJob(
        "elbow_silhouette", (seg.choice.sweep, seg.k, seg.choice.elbow, seg.choice.gap)
    )


def _pca(seg: Segmentation) -> FigureJob:
    projection = seg.projection
    return FigureJob(
        "pca_clusters",
        (
            projection.customers,
            seg.labels,
            projection.centers,
            projection.explained_variance_ratio,
            seg.names,
        ),
        {"seed": seg.config.seed},
    )


#: A figure draws at most this many features (the most distinctive; its title says so).
MAX_PLOTTED_FEATURES = 24


def _distributions(seg: Segmentation) -> FigureJob:
    columns = list(seg.values.columns)
    shown = seg.profiles.distinctive(columns, MAX_PLOTTED_FEATURES)
    return FigureJob(
        "feature_distributions",
        ({column: seg.values[column].to_numpy() for column in shown}, seg.labels, seg.names),
        {"log_columns": list(seg.preprocessor.log_columns_), "n_features": len(columns)},
    )


def _silhouette(seg: Segmentation) -> FigureJob:
    sample = seg.silhouette
    return FigureJob(
        "silhouette",
        (sample.values, seg.labels[sample.rows], seg.names),
        {"mean": sample.mean, "n_total": seg.n_customers},
    )


def _profiles(seg: Segmentation) -> FigureJob:
    z = seg.profiles.z
    shown = seg.profiles.distinctive(list(z.columns), MAX_PLOTTED_FEATURES)
    return FigureJob(
        "segment_profiles",
        (z[shown].to_numpy(dtype=float), [str(column) for column in shown], seg.names),
        {"n_features": z.shape[1]},
    )


def _stability(seg: Segmentation) -> FigureJob | None:
    if seg.stability is None:
        return None
    from .stability import READINGS

    return FigureJob(
        "segment_stability",
        (seg.stability.mean, seg.stability.standard_error, seg.names),
        {"readings": READINGS, "n_boot": seg.stability.n_boot},
    )


#: The figures of a run: file name -> (what it shows, what it is drawn from; None: not this run).
PLOTS: dict[str, tuple[str, Callable[[Segmentation], FigureJob | None]]] = {
    "elbow_silhouette.png": (
        "Inertia and silhouette (and the gap statistic when computed) for every k tried, the "
        "chosen k marked",
        _elbow,
    ),
    "pca_clusters.png": (
        "Customers on the first two principal components, with segment centers",
        _pca,
    ),
    "feature_distributions.png": (
        "Distribution of every numeric feature in each segment",
        _distributions,
    ),
    "silhouette.png": ("Silhouette of every customer, by segment", _silhouette),
    "segment_profiles.png": (
        "How far each segment's mean is from all customers (z-scores)",
        _profiles,
    ),
    "segment_stability.png": (
        "Bootstrap stability of each segment, over clusterboot's reading of it",
        _stability,
    ),
}
#: The figures of a run: file name -> what it shows.
PLOT_FILES = {name: description for name, (description, _) in PLOTS.items()}

#: Every file a run may write, in the order it writes them.
OUTPUTS = (
    Output("input", "customers_input.csv", "The synthetic customers used, when none were given"),
    Output("rfm", "rfm_customers.csv", "Recency, frequency and monetary value per customer"),
    *(Output(name, f"plots/{name}", description) for name, description in PLOT_FILES.items()),
    Output("customers", "customers_segmented.csv", "The input with each customer's segment"),
    Output(
        "customers_parts",
        "customers_segmented",
        "On Dask: the input with each customer's segment, one Parquet part per partition",
    ),
    Output("model", "model.json", "The model, to assign new customers with segment predict"),
    Output("report", "report.html", "One self-contained page that explains the run"),
    Output("summary", "cluster_summary.json", "Everything the run computed, and how"),
)
_FILES = {output.key: output.file for output in OUTPUTS}


def output_path(out: Path, key: str) -> Path:
    """Where the output ``key`` of :data:`OUTPUTS` goes in the output folder ``out``."""
    return Path(out) / _FILES[key]


def figure_jobs(seg: Segmentation) -> dict[str, FigureJob]:
    """What every figure of :data:`PLOTS` that this run has is drawn from, by file name."""
    jobs = {name: describe(seg) for name, (_, describe) in PLOTS.items()}
    return {name: job for name, job in jobs.items() if job is not None}


def summary_of(seg: Segmentation, outputs: dict[str, Path] | None = None) -> dict:
    """What ``cluster_summary.json`` holds (without the run's ``outputs`` and ``timings``).

    Parameters
    ----------
    seg : Segmentation
    outputs : dict of str to pathlib.Path, optional
        Files written so far, listed under ``outputs``.

    Returns
    -------
    dict
    """
    choice = seg.choice
    summary = {
        "package": "kmeans-segment",
        "version": __version__,
        "created": seg.created,
        "input": seg.source,
        "n_customers": seg.n_customers,
        "k": seg.k,
        "k_selection": {
            "k_rule": choice.k_rule,
            "rule": choice.rule,
            "reason": choice.reason,
            "automatic_k": choice.automatic_k,
            "elbow": choice.elbow,
            "n_init": choice.n_init,
            "refine": REFINE,
            "silhouette": seg.silhouette.description,
            "sweep": choice.sweep,
            "gap": choice.gap,
        },
        "warnings": seg.warnings,
        "segments": _with_stability(seg, _segments_with_rules(seg)),
        "overall": seg.profiles.overall,
        "columns": {
            **seg.roles.to_dict(),
            "features_used": seg.preprocessor.feature_names_out_,
            "log_transformed": list(seg.preprocessor.log_columns_),
        },
        "pca": {
            "explained_variance_ratio": [float(r) for r in seg.projection.explained_variance_ratio]
        },
        **({"sample": _sample_of(seg)} if seg.population is not None else {}),
        "seed": seg.config.seed,
        "parameters": seg.parameters,
        "cleaning_log": seg.log,
    }
    if seg.rules is not None:
        summary["rules"] = seg.rules.to_dict()
    if seg.rfm is not None:
        summary["rfm"] = seg.rfm
    summary["stability"] = seg.stability.to_dict() if seg.stability is not None else None
    if outputs is not None:
        summary["outputs"] = {key: str(path) for key, path in outputs.items()}
    return summary


def _sample_of(seg: Segmentation) -> dict:
    """What was computed on a sample of the customers (on Dask), and what on every one."""
    return {
        "rows": len(seg.data),
        "of": seg.population,
        "seed": seg.config.seed,
        "why_enough": SWEEP_SAMPLE_REASON if len(seg.data) < seg.population else None,
        "on_the_sample": ["k sweep", "profiles' means and medians", "figures", "silhouette"],
        "on_every_customer": [
            "preprocessing statistics",
            "final fit",
            "segment sizes",
            "segmented table",
        ],
    }


def _segments_with_rules(seg: Segmentation) -> list[dict]:
    """The profiles' segments with each one's rule, its precision, coverage and matches."""
    if seg.rules is None:
        return seg.profiles.segments
    return [
        {**segment, **seg.rules.segment_fields(segment["id"])} for segment in seg.profiles.segments
    ]


def _with_stability(seg: Segmentation, segments: list[dict]) -> list[dict]:
    """The segments with each one's bootstrap stability, when it was measured."""
    if seg.stability is None:
        return segments
    return [{**segment, **seg.stability.segment(segment["id"])} for segment in segments]


def write_outputs(
    seg: Segmentation,
    stage: OutputSet,
    *,
    protect: list,
    written: dict[str, Path],
    timer: Timer,
) -> tuple[dict[str, Path], dict]:
    """Draw and write every output of a segmentation into a set being prepared, in
    :data:`OUTPUTS` order (each file atomically; the set is put in place by its caller).

    Parameters
    ----------
    seg : Segmentation
    stage : OutputSet
        The output set (:func:`segmentation.staging.output_set`) the files are written into.
    protect : list of paths
        Input files that must never be overwritten.
    written : dict of str to pathlib.Path
        Outputs the run already wrote (the synthetic input, the RFM table).
    timer : Timer
        Receives the ``plots``, ``write`` and ``report`` stages.

    Returns
    -------
    paths : dict of str to pathlib.Path
        Every file written, by key, where it will be once the set is in place (in the output
        folder, not the staging folder).
    summary : dict
        What ``cluster_summary.json`` holds.
    """
    config = seg.config
    paths = dict(written)

    def staged(key: str) -> Path:
        return stage.path(_FILES[key])

    # The figure workers draw while this process writes the table and the model.
    drawing = figure_pool.submit(figure_jobs(seg) if config.plots else {})
    with timer.stage("write"):
        if "customers_parts" not in paths:  # on Dask the Parquet parts are the segmented table
            # The input, then the segment columns, written side by side (never joined).
            write_csv_atomic(
                seg.data, staged("customers"), protect=protect, beside=seg.customer_columns
            )
            paths["customers"] = stage.final(_FILES["customers"])
        seg.model.save(staged("model"), protect=protect)
        paths["model"] = stage.final(_FILES["model"])
    with timer.stage("plots"):  # what is left of drawing them, or all of it without workers
        images = drawing.result()
    with timer.stage("write"):
        for name, png in images.items():
            write_bytes_atomic(png, staged(name), protect=protect)
            paths[name] = stage.final(_FILES[name])
    paths = {output.key: paths[output.key] for output in OUTPUTS if output.key in paths}
    if config.report:
        from .report import render_report  # only needed when a report is written

        with timer.stage("report"):
            html = render_report(seg, images, captions=PLOT_FILES, outputs=paths)
            write_text_atomic(html, staged("report"), protect=protect)
            paths["report"] = stage.final(_FILES["report"])
    summary = summary_of(seg, outputs=paths)
    summary["timings"] = {name: round(seconds, 4) for name, seconds in timer.timings.items()}
    with timer.stage("write"):
        write_json_atomic(summary, staged("summary"), protect=protect)
        paths["summary"] = stage.final(_FILES["summary"])
    return paths, summary
