"""The five figures of a run, and the segment shares of ``segment monitor``, drawn with
matplotlib's Agg backend into PNG bytes.

Plots only draw what :mod:`segmentation.select_k`, :mod:`segmentation.profile`,
:mod:`segmentation.monitor` and the pipeline computed (the sweep rows, the PCA coordinates, the
silhouette values, the z-scores, the shares); the one exception is the box plots, whose
quartiles matplotlib computes from the values it is given. Every function returns PNG bytes so
that the caller can write them atomically and the report can embed them.

Colours come from matplotlib's "tab10" palette (tab20 beyond ten segments), which stays
distinguishable for the common forms of colour blindness; the heatmap uses the diverging
"RdBu_r" map centred on zero.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib import cbook
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from .palette import segment_colors_rgba
from .units import measuring_units

__all__ = [
    "DPI",
    "MAX_SCATTER_POINTS",
    "segment_colors",
    "elbow_silhouette",
    "pca_clusters",
    "feature_distributions",
    "silhouette",
    "segment_profiles",
    "segment_shares",
    "segment_stability",
]

DPI = 110
# A scatter of more points than this is a grey blur and slow to draw: a seeded sample is drawn.
MAX_SCATTER_POINTS = 20_000

_STYLE = {
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titley": 1.0,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "font.size": 9.5,
    "figure.facecolor": "white",
}


def segment_colors(k: int) -> list:
    """One colour per segment from a colour-blind-friendly qualitative palette.

    Parameters
    ----------
    k : int

    Returns
    -------
    list of RGBA tuples of length k
    """
    return segment_colors_rgba(k)


def _png(fig: Figure) -> bytes:
    # Every figure is laid out by hand (margins in inches, from the lengths of its labels):
    # tight_layout and bbox_inches="tight" each draw the whole figure once more, which costs
    # more than all the rest on a slow machine. Figures are made with ``Figure`` rather than
    # pyplot: no figure manager to keep and close, and pyplot is not imported at all; savefig
    # draws them with Agg.
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A column name in a script the font lacks is drawn as boxes; not worth a warning.
        warnings.filterwarnings(
            "ignore", message="Glyph .* missing from font", category=UserWarning
        )
        # zlib level 1: a tenth of the drawing time saved for files a tenth larger.
        fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _text_width(text: str, size: float = 9.5) -> float:
    """Approximate width in inches of one line of text (DejaVu Sans averages 0.55 em)."""
    return 0.55 * size / 72 * len(text)


def _layout(fig, *, left, right, bottom, top, wspace=0.0, hspace=0.0, nrows=1, ncols=1):
    """Place a grid of axes with margins and gaps given in inches."""
    width, height = fig.get_size_inches()
    panel_w = (width - left - right - wspace * (ncols - 1)) / ncols
    panel_h = (height - bottom - top - hspace * (nrows - 1)) / nrows
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=wspace / panel_w if ncols > 1 else 0.2,
        hspace=hspace / panel_h if nrows > 1 else 0.2,
    )


def _plain_number(value: float, _position=None) -> str:
    """A short tick label without scientific notation: 0.25, 20, 1,500, 12.5k, 2.5M."""
    magnitude = abs(value)
    if magnitude >= 1e15:
        return f"{value:.3g}"
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.3g}k"
    if value == round(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _label(segment_id: int, names: list[str]) -> str:
    return f"{segment_id}: {names[segment_id]}"


def _segment_labels(names: list[str]) -> tuple[list[str], float]:
    """Each segment's label and the left margin (inches) that fits the longest of them."""
    labels = [_label(i, names) for i in range(len(names))]
    return labels, 0.3 + max(_text_width(label) for label in labels)


