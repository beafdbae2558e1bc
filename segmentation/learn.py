"""``segment learn``: one fit of the real engine, watched step by step.

``learn(...)`` traces a fit (``kmeans_core.trace``) and writes, into one folder:

- ``iterations.gif``: two frames per iteration (assignment, then update; one per iteration past
  ``TWO_FRAMES_UP_TO`` iterations): points coloured by cluster, the regions of the current
  centers, the centers' paths, the inertia in the title;
- ``seeding.gif``: k-means++ step by step (each point's D² probability, the candidates, the one
  kept);
- ``trace.csv``: ``Trace.to_frame()`` of the run;
- ``work.png``: distances computed per iteration by the five algorithms on the same data, and
  whether their labels agreed at every iteration (checked in this run);
- ``bounds.png``: for one point and one iteration, Hamerly's test that let it skip the point;
- ``local_minima.png``: ``LOCAL_MINIMA_SEEDS`` seeds each with random and k-means++ starts;
- ``learn.html``: one self-contained page with all of it and, beside each step, the lines of
  ``kmeans_core/reference.py`` that do it (read from the file at run time).

Data with more than two features are drawn through our PCA (the regions are then those of the
projected centers, drawn only for two-feature data). ``python -m segmentation.learn
--docs-figures DIR`` draws the PNGs of ``docs/how-kmeans-works.md``.
"""

from __future__ import annotations

import base64
import html
import inspect
import io
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.animation import PillowWriter  # noqa: E402
from matplotlib.colors import ListedColormap, LogNorm  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from kmeans_core import PCA, KMeans, reference, trace  # noqa: E402

from .errors import SegmentationError  # noqa: E402
from .io import (  # noqa: E402
    ensure_output_dir,
    read_table,
    write_bytes_atomic,
    write_csv_atomic,
    write_text_atomic,
)
from .staging import output_set  # noqa: E402

__all__ = ["DEMOS", "ALGORITHMS", "LearnData", "demo_data", "load_input", "learn"]

DEMOS = ("blobs", "mall", "anisotropic", "unequal", "uneven", "moons")
#: The files of ``segment learn``, in the order they are listed.
LEARN_FILES = (
    "iterations.gif",
    "seeding.gif",
    "work.png",
    "bounds.png",
    "local_minima.png",
    "trace.csv",
    "learn.html",
)
ALGORITHMS = ("lloyd", "hamerly", "elkan", "exponion", "yinyang")
#: Up to this many iterations the animation has two frames each (assignment, update).
TWO_FRAMES_UP_TO = 25
#: Seeds of each init in local_minima.png.
LOCAL_MINIMA_SEEDS = 100
#: Points drawn at most in a frame (a fixed-seed sample beyond; the fit uses all of them).
MAX_DRAWN = 4000
DPI = 80
GIF_FPS = 2
REGION_GRID = 160
MALL_CSV = Path(__file__).resolve().parent.parent / "data" / "mall_customers.csv"


@dataclass
class LearnData:
    """What ``learn`` clusters: ``X`` (n, d), its column names, a title and a note on where it
    came from; ``k`` the demo's natural number of clusters (None: the caller's)."""

    X: np.ndarray
    names: list
    title: str
    note: str
    k: int | None = None


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def demo_data(name, seed=0, n_samples=1500):
    """A demo data set: ``blobs`` (four round clusters), ``mall`` (the shipped mall customers'
    income and spending score), and scikit-learn's classic failure cases -- ``anisotropic``
    (stretched blobs), ``unequal`` (unequal spreads), ``uneven`` (sizes 50:10:1) -- and
    ``moons`` (two interleaved half circles)."""
    rng = np.random.default_rng(seed)
    centers3 = np.array([[-6.0, -4.0], [0.0, 5.0], [6.0, -3.0]])
    if name == "blobs":
        centers = np.array([[0.0, 0.0], [6.0, 1.0], [2.0, 6.0], [8.0, 7.0]])
        X = centers[rng.integers(0, 4, n_samples)] + rng.normal(size=(n_samples, 2))
        return LearnData(X, ["x1", "x2"], "Four round blobs", "K-Means' home ground.", 4)
    if name == "mall":
        if not MALL_CSV.is_file():
            raise SegmentationError(f"The mall demo needs {MALL_CSV}, which is missing.")
        table = pd.read_csv(MALL_CSV)
        names = ["Annual Income (k$)", "Spending Score (1-100)"]
        X = table[names].to_numpy(dtype=np.float64)
        note = "200 mall customers (data/mall_customers.csv): income against spending score."
        return LearnData(X, names, "Mall customers", note, 5)
    if name == "anisotropic":
        X = centers3[rng.integers(0, 3, n_samples)] + rng.normal(scale=1.2, size=(n_samples, 2))
        X = X @ np.array([[0.6, -0.64], [-0.41, 0.85]])
        note = "Stretched clusters: K-Means assumes round ones and cuts across them."
        return LearnData(X, ["x1", "x2"], "Anisotropic blobs", note, 3)
    if name == "unequal":
        labels = rng.integers(0, 3, n_samples)
        X = (
            centers3[labels]
            + rng.normal(size=(n_samples, 2)) * np.array([0.6, 3.0, 1.2])[labels, None]
        )
        note = "Unequal spreads: the wide cluster loses points to its neighbours' centers."
        return LearnData(X, ["x1", "x2"], "Unequal variance", note, 3)
    if name == "uneven":
        sizes = np.array([50, 10, 1]) * n_samples // 61
        labels = np.repeat(np.arange(3), sizes)
        X = centers3[labels] + rng.normal(scale=1.5, size=(labels.size, 2))
        note = "Uneven sizes (50:10:1): the inertia is lowered by splitting the big cluster."
        return LearnData(X, ["x1", "x2"], "Uneven cluster sizes", note, 3)
    if name == "moons":
        half = n_samples // 2
        angle = rng.uniform(0, np.pi, n_samples)
        upper = np.column_stack([np.cos(angle[:half]), np.sin(angle[:half])])
        lower = np.column_stack([1 - np.cos(angle[half:]), 0.5 - np.sin(angle[half:])])
        X = np.vstack([upper, lower]) + rng.normal(scale=0.08, size=(n_samples, 2))
        note = "Two interleaved moons: no choice of two centers separates them."
        return LearnData(X, ["x1", "x2"], "Two moons", note, 2)
    raise SegmentationError(f"Unknown `demo` '{name}'; choose one of {', '.join(DEMOS)}.")


