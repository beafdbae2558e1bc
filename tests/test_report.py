"""The HTML report: self-contained (no network), escaped, and rendered by a real browser."""

from __future__ import annotations

import base64
import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pytest

from segmentation.pipeline import PLOT_FILES, RunConfig, run
from segmentation.synthetic import make_customers

HOSTILE = "<script>alert('x')</script> & \"quotes\""


class _Collector(HTMLParser):
    """Every tag with its attributes, the text, and whether the document parsed cleanly."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A run whose column and category names contain HTML, so escaping is exercised."""
    folder = tmp_path_factory.mktemp("report")
    data = make_customers(150, seed=8)
    data = data.rename(columns={"Tenure (months)": HOSTILE})
    data["Gender"] = data["Gender"].replace({"Male": "<b>Male</b>"})
    path = folder / "customers.csv"
    data.to_csv(path, index=False)
    result = run(RunConfig(input=path, k_range=(2, 4), out=folder / "out"))
    html = (folder / "out" / "report.html").read_text(encoding="utf-8")
    return result, html, folder / "out" / "report.html"


def test_report_parses_and_has_every_section(report):
    result, html, _ = report
    parser = _Collector()
    parser.feed(html)
    parser.close()
    text = " ".join(parser.text)
    for heading in ("The segments", "How many segments", "Data cleaning", "How this was made"):
        assert heading in text
    for name in result.segmentation.profiles.names:
        assert name in text
    assert result.segmentation.choice.reason.split(";")[0] in text
    assert "Seed" in text and str(result.summary["version"]) in text


def test_report_needs_no_network(report):
    _, html, _ = report
    parser = _Collector()
    parser.feed(html)
    for tag, attrs in parser.tags:
        for key in ("src", "href", "action", "data"):
            value = attrs.get(key)
            if value is not None:
                assert not value.lower().startswith(("http:", "https:", "//")), (tag, value)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower().replace("&lt;script", "")
    assert "<link" not in html.lower()


def test_every_plot_is_embedded_as_a_png_data_uri(report):
    _, html, _ = report
    parser = _Collector()
    parser.feed(html)
    sources = [attrs["src"] for tag, attrs in parser.tags if tag == "img"]
    assert len(sources) == len(PLOT_FILES)
    prefix = "data:image/png;base64,"
    for source in sources:
        assert source.startswith(prefix)
        png = base64.b64decode(source[len(prefix) :], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_user_strings_are_escaped(report):
    _, html, _ = report
    assert HOSTILE not in html
    assert "<b>Male</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Male&lt;/b&gt;" in html


def _chromium() -> str:
    """The chromium binary; under CI (``CI`` set) its absence is a failure, not a skip."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return path


def _headless(tmp_path, *arguments: str) -> subprocess.CompletedProcess:
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


# Run when the page has loaded (every image with it): one marker per image with what the
# browser decoded; a broken image has no natural size.
_IMAGE_CHECK = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) {
    const mark = document.createElement("output");
    mark.className = "image-check";
    mark.dataset.complete = img.complete;
    mark.dataset.width = img.naturalWidth;
    mark.dataset.height = img.naturalHeight;
    document.body.appendChild(mark);
  }
  document.body.dataset.imagesChecked = document.images.length;
});
</script>"""


def _png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    return width, height


def test_every_image_loads_in_headless_chromium(report, tmp_path):
    # The report itself holds no script; a copy with one appended asks the browser, once the
    # page has loaded, for each image's decoded size, and --dump-dom prints the answers.
    _, html, _ = report
    checked = tmp_path / "report_checked.html"
    checked.write_text(html.replace("</body>", _IMAGE_CHECK + "</body>"), encoding="utf-8")
    process = _headless(
        tmp_path, "--virtual-time-budget=10000", "--dump-dom", checked.resolve().as_uri()
    )
    dom = process.stdout
    assert f'data-images-checked="{len(PLOT_FILES)}"' in dom, process.stderr[-2000:]
    marks = re.findall(
        r'<output class="image-check" data-complete="(\w+)" data-width="(\d+)" '
        r'data-height="(\d+)">',
        dom,
    )
    parser = _Collector()
    parser.feed(html)
    sources = [attrs["src"] for tag, attrs in parser.tags if tag == "img"]
    pngs = [base64.b64decode(src.split(",", 1)[1]) for src in sources]
    assert len(marks) == len(pngs) == len(PLOT_FILES)
    for (complete, width, height), png in zip(marks, pngs, strict=True):
        # A whole PNG (a browser also shows a truncated one), decoded at its own size.
        assert png.endswith(b"IEND\xaeB`\x82")
        assert complete == "true"
        assert (int(width), int(height)) == _png_size(png)


def test_report_renders_in_headless_chromium(report, tmp_path):
    _, _, path = report
    screenshot = tmp_path / "report.png"
    _headless(
        tmp_path, f"--screenshot={screenshot}", "--window-size=1200,1600", path.resolve().as_uri()
    )
    assert screenshot.is_file() and screenshot.stat().st_size > 0
    pixels = matplotlib.image.imread(screenshot)[..., :3]
    assert pixels.shape[:2] == (1600, 1200)
    # Not blank: text, tables and figures make many pixels differ from the background, and
    # the page is not one flat colour (an error page or an empty render would be).
    background = pixels[0, 0]
    differs = np.any(np.abs(pixels - background) > 0.05, axis=-1)
    assert differs.mean() > 0.05
    assert pixels.std() > 0.05


def test_report_without_plots_is_still_a_page(tmp_path):
    data = make_customers(60, seed=1)
    path = tmp_path / "c.csv"
    data.to_csv(path, index=False)
    run(RunConfig(input=path, k_range=(2, 3), out=tmp_path / "o", plots=False))
    html = (tmp_path / "o" / "report.html").read_text()
    assert "<img" not in html and "The segments" in html