def elbow_silhouette(
    rows: list[dict], chosen_k: int, elbow_k: int | None = None, gap: dict | None = None
) -> bytes:
    """Inertia and silhouette against k (and the gap statistic when it was computed), with the
    chosen k (and the elbow) marked.

    Parameters
    ----------
    rows : list of dict
        The sweep rows (``k``, ``inertia``, ``silhouette``...; ``gap``, ``gap_se``).
    chosen_k : int
    elbow_k : int or None
        The Kneedle elbow, marked on the inertia curve when given.
    gap : dict or None
        The gap statistic's summary (``k1``, ``choice``): a third panel draws Gap(k) +- s_k
        from k = 1.

    Returns
    -------
    bytes
        A PNG image.
    """
    ks = np.array([row["k"] for row in rows])
    inertia = np.array([row["inertia"] for row in rows], dtype=float)
    sil = np.array([row["silhouette"] for row in rows], dtype=float)
    panels = 3 if gap is not None else 2
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(5 * panels, 3.9))
        ax_in, ax_sil, *ax_gap = fig.subplots(1, panels)
        _layout(fig, left=0.9, right=0.2, bottom=0.6, top=0.8, wspace=1.0, ncols=panels)
        if ax_gap:
            _gap_panel(ax_gap[0], rows, gap, chosen_k)
        ax_in.yaxis.set_major_formatter(FuncFormatter(_plain_number))
        ax_in.plot(ks, inertia, "o-", color="#1f77b4", lw=2)
        ax_in.set_title("Inertia (within-segment sum of squares)")
        ax_in.set_xlabel("number of segments k")
        ax_in.set_ylabel("inertia (lower is tighter)")
        ax_sil.plot(ks, sil, "o-", color="#2ca02c", lw=2)
        ax_sil.set_title("Silhouette")
        ax_sil.set_xlabel("number of segments k")
        ax_sil.set_ylabel("mean silhouette (higher is clearer)")
        for ax, values in ((ax_in, inertia), (ax_sil, sil)):
            ax.set_xticks(ks)
            ax.axvline(chosen_k, color="#d62728", ls="--", lw=1.5, label=f"chosen k = {chosen_k}")
            at = ks == chosen_k
            if at.any():
                ax.plot(ks[at], values[at], "o", ms=12, mfc="none", mec="#d62728", mew=2)
        if elbow_k is not None and elbow_k != chosen_k and (ks == elbow_k).any():
            ax_in.plot(
                [elbow_k],
                inertia[ks == elbow_k],
                "s",
                ms=10,
                mfc="none",
                mec="#ff7f0e",
                mew=2,
                label=f"elbow (Kneedle) k = {elbow_k}",
            )
        elif elbow_k is not None:
            ax_in.plot([], [], " ", label="the elbow (Kneedle) is the chosen k")
        # An opaque legend box so that the chosen-k line does not run through its text.
        ax_in.legend(loc="upper right", frameon=True, framealpha=0.95, edgecolor="0.85")
        ax_sil.legend(loc="best", frameon=True, framealpha=0.95, edgecolor="0.85")
        fig.suptitle("Choosing the number of segments", fontsize=13, fontweight="bold", y=0.97)
        return _png(fig)


def _gap_panel(ax, rows: list[dict], gap: dict, chosen_k: int) -> None:
    """Gap(k) +- s_k from k = 1, the chosen k and Tibshirani's k marked."""
    ks = np.array([1, *(row["k"] for row in rows)])
    values = np.array([gap["k1"]["gap"], *(row["gap"] for row in rows)], dtype=float)
    errors = np.array([gap["k1"]["gap_se"], *(row["gap_se"] for row in rows)], dtype=float)
    ax.errorbar(ks, values, yerr=errors, fmt="o-", color="#9467bd", lw=2, capsize=3)
    ax.set_xticks(ks)
    ax.set_title("Gap statistic (vs uniform references)")
    ax.set_xlabel("number of segments k")
    ax.set_ylabel("Gap(k) +- s_k (higher: more structure)")
    ax.axvline(chosen_k, color="#d62728", ls="--", lw=1.5, label=f"chosen k = {chosen_k}")
    choice = gap.get("choice")
    if choice is not None and (ks == choice).any():
        ax.plot(
            [choice],
            values[ks == choice],
            "D",
            ms=10,
            mfc="none",
            mec="#ff7f0e",
            mew=2,
            label=f"Tibshirani's rule k = {choice}" + (" (no clusters)" if choice == 1 else ""),
        )
    ax.legend(loc="best", frameon=True, framealpha=0.95, edgecolor="0.85")


