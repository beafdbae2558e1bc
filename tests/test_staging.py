"""The output set (segmentation/staging.py): whole or nothing, the lock, the manifest.

These run in process and need no fit. Real processes killed mid-write are in
test_kill_during_write.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from segmentation import staging
from segmentation.errors import SegmentationError
from segmentation.io import write_bytes_atomic, write_text_atomic
from segmentation.staging import (
    DATASET_MANIFEST,
    MANIFEST,
    output_file,
    output_set,
    output_set_problems,
    verify_output_set,
)

KNOWN = ("a.txt", "sub/b.txt")


def write_set(out, text, *, known=KNOWN, parameters=None):
    """A set of two files holding ``text``; the stage."""
    with output_set(
        out, command="test", parameters=parameters or {"text": text}, known=known
    ) as stage:
        write_text_atomic(text, stage.path("a.txt"))
        write_text_atomic(text * 2, stage.path("sub/b.txt"))
    return stage


def beside(out: Path) -> list[str]:
    """What is in the output folder's parent, but the folder itself."""
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def contents(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): p.read_text()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


@pytest.fixture(params=["exchange", "rename"])
def swap(request, monkeypatch):
    """Both ways of swapping the set in: the atomic exchange and the two renames."""
    if request.param == "rename":
        monkeypatch.setenv(staging.SWAP_VARIABLE, "rename")
    return request.param


def test_a_set_appears_whole_with_its_manifest(tmp_path, swap):
    out = tmp_path / "out"
    stage = write_set(out, "one")
    assert contents(out) == {"a.txt": "one", "sub/b.txt": "oneone"}
    assert stage.final("sub/b.txt") == out / "sub" / "b.txt"
    manifest = verify_output_set(out)
    assert manifest == stage.manifest
    assert manifest["command"] == "test" and manifest["parameters"] == {"text": "one"}
    assert [f["path"] for f in manifest["files"]] == ["a.txt", "sub/b.txt"]
    assert manifest["files"][0]["size"] == 3
    assert manifest["started"] <= manifest["finished"]
    assert beside(out) == []  # no lock, no staging folder left
    second = write_set(out, "two")
    assert contents(out) == {"a.txt": "two", "sub/b.txt": "twotwo"}
    assert verify_output_set(out)["run_id"] == second.run_id != stage.run_id
    assert beside(out) == []


def test_a_failing_run_leaves_the_previous_set_untouched(tmp_path, swap):
    out = tmp_path / "out"
    write_set(out, "one")
    before = (out / MANIFEST).read_bytes()
    with pytest.raises(SegmentationError, match="bad data"):
        with output_set(out, command="test", parameters={}, known=KNOWN) as stage:
            write_text_atomic("half", stage.path("a.txt"))
            raise SegmentationError("bad data")
    assert contents(out) == {"a.txt": "one", "sub/b.txt": "oneone"}
    assert (out / MANIFEST).read_bytes() == before
    assert beside(out) == []


def test_an_existing_empty_folder_and_a_symlinked_folder_are_used(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    write_set(empty, "x")
    verify_output_set(empty)
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    stage = write_set(link, "y")
    assert link.is_symlink() and (real / "a.txt").read_text() == "y"
    assert stage.final("a.txt") == link / "a.txt"


def test_files_no_run_wrote_are_never_deleted(tmp_path):
    out = tmp_path / "out"
    write_set(out, "one")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SegmentationError, match=r"holds 1 file that no segment run wrote \(notes"):
        write_set(out, "two")
    assert (out / "notes.txt").read_text() == "mine" and (out / "a.txt").read_text() == "one"
    (out / "notes.txt").unlink()
    (out / "mine").mkdir()
    with pytest.raises(SegmentationError, match=r"\(mine/\)"):
        write_set(out, "two")


def test_a_folder_from_before_manifests_is_recognised_by_its_file_names(tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "a.txt").write_text("old")
    (out / ".a.txt.abcd1234.tmp").write_text("a killed write's temporary file")
    write_set(out, "new")
    assert contents(out) == {"a.txt": "new", "sub/b.txt": "newnew"}
    # Files listed in a manifest are a run's even when the command would not write them.
    with output_set(out, command="other", parameters={}, known=()) as stage:
        write_text_atomic("c", stage.path("c.txt"))
    assert contents(out) == {"c.txt": "c"}