def load_input(path, features=None):
    """The numeric ``features`` (default: every numeric column) of a CSV or Parquet file,
    standardised (mean 0, variance 1, as ``segment run`` does by default), rows with a missing
    value left out."""
    table = read_table(path)
    if features is None:
        features = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
        if not features:
            raise SegmentationError(f"'{path}' has no numeric column to cluster.")
    missing = [c for c in features if c not in table.columns]
    if missing:
        raise SegmentationError(
            f"Column '{missing[0]}' is not in '{path}'; its columns are: "
            f"{', '.join(map(str, table.columns))}."
        )
    text = [c for c in features if not pd.api.types.is_numeric_dtype(table[c])]
    if text:
        raise SegmentationError(f"Column '{text[0]}' holds text; segment learn needs numbers.")
    values = table[features].astype("float64").dropna().to_numpy()
    if values.shape[0] == 0:
        raise SegmentationError(f"'{path}' has no row with all of {', '.join(features)}.")
    if not np.isfinite(values).all():
        raise SegmentationError(f"'{path}' holds an infinite value in {', '.join(features)}.")
    spread = values.std(axis=0)
    spread[spread == 0] = 1.0
    X = (values - values.mean(axis=0)) / spread
    dropped = len(table) - values.shape[0]
    note = f"{values.shape[0]} rows of {Path(path).name}, each feature scaled to variance 1"
    note += f" ({dropped} rows with a missing value left out)." if dropped else "."
    return LearnData(X, list(map(str, features)), Path(path).name, note)


# --------------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------------
def learn(
    data,
    out,
    *,
    k=None,
    algorithm="lloyd",
    init="k-means++",
    seed=0,
    seeds=LOCAL_MINIMA_SEEDS,
    protect=(),
):
    """Trace one fit of ``data`` (a ``LearnData``) and write the files listed in the module
    docstring into ``out`` (``seeds`` fits per init for local_minima.png; ``protect``: paths
    never to overwrite, the input), as one set with a ``manifest.json``, put in place whole
    (:func:`segmentation.staging.output_set`); returns ``{file name: path}`` and the seconds it
    took under ``"seconds"``."""
    started = time.perf_counter()
    k = (data.k or 4) if k is None else k
    X = np.ascontiguousarray(data.X, dtype=np.float64)
    if init not in ("k-means++", "random"):
        raise SegmentationError(f"Unknown `init` '{init}'; use k-means++ or random.")
    if k < 1 or k > X.shape[0]:
        raise SegmentationError(f"`k` must be between 1 and the number of rows ({X.shape[0]}).")
    if algorithm not in ALGORITHMS:
        raise SegmentationError(f"Unknown `algorithm` '{algorithm}'; use {', '.join(ALGORITHMS)}.")
    parameters = {"data": data.title, "k": k, "algorithm": algorithm, "init": init}
    parameters |= {"seed": seed, "seeds": seeds, "out": str(out)}
    with output_set(out, command="learn", parameters=parameters, known=LEARN_FILES) as stage:
        run = trace(X, k, algorithm=algorithm, init=init, random_state=seed)
        view = _View(X, seed, data.names)
        others = {a: trace(X, k, algorithm=a, init=init, random_state=seed) for a in ALGORITHMS}
        others[algorithm] = run
        agree = all(np.array_equal(t.labels, others["lloyd"].labels) for t in others.values())

        files = {
            "iterations.gif": iterations_gif(run, view, data.title),
            "seeding.gif": seeding_gif(run, X, view, data.title, init),
            "work.png": work_png(others, X.shape[0] * k, agree),
            "bounds.png": bounds_png(others["hamerly"], X, view),
            "local_minima.png": local_minima_png(X, k, view, seeds),
        }
        for name, payload in files.items():
            write_bytes_atomic(payload, stage.path(name), protect=protect)
        write_csv_atomic(run.to_frame(), stage.path("trace.csv"), protect=protect)
        page = learn_page(
            data, run, files, k=k, algorithm=algorithm, init=init, seed=seed, agree=agree
        )
        write_text_atomic(page, stage.path("learn.html"), protect=protect)
    written = {name: stage.final(name) for name in LEARN_FILES}
    written["seconds"] = time.perf_counter() - started
    return written