def pca_clusters(
    coords: np.ndarray,
    labels: np.ndarray,
    centers: np.ndarray,
    explained_variance_ratio: np.ndarray,
    names: list[str],
    *,
    seed: int | None = 0,
) -> bytes:
    """Customers on the first two principal components, coloured by segment, with centers.

    Parameters
    ----------
    coords : ndarray of shape (n_samples, 2)
        The customers projected on the first two principal components.
    labels : ndarray of shape (n_samples,)
    centers : ndarray of shape (k, 2)
        The segment centers projected the same way.
    explained_variance_ratio : ndarray of shape (2,)
        Share of variance of each component, shown in the axis labels.
    names : list of str of length k
    seed : int or None
        Seeds the sample drawn when there are more than ``MAX_SCATTER_POINTS`` customers.

    Returns
    -------
    bytes
        A PNG image.
    """
    coords = np.asarray(coords, dtype=float)
    labels = np.asarray(labels)
    k = len(names)
    n = coords.shape[0]
    shown = np.arange(n)
    if n > MAX_SCATTER_POINTS:
        shown = np.sort(np.random.default_rng(seed).choice(n, MAX_SCATTER_POINTS, replace=False))
    colors = segment_colors(k)
    size = float(np.clip(3000 / max(len(shown), 1), 3, 30))
    # The legend sits right of the axes: the figure widens for long names, the axes keep
    # their size.
    legend_width = 0.6 + max(_text_width(_label(i, names), 8.5) for i in range(k))
    top = 0.65 if n > MAX_SCATTER_POINTS else 0.45
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(0.85 + 6.2 + 0.2 + legend_width, 6.2 + top))
        ax = fig.add_subplot()
        _layout(fig, left=0.85, right=0.2 + legend_width, bottom=0.6, top=top)
        for segment_id in range(k):
            mask = labels[shown] == segment_id
            ax.scatter(
                coords[shown[mask], 0],
                coords[shown[mask], 1],
                s=size,
                color=colors[segment_id],
                alpha=0.65,
                edgecolors="none",
                label=_label(segment_id, names),
            )
        centers = np.asarray(centers, dtype=float)
        ax.scatter(
            centers[:, 0],
            centers[:, 1],
            s=260,
            marker="X",
            c=[colors[i] for i in range(k)],
            edgecolors="black",
            linewidths=1.5,
            zorder=5,
        )
        for segment_id, (x, y) in enumerate(centers):
            ax.annotate(
                str(segment_id),
                (x, y),
                xytext=(9, 9),
                textcoords="offset points",
                fontsize=11,
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.5", "alpha": 0.85},
                zorder=6,
            )
        ratio = np.asarray(explained_variance_ratio, dtype=float)
        ax.set_xlabel(f"principal component 1 ({ratio[0]:.1%} of variance)")
        ax.set_ylabel(f"principal component 2 ({ratio[1]:.1%} of variance)")
        title = "Segments on the first two principal components"
        if len(shown) < n:
            title += f"\n(a random {len(shown):,} of {n:,} customers)"
        ax.set_title(title)
        handles, texts = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], marker="X", ls="", ms=11, mfc="white", mec="black", mew=1.5))
        texts.append("segment center")
        ax.legend(
            handles,
            texts,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            markerscale=1.0,
            title="segment",
        )
        return _png(fig)


