"""The run's figures drawn by worker processes, so that importing matplotlib and drawing
overlap with the clustering and with each other.

A run calls :func:`start` when it begins: two workers (none on a single-core machine) import
matplotlib and draw a first throwaway figure while the run reads and clusters. Once
the run has its segments, :func:`submit` hands each figure's inputs (NumPy arrays, lists,
dicts) to an idle worker, two figures at a time, while the run writes its other files; the PNG
bytes are collected when the report needs them.

Drawing is deterministic, so a figure drawn by a worker is byte for byte the figure this
process would draw; whenever a worker cannot be used (none started, one died or failed, the
inputs are too large to be worth sending) the figure is drawn here, by the same function.

The workers are started once per process and reused by later runs in it. Each reads its jobs
from its stdin and exits when that pipe closes, which happens when this process exits or is
killed: no worker outlives the run's process. The messages are JSON followed by the raw bytes
of their arrays, so reading one runs no code. ``SEGMENT_FIGURE_WORKERS=0`` draws every figure
in this process.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FigureJob", "Drawing", "start", "submit", "draw", "close", "worker_count"]

#: Figures whose inputs hold more bytes than this are drawn in this process: sending them would
#: cost more than it saves (box plots of millions of customers take all their values).
MAX_SENT_BYTES = 64 * 2**20

_HEADER = struct.Struct("<Q")


@dataclass(frozen=True)
class FigureJob:
    """One figure to draw: ``segmentation.plots.<function>(*args, **kwargs)`` -> PNG bytes."""

    function: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def draw_here(self) -> bytes:
        from . import plots  # matplotlib, only when a figure is drawn in this process

        return getattr(plots, self.function)(*self.args, **self.kwargs)

    def size(self) -> int:
        """Bytes of the NumPy arrays among the inputs (the bulk of a message)."""
        return sum(_array_bytes(value) for value in (*self.args, *self.kwargs.values()))


def _array_bytes(value) -> int:
    if hasattr(value, "nbytes"):  # a NumPy array (numpy is not imported here: see start)
        return int(value.nbytes)
    if isinstance(value, Mapping):
        return sum(_array_bytes(item) for item in value.values())
    if isinstance(value, list | tuple):
        return sum(_array_bytes(item) for item in value)
    return 0


def worker_count() -> int:
    """How many workers a run starts: ``SEGMENT_FIGURE_WORKERS``, else 2 (0 on one core)."""
    setting = os.environ.get("SEGMENT_FIGURE_WORKERS", "").strip()
    if setting.isdigit():
        return int(setting)
    return 2 if (os.cpu_count() or 1) >= 2 else 0


# --------------------------------------------------------------------------- this side


# A message is JSON (the structure: lists, tuples, dicts, numbers, strings) followed by the raw
# bytes of its arrays and byte strings: nothing in it can run code when it is read, and a
# float goes through JSON as its shortest exact repr, so a figure gets the very same numbers.


def _encode(value, blobs: list) -> object:
    """``value`` as JSON-ready data; the bytes of its arrays and byte strings go to ``blobs``."""
    if isinstance(value, bytes):
        blobs.append(value)
        return {"bytes": len(value)}
    if hasattr(value, "dtype") and hasattr(value, "shape"):  # a NumPy array or scalar
        if value.shape == ():
            return value.item()
        if value.dtype.hasobject:
            raise TypeError("arrays of Python objects are not sent")
        blobs.append(value.tobytes())
        return {"array": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, dict):
        return {"dict": [[_encode(k, blobs), _encode(v, blobs)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, blobs) for item in value]}
    if isinstance(value, list):
        return [_encode(item, blobs) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"a {type(value).__name__} is not sent")


def _decode(value, blobs: Iterator[bytes]):
    """The value :func:`_encode` described, its bytes taken from ``blobs`` in order."""
    if isinstance(value, list):
        return [_decode(item, blobs) for item in value]
    if not isinstance(value, dict):
        return value
    if "bytes" in value:
        return next(blobs)
    if "array" in value:
        import numpy as np  # only where arrays arrive: in a worker

        array = np.frombuffer(next(blobs), dtype=np.dtype(value["array"]))
        return array.reshape(value["shape"]).copy()  # writable, as the caller's was
    if "tuple" in value:
        return tuple(_decode(item, blobs) for item in value["tuple"])
    decoded = {}
    for key, item in value["dict"]:
        key = _decode(key, blobs)
        decoded[key] = _decode(item, blobs)
    return decoded


def _pack(message) -> list[bytes]:
    """The pieces of one message: its length, its JSON, its blobs (TypeError: not sendable)."""
    blobs: list[bytes] = []
    head = json.dumps({"value": _encode(message, blobs), "blobs": [len(b) for b in blobs]})
    data = head.encode("utf-8")
    return [_HEADER.pack(len(data)), data, *blobs]


def _send(stream, pieces: list[bytes]) -> None:
    for piece in pieces:
        stream.write(piece)
    stream.flush()


def _receive(stream):
    """The next message, or None at the end of the stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        return None
    head = json.loads(data)
    blobs = []
    for size in head["blobs"]:
        blob = stream.read(size)
        if len(blob) < size:
            return None
        blobs.append(blob)
    return _decode(head["value"], iter(blobs))