def main(args):
    """``segment learn`` with parsed ``args`` (``input``, ``demo``, ``features``, ``k``,
    ``algorithm``, ``init``, ``seed``, ``out``): writes the files, prints where; exit code."""
    if args.input is not None and args.demo is not None:
        raise SegmentationError("Give `input` or `demo`, not both.")
    features = None
    if args.features is not None:
        features = [name.strip() for name in args.features.split(",") if name.strip()]
        if not features:
            raise SegmentationError("`features` is empty; give column names separated by commas.")
    if args.input is None:
        if features is not None:
            raise SegmentationError("`features` picks columns of `input`; a demo has its own.")
        data = demo_data(args.demo or "blobs", seed=args.seed)
        protect = ()
    else:
        data = load_input(args.input, features)
        protect = (args.input,)
    written = learn(
        data,
        args.out,
        k=args.k,
        algorithm=args.algorithm,
        init=args.init,
        seed=args.seed,
        seeds=LOCAL_MINIMA_SEEDS,
        protect=protect,
    )
    seconds = written.pop("seconds")
    print(f"segment learn: {data.title}, {len(data.X):,} points, {seconds:.1f} s")
    for name, path in written.items():
        print(f"  {name:17} {path}")
    return 0


class _View:
    """The plane the figures are drawn in: the data themselves with two features, else the
    first two principal components; and which points are drawn."""

    def __init__(self, X, seed, names=("x1", "x2")):
        self.two_d = X.shape[1] == 2
        self.pca = None if self.two_d else PCA(n_components=min(2, X.shape[1])).fit(X)
        self.points = self(X)
        n = X.shape[0]
        rng = np.random.default_rng(seed)
        self.drawn = np.sort(rng.choice(n, MAX_DRAWN, replace=False)) if n > MAX_DRAWN else None
        self.xlabel, self.ylabel = tuple(names[:2]) if self.two_d else ("PC 1", "PC 2")
        low, high = self.points.min(axis=0), self.points.max(axis=0)
        pad = 0.05 * (high - low + 1e-12)
        self.limits = (low - pad, high + pad)

    def __call__(self, Z):
        Z = np.atleast_2d(Z)
        if self.two_d:
            return Z
        P = self.pca.transform(Z)
        return P if P.shape[1] == 2 else np.column_stack([P, np.zeros(len(P))])

    def sample(self, values):
        return values if self.drawn is None else values[self.drawn]

    def frame(self, ax):
        ax.set_xlim(self.limits[0][0], self.limits[1][0])
        ax.set_ylim(self.limits[0][1], self.limits[1][1])
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)


def _num(value):
    """A number for a title: thousands separated, four significant digits below 1000."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _colors(k):
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20")
    return np.array([cmap(i % cmap.N) for i in range(k)])


def _gif(fig, draw_frames):
    """The frames ``draw_frames(grab)`` draws on ``fig``, as GIF bytes (PillowWriter)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "animation.gif"
        writer = PillowWriter(fps=GIF_FPS)
        with writer.saving(fig, str(path), DPI):
            draw_frames(writer.grab_frame)
        plt.close(fig)
        return path.read_bytes()


