"""``drift.html``: one small self-contained page of what ``segment monitor`` measured.

Like the run's report (:mod:`segmentation.report`, whose style it shares): CSS inline, the one
figure as a base64 ``data:`` URI, no script, nothing from the network; every text that comes
from the user's data is escaped. It lays out a :class:`~segmentation.monitor.DriftReport` and
computes nothing.
"""

from __future__ import annotations

from . import __version__
from .monitor import MODERATE_PSI, PSI_EPSILON, SIGNIFICANT_PSI, DriftReport
from .plots import segment_shares
from .report import _CSS, _e, _image

__all__ = ["render_drift_page"]

# Cell colours by reading; a reading that chance explains is shown pale, with a note.
_PAGE_CSS = """
td.no-change { background: #e3f4e6; }
td.moderate { background: #fff1c7; }
td.significant { background: #fbd5d0; font-weight: 600; }
td.chance { opacity: 0.55; }
.verdict-no-change { border-left-color: #2e8540; background: #eef8f0; }
.verdict-moderate-drift { border-left-color: #c98a00; background: #fff8e1; }
.verdict-significant-drift { border-left-color: #c0392b; background: #fdeeec; }
table.migration td.num { min-width: 4em; }
table.migration td.stay { font-weight: 600; background: var(--soft); }
"""


def _css_class(text: str) -> str:
    return text.replace(" ", "-")


def _feature_rows(report: DriftReport) -> str:
    rows = []
    for f in report.features:
        chance = "" if f.beyond_noise or f.reading == "no change" else " chance"
        note = "" if chance == "" else " (within chance)"
        rows.append(
            f"<tr><td>{_e(f.name)}</td><td>{_e(f.kind)}</td>"
            f'<td class="num {_css_class(f.reading)}{chance}">{f.psi:.3f}</td>'
            f'<td class="{_css_class(f.reading)}{chance}">{_e(f.reading)}{note}</td>'
            f'<td class="num">{f.noise_mean:.3f}</td><td class="num">{f.noise_95:.3f}</td>'
            f'<td class="num">{len(f.bins)}</td></tr>'
        )
    s = report.segments
    chance = "" if s.beyond_noise or s.reading == "no change" else " chance"
    rows.append(
        f"<tr><td><em>segment shares</em></td><td>segments</td>"
        f'<td class="num {_css_class(s.reading)}{chance}">{s.psi:.3f}</td>'
        f'<td class="{_css_class(s.reading)}{chance}">{_e(s.reading)}</td>'
        f'<td class="num">{s.noise_mean:.3f}</td><td class="num">{s.noise_95:.3f}</td>'
        f'<td class="num">{len(s.names)}</td></tr>'
    )
    return "".join(rows)


def _share_rows(report: DriftReport) -> str:
    s = report.segments
    return "".join(
        f"<tr><td>{i}</td><td>{_e(name)}</td><td class='num'>{then:.1%}</td>"
        f"<td class='num'>{now:.1%}</td><td class='num'>{count:,}</td></tr>"
        for i, (name, then, now, count) in enumerate(
            zip(s.names, s.shares_then, s.shares_now, s.customers_now, strict=True)
        )
    )


def _migration(report: DriftReport) -> str:
    m = report.migration
    if m is None:
        return (
            "<p>No earlier segmentation was given: give one (an earlier "
            "<code>customers_segmented.csv</code>) to see how customers moved.</p>"
        )
    head = "".join(f'<th class="num">{_e(name)}</th>' for name in m.now)
    body = []
    for i, name in enumerate(m.before):
        cells = "".join(
            f'<td class="num{" stay" if m.same(i, j) else ""}">{m.matrix[i, j]:,}</td>'
            for j in range(len(m.now))
        )
        body.append(f"<tr><th>{_e(name)}</th>{cells}<td class='num'>{m.gone[i]:,}</td></tr>")
    new = "".join(f'<td class="num">{count:,}</td>' for count in m.new)
    body.append(f"<tr><th><em>new</em></th>{new}<td></td></tr>")
    return (
        f"<p>Customers matched by <code>{_e(m.id_column)}</code>: {m.matched:,} in both, "
        f"{m.stayed:,} in the same segment, {m.matched - m.stayed:,} moved; "
        f"{int(m.new.sum()):,} new, {int(m.gone.sum()):,} gone. Rows: the earlier segment; "
        "columns: the segment now.</p>"
        f'<table class="migration"><tr><th>earlier \\ now</th>{head}'
        f'<th class="num"><em>gone</em></th></tr>{"".join(body)}</table>'
    )


def render_drift_page(report: DriftReport, document: dict) -> str:
    """Lay out a drift report as one self-contained HTML page.

    Parameters
    ----------
    report : DriftReport
    document : dict
        What ``drift.json`` holds (where the batch and the model came from).

    Returns
    -------
    str
        The HTML document.
    """
    s = report.segments
    figure = _image(segment_shares(s.names, s.shares_then, s.shares_now), "Segment shares")
    warnings = "".join(f"<li class='warning'>{_e(w)}</li>" for w in report.warnings)
    model = document.get("model", {})
    body = f"""<main>
<h1>Drift of a new batch</h1>
<p class="lead">{report.n_batch:,} customers from {_e(document.get("input", "a table"))}
against the {report.n_train:,} training customers of the model
{_e(model.get("path", ""))} (id {_e(str(model.get("sha256", ""))[:12])}, k={len(s.names)}).</p>
<p class="reason verdict-{_css_class(report.verdict)}">{_e(report.reason)}</p>
<ul class="log">{warnings}</ul>

<h2>Features: population stability index</h2>
<table>
<tr><th>Feature</th><th>Kind</th><th class="num">PSI</th><th>Reading</th>
<th class="num">Expected PSI, no drift</th><th class="num">Chance up to (95%)</th>
<th class="num">Bins</th></tr>
{_feature_rows(report)}
</table>
<p><small class="note">PSI = sum over bins of (share now − share then) × ln(share now / share
then); bins are the training deciles of each numeric feature (ties merged) and the training
categories plus one for unseen ones; an empty bin counts as a share of {PSI_EPSILON:g}. Below
{MODERATE_PSI:g}: no change; {MODERATE_PSI:g} to {SIGNIFICANT_PSI:g}: moderate; above
{SIGNIFICANT_PSI:g}: significant. A batch drawn from the training data itself reads up to the
"chance" column in 95% of draws; a reading within it (pale) does not count towards the
verdict.</small></p>

<h2>Segment shares, then and now</h2>
<figure>{figure}<figcaption>Share of customers per segment in training (pale) and in the new
batch, as the model assigns it.</figcaption></figure>
<table>
<tr><th>#</th><th>Segment</th><th class="num">Training</th><th class="num">New batch</th>
<th class="num">Customers now</th></tr>
{_share_rows(report)}
</table>

<h2>Migration</h2>
{_migration(report)}

<footer>Made by segment monitor (kmeans-segment {_e(__version__)}) on {
        _e(document.get("created", ""))
    }. Everything in this page is inline; it needs no network.</footer>
</main>"""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Drift: {_e(report.verdict)}</title>\n"
        f"<style>{_CSS}{_PAGE_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