def feature_distributions(
    values: Mapping[str, np.ndarray],
    labels: np.ndarray,
    names: list[str],
    *,
    log_columns: list[str] | tuple = (),
    n_features: int | None = None,
) -> bytes:
    """Box plots of every numeric feature, one box per segment, in original units.

    Parameters
    ----------
    values : mapping of str to array of shape (n_samples,)
        The numeric features in the input's units (gaps filled), by name: a dict of arrays or
        a pandas DataFrame.
    labels : ndarray of shape (n_samples,)
    names : list of str of length k
    log_columns : sequence of str
        Features that were log-transformed for clustering; drawn on a log axis so that their
        heavy tail does not squash the boxes.
    n_features : int or None
        How many features the data has when ``values`` holds only some of them (the title
        then says so).

    Returns
    -------
    bytes
        A PNG image.
    """
    labels = np.asarray(labels)
    k = len(names)
    columns = list(values)
    n_cols = min(3, max(1, len(columns)))
    n_rows = int(np.ceil(len(columns) / n_cols))
    colors = segment_colors(k)
    show_outliers = len(labels) <= 5_000
    width = 0.75 + 3.4 * n_cols + 0.8 * (n_cols - 1) + 0.2
    entry = 0.5 + max(_text_width(_label(i, names), 9) for i in range(k))
    legend_cols = int(max(1, min(k, (width - 0.4) // entry)))
    legend_height = 0.25 * int(np.ceil(k / legend_cols)) + 0.2
    bottom = 0.55 + legend_height + 0.1
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(width, 0.7 + 2.6 * n_rows + 0.8 * (n_rows - 1) + bottom))
        _layout(
            fig,
            left=0.75,
            right=0.2,
            bottom=bottom,
            top=0.7,
            wspace=0.8,
            hspace=0.8,
            nrows=n_rows,
            ncols=n_cols,
        )
        for index, column in enumerate(columns):
            # Only the cells that hold a feature get axes.
            ax = fig.add_subplot(n_rows, n_cols, index + 1)
            data = np.asarray(values[column], dtype=float)
            title = str(column)
            unit = _display_unit(data)
            if unit != 1.0:
                data = data / unit
                title = f"{column} (x {unit:.0e})"
            groups = [data[labels == segment_id] for segment_id in range(k)]
            _box_plots(ax, [g[np.isfinite(g)] for g in groups], colors, show_outliers)
            ax.set_xticks(range(1, k + 1), [str(i) for i in range(k)])
            ax.set_xlabel("segment")
            ax.set_title(title, fontsize=10.5)
            ax.grid(axis="x", visible=False)
            ax.yaxis.set_major_formatter(FuncFormatter(_plain_number))
            if column in log_columns and np.nanmin(data) > 0:
                ax.set_yscale("log")
                # Plain numbers on the major ticks and no minor labels: mathtext "10^x" labels
                # are slow to lay out and harder for a non-technical reader.
                # Few ticks (1-2-5 steps, no minor ticks): every tick is a costly artist.
                ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=8))
                ax.yaxis.set_major_formatter(FuncFormatter(_plain_number))
                ax.yaxis.set_minor_locator(NullLocator())
                ax.set_title(f"{title} (log scale)", fontsize=10.5)
        legend = [Patch(facecolor=colors[i], alpha=0.75, label=_label(i, names)) for i in range(k)]
        fig.legend(
            handles=legend,
            loc="lower center",
            ncol=legend_cols,
            bbox_to_anchor=(0.5, 0.1 / fig.get_size_inches()[1]),
            fontsize=9,
        )
        fig.suptitle(
            "Feature distributions by segment" + _shown_of(len(columns), n_features),
            fontsize=13,
            fontweight="bold",
            y=1 - 0.15 / fig.get_size_inches()[1],
            va="top",
        )
        return _png(fig)


def _display_unit(data: np.ndarray) -> float:
    """1, or for values whose powers leave float64 (``measuring_units``; the quartile
    statistics would overflow or underflow) the power of ten they are drawn in."""
    finite = data[np.isfinite(data)]
    largest = float(np.max(np.abs(finite))) if finite.size else 0.0
    if measuring_units(largest) == 1.0:
        return 1.0
    return 10.0 ** math.floor(math.log10(largest))


