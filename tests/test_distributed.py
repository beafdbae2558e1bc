"""The --engine dask paths (segmentation.distributed): the same RFM table as in process, from
partitioned Parquet and CSV made here; clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.errors import SegmentationError
from segmentation.io import read_table
from segmentation.rfm import rfm_scores, transactions_to_rfm

dask = pytest.importorskip("dask")
pytest.importorskip("distributed")

from segmentation.distributed import transactions_to_rfm_dask  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"


def _parts(df, folder, n_parts, suffix):
    folder.mkdir()
    bounds = [len(df) * i // n_parts for i in range(n_parts + 1)]
    for i in range(n_parts):
        part = df.iloc[bounds[i] : bounds[i + 1]]
        if suffix == ".parquet":
            part.to_parquet(folder / f"part{i:02d}.parquet")
        else:
            part.to_csv(folder / f"part{i:02d}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def retail():
    path = DATA / "online_retail.parquet"
    if not path.exists():
        pytest.fail(f"real data not available at {path}")
    return read_table(path)


def test_rfm_from_parquet_parts_is_the_in_process_table(dask_client, retail, tmp_path):
    folder = _parts(retail, tmp_path / "log", 5, ".parquet")
    expected, _ = transactions_to_rfm(retail)
    with dask_client.as_current():
        got, log = transactions_to_rfm_dask(folder)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    assert len(got) == 4338
    # The scores and names, computed on the collected table, are the in-process ones exactly.
    pd.testing.assert_frame_equal(rfm_scores(got), rfm_scores(expected))
    assert "Read 541,909 transaction rows on Dask (5 partitions)." in log


def test_rfm_from_csv_parts_by_glob_with_as_of(retail, tmp_path):
    sample = retail.iloc[:60_000]
    folder = _parts(sample, tmp_path / "log", 3, ".csv")
    expected, _ = transactions_to_rfm(read_table(folder / "part00.csv"), as_of="2011-01-01")
    with dask.config.set(scheduler="sync"):
        got, _ = transactions_to_rfm_dask(str(folder / "part00.*"), as_of="2011-01-01")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    every, _ = transactions_to_rfm(sample, as_of="2011-01-01")
    with dask.config.set(scheduler="sync"):
        got_all, _ = transactions_to_rfm_dask(str(folder / "*.csv"), as_of="2011-01-01")
    pd.testing.assert_frame_equal(got_all, every, check_exact=False, rtol=1e-12)


def test_rfm_errors_are_clear(retail, tmp_path):
    with pytest.raises(SegmentationError, match="No transactions file found"):
        transactions_to_rfm_dask(tmp_path / "nothing-here")
    folder = _parts(retail.iloc[:1000], tmp_path / "log", 2, ".parquet")
    with dask.config.set(scheduler="sync"):
        with pytest.raises(SegmentationError, match="price column 'Price' is not in the"):
            transactions_to_rfm_dask(folder, price_col="Price")
        with pytest.raises(SegmentationError, match="No transaction is left"):
            transactions_to_rfm_dask(folder, as_of="2000-01-01")


def test_segment_rfm_on_dask_writes_the_in_process_rfm_table(dask_client, retail, tmp_path):
    from segmentation.cli import main

    sample = retail.iloc[:40_000]
    folder = _parts(sample, tmp_path / "log", 3, ".parquet")
    sample.to_parquet(tmp_path / "log.parquet")
    common = ["--k", "3"]
    assert (
        main(
            [
                "rfm",
                "--transactions",
                str(tmp_path / "log.parquet"),
                "--out",
                str(tmp_path / "in"),
                *common,
            ]
        )
        == 0
    )
    address = dask_client.scheduler.address
    assert (
        main(
            [
                "rfm",
                "--transactions",
                str(folder),
                "--engine",
                "dask",
                "--scheduler",
                address,
                "--out",
                str(tmp_path / "on_dask"),
                *common,
            ]
        )
        == 0
    )
    in_process = pd.read_csv(tmp_path / "in" / "rfm_customers.csv")
    on_dask = pd.read_csv(tmp_path / "on_dask" / "rfm_customers.csv")
    pd.testing.assert_frame_equal(on_dask, in_process, check_exact=False, rtol=1e-12)
    assert {"R_score", "F_score", "M_score", "RFM_segment"} <= set(on_dask.columns)
    in_summary = json.loads((tmp_path / "in" / "cluster_summary.json").read_text())
    dask_summary = json.loads((tmp_path / "on_dask" / "cluster_summary.json").read_text())
    assert dask_summary["rfm"]["crosstab"] == in_summary["rfm"]["crosstab"]


# --------------------------------------------------------------- segment run / predict on Dask
def _customers(n=900, seed=0):
    """Customers with gaps, a skewed column, a negative one and a category."""
    from segmentation.synthetic import make_customers

    df = make_customers(n, seed=seed)
    rng = np.random.default_rng(seed)
    df["Spend"] = rng.lognormal(3.0, 1.2, n).round(2)
    df["Balance"] = rng.normal(0.0, 50.0, n).round(1)
    df.loc[rng.choice(n, 40, replace=False), "Age"] = np.nan
    df.loc[rng.choice(n, 25, replace=False), "Gender"] = None
    return df


def _table(df, folder, n_parts):
    from segmentation.distributed import DaskTable, read_customers

    return DaskTable(read_customers(_parts(df, folder, n_parts, ".parquet")))


@pytest.mark.parametrize("scaler", ["standard", "robust", "minmax"])
def test_preprocessor_fitted_on_dask_is_the_in_process_one(scaler, tmp_path):
    from segmentation.distributed import DaskStatistics
    from segmentation.preprocess import Preprocessor, infer_roles

    df = _customers()
    roles = infer_roles(df, features=["Age", "Spend", "Balance", "Gender", "Tenure (months)"])
    expected = Preprocessor(scaler=scaler).fit(df, roles).to_dict()
    with dask.config.set(scheduler="sync"):
        table = _table(df, tmp_path / "parts", 4)
        stats = DaskStatistics(table, roles.numeric_features, roles.categorical_features)
        got = Preprocessor(scaler=scaler).fit_statistics(stats, roles).to_dict()
    assert got["log_columns"] == expected["log_columns"] == ["Spend"]
    for key in ("numeric_fill", "categorical_fill", "categories", "feature_names_out", "log"):
        assert got[key] == expected[key], key  # medians exact: a radix selection
    for key in ("skewness",):
        assert got[key] == pytest.approx(expected[key], rel=1e-12)
    np.testing.assert_allclose(got["center"], expected["center"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got["scale"], expected["scale"], rtol=1e-12)
    if scaler != "standard":  # order statistics and extremes: the same bits
        assert got["center"] == expected["center"]


def test_sample_depends_on_the_seed_not_on_the_partitions(tmp_path):
    df = _customers(3000)
    with dask.config.set(scheduler="sync"):
        three = _table(df, tmp_path / "three", 3).sample(500, seed=4)
        seven = _table(df, tmp_path / "seven", 7).sample(500, seed=4)
        other = _table(df, tmp_path / "other", 3).sample(500, seed=5)
        whole = _table(df, tmp_path / "whole", 2).sample(5000, seed=4)
    pd.testing.assert_frame_equal(three, seven)
    assert len(three) == 500 and not three.equals(other)
    assert three["CustomerID"].is_monotonic_increasing  # the table's order
    pd.testing.assert_frame_equal(whole, df.reset_index(drop=True))


def test_segment_run_and_predict_on_dask_label_as_in_process(dask_client, tmp_path):
    from segmentation.cli import main
    from segmentation.staging import verify_output_set

    df = _customers(1200, seed=3)
    folder = _parts(df, tmp_path / "customers", 3, ".parquet")
    df.to_parquet(tmp_path / "customers.parquet")
    common = ["--k-range", "2-5", "--seed", "1"]
    address = ["--engine", "dask", "--scheduler", dask_client.scheduler.address]
    in_process = tmp_path / "in"
    assert (
        main(
            [
                "run",
                "--input",
                str(tmp_path / "customers.parquet"),
                "--out",
                str(in_process),
                *common,
            ]
        )
        == 0
    )
    on_dask = tmp_path / "on_dask"
    assert main(["run", "--input", str(folder), "--out", str(on_dask), *common, *address]) == 0

    expected = pd.read_csv(in_process / "customers_segmented.csv")
    got = pd.read_parquet(on_dask / "customers_segmented")
    assert sorted(p.name for p in (on_dask / "customers_segmented").iterdir()) == [
        "part.00000.parquet",
        "part.00001.parquet",
        "part.00002.parquet",
    ]
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_array_equal(got["Segment"], expected["Segment"])
    assert (got["Segment_name"] == expected["Segment_name"]).all()
    np.testing.assert_allclose(got["Distance_to_center"], expected["Distance_to_center"], rtol=1e-9)
    summary = json.loads((on_dask / "cluster_summary.json").read_text())
    assert summary["k"] == json.loads((in_process / "cluster_summary.json").read_text())["k"]
    assert summary["parameters"]["engine"] == "dask" and summary["n_customers"] == 1200
    assert not (on_dask / "customers_segmented.csv").exists()
    for name in ("model.json", "report.html", "plots/pca_clusters.png"):
        assert (on_dask / name).is_file(), name

    # predict on Dask: the in-process predict's labels, row for row
    assert (
        main(
            [
                "predict",
                "--model",
                str(in_process / "model.json"),
                "--input",
                str(tmp_path / "customers.parquet"),
                "--out",
                str(tmp_path / "p.csv"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "predict",
                "--model",
                str(in_process / "model.json"),
                "--input",
                str(folder / "*.parquet"),
                "--out",
                str(tmp_path / "p_dask"),
                *address,
            ]
        )
        == 0
    )
    predicted = pd.read_parquet(tmp_path / "p_dask")  # its _manifest.json is skipped
    assert verify_output_set(tmp_path / "p_dask")["command"] == "predict"
    np.testing.assert_array_equal(predicted["Segment"], pd.read_csv(tmp_path / "p.csv")["Segment"])
    np.testing.assert_array_equal(predicted["Segment"], expected["Segment"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--input", "{tmp}/nothing", "--engine", "dask"], "No customer table file found"),
        (["run", "--input", "{tmp}/mixed", "--engine", "dask"], "all Parquet or all CSV"),
        (["run", "--input", "{tmp}/parts", "--scheduler", "tcp://x:1"], "add --engine dask"),
        (
            ["run", "--input", "{tmp}/parts", "--engine", "dask", "--method", "kprototypes"],
            "kmeans only",
        ),
        (["run", "--input", "{tmp}/parts", "--engine", "dask", "--k", "300"], "not more than k"),
        (
            ["run", "--input", "{tmp}/parts", "--engine", "dask", "--features", "Nope"],
            "'Nope' not in the input",
        ),
        (
            [
                "predict",
                "--model",
                "{tmp}/run/model.json",
                "--input",
                "{tmp}/other",
                "--engine",
                "dask",
                "--out",
                "{tmp}/p",
            ],
            "'Spend' needed by the model is missing",
        ),
    ],
)
def test_bad_input_on_dask_is_one_sentence_and_exit_2(dask_client, tmp_path, capsys, argv, message):
    from segmentation.cli import main
    from segmentation.config import RunConfig
    from segmentation.pipeline import run

    df = _customers(300)
    folder = _parts(df, tmp_path / "parts", 2, ".parquet")
    _parts(df.drop(columns="Spend"), tmp_path / "other", 2, ".parquet")
    (tmp_path / "mixed").mkdir()
    df.to_parquet(tmp_path / "mixed" / "a.parquet")
    df.to_csv(tmp_path / "mixed" / "b.csv")
    if "predict" in argv:
        config = RunConfig(input=folder / "part00.parquet", k=3, out=tmp_path / "run")
        run(replace(config, plots=False, report=False))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--engine" in argv and "--scheduler" not in argv:
        argv += ["--scheduler", dask_client.scheduler.address]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err, err


def test_a_plain_run_does_not_import_dask(tmp_path):
    code = (
        "import sys; from segmentation.cli import main; "
        f"assert main(['run', '--out', {str(tmp_path)!r}, '--k', '3']) == 0; "
        "print('dask' in sys.modules, 'distributed' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["False", "False"]


def test_run_on_dask_beyond_the_sample(dask_client, tmp_path, monkeypatch):
    """A table larger than the sweep's sample: the sweep and profiles on the sample, the sizes
    and the Parquet parts on every customer, labelled as the saved model labels them."""
    from segmentation import pipeline
    from segmentation.config import RunConfig

    monkeypatch.setattr(pipeline, "SWEEP_SAMPLE_ROWS", 400)
    df = _customers(1500, seed=5)
    folder = _parts(df, tmp_path / "customers", 4, ".parquet")
    config = RunConfig(input=folder, k=4, out=tmp_path / "out", engine="dask", plots=False)
    start = time.perf_counter()
    with dask_client.as_current():
        result = pipeline.run(config)
    elapsed = time.perf_counter() - start
    summary = result.summary
    assert summary["n_customers"] == 1500
    assert summary["sample"]["rows"] == 400 and summary["sample"]["of"] == 1500
    assert "1,000 rows" in summary["sample"]["why_enough"]
    assert sum(segment["size"] for segment in summary["segments"]) == 1500
    parts = pd.read_parquet(tmp_path / "out" / "customers_segmented")
    model = pipeline.SegmentationModel.load(tmp_path / "out" / "model.json")
    np.testing.assert_array_equal(parts["Segment"], model.predict(df))
    sizes = np.bincount(parts["Segment"], minlength=4)
    assert [segment["size"] for segment in summary["segments"]] == sizes.tolist()
    assert any("seeded sample of 400 of the 1,500" in line for line in summary["cleaning_log"])
    # every stage timed once: the stages add up to no more than the run took
    assert sum(summary["timings"].values()) <= elapsed


def test_workers_lost_in_the_fit_are_logged_or_one_sentence_and_exit_2(
    dask_client, tmp_path, capsys, monkeypatch
):
    """A fit that restarted after losing a worker says so in the run's log; one that lost
    workers beyond its restarts stops the run with one sentence, exit 2 and no output set."""
    import warnings

    from kmeans_core import dask as kmeans_dask
    from segmentation.cli import main
    from segmentation.config import RunConfig
    from segmentation.pipeline import run

    folder = _parts(_customers(300), tmp_path / "parts", 2, ".parquet")
    fit = kmeans_dask.KMeans.fit
    said = "A Dask worker holding part of the data was lost during the fit; it restarted."

    def restarted_fit(self, X, y=None, sample_weight=None):
        warnings.warn(said, kmeans_dask.WorkerLostWarning, stacklevel=2)
        return fit(self, X, sample_weight=sample_weight)

    monkeypatch.setattr(kmeans_dask.KMeans, "fit", restarted_fit)
    config = RunConfig(input=folder, k=3, out=tmp_path / "run", engine="dask", plots=False)
    with dask_client.as_current():
        result = run(config)
    assert said in result.summary["cleaning_log"]

    def lost_fit(self, X, y=None, sample_weight=None):
        raise kmeans_dask.WorkerLostError(
            "The fit stopped after losing Dask workers that held its data (tries: 3); check "
            "the workers' memory limits and logs, then run it again."
        )

    monkeypatch.setattr(kmeans_dask.KMeans, "fit", lost_fit)
    out = tmp_path / "out"
    argv = ["run", "--input", str(folder), "--out", str(out), "--k", "3", "--engine", "dask"]
    assert main([*argv, "--scheduler", dask_client.scheduler.address]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: The fit stopped after losing Dask workers"), err
    assert "\n" not in err
    assert not out.exists()
