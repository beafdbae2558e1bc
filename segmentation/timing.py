"""Seconds per named stage of a run, in the order the stages ran."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

__all__ = ["Timer"]


class Timer:
    """Seconds per named stage; a stage entered twice adds up."""

    def __init__(self):
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add({name: time.perf_counter() - start})

    def add(self, timings: Mapping[str, float]) -> None:
        """Add the seconds of other stages (for example a segmentation's own)."""
        for name, seconds in timings.items():
            self.timings[name] = self.timings.get(name, 0.0) + seconds
