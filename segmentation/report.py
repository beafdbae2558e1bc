"""One self-contained HTML page that explains a run to a person.

The page holds everything inline: CSS in a ``<style>`` element and the figures as base64
``data:`` URIs, with no script and no reference to the network, so it can be mailed, archived
or opened offline. It only lays out what the segmentation computed (a
:class:`~segmentation.result.Segmentation` and its PNG figures); every piece of text that comes
from the user's data (column names, values, file names) is escaped.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from . import __version__
from .palette import segment_colors_hex
from .result import Segmentation

__all__ = ["render_report", "MAX_TABLE_FEATURES"]

#: Feature means shown in the segment table (the most distinctive ones); all are in the JSON.
MAX_TABLE_FEATURES = 6

_CSS = """
:root { --ink: #1d2433; --muted: #5b6475; --line: #dde1e8; --accent: #1f5fa8; --soft: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
       sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 32px 60px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 2px solid
     var(--line); }
h3 { font-size: 16px; margin: 22px 0 6px; }
p.lead { color: var(--muted); margin: 0 0 18px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0; }
.card { flex: 1 1 180px; background: var(--soft); border: 1px solid var(--line);
        border-radius: 8px; padding: 12px 16px; }
.card .value { font-size: 24px; font-weight: 700; color: var(--accent); }
.card .label { color: var(--muted); font-size: 13px; }
.reason { background: #eef4fb; border-left: 4px solid var(--accent); padding: 10px 14px;
          border-radius: 4px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: 14px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
tr.chosen td { background: #fff4d6; font-weight: 600; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px;
          margin-right: 6px; vertical-align: -1px; }
figure { margin: 18px 0 26px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
ul.log li { margin: 2px 0; }
ul.log li.warning { color: #9a3b00; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; word-break: break-word; }
small.note { color: var(--muted); }
.warnings { background: #fff4e5; border-left: 4px solid #c26100; padding: 10px 14px;
            border-radius: 4px; margin: 18px 0; }
.warnings p { margin: 4px 0; }
td.nowrap { white-space: nowrap; }
.reading { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 12px; }
.reading.highly-stable { background: #b7e1cd; }
.reading.stable { background: #d9ead3; }
.reading.doubtful { background: #fce8b2; }
.reading.not-to-be-trusted { background: #f4c7c3; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _number(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    value = float(value)
    if abs(value) >= 1e15:  # beyond what digit groups can show readably
        return f"{value:.3g}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:,.{digits}f}"


def _image(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{_e(alt)}">'


def _distinctive_features(seg: Segmentation, limit: int) -> list[str]:
    """Numeric features by mean |z| over segments, most distinctive first, at most ``limit``."""
    features = list(seg.profiles.overall["features"])
    segments = seg.profiles.segments

    def spread(name: str) -> float:
        values = [
            abs(s["profile"]["features"][name]["z"])
            for s in segments
            if s["profile"]["features"][name]["z"] is not None
            and math.isfinite(s["profile"]["features"][name]["z"])
        ]
        return sum(values) / len(values) if values else 0.0

    ranked = sorted(features, key=spread, reverse=True)[:limit]
    return [name for name in features if name in ranked]


def _segment_table(seg: Segmentation) -> str:
    segments = seg.profiles.segments
    features = _distinctive_features(seg, MAX_TABLE_FEATURES)
    overall = seg.profiles.overall["features"]
    colors = segment_colors_hex(max(1, len(segments)))
    head = "".join(f'<th class="num">{_e(name)}<br><small>mean</small></th>' for name in features)
    rows = [
        '<table><thead><tr><th>#</th><th>Segment</th><th class="num">Customers</th>'
        f'<th class="num">Share</th>{_stability_head(seg)}{head}</tr></thead><tbody>'
    ]
    for segment in segments:
        cells = []
        for name in features:
            stats = segment["profile"]["features"][name]
            z = stats.get("z")
            hint = f"z = {z:+.2f}" if z is not None and math.isfinite(z) else ""
            cells.append(f'<td class="num" title="{_e(hint)}">{_e(_number(stats["mean"]))}</td>')
        rows.append(
            f"<tr><td>{segment['id']}</td>"
            f'<td><span class="swatch" style="background:{colors[segment["id"]]}"></span>'
            f"{_e(segment['name'])}</td>"
            f'<td class="num">{segment["size"]:,}</td>'
            f'<td class="num">{segment["share"]:.1%}</td>{_stability_cell(seg, segment["id"])}'
            f"{''.join(cells)}</tr>"
        )
    all_cells = "".join(
        f'<td class="num">{_e(_number(overall[name]["mean"]))}</td>' for name in features
    )
    rows.append(
        f'<tr><td></td><td><em>All customers</em></td><td class="num">{seg.n_customers:,}</td>'
        f'<td class="num">100%</td>{"<td></td>" if seg.stability is not None else ""}'
        f"{all_cells}</tr>"
    )
    rows.append("</tbody></table>")
    hidden = len(overall) - len(features)
    if hidden > 0:
        rows.append(
            f'<small class="note">The {len(features)} most distinctive of {len(overall)} '
            "features are shown; cluster_summary.json holds them all, with medians and "
            "z-scores.</small>"
        )
    return "\n".join(rows)


def _stability_head(seg: Segmentation) -> str:
    if seg.stability is None:
        return ""
    return '<th class="num">Stability<br><small>bootstrap</small></th>'


def _stability_cell(seg: Segmentation, segment_id: int) -> str:
    """The segment's mean bootstrap Jaccard and clusterboot's reading of it."""
    if seg.stability is None:
        return ""
    value = seg.stability.mean[segment_id]
    label = seg.stability.labels[segment_id]
    se = seg.stability.standard_error[segment_id]
    return (
        f'<td class="num nowrap" title="standard error {se:.3f}">{value:.2f} '
        f'<span class="reading {label.replace(" ", "-")}">{_e(label)}</span></td>'
    )


def _warnings(seg: Segmentation) -> str:
    """The run's warnings, first thing on the page: no structure, unstable segments."""
    if not seg.warnings:
        return ""
    sentences = "".join(f"<p>{_e(sentence)}</p>" for sentence in seg.warnings)
    return f'<div class="warnings"><strong>Read this first.</strong>{sentences}</div>'


def _stability_section(seg: Segmentation, images: dict, captions: dict) -> str:
    """Are the segments real? How the stability was measured, and its figure."""
    if seg.stability is None:
        return ""
    return f"""<h2>Are the segments stable?</h2>
<p>Each segment's stability is the {_e(seg.stability.description)}. Hennig's clusterboot reads
it as: 0.85 or more highly stable; 0.75 or more stable; 0.6 to 0.75 doubtful, a pattern in the
data whose members are uncertain; below 0.6 not to be trusted.</p>
{_figure(images, captions, "segment_stability.png")}"""


def _categorical_tables(seg: Segmentation) -> str:
    segments = seg.profiles.segments
    overall = seg.profiles.overall.get("categoricals", {})
    parts = []
    for column, shares in overall.items():
        values = list(shares)[:8]
        head = "".join(f'<th class="num">{_e(v)}</th>' for v in values)
        rows = [f"<h3>Share of each {_e(column)} value</h3>"]
        rows.append(f"<table><thead><tr><th>Segment</th>{head}</tr></thead><tbody>")
        for segment in segments:
            seg_shares = segment["profile"]["categoricals"].get(column, {})
            cells = "".join(f'<td class="num">{seg_shares.get(v, 0.0):.0%}</td>' for v in values)
            rows.append(f"<tr><td>{segment['id']}: {_e(segment['name'])}</td>{cells}</tr>")
        cells = "".join(f'<td class="num">{shares[v]:.0%}</td>' for v in values)
        rows.append(f"<tr><td><em>All customers</em></td>{cells}</tr></tbody></table>")
        parts.append("\n".join(rows))
    return "\n".join(parts)


def _sweep_table(seg: Segmentation) -> str:
    # K-Prototypes: its cost (squared numeric distances plus gamma per differing category)
    inertia = "Cost" if seg.model.method == "kprototypes" else "Inertia"
    gap = seg.choice.gap
    rows = [
        f'<table><thead><tr><th class="num">k</th><th class="num">{inertia}</th>'
        '<th class="num">Silhouette &uarr;</th><th class="num">Calinski-Harabasz &uarr;</th>'
        '<th class="num">Davies-Bouldin &darr;</th>'
        f"{'<th class=num>Gap &plusmn; s</th>' if gap is not None else ''}<th></th></tr></thead>"
        "<tbody>"
    ]
    for row in seg.choice.sweep:
        notes = []
        if row["k"] == seg.k:
            notes.append("chosen")
        if row["k"] == seg.choice.elbow:
            notes.append("elbow")
        if gap is not None and row["k"] == gap["choice"]:
            notes.append("gap")
        css = ' class="chosen"' if row["k"] == seg.k else ""
        rows.append(
            f'<tr{css}><td class="num">{row["k"]}</td>'
            f'<td class="num">{_e(_number(row["inertia"]))}</td>'
            f'<td class="num">{_e(_number(row["silhouette"], 3))}</td>'
            f'<td class="num">{_e(_number(row["calinski_harabasz"], 1))}</td>'
            f'<td class="num">{_e(_number(row["davies_bouldin"], 3))}</td>'
            f"{_gap_cell(row) if gap is not None else ''}"
            f"<td>{_e(', '.join(notes))}</td></tr>"
        )
    rows.append("</tbody></table>")
    if gap is not None:
        rows.append(_gap_note(gap))
    return "\n".join(rows)


def _gap_cell(row: dict) -> str:
    return f'<td class="num">{row["gap"]:.3f} &plusmn; {row["gap_se"]:.3f}</td>'


def _gap_note(gap: dict) -> str:
    """How the gap statistic was computed, and its value at k = 1 (not in the sweep)."""
    one = "; it prefers a single segment: no clusters" if gap["choice"] == 1 else ""
    return (
        f'<small class="note">Gap statistic (Tibshirani, Walther &amp; Hastie 2001) on '
        f"{_e(gap['rows'])}, against {gap['n_references']} reference data sets drawn "
        f"{_e(gap['reference'])}; at k=1 it is {gap['k1']['gap']:.3f} &plusmn; "
        f"{gap['k1']['gap_se']:.3f}{one}.</small>"
    )


def _rules_section(seg: Segmentation) -> str:
    """Every segment's rule from IMM's threshold tree, with its precision and coverage."""
    rules = seg.rules
    if rules is None:
        return ""
    colors = segment_colors_hex(max(1, seg.k))
    rows = [
        "<h3>One rule per segment</h3>",
        f"<p>A threshold tree with one leaf per segment (IMM, Dasgupta et al. 2020) gives "
        f"each segment a rule in the data's own units; {rules.accuracy:.1%} of the customers "
        "match their own segment's rule. <em>Precision</em>: the share of the customers "
        "matching a rule who are in its segment; <em>coverage</em>: the share of the segment "
        "that matches its rule.</p>",
        '<table><thead><tr><th>#</th><th>Segment</th><th>Rule</th><th class="num">Matching'
        '</th><th class="num">Precision</th><th class="num">Coverage</th></tr></thead><tbody>',
    ]
    for number, name in enumerate(seg.names):
        rule = rules.rules[number]
        rows.append(
            f"<tr><td>{number}</td>"
            f'<td><span class="swatch" style="background:{colors[number]}"></span>{_e(name)}</td>'
            f"<td>{_e(rule) if rule is not None else '<em>no rule</em>'}</td>"
            f'<td class="num">{rules.matching[number]:,}</td>'
            f'<td class="num">{_percent(rules.precision[number])}</td>'
            f'<td class="num">{_percent(rules.coverage[number])}</td></tr>'
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _percent(value) -> str:
    return "–" if value is None else f"{value:.0%}"


def _rfm_section(seg: Segmentation) -> str:
    """RFM names by k-means segment, the map's ranges and how the scores are made."""
    if seg.rfm is None:
        return ""
    crosstab = seg.rfm["crosstab"]
    colors = segment_colors_hex(max(1, len(crosstab["rows"])))
    head = "".join(
        f'<th class="num"><span class="swatch" style="background:{colors[row["id"]]}"></span>'
        f"{row['id']}: {_e(row['name'])}</th>"
        for row in crosstab["rows"]
    )
    ranges = {row["name"]: row for row in seg.rfm["segment_map"]}
    rows = [
        "<h2>RFM segments</h2>",
        f"<p>{_e(seg.rfm['scores'])} Each cell counts the customers of a k-means segment "
        "(column) who carry an RFM name (row); customers_segmented.csv holds every "
        "customer's R_score, F_score, M_score and RFM_segment.</p>",
        '<table><thead><tr><th>RFM segment</th><th class="num">R</th><th class="num">F</th>'
        f'<th class="num">M</th>{head}<th class="num">All</th></tr></thead><tbody>',
    ]
    for column in crosstab["columns"]:
        bounds = ranges.get(column)
        spans = (
            [
                f"{bounds[s][0]}–{bounds[s][1]}"
                if bounds[s][0] != bounds[s][1]
                else str(bounds[s][0])
                for s in "RFM"
            ]
            if bounds
            else ["", "", ""]
        )
        cells = "".join(
            f'<td class="num">{row["counts"][column]:,}</td>' for row in crosstab["rows"]
        )
        rows.append(
            f'<tr><td class="nowrap">{_e(column)}</td>'
            + "".join(f'<td class="num nowrap">{_e(span)}</td>' for span in spans)
            + f'{cells}<td class="num">{crosstab["totals"][column]:,}</td></tr>'
        )
    totals = "".join(f'<td class="num">{row["total"]:,}</td>' for row in crosstab["rows"])
    rows.append(
        f"<tr><td><em>All customers</em></td><td></td><td></td><td></td>{totals}"
        f'<td class="num">{seg.n_customers:,}</td></tr></tbody></table>'
    )
    rows.append(
        '<small class="note">R, F and M: the score ranges of each name, tested top to bottom; '
        'the first that holds a customer\'s three scores names it. "Lost" has the very ranges '
        'of "Hibernating" in the rfm vignette, so it stays empty.</small>'
    )
    rows.append(_score_ranges_table(seg.rfm["score_ranges"]))
    return "\n".join(rows)


def _whole_or(value: float) -> str:
    """Days and invoices as whole numbers, money as :func:`_number` writes it."""
    return f"{int(value):,}" if float(value).is_integer() else _number(value)


def _score_ranges_table(ranges: dict) -> str:
    """What each score stands for: the range of days, invoices and money of its customers."""
    columns = (("R_score", "Recency (days)"), ("F_score", "Frequency (invoices)"))
    columns += (("M_score", "Monetary"),)
    head = "".join(f'<th class="num">{_e(label)}</th>' for _, label in columns)
    rows = [
        "<h3>What the scores stand for</h3>",
        f'<table><thead><tr><th class="num">Score</th>{head}</tr></thead><tbody>',
    ]
    for score in ("5", "4", "3", "2", "1"):
        cells = []
        for column, _ in columns:
            low, high = ranges[column].get(score, (None, None))
            span = "–" if low is None else f"{_whole_or(low)} – {_whole_or(high)}"
            cells.append(f'<td class="num nowrap">{_e(span)}</td>')
        rows.append(f'<tr><td class="num">{score}</td>{"".join(cells)}</tr>')
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _figure(images: dict, captions: dict, name: str) -> str:
    if name not in images:
        return ""
    caption = captions.get(name, name)
    return (
        f"<figure>{_image(images[name], caption)}"
        f"<figcaption>{_e(caption)} ({_e('plots/' + name)}).</figcaption></figure>"
    )


def _cards(seg: Segmentation) -> str:
    chosen = next((row for row in seg.choice.sweep if row["k"] == seg.k), {})
    cards = [
        (str(seg.k), "segments"),
        (f"{seg.n_customers:,}", "customers"),
        (_number(chosen.get("silhouette"), 3), "mean silhouette at the chosen k"),
    ]
    if seg.profiles.segments:
        largest = max(seg.profiles.segments, key=lambda s: s["size"])
        cards.append((f"{largest['share']:.0%}", f"in the largest: {largest['name']}"))
    return "".join(
        f'<div class="card"><div class="value">{_e(v)}</div><div class="label">{_e(label)}</div>'
        "</div>"
        for v, label in cards
    )


def _log(seg: Segmentation) -> str:
    items = []
    for line in seg.log:
        css = ' class="warning"' if str(line).lower().startswith("warning") else ""
        items.append(f"<li{css}>{_e(line)}</li>")
    return "".join(items)


_METHOD_WORDS = {
    "kmeans": "k-means",
    "kprototypes": "K-Prototypes (numeric means and categorical modes)",
}


def _how_it_was_made(seg: Segmentation) -> str:
    params = seg.parameters
    rows = [
        ("Input", seg.source),
        ("Customers", f"{seg.n_customers:,}"),
        ("Created (UTC)", seg.created),
        ("Package version", f"kmeans-segment {__version__}"),
        ("Seed", seg.config.seed),
        ("k", params.get("k")),
        ("k range tried", "–".join(str(v) for v in params.get("k_range", []))),
        ("Method", _METHOD_WORDS[seg.model.method]),
        (
            "Restarts per k (k-means++)"
            if seg.model.method == "kmeans"
            else "Runs per k (K-Prototypes, Cao)",
            seg.choice.n_init,
        ),
        *(
            [("Gamma (weight of a differing category)", f"{seg.model.gamma:.4g}")]
            if seg.model.method == "kprototypes"
            else []
        ),
        ("Rule for k", seg.choice.k_rule),
        ("Silhouette", seg.silhouette.description),
        (
            "Stability",
            seg.stability.description if seg.stability is not None else "not measured",
        ),
        ("Scaler", params.get("scaler")),
        ("Log transform", params.get("log_transform")),
        ("Features used", ", ".join(seg.preprocessor.feature_names_out_)),
        ("Identifier columns", ", ".join(seg.roles.id_columns) or "none"),
    ]
    return "".join(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in rows)


def render_report(
    seg: Segmentation,
    images: dict[str, bytes],
    *,
    captions: dict[str, str] | None = None,
    outputs: dict[str, Path] | None = None,
) -> str:
    """Lay out a segmentation as one self-contained HTML page.

    Parameters
    ----------
    seg : Segmentation
    images : dict of str to bytes
        PNG figures by file name (``elbow_silhouette.png``...); missing ones are left out.
    captions : dict of str to str, optional
        A caption per figure file name.
    outputs : dict of str to pathlib.Path, optional
        The files written with it, listed at the end.

    Returns
    -------
    str
        The HTML document.
    """
    k = seg.k
    captions = captions or {}
    output_items = "".join(f"<li>{_e(path)}</li>" for path in (outputs or {}).values())
    body = f"""<main>
<h1>Customer segments</h1>
<p class="lead">{_e(seg.n_customers)} customers from {_e(seg.source)},
grouped into {_e(k)} segments by {_e(_METHOD_WORDS[seg.model.method])}.</p>
<div class="cards">{_cards(seg)}</div>
{_warnings(seg)}

<h2>The segments</h2>
{_segment_table(seg)}
{_rules_section(seg)}
{_figure(images, captions, "segment_profiles.png")}
{_categorical_tables(seg)}
{_rfm_section(seg)}
{_stability_section(seg, images, captions)}

<h2>How many segments, and why {_e(k)}</h2>
<p class="reason">{_e(seg.choice.reason)}</p>
<p><strong>Rule:</strong> {_e(seg.choice.rule)}.</p>
{_sweep_table(seg)}
{_figure(images, captions, "elbow_silhouette.png")}

<h2>Pictures of the segments</h2>
{_figure(images, captions, "pca_clusters.png")}
{_figure(images, captions, "feature_distributions.png")}
{_figure(images, captions, "silhouette.png")}

<h2>Data cleaning</h2>
<ul class="log">{_log(seg)}</ul>

<h2>How this was made</h2>
<dl class="meta">{_how_it_was_made(seg)}</dl>
<h3>Files written</h3>
<ul>{output_items}</ul>
<footer>Made by segment (kmeans-segment {_e(__version__)}). Everything in this page is
inline; it needs no network.</footer>
</main>"""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Customer segments: {_e(k)} segments of {_e(seg.source)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
