"""A results file knows its run: the seed is a column, another --accuracy-samples gives other
point ids (never a stale accuracy), the CLI says what a resume skips, refuses --accuracy-samples
without --model and exits non-zero when every point failed."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask.distributed")
pytest.importorskip("pyarrow")

from eie_sim import sweep  # noqa: E402
from eie_sim.cli import main  # noqa: E402
from eie_sim.explore.sweep import load_sweep  # noqa: E402

MODEL = Path(__file__).resolve().parents[2] / "models" / "lenet300-fashion.npz"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "eie_sim.cli", "sweep", *args, "--workers", "1"],
                          capture_output=True, text=True)


def test_seed_is_a_column_and_other_seeds_are_other_rows(tmp_path):
    out = tmp_path / "s.parquet"
    a = sweep({"n_pe": [2, 4]}, ["alex7@0.05"], workers=1, out=out, seed=0)
    b = sweep({"n_pe": [2, 4]}, ["alex7@0.05"], workers=1, out=out, seed=1)
    assert a["seed"].tolist() == [0, 0] and b["seed"].tolist() == [1, 1]  # each run returns its own rows
    df = load_sweep(out)
    assert len(df) == 4 and df.groupby("seed")["point_id"].nunique().tolist() == [2, 2]


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").exists(),
                    reason="dataset-fashion-mnist is not installed")
def test_other_accuracy_samples_are_other_rows_with_their_own_accuracy(tmp_path):
    out = tmp_path / "a.parquet"
    s5 = sweep({"n_pe": [4]}, [], model=MODEL, workers=1, out=out, accuracy_samples=5)
    s50 = sweep({"n_pe": [4]}, [], model=MODEL, workers=1, out=out, accuracy_samples=50)
    new = s50[s50["accuracy_samples"] == 50]
    assert set(s5["point_id"]).isdisjoint(new["point_id"])
    from eie_sim.contract.golden import reference_forward_batch
    from eie_sim.contract.model import load_model
    from eie_sim.train.data import load_dataset

    data = load_dataset("fashion-mnist")
    m = load_model(MODEL)
    for n, rows in ((5, s5), (50, new)):
        want = float((reference_forward_batch(m, data.x_test[:n]).argmax(1) == data.y_test[:n]).mean())
        assert np.allclose(rows["accuracy"], want)


def test_cli_resume_messages_and_exit_codes(tmp_path):
    out = tmp_path / "r.parquet"
    args = ["--pes", "2,4", "--layers", "alex7", "--scale", "0.05", "--out", str(out)]
    assert _cli(*args).returncode == 0
    r = _cli(*args)
    assert r.returncode == 0 and "nothing to do: all 2 points are already in the results file" in r.stderr
    r = _cli("--pes", "2,4,8", *args[2:])
    assert r.returncode == 0 and "resuming: 2 of 3 points already done" in r.stderr
    r = _cli("--pes", "2", "--layers", "alex7", "--scale", "0.05", "--act-bits", "4", "--out", str(tmp_path / "f.parquet"))
    assert r.returncode == 1 and "every point failed (1 rows with errors" in r.stderr


def test_accuracy_samples_without_a_model_is_refused(tmp_path, capsys):
    assert main(["sweep", "--pes", "2", "--layers", "alex7", "--accuracy-samples", "100",
                 "--out", str(tmp_path / "x.parquet")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--accuracy-samples=100: applies to the accuracy of --model, which is not given" in err[0]


def test_plot_holds_one_seed_and_prints_plain_numbers(tmp_path):
    pytest.importorskip("matplotlib")
    from eie_sim import ConfigError
    from eie_sim.explore.plots import plot, reference_slice

    out = tmp_path / "p.parquet"
    for seed in (0, 1):
        sweep({"n_pe": [1, 2, 4]}, ["alex7@0.05"], workers=1, out=out, seed=seed)
    df = load_sweep(out)
    rows, fixed = reference_slice(df, ("n_pe",))
    assert fixed == {"seed": 0} and type(fixed["seed"]) is int
    assert sorted(rows["n_pe"].tolist()) == [1, 2, 4]  # one row per PE count
    fig = plot(df, "speedup")
    assert fig.eie_fixed["seed"] == 0
    with pytest.raises(ConfigError, match=r"the sweep has \[4\]$"):
        plot(df[df["n_pe"] == 4], "speedup")
