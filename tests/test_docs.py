"""The docs cannot rot: every ```python block of every page under docs/ runs, top to bottom, in
one namespace per page, and every image a page shows exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def python_blocks(text):
    """The code of each ```python block of a Markdown page, in order."""
    return [match.group(1) for match in _BLOCK.finditer(text)]


def test_the_walkthrough_is_there():
    assert DOCS / "how-kmeans-works.md" in PAGES


def test_blocks_are_found():
    page = "text\n```python\nx = 1\n```\nmore\n```python\ny = x + 1\n```\n```text\nno\n```\n"
    assert python_blocks(page) == ["x = 1\n", "y = x + 1\n"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_python_block_runs(page, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(page.parent)
    namespace = {"__name__": f"docs.{page.stem}"}
    for number, code in enumerate(python_blocks(page.read_text(encoding="utf-8")), 1):
        try:
            exec(compile(code, f"{page.name} block {number}", "exec"), namespace)
        except Exception as error:  # say which block failed
            raise AssertionError(f"{page.name}, python block {number} fails: {error!r}") from error


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_image_shown_exists(page):
    for target in _IMAGE.findall(page.read_text(encoding="utf-8")):
        if "://" not in target:
            assert (page.parent / target).is_file(), f"{page.name} shows a missing {target}"