def _png(fig, dpi=DPI):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------
def iterations_gif(run, view, title):
    """Assignment then update, frame by frame (see the module docstring)."""
    k = run.cluster_centers_.shape[0]
    colors = _colors(k)
    points = view.sample(view.points)
    paths = np.stack([view(c) for c in run.centers])  # (n_iter + 1, k, 2)
    two_frames = run.n_iter_ <= TWO_FRAMES_UP_TO
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.1, top=0.9)
    view.frame(ax)
    grid = None
    if view.two_d:
        (x0, y0), (x1, y1) = view.limits
        gx, gy = np.meshgrid(np.linspace(x0, x1, REGION_GRID), np.linspace(y0, y1, REGION_GRID))
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        regions = ax.imshow(
            np.zeros((REGION_GRID, REGION_GRID)),
            origin="lower",
            extent=(x0, x1, y0, y1),
            cmap=ListedColormap(colors),
            vmin=-0.5,
            vmax=k - 0.5,
            alpha=0.18,
            aspect="auto",
            interpolation="nearest",
        )
    dots = ax.scatter(points[:, 0], points[:, 1], s=6, c=[colors[0]], linewidths=0)
    trails = [ax.plot([], [], "-", color="black", lw=1, alpha=0.6)[0] for _ in range(k)]
    marks = ax.scatter(
        paths[0, :, 0],
        paths[0, :, 1],
        s=140,
        marker="X",
        c=colors,
        edgecolors="black",
        linewidths=1.2,
        zorder=5,
    )

    def show(step, centers_at, labels, caption):
        if grid is not None:
            nearest = reference.assign(grid, paths[centers_at]).reshape(REGION_GRID, REGION_GRID)
            regions.set_data(nearest)
        if labels is not None:
            dots.set_color(colors[view.sample(labels)])
        for j, trail in enumerate(trails):
            trail.set_data(paths[: centers_at + 1, j, 0], paths[: centers_at + 1, j, 1])
        marks.set_offsets(paths[centers_at])
        ax.set_title(f"{title}: {caption}", fontsize=10)

    def frames(grab):
        show(0, 0, None, "the initial centers")
        grab()
        for i in range(run.n_iter_):
            inertia = f"inertia {_num(run.inertia[i])}"
            if two_frames:
                n_changed = run.n_changed[i]
                changed = f"{n_changed} label{'s' if n_changed != 1 else ''} changed"
                changed = changed if i else "first assignment"
                show(i, i, run.labels[i], f"iteration {i + 1}, assignment ({changed}), {inertia}")
                grab()
            show(i, i + 1, run.labels[i], f"iteration {i + 1}, update; {inertia}")
            grab()
        show(
            run.n_iter_,
            run.n_iter_,
            run.labels_,
            f"done after {run.n_iter_} iterations, inertia {_num(run.inertia_)}",
        )
        grab()

    return _gif(fig, frames)


def _seeding_steps(run, X):
    """For each k-means++ step and once after the last: the rows chosen before it and each
    point's D² (None before the first, which is drawn by weight alone)."""
    rows = run.seeding.rows
    closest = None
    for c in range(len(rows) + 1):
        yield c, rows[:c], closest
        if c < len(rows):
            d2 = ((X - X[rows[c]]) ** 2).sum(axis=1)
            closest = d2 if closest is None else np.minimum(closest, d2)


def seeding_gif(run, X, view, title, init):
    """k-means++ step by step; with random init one frame of the rows drawn."""
    points = view.sample(view.points)
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    fig.subplots_adjust(left=0.11, right=0.88, bottom=0.1, top=0.9)
    view.frame(ax)
    starts = view(run.centers[0])
    if run.seeding is None:
        ax.scatter(points[:, 0], points[:, 1], s=6, c="0.6", linewidths=0)
        ax.scatter(starts[:, 0], starts[:, 1], s=140, marker="X", c="black")
        ax.set_title(f"{title}: init='{init}', {len(starts)} rows drawn at random", fontsize=10)
        return _gif(fig, lambda grab: grab())
    s = run.seeding
    n_points = len(points)
    dots = ax.scatter(
        points[:, 0],
        points[:, 1],
        s=6,
        c=np.ones(n_points),
        cmap="viridis",
        norm=LogNorm(1e-3, 10.0),
        linewidths=0,
    )
    fig.colorbar(
        dots,
        ax=ax,
        fraction=0.05,
        pad=0.02,
        extend="both",
        label="chance to be drawn, against a uniform draw",
    )
    chosen = ax.scatter([], [], s=160, marker="X", c="red", edgecolors="black", zorder=5)
    tried = ax.scatter([], [], s=90, facecolors="none", edgecolors="black", zorder=4)
    kept = ax.scatter([], [], s=260, marker="*", c="gold", edgecolors="black", zorder=6)
    chosen_points = view(X[s.rows])

    def frames(grab):
        for c, before, closest in _seeding_steps(run, X):
            if c == len(s.rows):
                break
            if closest is None:
                dots.set_array(np.full(n_points, 1.0))
                tried.set_offsets(np.empty((0, 2)))
                caption = "the first center: any point, by weight"
            else:
                dots.set_array(_relative_chance(closest, view))
                tried.set_offsets(view(X[s.candidates[c - 1]]))
                caption = (
                    f"center {c + 1}: {s.candidates.shape[1]} candidates drawn by D², "
                    f"potential {_num(s.potential[c])}"
                )
            chosen.set_offsets(chosen_points[: len(before)] if len(before) else np.empty((0, 2)))
            kept.set_offsets(chosen_points[c : c + 1])
            ax.set_title(f"{title}: {caption}", fontsize=10)
            grab()
        dots.set_array(_relative_chance(closest, view))
        chosen.set_offsets(chosen_points)
        kept.set_offsets(np.empty((0, 2)))
        tried.set_offsets(np.empty((0, 2)))
        ax.set_title(
            f"{title}: the {len(s.rows)} initial centers, potential {_num(s.final_potential)}",
            fontsize=10,
        )
        grab()

    return _gif(fig, frames)