@pytest.mark.parametrize("where", ["current", "parent of current"])
def test_the_current_folder_is_refused(tmp_path, monkeypatch, where):
    inner = tmp_path / "inner"
    inner.mkdir()
    monkeypatch.chdir(inner)
    out = "." if where == "current" else ".."
    with pytest.raises(SegmentationError, match="current folder"):
        write_set(out, "x")


def test_a_file_in_the_way_is_refused(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(SegmentationError, match="is an existing file"):
        write_set(blocker, "x")


def test_a_swap_killed_between_its_two_renames_is_undone_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    write_set(out, "one")
    # What a run killed after renaming the previous set aside leaves: no `out`, the previous
    # set aside, a complete staging folder.
    run = "0" * 32
    out.rename(tmp_path / f".out.segment-previous-{run}")
    (tmp_path / f".out.segment-staging-{run}").mkdir()
    (tmp_path / f".out.segment-staging-{run}" / "a.txt").write_text("two")
    (tmp_path / f".out.segment-trash-{'1' * 32}").mkdir()
    with pytest.raises(SegmentationError, match="stop"):
        with output_set(out, command="test", parameters={}, known=KNOWN):
            assert contents(out) == {"a.txt": "one", "sub/b.txt": "oneone"}  # put back first
            raise SegmentationError("stop")
    verify_output_set(out)
    assert beside(out) == []


def test_the_manifest_finds_a_changed_missing_or_added_file(tmp_path):
    out = tmp_path / "out"
    write_set(out, "one")
    assert output_set_problems(out) == []
    (out / "a.txt").write_text("One")  # same size, other bytes
    assert output_set_problems(out) == ["a.txt differs from the run's (size or sha256)"]
    with pytest.raises(SegmentationError, match="not one whole run: a.txt differs"):
        verify_output_set(out)
    (out / "a.txt").write_text("one")
    (out / "sub" / "b.txt").unlink()
    (out / "extra.csv").write_text("")
    assert output_set_problems(out) == ["sub/b.txt is missing", "extra.csv is not from the run"]
    (out / MANIFEST).write_text("{}")
    assert output_set_problems(out) == [f"its {MANIFEST} is not one written by segment"]
    (out / MANIFEST).unlink()
    assert output_set_problems(out) == [f"it has no {MANIFEST}"]
    assert output_set_problems(tmp_path / "nothing") == [
        f"'{tmp_path / 'nothing'}' is not a folder"
    ]


# --------------------------------------------------------------------------- the lock


def dead_pid() -> int:
    """The PID of a process that has ended."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


def lock_file(out: Path) -> Path:
    return out.parent / f".{out.name}.segment-lock"


def test_a_second_writer_of_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    with output_set(out, command="test", parameters={}, known=KNOWN) as stage:
        holder = json.loads(lock_file(out).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] and holder["started"]
        with pytest.raises(
            SegmentationError,
            match=rf"Another segment run \(PID {os.getpid()} on .+, started .+\) is writing",
        ):
            write_set(out, "two")
        write_text_atomic("one", stage.path("a.txt"))
    assert contents(out) == {"a.txt": "one"}
    assert not lock_file(out).exists()


def test_the_lock_of_a_dead_run_is_taken_over(tmp_path):
    out = tmp_path / "out"
    stale = {"pid": dead_pid(), "host": "this", "started": "2026-01-01T00:00:00+00:00"}
    lock_file(out).write_text(json.dumps(stale))
    write_set(out, "one")
    verify_output_set(out)
    assert not lock_file(out).exists()


@pytest.fixture
def no_kernel_locks(monkeypatch):
    """A filesystem without flock (some network filesystems): the recorded PID decides."""
    monkeypatch.setattr(staging, "_kernel_lock", lambda fd: None)


def test_without_kernel_locks_a_dead_pid_is_taken_over_and_a_live_one_respected(
    tmp_path, no_kernel_locks
):
    import socket

    out = tmp_path / "out"
    host = socket.gethostname()
    lock_file(out).write_text(json.dumps({"pid": dead_pid(), "host": host, "started": "t"}))
    write_set(out, "one")
    assert not lock_file(out).exists()
    alive = {
        "pid": os.getpid(),
        "host": host,
        "started": "t",
        "process_start": staging._process_start(os.getpid()),
    }
    lock_file(out).write_text(json.dumps(alive))
    with pytest.raises(SegmentationError, match="Another segment run"):
        write_set(out, "two")
    # The same PID, given to a process started later: the run that held the lock is gone.
    if alive["process_start"] is not None:
        lock_file(out).write_text(
            json.dumps({**alive, "process_start": alive["process_start"] - 1})
        )
        write_set(out, "two")
    lock_file(out).write_text(json.dumps({**alive, "host": "elsewhere.example"}))
    with pytest.raises(SegmentationError, match=f"if it has stopped, delete {lock_file(out)}"):
        write_set(out, "three")
    assert (out / "a.txt").read_text() == ("two" if alive["process_start"] is not None else "one")


def test_a_single_output_file_is_locked_and_dead_temporaries_are_removed(tmp_path):
    target = tmp_path / "predictions.csv"
    (tmp_path / ".predictions.csv.abcd1234.tmp").write_text("left by a killed writer")
    (tmp_path / ".other.csv.abcd1234.tmp").write_text("not ours to remove")
    with output_file(target) as path:
        with pytest.raises(SegmentationError, match="Another segment run"):
            with output_file(target):
                pass
        write_bytes_atomic(b"x", path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".other.csv.abcd1234.tmp",
        "predictions.csv",
    ]


def test_a_folder_whose_parent_cannot_be_written_is_refused(tmp_path, monkeypatch):
    # Root writes anywhere, so the refusal of the lock file is simulated.
    real_open = os.open

    def refusing_open(path, flags, *args):
        if str(path).endswith(".segment-lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(staging.os, "open", refusing_open)
    with pytest.raises(
        SegmentationError,
        match=rf"Output folder '{tmp_path / 'out'}' cannot be written: .+Permission denied",
    ):
        write_set(tmp_path / "out", "x")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_of_parquet_parts_has_a_manifest_that_readers_skip(tmp_path):
    import pandas as pd

    out = tmp_path / "parts"
    with output_set(out, command="test", parameters={}, manifest=DATASET_MANIFEST) as stage:
        for i in range(2):
            pd.DataFrame({"a": [i]}).to_parquet(stage.path(f"part.{i}.parquet"))
    assert sorted(p.name for p in out.iterdir()) == [
        DATASET_MANIFEST,
        "part.0.parquet",
        "part.1.parquet",
    ]
    assert pd.read_parquet(out)["a"].tolist() == [0, 1]
    assert [f["path"] for f in verify_output_set(out)["files"]] == [
        "part.0.parquet",
        "part.1.parquet",
    ]
    with pytest.raises(SegmentationError, match="has a _manifest.json"):
        staging.refuse_inside_output_set(out / "p.csv")


def test_a_known_folder_stands_for_everything_inside_it(tmp_path):
    out = tmp_path / "out"
    (out / "parts").mkdir(parents=True)
    (out / "parts" / "part.0.parquet").write_text("from an older version")
    (out / "empty").mkdir()
    with output_set(out, command="test", parameters={}, known=("parts", "empty")) as stage:
        write_text_atomic("new", stage.path("a.txt"))
    assert contents(out) == {"a.txt": "new"}


def test_segment_verify_says_whether_a_folder_is_one_whole_run(tmp_path, capsys):
    from segmentation.cli import main

    out = tmp_path / "out"
    stage = write_set(out, "one")
    assert main(["verify", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{out} is one whole run: segment test {stage.run_id}, 2 files")
    assert main(["verify", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == stage.manifest
    (out / "sub" / "b.txt").write_text("changed")
    assert main(["verify", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: '{out}' is not one whole run: sub/b.txt differs from the run's (size or sha256).\n"
    )


@pytest.mark.parametrize("error", [PermissionError(13, "in use"), KeyboardInterrupt()])
def test_a_second_rename_that_fails_puts_the_previous_set_back(tmp_path, monkeypatch, error):
    out = tmp_path / "out"
    write_set(out, "one")
    monkeypatch.setenv(staging.SWAP_VARIABLE, "rename")
    real_rename = os.rename
    failed = []

    def rename(source, destination):  # the staging folder's rename into place fails, once
        if str(destination) == str(out.resolve()) and not failed:
            failed.append(source)
            raise error
        return real_rename(source, destination)

    monkeypatch.setattr(staging.os, "rename", rename)
    with pytest.raises(type(error)):
        write_set(out, "two")
    assert ".segment-staging-" in str(failed[0])
    assert contents(out) == {"a.txt": "one", "sub/b.txt": "oneone"}
    verify_output_set(out)
    assert beside(out) == []
