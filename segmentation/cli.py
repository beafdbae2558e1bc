"""``segment``: the command line of the toolkit. Thin: parse, call the pipeline, print.

Exit codes: 0 success; 2 bad input or options (one sentence on stderr, starting "error:");
1 a problem with the system (for example a full disk) or a bug (one sentence on stderr, the
traceback in a log file it names); 130 interrupted.

The library names options by their parameter (`k_range`); only this module knows the flags
(``--k-range``), and it renames them in the messages it prints.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .errors import SegmentationError

__all__ = ["main", "build_parser", "Command", "COMMANDS"]

# Python's garbage collector and a short command: most of what a run allocates lives to its end
# (pandas' and matplotlib's modules above all), so the collector's passes over it are wasted
# work, about a tenth of a run on a small table. A command collects less often while it runs
# (``main``), and at exit, when the collector walks every object still alive, they are frozen
# (moved to the permanent generation) and skipped; every output is written and closed by then.
atexit.register(gc.freeze)
#: The collector's thresholds while a command runs (Python's default: 700, 10, 10).
GC_THRESHOLDS = (100_000, 20, 20)

EXIT_OK = 0
EXIT_SYSTEM = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
# Feature means shown in the console table (the most distinctive ones).
CONSOLE_FEATURES = 5


class _UsageError(Exception):
    """An option argparse could not parse; shown as one sentence like any other bad input."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the usage and exit; we want one sentence
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _add_clustering_options(parser: argparse.ArgumentParser, *, features_help: str) -> None:
    parser.add_argument("--features", metavar="COL,COL,...", help=features_help)
    parser.add_argument(
        "--id-column", metavar="COL", help="a column to keep as the identifier (never a feature)"
    )
    parser.add_argument(
        "--k",
        default="auto",
        metavar="auto|N",
        help="number of segments, or 'auto' to choose it over --k-range (default: auto)",
    )
    parser.add_argument(
        "--k-range",
        default="2-10",
        metavar="LOW-HIGH",
        help="the k values to try, both ends included (default: 2-10)",
    )
    parser.add_argument(
        "--k-rule",
        default="auto",
        choices=["auto", "silhouette", "elbow", "gap"],
        help="how --k auto chooses k: the highest silhouette, the inertia elbow, the gap "
        "statistic, or auto (the silhouette when it shows reasonable structure, else a vote of "
        "the three) (default: auto)",
    )
    parser.add_argument(
        "--bootstrap",
        default="50",
        metavar="N",
        help="bootstrap replicates for the stability of each segment; 0 skips it (default: 50)",
    )
    parser.add_argument(
        "--scaler",
        default="standard",
        choices=["standard", "robust", "minmax", "none"],
        help="how numeric features are scaled (default: standard)",
    )
    parser.add_argument(
        "--log-transform",
        default="auto",
        metavar="auto|none|COL,...",
        help="log1p of skewed non-negative columns (auto), of none, or of the columns named",
    )
    parser.add_argument(
        "--method",
        default="kmeans",
        choices=["kmeans", "kprototypes"],
        help="kmeans (categories one-hot encoded) or kprototypes (categories kept categorical: "
        "numeric distance plus a weight per category that differs from the segment's mode) "
        "(default: kmeans)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--out", default="outputs", metavar="DIR", help="output folder (default: outputs/)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as JSON instead of a table"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars on stderr (errors still show)"
    )


def _add_reading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="text encoding of a CSV input, such as utf-8 or cp1252 (default: detected)",
    )
    parser.add_argument(
        "--decimal",
        choices=[".", ","],
        help="decimal mark of a CSV input (default: detected; with ',' points group thousands)",
    )


def _add_engine_options(parser: argparse.ArgumentParser, *, what: str) -> None:
    parser.add_argument(
        "--engine",
        choices=["inprocess", "dask"],
        default="inprocess",
        help=f"{what} in this process or on Dask (PATH: a file, folder of parts or glob)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --engine dask: a Dask scheduler address (default: a local cluster)",
    )


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        metavar="PATH",
        help="customer table, CSV or Parquet (default: built-in synthetic customers)",
    )
    _add_reading_options(parser)
    _add_engine_options(
        parser, what="segment (on Dask the segmented table is written as Parquet parts)"
    )
    _add_clustering_options(
        parser,
        features_help="feature columns, comma-separated (default: every numeric column that is "
        "not an identifier); text columns named here are one-hot encoded",
    )