def _relative_chance(closest, view):
    """Each drawn point's chance to be the next center (D² share) times n: 1 is a uniform
    draw's."""
    total = closest.sum()
    share = closest / total if total > 0 else np.full(closest.shape, 1.0 / closest.size)
    return np.clip(view.sample(share) * closest.size, 1e-4, None)


def work_png(runs, pairs, agree):
    """Distances computed per iteration by every algorithm (share of Lloyd's n * k)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), width_ratios=(3, 2))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.84, wspace=0.3)
    for algorithm, t in runs.items():
        steps = np.arange(1, t.n_iter_ + 1)
        left.plot(steps, t.distances_computed / pairs, "o-", ms=3, label=algorithm)
    left.set_yscale("log")
    left.set_xlabel("iteration")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_ylabel("distances computed / (n x k)")
    left.legend(fontsize=8)
    names = list(runs)
    computed = [runs[a].distances_computed.sum() / (pairs * runs[a].n_iter_) for a in names]
    bars = right.bar(names, computed, color="tab:blue", label="computed")
    right.bar(names, [1 - c for c in computed], bottom=computed, color="0.85", label="skipped")
    for bar, share in zip(bars, computed, strict=True):
        right.annotate(
            f"{share:.0%}",
            (bar.get_x() + bar.get_width() / 2, share),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    right.set_ylabel("share of all n x k distances, whole run")
    right.set_ylim(0, 1.05)
    right.legend(fontsize=8, loc="upper right")
    right.tick_params(axis="x", labelsize=8)
    verdict = (
        "labels identical to Lloyd's at every iteration (checked in this run)"
        if agree
        else "LABELS DIFFER from Lloyd's: please report this"
    )
    fig.suptitle(f"Work per iteration, the same data and seed: {verdict}", fontsize=10)
    return _png(fig)


def hamerly_skip(run, X):
    """A point and an iteration where Hamerly's test skips the point, with the bounds as Hamerly
    holds them when they were exact one iteration before: ``(i, point, u, l, half_s)``.
    None when no point qualifies (one iteration, or one cluster)."""
    k = run.cluster_centers_.shape[0]
    if run.n_iter_ < 2 or k < 2:
        return None
    i = 1
    before, now = run.centers[i - 1], run.centers[i]
    d_before = reference.squared_distances(X, before) ** 0.5
    own = run.labels[i - 1]
    rows = np.arange(X.shape[0])
    upper = d_before[rows, own] + run.center_shift[i - 1][own]
    other = d_before.copy()
    other[rows, own] = np.inf
    moves = run.center_shift[i - 1]
    largest_other = np.array([np.max(np.delete(moves, a)) for a in range(k)])
    lower = other.min(axis=1) - largest_other[own]
    gaps = np.sqrt(((now[:, None] - now[None]) ** 2).sum(axis=2))
    np.fill_diagonal(gaps, np.inf)
    half_s = gaps.min(axis=1)[own] / 2
    skipped = (upper < np.maximum(lower, half_s)) & (lower > 0)
    if not skipped.any():
        return None
    by_lower = skipped & (lower > half_s)  # Hamerly's own test, rather than the centers' gap
    if by_lower.any():
        skipped = by_lower
    # A skipped point whose bounds are well apart but not extreme: a readable picture.
    ratio = np.where(skipped, np.maximum(lower, half_s) / np.maximum(upper, 1e-300), np.inf)
    point = int(np.argmin(np.abs(np.log(ratio / 2.0))))
    return i, point, float(upper[point]), float(lower[point]), float(half_s[point])


def bounds_png(run, X, view):
    """The triangle-inequality picture of one skipped point (``hamerly_skip``): on a line of
    distances from the point (any number of features), its true distances to the centers
    against its bounds; with two features, also the circles in the data's plane."""
    found = hamerly_skip(run, X)
    if found is None:
        fig, ax = plt.subplots(figsize=(8, 2))
        ax.text(
            0.5,
            0.5,
            "No point to show: the run converged in one iteration.",
            ha="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return _png(fig)
    i, point, upper, lower, half_s = found
    a = run.labels[i - 1][point]
    centers = run.centers[i]
    colors = _colors(len(centers))
    x = X[point]
    dist = np.sqrt(((centers - x) ** 2).sum(axis=1))
    if view.two_d:
        fig, (plane, line) = plt.subplots(2, 1, figsize=(7.2, 8.0), height_ratios=(3.2, 1.0))
        fig.subplots_adjust(left=0.1, right=0.62, bottom=0.08, top=0.9, hspace=0.35)
        plane.scatter(X[:, 0], X[:, 1], s=4, c="0.8", linewidths=0)
        circles = (
            (x, upper, "tab:red", "-", "u: own center inside"),
            (x, lower, "tab:blue", "--", "l: no other center inside"),
            (centers[a], half_s, "tab:green", ":", "s(a)/2 around its center"),
        )
        for middle, radius, color, style, label in circles:
            plane.add_patch(
                Circle(middle, radius, fill=False, ec=color, lw=2, ls=style, label=label)
            )
        plane.scatter(centers[:, 0], centers[:, 1], s=140, marker="X", c=colors, edgecolors="black")
        plane.scatter([x[0]], [x[1]], s=60, c="black", zorder=6, label=f"point {point}")
        reach = max(upper, lower, 2 * half_s) * 1.6
        plane.set_xlim(x[0] - reach, x[0] + reach)
        plane.set_ylim(x[1] - reach, x[1] + reach)
        plane.set_aspect("equal")
        plane.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        plane.set_xlabel(view.xlabel)
        plane.set_ylabel(view.ylabel)
    else:
        fig, line = plt.subplots(figsize=(8.4, 2.8))
        fig.subplots_adjust(left=0.04, right=0.62, bottom=0.25, top=0.72)
    # The line of distances: where every center really is, against what the bounds promise.
    line.scatter(
        dist, np.zeros_like(dist), s=110, marker="X", c=colors, edgecolors="black", zorder=5
    )
    line.scatter([dist[a]], [0], s=330, facecolors="none", edgecolors="black", zorder=4)
    line.axvline(upper, color="tab:red", lw=2, label="u (own center at most here)")
    line.axvline(lower, color="tab:blue", lw=2, ls="--", label="l (other centers at least here)")
    line.axvline(half_s, color="tab:green", lw=2, ls=":", label="s(a)/2")
    line.set_yticks([])
    line.set_xlim(0, max(dist.max(), upper, lower) * 1.08)
    line.set_xlabel(f"distance from point {point} (all {X.shape[1]} features)")
    line.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.15))
    fig.suptitle(
        f"Hamerly skips point {point} at iteration {i + 1}: u < max(l, s(a)/2),\n"
        f"{upper:.4g} < max({lower:.4g}, {half_s:.4g}): none of its {len(centers)} "
        "distances computed",
        fontsize=10,
    )
    return _png(fig)


