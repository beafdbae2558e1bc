"""The segments' colours, without importing matplotlib.

They are matplotlib's "tab10" palette (its "tab20" beyond ten segments), which stays
distinguishable for the common forms of colour blindness. The report needs them as hex and the
figures as RGBA; keeping them here lets the report be written by a process that never imports
matplotlib (the figures may be drawn in other processes: :mod:`segmentation.figure_pool`).
"""

from __future__ import annotations

__all__ = ["segment_colors_hex", "segment_colors_rgba"]

TAB10 = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
TAB20 = (
    "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
    "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7",
    "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
)  # fmt: skip


def segment_colors_hex(k: int) -> list[str]:
    """One ``#rrggbb`` colour per segment (tab10, or tab20 beyond ten; repeated beyond 20)."""
    palette = TAB10 if k <= 10 else TAB20
    return [palette[i % len(palette)] for i in range(k)]


def segment_colors_rgba(k: int) -> list[tuple[float, float, float, float]]:
    """The colours of :func:`segment_colors_hex` as RGBA tuples of floats in [0, 1]."""
    return [
        (int(c[1:3], 16) / 255, int(c[3:5], 16) / 255, int(c[5:7], 16) / 255, 1.0)
        for c in segment_colors_hex(k)
    ]