def _predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="PATH", help="model.json of a run")
    parser.add_argument("--input", required=True, metavar="PATH", help="CSV or Parquet table")
    _add_reading_options(parser)
    parser.add_argument(
        "--out",
        metavar="PATH",
        help="CSV file to write (default: predictions.csv; with --engine dask a folder of "
        "Parquet parts, default predictions/)",
    )
    _add_engine_options(parser, what="score")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")


def _rfm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--transactions", required=True, metavar="PATH", help="CSV or Parquet log")
    _add_reading_options(parser)
    parser.add_argument("--customer-col", default="CustomerID", metavar="COL")
    parser.add_argument("--date-col", default="InvoiceDate", metavar="COL")
    parser.add_argument("--quantity-col", default="Quantity", metavar="COL")
    parser.add_argument("--price-col", default="UnitPrice", metavar="COL")
    parser.add_argument("--invoice-col", default="InvoiceNo", metavar="COL")
    parser.add_argument(
        "--as-of",
        metavar="DATE",
        help="reference day for recency (default: the day after the last transaction)",
    )
    _add_engine_options(parser, what="compute RFM")
    _add_clustering_options(
        parser, features_help="features among Recency,Frequency,Monetary (default: all three)"
    )


def _monitor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="PATH", help="model.json of a run")
    parser.add_argument(
        "--input", required=True, metavar="PATH", help="the new batch, CSV or Parquet"
    )
    parser.add_argument(
        "--previous",
        metavar="PATH",
        help="an earlier customers_segmented.csv: how customers moved between segments",
    )
    parser.add_argument(
        "--id-column",
        metavar="COL",
        help="with --previous: the customer id column of both tables (default: detected)",
    )
    _add_reading_options(parser)
    parser.add_argument(
        "--out", default="monitor", metavar="DIR", help="output folder (default: monitor/)"
    )
    parser.add_argument("--json", action="store_true", help="print drift.json instead of tables")


def _synth_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=400, help="number of customers (default: 400)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", required=True, metavar="PATH", help="file to write")


def _learn_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", metavar="PATH", help="CSV or Parquet table (scaled to variance 1)"
    )
    parser.add_argument(
        "--demo",
        choices=["blobs", "mall", "anisotropic", "unequal", "uneven", "moons"],
        help="a built-in data set (default: blobs)",
    )
    parser.add_argument("--features", metavar="COL,COL,...", help="columns of --input")
    parser.add_argument("--k", type=int, help="clusters (default: the demo's, or 4)")
    parser.add_argument(
        "--algorithm", default="lloyd", choices=["lloyd", "hamerly", "elkan", "exponion", "yinyang"]
    )
    parser.add_argument("--init", default="k-means++", choices=["k-means++", "random"])
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", default="learn", metavar="DIR", help="folder (default: learn/)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``segment`` with one subparser per entry of :data:`COMMANDS`."""
    parser = _Parser(
        prog="segment",
        description="Customer segmentation with k-means: segments, pictures, a report, a model.",
    )
    parser.add_argument("--version", action="version", version=f"segment {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name, command in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=command.help, description=command.description)
        command.arguments(subparser)
    return parser


# --------------------------------------------------------------------------- commands


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise SegmentationError("`features` is empty; give column names separated by commas.")
    return names


def _log_transform(text: str):
    if text.strip().lower() in ("auto", "none"):
        return text.strip().lower()
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise SegmentationError("`log_transform` needs auto, none or column names.")
    return names


def _config(args, **extra):
    from .config import RunConfig, parse_k_range
    from .stability import check_bootstrap

    return RunConfig(
        features=_split(args.features),
        id_column=args.id_column,
        k=args.k,
        k_range=parse_k_range(args.k_range),
        k_rule=args.k_rule,
        bootstrap=check_bootstrap(args.bootstrap),
        scaler=args.scaler,
        log_transform=_log_transform(args.log_transform),
        seed=args.seed,
        out=args.out,
        method=args.method,
        encoding=args.encoding,
        decimal=args.decimal,
        **extra,
    )


class _StageProgress:
    """Progress bars on stderr, one per stage of a run (the pipeline's ``ProgressCallback``).

    Drawn only when enabled (stderr is a terminal and ``--quiet`` was not given). A stage seen
    for the first time gets its own line: a bar when its steps are counted, a pulsing bar when
    not; the bars disappear when the run ends.
    """

    #: How each stage is named on its bar; an unknown stage shows its own name.
    LABELS = {
        "read": "Reading the input",
        "sweep": "Trying k",
        "gap": "Gap statistic",
        "stability": "Checking stability",
        "fit": "Assigning and profiling",
        "write": "Writing the outputs",
    }

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.progress = None
        self.tasks: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self.progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self.progress.start()
        if stage not in self.tasks:
            label = self.LABELS.get(stage, stage)
            self.tasks[stage] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _progress(args) -> _StageProgress:
    """Progress bars for a command: on a terminal only, and not with --quiet or --json."""
    quiet = getattr(args, "quiet", False) or getattr(args, "json", False)
    return _StageProgress(enabled=sys.stderr.isatty() and not quiet)


def _console():
    from rich.console import Console

    # A captured stdout is not a terminal: rich then prints plain text, 120 columns wide
    # (sentences are not wrapped at all: soft_wrap where they are printed).
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 120)


def _print_run(result) -> None:
    from rich.table import Table

    from .outputs import PLOT_FILES

    console = _console()
    seg = result.segmentation
    console.print(
        f"Segmented {seg.n_customers:,} customers from {seg.source} "
        f"into [bold]{seg.k}[/bold] segments.",
        markup=True,
        highlight=False,
        soft_wrap=True,
    )
    console.print(seg.choice.reason, highlight=False, markup=False, soft_wrap=True)
    table = Table(title=None, show_lines=False, header_style="bold")
    frame = seg.profiles.table(max_features=CONSOLE_FEATURES)
    features = list(frame.columns[4:])
    table.add_column("#", justify="right")
    table.add_column("Segment", no_wrap=True)
    table.add_column("Customers", justify="right")
    table.add_column("Share", justify="right")
    if seg.stability is not None:
        table.add_column("Stability\n(bootstrap)", justify="right", no_wrap=True)
    for name in features:
        table.add_column(f"{name}\n(mean)", justify="right")
    for row in frame.itertuples(index=False):
        values = list(row)
        table.add_row(
            str(values[0]),
            str(values[1]),
            f"{values[2]:,}",
            f"{values[3]:.1%}",
            *_stability_cell(seg, values[0]),
            *(_format_mean(v) for v in values[4:]),
        )
    console.print(table)
    if seg.model.method == "kprototypes":
        for segment in seg.profiles.segments:
            leading = segment["profile"]["leading_categories"]
            listed = ", ".join(
                f"{name} {top['value']} ({top['share']:.0%})" for name, top in leading.items()
            )
            console.print(
                f"{segment['id']} {segment['name']}: {listed}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
    if seg.rules is not None:
        _print_rules(console, seg)
    if seg.rfm is not None:
        _print_rfm_crosstab(console, seg.rfm["crosstab"])
    _print_warnings(console, seg)
    shown = [
        result.paths[key].name + ("/" if result.paths[key].is_dir() else "")
        for key in _ANNOUNCED
        if key in result.paths
    ]
    if any(key in PLOT_FILES for key in result.paths):
        shown.append("plots/")
    folder = result.paths["summary"].parent
    console.print(
        f"Wrote {', '.join(shown)} to {folder}/", highlight=False, markup=False, soft_wrap=True
    )


def _stability_cell(seg, segment_id: int) -> list[str]:
    """The segment's bootstrap stability and its reading, as a table cell (none when off)."""
    if seg.stability is None:
        return []
    value = seg.stability.mean[segment_id]
    return [f"{value:.2f} {seg.stability.labels[segment_id]}"]


def _print_warnings(console, seg) -> None:
    """Say plainly what must be known before the segments are trusted."""
    for sentence in seg.warnings:
        console.print("[bold yellow]Warning:[/bold yellow] ", end="", highlight=False)
        console.print(sentence, highlight=False, markup=False, soft_wrap=True)


def _print_rules(console, seg) -> None:
    """One line per segment: its rule, precision and coverage; the rules' accuracy first."""
    rules = seg.rules
    console.print(
        f"One rule per segment (IMM threshold tree): {rules.accuracy:.1%} of the customers "
        "match their own segment's rule.",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for number, name in enumerate(seg.names):
        rule = rules.rules[number]
        if rule is None:
            text = "no rule (no cut tells its center from another's)"
        else:
            text = (
                f"{rule} (precision {_share(rules.precision[number])}, "
                f"coverage {_share(rules.coverage[number])})"
            )
        console.print(f"{number} {name}: {text}", highlight=False, markup=False, soft_wrap=True)


def _share(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def _print_rfm_crosstab(console, crosstab: dict) -> None:
    """RFM names (rows) by k-means segment (columns, by number): how many customers each."""
    from rich.table import Table

    table = Table(title=None, header_style="bold")
    table.add_column("RFM segment", no_wrap=True)
    for row in crosstab["rows"]:
        table.add_column(f"#{row['id']}", justify="right")
    table.add_column("All", justify="right")
    for column in crosstab["columns"]:
        counts = [f"{row['counts'][column]:,}" for row in crosstab["rows"]]
        table.add_row(column, *counts, f"{crosstab['totals'][column]:,}")
    console.print("RFM segments (R's rfm map) by k-means segment:", highlight=False, markup=False)
    console.print(table)


# The outputs named after a run (with "plots/" when figures were drawn).
_ANNOUNCED = ("customers", "customers_parts", "summary", "model", "report")


def _format_mean(value) -> str:
    value = float(value)
    if value != value:  # NaN: an empty segment
        return "-"
    if abs(value) >= 1e15:  # beyond what digit groups can show readably
        return f"{value:.3g}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"


def _cmd_run(args, rfm: bool = False) -> int:
    from . import figure_pool

    figure_pool.start()  # its workers import matplotlib while this process imports the rest
    from .config import ENGINE_OPTIONS, RFM_OPTIONS
    from .io import to_jsonable
    from .pipeline import run, run_rfm

    progress = _progress(args)
    try:
        if rfm:
            options = {name: getattr(args, name) for name in (*RFM_OPTIONS, *ENGINE_OPTIONS)}
            config = _config(args, **options)
            result = run_rfm(config, progress=progress)
        else:
            config = _config(args, input=args.input, engine=args.engine, scheduler=args.scheduler)
            result = run(config, progress=progress)
    finally:
        progress.close()
    if args.json:
        print(json.dumps(to_jsonable(result.summary), indent=2, ensure_ascii=False))
    else:
        _print_run(result)
    return EXIT_OK


def _cmd_predict(args) -> int:
    from .pipeline import predict

    result = predict(
        args.model,
        args.input,
        args.out,
        encoding=args.encoding,
        decimal=args.decimal,
        engine=args.engine,
        scheduler=args.scheduler,
    )
    if args.json:
        document = {
            "output": str(result.path),
            "counts": result.counts,
            "unknown_categories": result.unknown_categories,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return EXIT_OK
    from rich.table import Table

    console = _console()
    total = result.n_rows
    table = Table(header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("Segment")
    table.add_column("Customers", justify="right")
    table.add_column("Share", justify="right")
    for i, (name, count) in enumerate(result.counts.items()):
        table.add_row(str(i), name, f"{count:,}", f"{count / total:.1%}" if total else "-")
    console.print(f"Assigned {total:,} customers to segments.", highlight=False, soft_wrap=True)
    console.print(table)
    unknown = {name: n for name, n in result.unknown_categories.items() if n}
    if unknown:
        listed = ", ".join(f"{n:,} in '{name}'" for name, n in unknown.items())
        console.print(
            f"Categories not seen in training: {listed}; they match no segment's category.",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    console.print(f"Wrote {result.path}", highlight=False, markup=False, soft_wrap=True)
    return EXIT_OK


def _cmd_monitor(args) -> int:
    from .monitor import monitor

    result = monitor(
        args.model,
        args.input,
        previous_path=args.previous,
        id_column=args.id_column,
        out=args.out,
        encoding=args.encoding,
        decimal=args.decimal,
    )
    if args.json:
        print(json.dumps(result.document, indent=2, ensure_ascii=False))
    else:
        _print_drift(result)
    return EXIT_OK


_READING_STYLES = {"no change": "green", "moderate": "yellow", "significant": "bold red"}


def _print_drift(result) -> None:
    from rich.table import Table
    from rich.text import Text

    console = _console()
    report = result.report
    console.print(
        f"Compared {report.n_batch:,} new customers with the model's {report.n_train:,} "
        f"training customers: [bold]{report.verdict}[/bold].",
        highlight=False,
        soft_wrap=True,
    )
    console.print(report.reason, highlight=False, markup=False, soft_wrap=True)
    for warning in report.warnings:
        console.print(f"Warning: {warning}", highlight=False, markup=False, soft_wrap=True)
    table = Table(header_style="bold")
    table.add_column("Feature")
    table.add_column("PSI", justify="right")
    table.add_column("Reading")
    table.add_column("Chance up to", justify="right")
    signals = [(f.name, f) for f in report.features] + [("(segment shares)", report.segments)]
    for name, signal in signals:
        style = _READING_STYLES[signal.reading]
        reading = signal.reading
        if reading != "no change" and not signal.beyond_noise:
            style, reading = "dim", f"{reading} (within chance)"
        table.add_row(
            Text(name), f"{signal.psi:.3f}", Text(reading, style=style), f"{signal.noise_95:.3f}"
        )
    console.print(table)
    shares = Table(header_style="bold")
    shares.add_column("#", justify="right")
    shares.add_column("Segment")
    shares.add_column("Training", justify="right")
    shares.add_column("Now", justify="right")
    shares.add_column("Customers now", justify="right")
    segments = report.segments
    for i, name in enumerate(segments.names):
        shares.add_row(
            str(i),
            Text(name),
            f"{segments.shares_then[i]:.1%}",
            f"{segments.shares_now[i]:.1%}",
            f"{segments.customers_now[i]:,}",
        )
    console.print(shares)
    migration = report.migration
    if migration is not None:
        matrix = Table(header_style="bold", title=f"Customers moved (by {migration.id_column})")
        # Columns by segment number (the table above names them), rows by number and name.
        matrix.add_column("earlier \\ now")
        for j in range(len(migration.now)):
            matrix.add_column(str(j), justify="right")
        matrix.add_column("gone", justify="right")
        for i, name in enumerate(migration.before):
            cells = [f"{count:,}" for count in migration.matrix[i]]
            matrix.add_row(Text(f"{i} {name}"), *cells, f"{migration.gone[i]:,}")
        matrix.add_row("new", *(f"{count:,}" for count in migration.new), "")
        console.print(matrix)
    folder = result.paths["json"].parent
    console.print(
        f"Wrote drift.json, drift.html to {folder}/", highlight=False, markup=False, soft_wrap=True
    )


def _cmd_synth(args) -> int:
    import io as _io

    from .io import ensure_output_dir, write_bytes_atomic, write_csv_atomic
    from .staging import output_file, refuse_inside_output_set
    from .synthetic import make_customers

    if args.n < 1:
        raise SegmentationError(f"`n` must be at least 1, got {args.n}.")
    out = Path(args.out)
    if out.is_dir():
        raise SegmentationError(
            f"`out` '{out}' is a folder; give a file name such as {out / 'customers.csv'}."
        )
    ensure_output_dir(out.parent if str(out.parent) else ".")
    refuse_inside_output_set(out)
    data = make_customers(args.n, seed=args.seed)
    with output_file(out):
        if out.suffix.lower() in (".parquet", ".pq"):
            buffer = _io.BytesIO()
            data.to_parquet(buffer, index=False)
            write_bytes_atomic(buffer.getvalue(), out)
        else:
            write_csv_atomic(data, out)
    print(f"Wrote {len(data):,} synthetic customers to {out}")
    return EXIT_OK


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folder", metavar="DIR", help="an output folder of segment run, rfm, learn or monitor"
    )
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")


def _cmd_verify(args) -> int:
    from .staging import verify_output_set

    manifest = verify_output_set(args.folder)
    if args.json:
        print(json.dumps(manifest, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(
        f"{args.folder} is one whole run: segment {manifest['command']} "
        f"{manifest['run_id']}, {len(manifest['files'])} files checked, finished "
        f"{manifest['finished']} (version {manifest['version']})."
    )
    return EXIT_OK


def _cmd_learn(args) -> int:
    from .learn import main as learn_main  # matplotlib and the engine only when asked

    return learn_main(args)


@dataclass(frozen=True)
class Command:
    """A subcommand: its help, how it adds its options, and what it runs (exit code back)."""

    help: str
    description: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: The subcommands of ``segment``, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {
    "run": Command(
        help="segment a customer table (or built-in synthetic customers)",
        description="Segment customers: choose k, fit, profile, and write the outputs to --out.",
        arguments=_run_arguments,
        run=_cmd_run,
    ),
    "predict": Command(
        help="assign customers to the segments of a saved model",
        description="Assign the customers of a table to the segments of a model.json.",
        arguments=_predict_arguments,
        run=_cmd_predict,
    ),
    "rfm": Command(
        help="segment customers by recency, frequency and monetary value from transactions",
        description="Turn a transaction log into recency, frequency and monetary value per "
        "customer, then segment them like 'run'.",
        arguments=_rfm_arguments,
        run=lambda args: _cmd_run(args, rfm=True),
    ),
    "monitor": Command(
        help="compare a new batch of customers with a model's training data (drift)",
        description="Measure the drift of a new batch against the training data of a model: "
        "PSI per feature, segment shares then and now, and with --previous how customers "
        "moved; write drift.json and drift.html to --out.",
        arguments=_monitor_arguments,
        run=_cmd_monitor,
    ),
    "synth": Command(
        help="write realistic synthetic customers",
        description="Write synthetic customers (age, income, spending, tenure, gender) to a "
        "CSV file (or Parquet, by the .parquet extension).",
        arguments=_synth_arguments,
        run=_cmd_synth,
    ),
    "learn": Command(
        help="watch one k-means fit of the real engine: animations, figures, a page",
        description="Trace one fit step by step and write iterations.gif, seeding.gif, "
        "trace.csv, work.png, bounds.png, local_minima.png and learn.html to --out.",
        arguments=_learn_arguments,
        run=_cmd_learn,
    ),
    "verify": Command(
        help="check that an output folder holds one whole run (its manifest.json)",
        description="Check that every file listed in DIR/manifest.json is there with its size "
        "and sha256, and that nothing else is: exit 0 if so, else 2 and what differs.",
        arguments=_verify_arguments,
        run=_cmd_verify,
    ),
}


def main(argv: list[str] | None = None) -> int:
    """Run ``segment`` with ``argv`` (default: the process arguments) and return the exit code.

    Parameters
    ----------
    argv : list of str or None

    Returns
    -------
    int
        0, 1 (system problem or bug), 2 (bad input or options) or 130 (interrupted).
    """
    parser = build_parser()
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version exit here with code 0
            return int(exc.code or 0)
        return COMMANDS[args.command].run(args)
    except _UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except SegmentationError as exc:
        _error(exc.spelled(_flags(parser)))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        _error(f"{exc.strerror or type(exc).__name__}: {exc.filename or ''}".rstrip(": ") + ".")
        return EXIT_SYSTEM
    except Exception as exc:  # a bug: say so in one line, keep the traceback for the report
        log = _save_traceback()
        _error(
            f"segment stopped on an unexpected error ({type(exc).__name__}: {_first_line(exc)}); "
            f"this is a bug, please report it with the traceback written to {log}."
        )
        return EXIT_SYSTEM
    finally:
        gc.set_threshold(*thresholds)


def _flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Parameter -> flag for every option of every subcommand (``k_range -> --k-range``)."""
    flags = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                flags.update(_flags(subparser))
        elif action.option_strings:
            flags[action.dest] = action.option_strings[-1]
    return flags


def _save_traceback() -> str:
    """Write the current exception's traceback to a new log file; its path."""
    with tempfile.NamedTemporaryFile(
        "w", prefix="segment-traceback-", suffix=".log", delete=False, encoding="utf-8"
    ) as handle:
        handle.write(f"segment {__version__}, argv: {sys.argv!r}\n")
        traceback.print_exc(file=handle)
    return handle.name


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _error(message: str) -> None:
    message = " ".join(message.split())  # one line, whatever the message held
    print(f"error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