def _canonical(labels):
    """The labels renamed by first appearance: equal for equal partitions."""
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))
    return order[np.unique(labels, return_inverse=True)[1]]


def local_minima(X, k, seeds=LOCAL_MINIMA_SEEDS):
    """Final inertias and partitions of ``seeds`` fits with each init: ``{init: (inertias,
    keys, fits)}``, ``keys`` identifying the partitions."""
    results = {}
    for init in ("random", "k-means++"):
        inertias, keys, fits = [], [], []
        for seed in range(seeds):
            fit = KMeans(k, init=init, n_init=1, random_state=seed).fit(X)
            inertias.append(fit.inertia_)
            keys.append(hash(_canonical(fit.labels_).tobytes()))
            fits.append(fit)
        results[init] = (np.array(inertias), keys, fits)
    return results


def local_minima_png(X, k, view, seeds=LOCAL_MINIMA_SEEDS):
    """The final inertias of ``seeds`` seeds per init, and the best and a poor solution."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a degenerate start may leave a cluster empty
        results = local_minima(X, k, seeds)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2), width_ratios=(1.3, 1, 1))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.84, wspace=0.3)
    rng = np.random.default_rng(0)
    all_fits = []
    for column, (inertias, keys, fits) in enumerate(results.values()):
        jitter = rng.uniform(-0.15, 0.15, len(inertias))
        axes[0].scatter(column + jitter, inertias, s=10, alpha=0.6)
        axes[0].annotate(
            f"{len(set(keys))} distinct",
            (column, inertias.max()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
        all_fits += fits
    axes[0].set_xticks([0, 1], list(results))
    axes[0].set_xlim(-0.6, 1.6)
    axes[0].set_ylabel("final inertia (one run each)")
    inertias = np.array([f.inertia_ for f in all_fits])
    best, poor = all_fits[int(np.argmin(inertias))], all_fits[int(np.argmax(inertias))]
    colors = _colors(k)
    for ax, fit, name in ((axes[1], best, "best"), (axes[2], poor, "poorest")):
        points = view.sample(view.points)
        ax.scatter(
            points[:, 0], points[:, 1], s=4, c=colors[view.sample(fit.labels_)], linewidths=0
        )
        centers = view(fit.cluster_centers_)
        ax.scatter(centers[:, 0], centers[:, 1], s=120, marker="X", c="black")
        view.frame(ax)
        ax.set_title(f"{name}: inertia {_num(fit.inertia_)}", fontsize=10)
    n_solutions = len(set(results["random"][1]) | set(results["k-means++"][1]))
    fig.suptitle(f"{seeds} seeds with each init: {n_solutions} distinct solutions", fontsize=10)
    return _png(fig)


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------
def _reference_lines(function, start=None, stop=None):
    """The lines of ``reference.py`` that define ``function`` (from the one containing
    ``start`` to the one containing ``stop``), read from the file now, with their numbers."""
    lines, first = inspect.getsourcelines(function)
    begin, end = 0, len(lines)
    if start is not None:
        begin = next(n for n, line in enumerate(lines) if start in line)
    if stop is not None:
        end = next(n for n, line in enumerate(lines) if stop in line and n >= begin) + 1
    shown = "".join(lines[begin:end])
    label = f"kmeans_core/reference.py, lines {first + begin}-{first + end - 1}"
    return (
        f'<figure class="code"><figcaption>{label}</figcaption><pre>'
        f"{html.escape(shown)}</pre></figure>"
    )


def _embedded(name, payload):
    kind = "image/gif" if name.endswith(".gif") else "image/png"
    data = base64.b64encode(payload).decode("ascii")
    return f'<img src="data:{kind};base64,{data}" alt="{html.escape(name)}">'


PAGE_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1180px; margin: 2em auto; color: #222;
       line-height: 1.5; padding: 0 1em; }
h1 { font-size: 1.7em; } h2 { border-bottom: 1px solid #ddd; margin-top: 2em; }
.step { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.5em;
        align-items: start; }
figure.code { margin: 0; } figure.code pre { background: #f6f6f4; padding: 0.8em;
  font-size: 12px; overflow-x: auto; border-left: 3px solid #bbb; }
figcaption { font-size: 12px; color: #666; }
img { max-width: 100%; } .table { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
.note { color: #555; font-size: 0.95em; }
"""


