"""The whole run as a library function: outputs, their contents, predict, and the input checks."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from segmentation import __version__
from segmentation.errors import SegmentationError
from segmentation.io import read_table
from segmentation.model import SegmentationModel
from segmentation.outputs import OUTPUTS, summary_of
from segmentation.pipeline import (
    OUTPUT_COLUMNS,
    PLOT_FILES,
    RunConfig,
    parse_k_range,
    predict,
    run,
    run_rfm,
    segment,
)
from segmentation.staging import verify_output_set
from segmentation.synthetic import make_customers


@pytest.fixture(scope="module")
def customers_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "customers.csv"
    make_customers(160, seed=3).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def full_run(customers_csv, tmp_path_factory):
    """One run with every output (plots and report), shared by the tests that read them."""
    out = tmp_path_factory.mktemp("out")
    config = RunConfig(input=customers_csv, k_range=(2, 5), seed=1, out=out)
    calls = []
    result = run(config, progress=lambda stage, done, total: calls.append((stage, done, total)))
    return result, out, calls


def test_every_output_is_written(full_run):
    result, out, _ = full_run
    for name in ("customers_segmented.csv", "cluster_summary.json", "model.json", "report.html"):
        assert (out / name).is_file(), name
    for name in PLOT_FILES:
        png = (out / "plots" / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), name
    # No temporary file is left behind by the atomic writes, nor anything beside the folder.
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert set(result.timings) >= {"read", "preprocess", "sweep", "fit", "profile", "plots"}
    # The paths returned and listed in the summary are the final ones, inside the folder.
    assert all(path.is_file() and out in path.parents for path in result.paths.values())
    listed = {key: str(path) for key, path in result.paths.items() if key != "summary"}
    assert result.summary["outputs"] == listed
    assert verify_output_set(out)["command"] == "run"


def test_progress_is_reported_per_stage_and_per_k(full_run):
    _, _, calls = full_run
    assert [(done, total) for stage, done, total in calls if stage == "sweep"] == [
        (0, 4),
        (1, 4),
        (2, 4),
        (3, 4),
        (4, 4),
    ]
    # Every stage starts at 0 and ends done, in run order.
    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    result, _, _ = full_run
    gap = ["gap"] if result.segmentation.choice.gap is not None else []
    assert stages == ["read", "sweep", *gap, "fit", "stability", "write"]
    replicates = [(done, total) for stage, done, total in calls if stage == "stability"]
    assert replicates == [(b, 50) for b in range(51)]
    for stage in stages:
        mine = [(done, total) for name, done, total in calls if name == stage]
        assert mine[0][0] == 0 and mine[-1][0] == mine[-1][1], (stage, mine)


def test_segmented_csv_keeps_every_input_column_unchanged(full_run, customers_csv):
    _, out, _ = full_run
    original = read_table(customers_csv)
    written = read_table(out / "customers_segmented.csv")
    assert list(written.columns) == [*original.columns, *OUTPUT_COLUMNS]
    pd.testing.assert_frame_equal(written[list(original.columns)], original)
    # The original text of the input survives byte for byte in the output's first columns.
    first_lines = customers_csv.read_text().splitlines()[:5]
    out_lines = (out / "customers_segmented.csv").read_text().splitlines()[:5]
    n_input_columns = len(original.columns)
    for a, b in zip(first_lines, out_lines, strict=True):
        assert b.split(",")[:n_input_columns] == a.split(",")


def test_segment_columns_are_consistent(full_run):
    result, out, _ = full_run
    written = read_table(out / "customers_segmented.csv")
    names = result.segmentation.profiles.names
    assert written["Segment"].between(0, result.segmentation.k - 1).all()
    assert (written["Segment_name"] == [names[s] for s in written["Segment"]]).all()
    assert written["Assignment_margin"].between(0, 1).all()
    assert (written["Second_nearest_segment"] != written["Segment"]).all()
    # Segment 0 is the largest.
    sizes = np.bincount(written["Segment"], minlength=result.segmentation.k)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_summary_says_how_it_was_made(full_run, customers_csv):
    result, out, _ = full_run
    summary = json.loads((out / "cluster_summary.json").read_text())
    assert summary["k"] == result.segmentation.k
    assert summary["version"] == __version__
    assert summary["seed"] == 1
    assert summary["input"] == str(customers_csv)
    selection = summary["k_selection"]
    assert selection["rule"] and selection["reason"].startswith(f"k={result.segmentation.k}")
    assert [row["k"] for row in selection["sweep"]] == [2, 3, 4, 5]
    # The sweep's search: k-means++ restarts, no swap refinement (select_k.REFINE).
    assert selection["n_init"] == 20 and selection["refine"] is None
    # The gap statistic's columns when the k rule needed it (auto, below reasonable structure).
    columns = {"k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin"}
    if selection["gap"] is not None:
        columns |= {"gap", "gap_se"}
    for row in selection["sweep"]:
        assert set(row) == columns
    assert [s["id"] for s in summary["segments"]] == list(range(result.segmentation.k))
    assert sum(s["size"] for s in summary["segments"]) == 160
    assert sum(s["share"] for s in summary["segments"]) == pytest.approx(1.0)
    first = summary["segments"][0]
    assert {"id", "name", "size", "share", "profile"} <= set(first)
    assert "Annual Income (k$)" in first["profile"]["features"]
    assert "Gender" in first["profile"]["categoricals"]  # profiled, not a feature
    assert summary["parameters"]["scaler"] == "standard"
    assert summary["parameters"]["k_range"] == [2, 5]
    assert summary["cleaning_log"]
    assert set(summary["timings"]) >= {"sweep", "plots", "report"}


def test_training_labels_are_what_the_saved_model_predicts(full_run, customers_csv, tmp_path):
    result, out, _ = full_run
    model = SegmentationModel.load(out / "model.json")
    assert model.segment_names == result.segmentation.profiles.names
    data = read_table(customers_csv)
    np.testing.assert_array_equal(model.predict(data), result.segmentation.labels)
    predicted = predict(out / "model.json", customers_csv, tmp_path / "p.csv")
    np.testing.assert_array_equal(predicted.labels, result.segmentation.labels)
    written = read_table(tmp_path / "p.csv")
    np.testing.assert_array_equal(
        written["Segment"].to_numpy(), read_table(out / "customers_segmented.csv")["Segment"]
    )
    assert sum(predicted.counts.values()) == 160


def test_final_centers_are_the_kmeans_solution(full_run):
    # Each center is the mean of its customers in the scaled space (a k-means fixed point).
    result, _, _ = full_run
    for number in range(result.segmentation.k):
        members = result.segmentation.X[result.segmentation.labels == number]
        np.testing.assert_allclose(
            result.segmentation.model.centers[number], members.mean(axis=0), atol=1e-8
        )


def test_no_input_uses_synthetic_customers_and_writes_them(tmp_path):
    result = run(RunConfig(k_range=(2, 3), out=tmp_path, plots=False, report=False, n_synthetic=80))
    assert result.summary["input"].startswith("built-in synthetic customers (n=80")
    written = read_table(tmp_path / "customers_input.csv")
    assert len(written) == 80 and "CustomerID" in written.columns
    pd.testing.assert_frame_equal(written, make_customers(80, seed=0), check_dtype=False)
    beside = tmp_path.parent / f"{tmp_path.name}-p.csv"  # not inside the run's folder
    predicted = predict(tmp_path / "model.json", tmp_path / "customers_input.csv", beside)
    np.testing.assert_array_equal(predicted.labels, result.segmentation.labels)
    assert predicted.path == beside and predicted.path.is_file()
    beside.unlink()


def test_a_fixed_k_is_used_and_explained(customers_csv, tmp_path):
    result = run(
        RunConfig(input=customers_csv, k=3, k_range=(2, 4), out=tmp_path, plots=False, report=False)
    )
    assert result.segmentation.k == 3
    assert result.segmentation.choice.rule == "given"
    assert "k=3 was given" in result.segmentation.choice.reason


def test_k_range_is_clipped_to_the_number_of_customers(tmp_path):
    path = tmp_path / "few.csv"
    make_customers(6, seed=1).to_csv(path, index=False)
    result = run(RunConfig(input=path, k_range=(2, 10), out=tmp_path / "o", plots=False))
    assert [row["k"] for row in result.segmentation.choice.sweep] == [2, 3, 4, 5]
    assert any("Clipped the k range" in line for line in result.segmentation.log)


def test_selected_features_and_log_transform(customers_csv, tmp_path):
    result = run(
        RunConfig(
            input=customers_csv,
            features=["Annual Income (k$)", "Tenure (months)", "Gender"],
            log_transform=["Tenure (months)"],
            scaler="robust",
            k_range=(2, 3),
            out=tmp_path,
            plots=False,
            report=False,
        )
    )
    assert result.segmentation.model.feature_names == [
        "Annual Income (k$)",
        "Tenure (months)",
        "Gender=Female",
        "Gender=Male",
    ]
    assert result.summary["columns"]["log_transformed"] == ["Tenure (months)"]
    assert any("Gender=" in column for column in result.segmentation.profiles.z.columns)


@pytest.mark.parametrize(
    ("k", "n_rows", "message"),
    [
        (1, 20, "at least 2 segments"),
        (0, 20, "at least 2 segments"),
        ("many", 20, "'auto' or a whole number"),
        (8, 5, "not more than k=8"),
        (5, 5, "not more than k=5"),
    ],
)
def test_impossible_k_is_refused(tmp_path, k, n_rows, message):
    path = tmp_path / "c.csv"
    make_customers(n_rows, seed=2).to_csv(path, index=False)
    with pytest.raises(SegmentationError, match=message):
        run(RunConfig(input=path, k=k, out=tmp_path / "o", plots=False, report=False))


def test_too_few_distinct_customers_for_k(tmp_path):
    path = tmp_path / "same.csv"
    pd.DataFrame({"a": [1.0, 1.0, 2.0, 2.0, 1.0, 2.0], "b": [3, 3, 4, 4, 3, 4]}).to_csv(
        path, index=False
    )
    with pytest.raises(SegmentationError, match="only 2 distinct"):
        run(RunConfig(input=path, k=3, out=tmp_path / "o", plots=False, report=False))
    # With k chosen automatically the range shrinks to what the data can hold.
    result = run(RunConfig(input=path, out=tmp_path / "o2", plots=False, report=False))
    assert result.segmentation.k == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2-10", (2, 10)), ("3 - 5", (3, 5)), ("4", (4, 4))],
)
def test_parse_k_range(text, expected):
    assert parse_k_range(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1-5", "starts at 1, but a segmentation needs at least 2"),
        ("5-3", "'5-3' ends before it starts"),
        ("a-b", "'a-b' is not a range such as 2-10; give two whole numbers"),
        ("2-3-4", "'2-3-4' is not a range such as 2-10"),
        ("", "'' is not a range such as 2-10"),
    ],
)
def test_parse_k_range_refuses_bad_ranges(text, message):
    with pytest.raises(SegmentationError, match=f"^`k_range` {re.escape(message)}"):
        parse_k_range(text)


def test_inputs_are_never_overwritten(tmp_path):
    # The input sits where an output would go: the run refuses instead of replacing it.
    out = tmp_path / "o"
    out.mkdir()
    path = out / "customers_segmented.csv"
    make_customers(30, seed=4).to_csv(path, index=False)
    before = path.read_bytes()
    with pytest.raises(SegmentationError, match="Refusing to overwrite"):
        run(RunConfig(input=path, k_range=(2, 3), out=out, plots=False, report=False))
    assert path.read_bytes() == before


def test_input_columns_named_like_outputs_are_kept(tmp_path):
    path = tmp_path / "c.csv"
    make_customers(40, seed=5).assign(Segment="old").to_csv(path, index=False)
    result = run(RunConfig(input=path, k_range=(2, 3), out=tmp_path / "o", plots=False))
    assert (result.segmentation.segmented["Segment"] == "old").all()
    assert "Segment_2" in result.segmentation.segmented.columns
    assert any("already has a column 'Segment'" in line for line in result.segmentation.log)


def test_rfm_from_a_small_transaction_log(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for customer in range(30):
        n_invoices = 1 + customer % 5
        for invoice in range(n_invoices):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
            rows.append(
                {
                    "InvoiceNo": f"{customer:03d}{invoice:02d}",
                    "CustomerID": f"K{customer:03d}",
                    "InvoiceDate": day.strftime("%Y-%m-%d %H:%M"),
                    "Quantity": int(rng.integers(1, 10)),
                    "UnitPrice": float(rng.uniform(1, 50 * (1 + customer % 3))),
                }
            )
    path = tmp_path / "tx.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    result = run_rfm(RunConfig(transactions=path, k_range=(2, 4), out=tmp_path / "o", plots=False))
    assert len(result.segmentation.data) == 30
    assert list(result.segmentation.data.columns[1:]) == ["Recency", "Frequency", "Monetary"]
    assert result.summary["columns"]["log_transformed"] == ["Recency", "Frequency", "Monetary"]
    assert (tmp_path / "o" / "rfm_customers.csv").is_file()
    assert path.is_file()  # the transaction log is untouched


def test_run_rfm_needs_transactions(tmp_path):
    with pytest.raises(SegmentationError, match="needs `transactions`"):
        run_rfm(RunConfig(out=tmp_path))


def test_segment_is_pure_and_every_output_is_derived_from_it(full_run, customers_csv, tmp_path):
    result, out, _ = full_run
    before = sorted(tmp_path.iterdir())
    seg = segment(read_table(customers_csv), result.segmentation.config, source="again")
    assert sorted(tmp_path.iterdir()) == before  # nothing written
    # The same options on the same table give the same segmentation.
    np.testing.assert_array_equal(seg.labels, result.segmentation.labels)
    np.testing.assert_array_equal(seg.model.centers, result.segmentation.model.centers)
    assert seg.choice == result.segmentation.choice
    # What the run wrote is what the result holds: the paths are the table's files...
    files = {output.key: output.file for output in OUTPUTS}
    assert {key: path.relative_to(out).as_posix() for key, path in result.paths.items()} == {
        key: files[key] for key in result.paths
    }
    # ... the summary on disk is summary_of(result), and the CSV is `segmented`.
    written = json.loads((out / "cluster_summary.json").read_text())
    derived = json.loads(json.dumps(summary_of(result.segmentation), default=str))
    for key, value in derived.items():
        assert written[key] == value, key
    pd.testing.assert_frame_equal(
        read_table(out / "customers_segmented.csv"),
        result.segmentation.segmented,
        check_dtype=False,
    )


def test_the_silhouette_plot_uses_the_sweeps_sample(tmp_path, monkeypatch):
    # Above the threshold the silhouette is estimated on a sample: the sweep's score of the
    # chosen k and the plot's values come from the same customers, so they agree.
    import segmentation.pipeline as pipeline

    monkeypatch.setattr(pipeline, "SAMPLE_THRESHOLD", 60)
    seg = segment(make_customers(200, seed=9), RunConfig(k_range=(2, 4), seed=5))
    sample = seg.silhouette
    assert sample.sampled and sample.rows.shape == (60,)
    assert sample.description == "estimated on a seeded sample of 60 customers"
    swept = {row["k"]: row["silhouette"] for row in seg.choice.sweep}
    assert sample.mean == pytest.approx(swept[seg.k], abs=1e-12)
    # Without sampling every customer is scored.
    full = segment(make_customers(50, seed=9), RunConfig(k_range=(2, 3)))
    assert not full.silhouette.sampled and full.silhouette.rows.shape == (50,)
    assert full.silhouette.description == "exact, on all customers"