def _box_plots(ax, groups: list[np.ndarray], colors: list, show_outliers: bool) -> None:
    """One box per group at x = 1, 2, ... as ``Axes.boxplot`` draws it (box 0.6 wide from the
    quartiles, whiskers to the furthest points within 1.5 IQR, caps, a black median line,
    outliers as small dots), with one collection per kind of line instead of six artists per
    box: a figure of 4 features and 10 segments then draws about 20 artists, not 240. The
    quartiles come from matplotlib (``cbook.boxplot_stats``), as ``boxplot``'s do."""
    boxes, box_colors, whiskers, medians, outliers_x, outliers_y = [], [], [], [], [], []
    for position, (group, color) in enumerate(zip(groups, colors, strict=True), start=1):
        if group.size == 0:
            continue
        stats = cbook.boxplot_stats(group, whis=1.5)[0]
        left, right = position - 0.3, position + 0.3
        q1, q3 = stats["q1"], stats["q3"]
        boxes.append([(left, q1), (right, q1), (right, q3), (left, q3)])
        box_colors.append(color)
        low, high = stats["whislo"], stats["whishi"]
        whiskers += [
            [(position, q1), (position, low)],
            [(position, q3), (position, high)],
            [(position - 0.15, low), (position + 0.15, low)],
            [(position - 0.15, high), (position + 0.15, high)],
        ]
        medians.append([(left, stats["med"]), (right, stats["med"])])
        if show_outliers:
            outliers_x.append(np.full(len(stats["fliers"]), float(position)))
            outliers_y.append(stats["fliers"])
    # zorder 2, as boxplot's artists: above the grid.
    ax.add_collection(
        PolyCollection(
            boxes, facecolors=box_colors, edgecolors="black", linewidths=1.0, alpha=0.75, zorder=2
        )
    )
    ax.add_collection(LineCollection(whiskers, colors="black", linewidths=1.0, zorder=2))
    ax.add_collection(LineCollection(medians, colors="black", linewidths=1.5, zorder=2))
    if outliers_x:
        ax.plot(
            np.concatenate(outliers_x),
            np.concatenate(outliers_y),
            ls="",
            marker=".",
            ms=3,
            mfc="none",
            mec="black",
            alpha=0.5,
        )
    ax.set_xlim(0.5, len(groups) + 0.5)
    ax.autoscale_view(scalex=False)


def silhouette(
    values: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    *,
    mean: float | None = None,
    n_total: int | None = None,
) -> bytes:
    """The classic "knife" plot: every customer's silhouette, sorted within its segment.

    Parameters
    ----------
    values : ndarray of shape (n_shown,)
        Per-customer silhouette values (of all customers, or of a seeded sample).
    labels : ndarray of shape (n_shown,)
        Their segments.
    names : list of str of length k
    mean : float or None
        The mean silhouette to mark with a line (the sweep's value for the chosen k).
    n_total : int or None
        Number of customers in all, when ``values`` is a sample (said in the title).

    Returns
    -------
    bytes
        A PNG image.
    """
    values = np.asarray(values, dtype=float)
    labels = np.asarray(labels)
    k = len(names)
    colors = segment_colors(k)
    gap = max(2, int(0.02 * values.shape[0]))
    left = 0.35 + max(_text_width(_label(i, names)) for i in range(k))
    top = 0.65 if n_total is not None and n_total > values.shape[0] else 0.45
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(left + 6.5 + 0.3, max(4.5, 0.55 * k + 3)))
        ax = fig.add_subplot()
        _layout(fig, left=left, right=0.3, bottom=0.65, top=top)
        lower = gap
        ticks = []
        for segment_id in range(k):
            part = np.sort(values[labels == segment_id])
            upper = lower + part.shape[0]
            ax.fill_betweenx(
                np.arange(lower, upper),
                0,
                part,
                facecolor=colors[segment_id],
                edgecolor=colors[segment_id],
                alpha=0.8,
            )
            ticks.append((lower + upper) / 2)
            lower = upper + gap
        ax.set_yticks(ticks, [_label(i, names) for i in range(k)])
        ax.set_ylim(0, lower)
        if mean is not None and np.isfinite(mean):
            ax.axvline(mean, color="#d62728", ls="--", lw=1.5, label=f"mean silhouette {mean:.3f}")
            ax.legend(loc="lower right")
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_xlim(min(-0.1, float(np.min(values, initial=0)) - 0.05), 1.0)
        ax.set_xlabel(
            "silhouette (1: clearly in its segment, 0: on a border, < 0: closer to another)"
        )
        ax.grid(axis="y", visible=False)
        title = "Silhouette of each customer, by segment"
        if n_total is not None and n_total > values.shape[0]:
            title += f"\n(a random {values.shape[0]:,} of {n_total:,} customers)"
        ax.set_title(title)
        return _png(fig)