def learn_page(data, run, images, *, k, algorithm, init, seed, agree):
    """The self-contained learn.html (images embedded, no network)."""
    n, d = data.X.shape
    frame = run.to_frame()
    table = frame.head(12).to_html(index=False, float_format=lambda v: f"{v:,.6g}")
    agree_text = (
        "agreed with Lloyd's at every iteration"
        if agree
        else "did NOT agree with Lloyd's (please report this)"
    )
    stop = (
        "no label changed (strict convergence)"
        if run.strict_convergence
        else "the centers' squared shifts summed to at most tol"
        if run.converged
        else "max_iter was reached"
    )
    e = html.escape
    sections = [
        f"<h1>How K-Means works: {e(data.title)}</h1>",
        f"<p class='note'>{e(data.note)} {n} points, {d} features, k = {k}, "
        f"algorithm = {e(algorithm)}, init = {e(init)}, seed = {seed}. Everything below is "
        "this run of the real engine (<code>kmeans_core.trace</code>), whose result is exactly "
        "<code>KMeans(n_init=1).fit</code>'s; the code beside each step is the textbook "
        "version in <code>kmeans_core/reference.py</code>, read from the file as this page was "
        "made.</p>",
        "<h2>1. The objective</h2><div class='step'><div>"
        "<p>K-Means looks for k centers and puts every point with its nearest one, choosing the "
        "centers that make the <b>inertia</b> smallest: the (weighted) sum of the squared "
        "distances from the points to their centers. For fixed centers the best labels are the "
        "nearest centers; for fixed labels the best centers are the means. Alternating the two "
        f"only lowers the inertia: here from {run.inertia[0]:,.6g} to {run.inertia_:,.6g}.</p>"
        "</div>" + _reference_lines(reference.weighted_inertia) + "</div>",
        "<h2>2. Seeding: k-means++</h2><div class='step'><div>"
        "<p>Each new center is drawn with probability proportional to D(x)², the squared "
        "distance to the nearest center so far; the greedy variant draws 2 + ln k candidates "
        "and keeps the one that lowers the potential (the sum of D²) most.</p>"
        + _embedded("seeding.gif", images["seeding.gif"])
        + "</div>"
        + _reference_lines(reference.kmeans_plusplus, "for c in range", "indices[c] =")
        + "</div>",
        "<h2>3. Assignment and update</h2><div class='step'><div>"
        "<p>Assignment: every point joins its nearest center (the first on an exact tie). "
        "Update: every center moves to the mean of its points. The animation shows both, "
        "the regions of the centers shaded, the centers' paths in black.</p>"
        + _embedded("iterations.gif", images["iterations.gif"])
        + "</div><div>"
        + _reference_lines(reference.assign)
        + _reference_lines(reference.update_centers, "sums = np.zeros", "weight_in_cluster[j] =")
        + "</div></div>",
        "<h2>4. When it stops</h2><div class='step'><div>"
        "<p>It stops when no label changed (strict convergence), or when the sum of the "
        "centers' squared shifts is at most tol times the mean variance of the features "
        f"(here {run.tol:.4g}), or at max_iter. Unless it converged strictly, one last "
        "assignment makes the labels match the final centers. This run stopped after "
        f"{run.n_iter_} iterations because {stop}.</p><div class='table'>"
        + table
        + "</div></div>"
        + _reference_lines(reference.lloyd, "# Stop if no point", "labels = assign(X, centers)")
        + "</div>",
        "<h2>5. Empty clusters</h2><div class='step'><div><p>A cluster that loses every point "
        "would have no mean. It takes the point farthest from its own center (the point keeps "
        "its label until the next assignment), as in scikit-learn.</p></div>"
        + _reference_lines(
            reference.update_centers,
            "empty = np.flatnonzero",
            "weight_in_cluster[old_cluster] -= weight",
        )
        + "</div>",
        "<h2>6. The accelerated algorithms, and why they are exact</h2>"
        "<p>Lloyd computes all n x k distances every iteration. Hamerly, Elkan, Exponion and "
        "Yinyang keep triangle-inequality bounds and skip the distances that cannot change a "
        "label. Every skip test is strict and computed distances are compared exactly as Lloyd "
        f"compares them, so their labels {agree_text} on these data.</p>"
        + _embedded("work.png", images["work.png"])
        + "<div class='step'><div><p>Hamerly keeps, for each point, an upper bound u on the "
        "distance to its own center and a lower bound l on the distance to every other. After "
        "the centers move, u grows by how far its center moved and l shrinks by the largest "
        "move of the others. If u &lt; max(l, s(a)/2) -- s(a) the distance from its center to "
        "the nearest other -- no other center can be nearer, and none of the point's distances "
        "is computed.</p></div>" + _embedded("bounds.png", images["bounds.png"]) + "</div>",
        "<h2>7. Local minima</h2><p>Lloyd's algorithm finds a local minimum near its start. "
        "The same data from many seeds, with random and k-means++ starts:</p>"
        + _embedded("local_minima.png", images["local_minima.png"]),
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>"
        f"How K-Means works: {e(data.title)}</title><style>{PAGE_STYLE}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )


# --------------------------------------------------------------------------------------------
# The docs' figures
# --------------------------------------------------------------------------------------------
def docs_figures(folder):
    """The PNGs of docs/how-kmeans-works.md, from the same data as its code blocks."""
    folder = ensure_output_dir(folder)
    rng = np.random.default_rng(0)
    true_centers = np.array([[0.0, 0.0], [6.0, 1.0], [2.0, 6.0], [8.0, 7.0]])
    X = true_centers[rng.integers(0, 4, 2000)] + rng.normal(scale=1.0, size=(2000, 2))
    run = trace(X, 4, random_state=0)
    view = _View(X, 0)
    rng = np.random.default_rng(5)
    blob_centers = rng.uniform(-10, 10, (10, 2))
    Y = blob_centers[rng.integers(0, 10, 5000)] + rng.normal(scale=0.5, size=(5000, 2))
    runs = {a: trace(Y, 10, algorithm=a, init="random", random_state=3, tol=0) for a in ALGORITHMS}
    agree = all(np.array_equal(t.labels, runs["lloyd"].labels) for t in runs.values())
    figures = {
        "iterations.png": _iterations_panels(run, view),
        "work.png": work_png(runs, len(Y) * 10, agree),
        "bounds.png": bounds_png(runs["hamerly"], Y, _View(Y, 0)),
        "local_minima.png": local_minima_png(Y, 10, _View(Y, 0), LOCAL_MINIMA_SEEDS),
    }
    return {name: write_bytes_atomic(png, folder / name) for name, png in figures.items()}


def _iterations_panels(run, view):
    """The iterations as a row of still panels (the docs' stand-in for iterations.gif)."""
    steps = min(run.n_iter_, 4)
    k = run.cluster_centers_.shape[0]
    colors = _colors(k)
    paths = np.stack([view(c) for c in run.centers])
    fig, axes = plt.subplots(1, steps, figsize=(3.2 * steps, 3.2), squeeze=False)
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.08, top=0.86, wspace=0.15)
    points = view.sample(view.points)
    for i, ax in enumerate(axes[0]):
        ax.scatter(
            points[:, 0], points[:, 1], s=3, c=colors[view.sample(run.labels[i])], linewidths=0
        )
        for j in range(k):
            ax.plot(paths[: i + 2, j, 0], paths[: i + 2, j, 1], "-", color="black", lw=1)
        ax.scatter(
            paths[i + 1, :, 0], paths[i + 1, :, 1], s=80, marker="X", c=colors, edgecolors="black"
        )
        view.frame(ax)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_title(f"iteration {i + 1}: inertia {run.inertia[i]:,.0f}", fontsize=9)
    return _png(fig)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Draw the figures of docs/how-kmeans-works.md.")
    parser.add_argument("--docs-figures", metavar="DIR", required=True)
    for path in docs_figures(parser.parse_args().docs_figures).values():
        print(path)
