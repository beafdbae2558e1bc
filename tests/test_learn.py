"""segment learn's engine (segmentation/learn.py): every file, from the real trace."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from kmeans_core import reference
from segmentation.errors import SegmentationError
from segmentation.learn import DEMOS, demo_data, hamerly_skip, learn, load_input

FILES = (
    "iterations.gif",
    "seeding.gif",
    "trace.csv",
    "work.png",
    "bounds.png",
    "local_minima.png",
    "learn.html",
)


@pytest.fixture(scope="module")
def blobs_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("learn")
    written = learn(demo_data("blobs", n_samples=600), out, seed=1, seeds=8)
    return out, written


def _frames(path):
    with Image.open(path) as image:
        return image.n_frames


def test_every_file_is_written(blobs_run):
    out, written = blobs_run
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
        assert written[name] == out / name
    assert written["seconds"] > 0


def test_trace_csv_is_the_run(blobs_run):
    out, _ = blobs_run
    frame = pd.read_csv(out / "trace.csv")
    assert list(frame["iteration"]) == list(range(1, len(frame) + 1))
    assert frame["distances_computed"].iloc[0] == 600 * 4
    assert (np.diff(frame["inertia"]) <= 1e-9 * frame["inertia"].iloc[0]).all()


def test_animations_have_a_frame_per_step(blobs_run):
    out, _ = blobs_run
    n_iter = len(pd.read_csv(out / "trace.csv"))
    # initial centers, assignment and update per iteration, the end
    assert _frames(out / "iterations.gif") == 2 * n_iter + 2
    # one frame per center, then the initial centers
    assert _frames(out / "seeding.gif") == 4 + 1


def test_page_is_self_contained_and_quotes_reference(blobs_run):
    out, _ = blobs_run
    page = (out / "learn.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=['\"]https?:", page)
    assert page.count("data:image/gif;base64,") == 2
    assert page.count("data:image/png;base64,") == 3
    assert "labels agreed with Lloyd&#x27;s at every iteration" in page or (
        "labels agreed with Lloyd's at every iteration" in page
    )
    # The quoted lines are the file's lines now, with their numbers.
    source = open(reference.__file__, encoding="utf-8").read().splitlines()
    for first, last in re.findall(r"reference\.py, lines (\d+)-(\d+)", page):
        assert source[int(first) - 1].strip()[:20] in page.replace("&#x27;", "'").replace(
            "&quot;", '"'
        )
        assert int(last) >= int(first)
    for section in (
        "objective",
        "k-means++",
        "Assignment",
        "When it stops",
        "Empty clusters",
        "accelerated algorithms",
        "Local minima",
    ):
        assert section in page


def test_bounds_example_is_a_real_hamerly_skip():
    from kmeans_core import trace

    data = demo_data("blobs", n_samples=600)
    run = trace(data.X, 4, algorithm="hamerly", init="random", random_state=2)
    i, point, upper, lower, half_s = hamerly_skip(run, data.X)
    x = data.X[point]
    dist = np.sqrt(((run.centers[i] - x) ** 2).sum(axis=1))
    own = run.labels[i - 1][point]
    assert upper < max(lower, half_s)
    assert dist[own] <= upper + 1e-12  # u bounds the distance to its center from above
    assert np.delete(dist, own).min() >= lower - 1e-12  # l bounds the others from below
    assert run.labels[i][point] == own  # skipped, it kept its label


@pytest.mark.parametrize("name", DEMOS)
def test_demos(name):
    data = demo_data(name, n_samples=300)
    assert data.X.ndim == 2 and data.X.shape[1] == 2 and np.isfinite(data.X).all()
    assert data.k >= 2 and data.note


def test_more_features_go_through_pca(tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    table["name"] = "x"
    table.to_csv(tmp_path / "in.csv", index=False)
    data = load_input(tmp_path / "in.csv")
    assert data.names == list("abcd")
    np.testing.assert_allclose(data.X.std(axis=0), 1.0)
    written = learn(data, tmp_path / "out", k=3, algorithm="elkan", init="random", seeds=4)
    assert (tmp_path / "out" / "learn.html").is_file()
    assert _frames(written["seeding.gif"]) == 1  # random init: the rows drawn


def test_bad_input_is_one_sentence(tmp_path):
    table = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    table.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(SegmentationError, match="Column 'c' is not in"):
        load_input(tmp_path / "in.csv", ["a", "c"])
    with pytest.raises(SegmentationError, match="Column 'b' holds text"):
        load_input(tmp_path / "in.csv", ["a", "b"])
    with pytest.raises(SegmentationError, match="Unknown `demo` 'circles'"):
        demo_data("circles")
    data = load_input(tmp_path / "in.csv", ["a"])
    with pytest.raises(SegmentationError, match="`k` must be between 1 and the number of rows"):
        learn(data, tmp_path / "out", k=5)
    with pytest.raises(SegmentationError, match="Unknown `algorithm` 'fast'"):
        learn(data, tmp_path / "out", k=2, algorithm="fast")


def test_cli_writes_everything(tmp_path, monkeypatch, capsys):
    from segmentation import learn as learn_module
    from segmentation.cli import main

    monkeypatch.setattr(learn_module, "LOCAL_MINIMA_SEEDS", 5)
    out = tmp_path / "learn"
    code = main(["learn", "--demo", "uneven", "--algorithm", "yinyang", "--out", str(out)])
    assert code == 0
    for name in FILES:
        assert (out / name).is_file(), name
    assert "Uneven cluster sizes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--input", "missing.csv"], "missing.csv"),
        (["--demo", "moons", "--k", "0"], "--k must be between 1 and the number of rows"),
        (["--demo", "moons", "--input", "x.csv"], "Give --input or --demo, not both"),
        (["--demo", "moons", "--features", "a"], "--features picks columns of --input"),
        (["--demo", "circles"], "invalid choice: 'circles'"),
        (["--algorithm", "fast"], "invalid choice: 'fast'"),
    ],
)
def test_cli_bad_input_is_exit_2_and_one_sentence(tmp_path, capsys, argv, message):
    from segmentation.cli import main

    code = main(["learn", *argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_docs_figures_are_redrawn_by_the_command(tmp_path, monkeypatch):
    from pathlib import Path

    from segmentation import learn as learn_module

    monkeypatch.setattr(learn_module, "LOCAL_MINIMA_SEEDS", 3)
    written = learn_module.docs_figures(tmp_path)
    page = (Path(__file__).parent.parent / "docs" / "how-kmeans-works.md").read_text()
    shown = set(re.findall(r"\]\(figures/([\w.]+)\)", page))
    assert shown == set(written)
    for path in written.values():
        with Image.open(path) as image:
            assert image.format == "PNG"