def _shown_of(n_shown: int, n_features: int | None) -> str:
    """ " (the 24 most distinctive of 3,000 features)" when a figure shows only some."""
    if n_features is None or n_features <= n_shown:
        return ""
    return f" (the {n_shown} most distinctive of {n_features:,} features)"


def segment_profiles(
    z: np.ndarray, features: Sequence[str], names: list[str], *, n_features: int | None = None
) -> bytes:
    """Heatmap of segment z-scores (segments by features), each cell annotated.

    Parameters
    ----------
    z : ndarray of shape (k, n_columns)
        The values of :attr:`segmentation.profile.Profiles.z`, or of some of its columns.
    features : sequence of str of length n_columns
        The columns' names.
    names : list of str of length k
    n_features : int or None
        How many columns the full z table has when ``z`` holds only some (the title says so).

    Returns
    -------
    bytes
        A PNG image.
    """
    matrix = np.asarray(z, dtype=float)
    k, n_columns = matrix.shape
    finite = matrix[np.isfinite(matrix)]
    limit = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    _, left = _segment_labels(names)
    # x labels are rotated by 30 degrees: their height is half their length, plus the glyphs.
    bottom = 0.4 + 0.5 * max(_text_width(str(c)) for c in features)
    title = "How each segment differs from the average customer" + _shown_of(n_columns, n_features)
    right = 1.5  # colour bar, its ticks and its two-line label
    # Wide enough for the cells, and for the title (drawn from the left edge of the cells).
    plot_w = max(3.0, 0.95 * n_columns, _text_width(title, 12.5) + 0.3 - right)
    plot_h = max(2.0, 0.5 * k)
    with matplotlib.rc_context({**_STYLE, "axes.grid": False}):
        fig = Figure(figsize=(left + plot_w + right, bottom + plot_h + 0.5))
        ax = fig.add_subplot()
        _layout(fig, left=left, right=right, bottom=bottom, top=0.5)
        image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xticks(range(n_columns), [str(c) for c in features], rotation=30, ha="right")
        ax.set_yticks(range(k), [_label(i, names) for i in range(k)])
        for i in range(k):
            for j in range(n_columns):
                value = matrix[i, j]
                if not np.isfinite(value):
                    continue
                ax.text(
                    j,
                    i,
                    f"{value:+.2f}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if abs(value) > 0.6 * limit else "black",
                )
        for spine in ax.spines.values():
            spine.set_visible(False)
        width, height = fig.get_size_inches()
        cax = fig.add_axes(
            ((left + plot_w + 0.15) / width, bottom / height, 0.18 / width, plot_h / height)
        )
        colorbar = fig.colorbar(image, cax=cax)
        colorbar.set_label("z-score of the mean\n(SDs from all customers)")
        ax.set_title(title, loc="left")
        return _png(fig)


