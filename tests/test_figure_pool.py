"""Figures drawn by worker processes (segmentation.figure_pool): the same bytes as drawn here,
drawn here whenever a worker cannot draw them, and no worker outliving its process."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import data_file

from segmentation import figure_pool
from segmentation.config import RunConfig
from segmentation.figure_pool import FigureJob
from segmentation.io import read_table
from segmentation.outputs import figure_jobs
from segmentation.pipeline import segment

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def jobs():
    seg = segment(read_table(data_file("mall_customers.csv")), RunConfig(k_range=(2, 6)))
    return figure_jobs(seg)


@pytest.fixture
def workers():
    figure_pool.close()
    figure_pool.start(2)
    yield figure_pool._workers
    figure_pool.close()


def _digests(images: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(png).hexdigest() for name, png in images.items()}


def test_figures_drawn_by_workers_are_byte_for_byte_those_drawn_here(jobs, workers):
    here = {name: job.draw_here() for name, job in jobs.items()}
    drawn = figure_pool.draw(jobs)
    assert list(drawn) == list(jobs)  # in the order asked
    assert _digests(drawn) == _digests(here)
    assert all(png.startswith(b"\x89PNG") for png in drawn.values())
    assert all(worker.alive() for worker in workers)  # and ready for the next run


def test_a_dead_worker_is_replaced_by_drawing_here(jobs, workers):
    here = _digests({name: job.draw_here() for name, job in jobs.items()})
    workers[0].process.kill()
    workers[0].process.wait()
    assert _digests(figure_pool.draw(jobs)) == here
    figure_pool.start(2)  # the next run gets a new one
    assert sum(worker.alive() for worker in figure_pool._workers) == 2


def test_a_figure_that_fails_in_a_worker_raises_here_as_without_workers(workers):
    bad = FigureJob("segment_shares", (["a", "b"], [0.5, 0.5]))  # a share list missing
    with pytest.raises(TypeError):
        bad.draw_here()
    with pytest.raises(TypeError):
        figure_pool.draw({"bad.png": bad})
    assert all(worker.alive() for worker in workers)  # a failed figure does not kill it


def test_inputs_too_large_to_send_are_drawn_here(jobs, workers, monkeypatch):
    def refuse(self, job):
        raise AssertionError("sent to a worker")

    monkeypatch.setattr(figure_pool, "MAX_SENT_BYTES", 0)
    monkeypatch.setattr(figure_pool._Worker, "draw", refuse)
    large = {name: job for name, job in jobs.items() if job.size() > 0}
    assert large  # the PCA, distributions and silhouette figures carry arrays
    assert set(figure_pool.draw(large)) == set(large)


def test_without_workers_every_figure_is_drawn_here(jobs):
    figure_pool.close()
    images = figure_pool.draw(jobs)
    assert set(images) == set(jobs)


@pytest.mark.parametrize(
    ("setting", "cores", "expected"), [("0", 8, 0), ("3", 1, 3), ("", 1, 0), ("", 2, 2)]
)
def test_worker_count(monkeypatch, setting, cores, expected):
    monkeypatch.setenv("SEGMENT_FIGURE_WORKERS", setting)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert figure_pool.worker_count() == expected


KILLED_PARENT = """
import json, sys, time
from segmentation import figure_pool
figure_pool.start(2)
print(json.dumps([w.process.pid for w in figure_pool._workers]), flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) is not running either.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_no_worker_outlives_a_killed_run():
    parent = subprocess.Popen(
        [sys.executable, "-c", KILLED_PARENT], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    pids = json.loads(parent.stdout.readline())
    assert len(pids) == 2 and all(_running(pid) for pid in pids)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in pids)


def test_a_run_draws_its_figures_without_importing_matplotlib(tmp_path):
    """The run's own process leaves matplotlib to the workers (and the report needs none)."""
    code = (
        "import json, sys\n"
        "from segmentation.config import RunConfig\n"
        "from segmentation.pipeline import run\n"
        f"run(RunConfig(input={str(data_file('mall_customers.csv'))!r}, out={str(tmp_path)!r}))\n"
        "print(json.dumps('matplotlib' in sys.modules))\n"
    )
    env = {**os.environ, "SEGMENT_FIGURE_WORKERS": "2"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) is False
    assert len(list((tmp_path / "plots").glob("*.png"))) == 6


def test_messages_carry_the_very_same_values_and_run_no_code():
    import io

    import numpy as np

    message = (
        "f",
        (np.arange(6, dtype=np.float32).reshape(2, 3), [{"k": 2, "x": float("nan")}], None),
        {
            "floats": [-0.0, 1e-310, 0.1 + 0.2, float("inf")],
            3: (True, np.float64(2.5), np.int64(7)),
            "png": b"\x89PNG\x00",
            "cols": {"a": np.array([1.5, np.nan]), "b": np.array([], dtype=np.int64)},
        },
    )
    stream = io.BytesIO()
    figure_pool._send(stream, figure_pool._pack(message))
    stream.seek(0)
    got = figure_pool._receive(stream)
    assert figure_pool._receive(stream) is None  # the end of the stream
    function, args, kwargs = got
    assert function == "f" and args[2] is None
    assert args[0].dtype == np.float32 and np.array_equal(args[0], message[1][0])
    assert args[1][0]["k"] == 2 and np.isnan(args[1][0]["x"])
    assert [np.float64(v).tobytes() for v in kwargs["floats"]] == [
        np.float64(v).tobytes() for v in message[2]["floats"]
    ]
    assert kwargs[3] == (True, 2.5, 7) and kwargs["png"] == b"\x89PNG\x00"
    assert kwargs["cols"]["a"].tobytes() == message[2]["cols"]["a"].tobytes()
    assert kwargs["cols"]["b"].dtype == np.int64 and kwargs["cols"]["b"].size == 0
    assert args[0].flags.writeable
    with pytest.raises(TypeError):
        figure_pool._pack((np.array([object()]),))


def test_inputs_a_message_cannot_carry_are_drawn_here_and_the_worker_stays(workers):
    import numpy as np

    names = np.array(["a", "b"], dtype=object)  # object arrays are not sent
    job = FigureJob("segment_shares", (names, [0.5, 0.5], [0.4, 0.6]))
    assert figure_pool.draw({"shares.png": job})["shares.png"] == job.draw_here()
    assert all(worker.alive() for worker in workers)