class _Worker:
    def __init__(self) -> None:
        # The child imports this very package, whatever sys.path it would find by itself.
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "segmentation.figure_pool"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def draw(self, job: FigureJob) -> bytes | None:
        """The figure's PNG bytes, or None if this worker could not draw it."""
        try:
            request = _pack((job.function, job.args, job.kwargs))
        except TypeError:  # inputs that JSON and arrays cannot carry: drawn here
            return None
        try:
            with self.lock:  # one request and its reply at a time, whoever asks
                _send(self.process.stdin, request)
                reply = _receive(self.process.stdout)
        except (OSError, ValueError, KeyError, StopIteration):
            reply = None
        if reply is None:  # the worker is gone
            self.stop()
            return None
        kind, payload = reply
        return payload if kind == "png" else None

    def stop(self, wait: bool = True) -> None:
        """Close its pipes, which ends it; ``wait``: also until it has exited."""
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if not wait:
            return
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_workers: list[_Worker] = []
_lock = threading.Lock()


def start(n_workers: int | None = None) -> None:
    """Start the workers (up to ``n_workers``, default :func:`worker_count`) unless running.

    Cheap, and callable before anything heavy is imported (this module imports no NumPy): the
    command line calls it first, so the workers' imports overlap its own."""
    wanted = worker_count() if n_workers is None else n_workers
    with _lock:
        _workers[:] = [worker for worker in _workers if worker.alive()]
        while len(_workers) < wanted:
            try:
                _workers.append(_Worker())
            except OSError:  # no new process allowed here: draw in this process
                return


def close(wait: bool = True) -> None:
    """Stop every worker (for a test, or at exit); ``wait``: until each has exited."""
    with _lock:
        for worker in _workers:
            worker.stop(wait)
        _workers.clear()


# At exit the pipes are closed and the workers end by themselves: a command does not wait for
# their interpreters to shut down (a tenth of a second or more).
atexit.register(close, wait=False)


class Drawing:
    """Figures being drawn by the workers while this process goes on (:func:`submit`)."""

    def __init__(self, jobs: Mapping[str, FigureJob]) -> None:
        self.jobs = dict(jobs)
        with _lock:
            workers = [worker for worker in _workers if worker.alive()]
        self._pending: queue.SimpleQueue = queue.SimpleQueue()
        self._here: list[str] = []
        self._images: dict[str, bytes] = {}
        for name, job in self.jobs.items():
            if workers and job.size() <= MAX_SENT_BYTES:
                self._pending.put(name)
            else:
                self._here.append(name)
        self._threads = [
            threading.Thread(target=self._serve, args=(worker,), daemon=True) for worker in workers
        ]
        for thread in self._threads:
            thread.start()

    def _serve(self, worker: _Worker) -> None:
        while True:
            try:
                name = self._pending.get_nowait()
            except queue.Empty:
                return
            png = worker.draw(self.jobs[name])
            if png is None:
                self._here.append(name)  # list.append is atomic; drawn here by result()
                if not worker.alive():
                    return
            else:
                self._images[name] = png

    def result(self) -> dict[str, bytes]:
        """Every figure's PNG bytes, by name, in the order submitted; those no worker drew are
        drawn here now (a failure here raises as it would have without workers)."""
        for thread in self._threads:
            thread.join()
        for name in self._here:
            self._images[name] = self.jobs[name].draw_here()
        self._here.clear()
        return {name: self._images[name] for name in self.jobs}


def submit(jobs: Mapping[str, FigureJob]) -> Drawing:
    """Start drawing the figures in the workers (when running) and return at once."""
    return Drawing(jobs)


def draw(jobs: Mapping[str, FigureJob]) -> dict[str, bytes]:
    """Every figure's PNG bytes, by name: in the workers when they run, else here.

    Parameters
    ----------
    jobs : mapping of str to FigureJob

    Returns
    -------
    dict of str to bytes, in the order of ``jobs``
    """
    return submit(jobs).result()


# --------------------------------------------------------------------------- the worker


def _warm_up(plots) -> None:
    """Draw one small figure with text: loads the font and fills matplotlib's caches before
    the first real figure is asked for."""
    plots.segment_shares(["a", "b"], [0.5, 0.5], [0.4, 0.6])


def _serve() -> None:
    # Below the run's own process: while the workers import matplotlib the run is clustering,
    # and on a busy machine that comes first; once it waits for the figures they have the CPU.
    if hasattr(os, "nice"):
        os.nice(5)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not corrupt a reply
    requests = sys.stdin.buffer
    from segmentation import plots

    try:
        _warm_up(plots)
    except Exception:  # noqa: BLE001 - a failed warm-up only costs the first figure time
        pass
    while (message := _receive(requests)) is not None:
        function, args, kwargs = message
        try:
            reply = ("png", getattr(plots, function)(*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - the parent draws it again and reports
            reply = ("error", f"{type(error).__name__}: {error}")
        try:
            _send(replies, _pack(reply))
        except OSError:  # the parent is gone
            return


if __name__ == "__main__":
    _serve()