def segment_shares(names: list[str], then: list[float], now: list[float]) -> bytes:
    """Each segment's share of the training customers beside its share of a new batch.

    Parameters
    ----------
    names : list of str of length k
    then, now : list of float of length k
        Shares of training and batch customers (:class:`segmentation.monitor.SegmentShift`).

    Returns
    -------
    bytes
        A PNG image.
    """
    k = len(names)
    colors = segment_colors(k)
    labels, left = _segment_labels(names)
    plot_h = max(1.4, 0.42 * k)
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(left + 4.6, plot_h + 1.35))
        ax = fig.add_subplot()
        _layout(fig, left=left, right=0.3, bottom=0.75, top=0.6)
        rows = np.arange(k)
        ax.barh(rows - 0.2, then, height=0.38, color=colors, alpha=0.35, label="training")
        ax.barh(rows + 0.2, now, height=0.38, color=colors, label="new batch")
        for row, share in zip(rows, now, strict=True):
            ax.text(share, row + 0.2, f" {share:.0%}", va="center", fontsize=8)
        ax.set_yticks(rows, labels)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
        ax.set_xlim(0, 1.15 * max(max(then), max(now), 0.01))
        ax.grid(axis="y", visible=False)
        # Below the axes, where it covers no bar.
        fig.legend(
            handles=[
                Patch(facecolor="grey", alpha=0.35, label="training (pale)"),
                Patch(facecolor="grey", label="new batch"),
            ],
            loc="lower center",
            ncols=2,
        )
        ax.set_title("Segment shares: training and new batch", loc="left")
        return _png(fig)


#: The background of each clusterboot reading in the stability plot, from the bottom.
_READING_COLORS = {
    "not to be trusted": "#f4c7c3",
    "doubtful": "#fce8b2",
    "stable": "#d9ead3",
    "highly stable": "#b7e1cd",
}


def segment_stability(
    means: np.ndarray,
    standard_errors: np.ndarray,
    names: list[str],
    *,
    readings: tuple[tuple[float, str], ...],
    n_boot: int,
) -> bytes:
    """One bar per segment: its bootstrap stability, over the bands of clusterboot's reading.

    Parameters
    ----------
    means : ndarray of shape (k,)
        Mean Jaccard similarity of each segment (:attr:`segmentation.stability.Stability.mean`).
    standard_errors : ndarray of shape (k,)
        Their standard errors (drawn as +- 2).
    names : list of str of length k
    readings : tuple of (float, str)
        The thresholds and their words, from the top (``segmentation.stability.READINGS``).
    n_boot : int
        Bootstrap replicates (said in the title).

    Returns
    -------
    bytes
        A PNG image.
    """
    k = len(names)
    colors = segment_colors(k)
    labels, left = _segment_labels(names)
    plot_h = max(1.4, 0.45 * k)
    edges = [threshold for threshold, _ in readings[:-1]]  # 0.85, 0.75, 0.6
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(left + 6.6, plot_h + 1.5))
        ax = fig.add_subplot()
        _layout(fig, left=left, right=0.3, bottom=0.55, top=0.75)
        bounds = [1.0, *edges, 0.0]
        for (_, word), high, low in zip(readings, bounds[:-1], bounds[1:], strict=True):
            ax.axvspan(low, high, color=_READING_COLORS[word], zorder=0, lw=0)
            ax.text(
                (low + high) / 2, -0.7, word, ha="center", va="bottom", fontsize=8, color="0.25"
            )
        rows = np.arange(k)
        errors = np.where(np.isfinite(standard_errors), 2 * standard_errors, 0.0)
        ax.barh(rows, means, height=0.6, color=colors, edgecolor="black", lw=0.6, zorder=2)
        ax.errorbar(means, rows, xerr=errors, fmt="none", ecolor="black", capsize=3, zorder=3)
        for row, value, error in zip(rows, means, errors, strict=True):
            ax.text(value + error + 0.012, row, f"{value:.2f}", va="center", fontsize=9)
        for edge in edges:
            ax.axvline(edge, color="0.35", ls="--", lw=0.9, zorder=1)
        ax.set_yticks(rows, labels)
        ax.set_ylim(k - 0.4, -0.85)
        ax.set_xlim(0, 1.09)
        ax.set_xticks([0, 0.2, 0.4, 0.6, 0.75, 0.85, 1.0])
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("mean Jaccard similarity to its best match in a bootstrap re-clustering")
        ax.set_title(
            "Is each segment found again? Bootstrap stability\n"
            f"{n_boot} re-clusterings of resampled customers; lines: +-2 standard errors",
            loc="left",
        )
        return _png(fig)
