"""The shipped data sets are the ones data/README.md describes: every listed checksum holds."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$")


def _listed_checksums() -> list[tuple[str, str]]:
    text = (DATA / "README.md").read_text(encoding="utf-8")
    return [m.groups() for line in text.splitlines() if (m := _LINE.match(line))]


def test_readme_lists_every_data_file():
    listed = {name for _, name in _listed_checksums()}
    on_disk = {
        str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file() and p.name != "README.md"
    }
    assert listed == on_disk


@pytest.mark.parametrize(("digest", "name"), _listed_checksums(), ids=lambda v: v[:24])
def test_checksum(digest, name):
    assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest
