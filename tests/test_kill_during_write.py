"""Real ``segment run`` processes killed (SIGKILL) during their write stage.

A previous run (k=3) is in the output folder; a new run (k=4) is killed at every pause point
of its write stage: each file written into the staging folder, the manifest, the swap, the
removal of the old set (``SEGMENT_TEST_PAUSE_AT``, see ``segmentation.io.pause_point``; it
makes the process stop at that moment, so the kill lands exactly there). After each kill the
folder must hold one whole run, the previous one before the swap and the new one after it:
its manifest verifies, and the summary, the model, the segmented CSV and the plots agree on k.
The next run must then succeed and leave nothing beside the folder. Both swaps are covered:
Linux's atomic exchange and the two renames used elsewhere. A few kills without the hook, at
moments chosen by watching the staging folder fill on a larger input, check the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest

from segmentation import io as segmentation_io
from segmentation.config import RunConfig
from segmentation.io import PAUSE_AT_VARIABLE
from segmentation.model import SegmentationModel
from segmentation.outputs import PLOT_FILES
from segmentation.pipeline import run
from segmentation.staging import SWAP_VARIABLE, output_set, verify_output_set
from segmentation.synthetic import make_customers

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL")

OLD_K, NEW_K = 3, 4
# The new run's command line (after the executable), into {out}.
NEW_RUN = ["run", "--input", "{input}", "--k", str(NEW_K), "--k-range", f"{NEW_K}-{NEW_K}"]
# Pause points up to this one (included) come before the swap: the previous set must remain.
BEFORE_SWAP = "set complete, about to swap"
WAIT = 120  # seconds a process may take to reach its pause point on a loaded machine


def _command(arguments, input_path, out) -> list[str]:
    filled = [a.format(input=input_path) for a in arguments]
    return [sys.executable, "-m", "segmentation.cli", *filled, "--out", str(out)]


def _start(arguments, input_path, out, log: Path, *, pause_at: int, swap: str):
    env = {**os.environ, PAUSE_AT_VARIABLE: str(pause_at)}
    if swap == "rename":
        env[SWAP_VARIABLE] = "rename"
    with log.open("w") as stderr:  # the child keeps its own copy of the handle
        return subprocess.Popen(
            _command(arguments, input_path, out), env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )


def _wait_for(process, log: Path, word: str) -> None:
    deadline = time.monotonic() + WAIT
    while word not in log.read_text():
        assert process.poll() is None, f"the run ended before '{word}': {log.read_text()}"
        assert time.monotonic() < deadline, f"no '{word}' after {WAIT} s"
        time.sleep(0.02)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plots(out: Path) -> dict[str, str]:
    return {name: _sha256(out / "plots" / name) for name in PLOT_FILES}


def _assert_whole(out: Path, k: int, plots: dict[int, dict[str, str]]) -> None:
    """``out`` is one whole run with k segments: manifest, summary, model, CSV and plots."""
    verify_output_set(out)
    summary = json.loads((out / "cluster_summary.json").read_text())
    assert summary["k"] == k
    assert SegmentationModel.load(out / "model.json").n_segments == k
    assert pd.read_csv(out / "customers_segmented.csv")["Segment"].nunique() == k
    assert _plots(out) == plots[k]


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    """The input, the previous set (k=3), the plots of both k, and the pause points of the new
    run with each swap (that run in process: the same code, announcing its pause points)."""
    root = tmp_path_factory.mktemp("kill")
    input_path = root / "customers.csv"
    make_customers(600, seed=2).to_csv(input_path, index=False)
    previous = root / "previous" / "out"
    run(RunConfig(input=input_path, k=OLD_K, k_range=(OLD_K, OLD_K), out=previous))
    plots = {OLD_K: _plots(previous)}
    points = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PAUSE_AT_VARIABLE, "0")
        for swap in ("exchange", "rename"):
            patch.setenv(SWAP_VARIABLE, swap)
            patch.setattr(segmentation_io, "_pause_points_passed", 0)
            out = root / f"whole-{swap}" / "out"
            shutil.copytree(previous, out)
            announced = StringIO()
            with redirect_stderr(announced):
                run(RunConfig(input=input_path, k=NEW_K, k_range=(NEW_K, NEW_K), out=out))
            points[swap] = [line.split(": ", 1)[1] for line in announced.getvalue().splitlines()]
            plots[NEW_K] = _plots(out)
    return input_path, previous, plots, points


def _kill_at(setting, case: Path, point: int, swap: str) -> None:
    """Run the new run into a copy of the previous set and SIGKILL it at ``point``."""
    input_path, previous, _, _ = setting
    shutil.copytree(previous, case / "out")
    log = case.with_suffix(".log")
    process = _start(NEW_RUN, input_path, case / "out", log, pause_at=point, swap=swap)
    try:
        _wait_for(process, log, "paused")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def test_killed_at_every_point_of_the_write_stage_leaves_one_whole_run(setting, tmp_path):
    input_path, _, plots, points = setting
    exchange, renames = points["exchange"], points["rename"]
    swap_at = exchange.index(BEFORE_SWAP) + 1
    assert swap_at >= 8  # each plot, the CSV, the model, the report, the summary, the manifest
    assert renames[:swap_at] == exchange[:swap_at]
    # Every point with the exchange; with two renames, the points that differ (the swap).
    cases = [("exchange", p) for p in range(1, len(exchange) + 1)]
    cases += [("rename", p) for p in range(swap_at + 1, len(renames) + 1)]
    assert len(cases) >= 14

    def kill(case):
        swap, point = case
        folder = tmp_path / f"{swap}-{point}"
        folder.mkdir()
        _kill_at(setting, folder, point, swap)
        return folder

    with ThreadPoolExecutor(max_workers=3) as pool:
        folders = list(pool.map(kill, cases))

    for (swap, point), folder in zip(cases, folders, strict=True):
        out = folder / "out"
        named = (exchange if swap == "exchange" else renames)[point - 1]
        where = f"killed with the {swap} at point {point} ({named})"
        assert len(os.listdir(folder)) > 1, where  # the dead run left something beside `out`
        expected = OLD_K if point <= swap_at else NEW_K
        if out.exists():
            _assert_whole(out, expected, plots)
        else:
            # Only between the two renames: the previous set is aside, whole.
            assert (swap, renames[point - 1]) == ("rename", "previous set renamed aside"), where
            (aside,) = folder.glob(".out.segment-previous-*")
            _assert_whole(aside, OLD_K, plots)
            # The next run puts it back before anything else.
            with pytest.raises(KeyboardInterrupt):
                with output_set(out, command="test", parameters={}, known=()):
                    raise KeyboardInterrupt
            _assert_whole(out, OLD_K, plots)

    # The next run takes the dead run's lock over and removes what it left.
    for _, folder in zip(cases, folders, strict=True):
        out = folder / "out"
        run(RunConfig(input=input_path, k=2, k_range=(2, 2), out=out, plots=False, report=False))
        assert verify_output_set(out)["parameters"]["k"] == 2
        assert os.listdir(folder) == ["out"], folder


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_writes(setting, tmp_path):
    input_path, previous, plots, _ = setting
    out = tmp_path / "out"
    shutil.copytree(previous, out)
    log = tmp_path / "first.log"
    first = _start(NEW_RUN, input_path, out, log, pause_at=3, swap="exchange")
    try:
        _wait_for(first, log, "paused")
        second = subprocess.run(
            _command(NEW_RUN, input_path, out), capture_output=True, text=True, timeout=WAIT
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert second.returncode == 2
    assert second.stderr == (
        f"error: Another segment run (PID {first.pid} on {os.uname().nodename}, started "
        f"{json.loads((tmp_path / '.out.segment-lock').read_text())['started']}) is writing "
        f"'{out}'; wait for it to finish or choose another --out.\n"
    )
    _assert_whole(out, OLD_K, plots)
    # The first run is dead: its lock does not stop the next one.
    run(RunConfig(input=input_path, k=2, k_range=(2, 2), out=out, plots=False, report=False))
    assert sorted(os.listdir(tmp_path)) == ["first.log", "out"]


def test_kills_without_the_hook_while_the_staging_folder_fills(setting, tmp_path):
    """No pause: the process is killed when its staging folder holds n files, on an input
    large enough (5,000 customers) that the write stage lasts a while."""
    _, previous, plots, _ = setting
    input_path = tmp_path / "large.csv"
    make_customers(5_000, seed=3).to_csv(input_path, index=False)
    for n_files in (2, 6):
        case = tmp_path / f"after-{n_files}"
        shutil.copytree(previous, case / "out")
        process = subprocess.Popen(
            _command(NEW_RUN, input_path, case / "out"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + WAIT
        try:
            while process.poll() is None and time.monotonic() < deadline:
                staged = [p for p in case.glob(".out.segment-staging-*/**/*") if p.is_file()]
                if len(staged) >= n_files:
                    break
                time.sleep(0.002)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert len(staged) >= n_files  # killed in the write stage, not after the run
        out = case / "out"
        summary = json.loads((out / "cluster_summary.json").read_text())
        if summary["k"] == OLD_K:
            _assert_whole(out, OLD_K, plots)
        else:  # the new run, on other data: whole, and k agrees everywhere
            verify_output_set(out)
            assert summary["k"] == NEW_K
            assert SegmentationModel.load(out / "model.json").n_segments == NEW_K
        run(RunConfig(input=input_path, k=2, k_range=(2, 2), out=out, plots=False, report=False))
        assert os.listdir(case) == ["out"]
