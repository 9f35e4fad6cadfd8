"""A results file knows its run: every row carries the settings it was computed under (seed,
layers, energy table, model, accuracy samples, ...), each of them is part of the point ids, a
file of another run is refused unless appended to, the CLI says what a resume skips, refuses
options that do nothing and exits non-zero when every point failed, and plot draws one run at a
time (rows of several seeds or sample counts are chosen between, never mixed)."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.distributed")
pytest.importorskip("pyarrow")

from eie_sim import ArchConfig, ConfigError, suite, encode, simulate, sweep  # noqa: E402
from eie_sim.cli import main  # noqa: E402
from eie_sim.explore.run_key import RUN_COLUMNS, RunMismatchError  # noqa: E402
from eie_sim.explore.sweep import load_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "lenet300-fashion.npz"
FASHION = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
needs_fashion = pytest.mark.skipif(not FASHION.exists(), reason="dataset-fashion-mnist is not installed")
LAYER = "alex7@0.05"


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c.scheduler_address


def _cycles(n_pe: int, seed: int, name: str = "alex7", scale: float = 0.05) -> int:
    """The cycles of one point, simulated directly (not through the sweep)."""
    b = suite.get(name, seed=seed, scale=scale)
    return simulate(encode(b.codes, b.codebook, n_pe=n_pe), b.activations, ArchConfig(n_pe=n_pe)).cycles


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "eie_sim.cli", *args], capture_output=True, text=True)


# ----------------------------------------------------------------------------- the run's settings in every row


def test_every_row_carries_the_settings_of_its_run(cluster, tmp_path):
    from eie_sim.cost.presets import get_table
    from eie_sim.explore.space import energy_table_key

    df = sweep({"n_pe": [2, 4]}, [LAYER], scheduler=cluster, out=tmp_path / "s.parquet", seed=3,
               energy_table="horowitz45")
    assert set(RUN_COLUMNS) - {"accuracy_model", "model_digest", "accuracy_dataset", "accuracy_samples",
                               "retrain_epochs"} <= set(df.columns)
    assert df["seed"].tolist() == [3, 3] and df["run_command"].tolist() == ["sweep"] * 2
    assert df["run_layers"].map(json.loads).tolist() == [[LAYER]] * 2
    assert (df["energy_table"] == "horowitz45").all()
    assert (df["energy_table_digest"] == energy_table_key(get_table("horowitz45"))).all()
    assert (df["energy_node_nm"] == 45.0).all() and (df["energy_vdd"] == 1.0).all()
    assert (df["table3_cv"] == f"{suite.DEFAULT_ROW_CV:g}/{suite.DEFAULT_COL_CV:g}").all()
    assert df["input_index"].isna().all()  # no model in this run
    assert df.set_index("n_pe")["cycles"].to_dict() == {2: _cycles(2, 3), 4: _cycles(4, 3)}
    saved = load_sweep(tmp_path / "s.parquet")  # the file holds them too
    assert saved["seed"].tolist() == [3, 3] and (saved["energy_table"] == "horowitz45").all()


def test_model_rows_carry_the_model_and_its_input():
    from eie_sim.explore.run_key import run_columns
    from eie_sim.explore.results import ModelAccuracy
    from eie_sim.cost.presets import get_table
    from eie_sim.explore.space import file_digest, resolve_layers

    srcs, _ = resolve_layers([], MODEL, 0, 2, "fashion-mnist")
    acc = ModelAccuracy(str(MODEL), MODEL.name, "fashion-mnist", 100, retrain_epochs=3)
    cols = run_columns(srcs, get_table("eie45"), "k", 0, 2, acc, file_digest(MODEL))
    digest = hashlib.blake2b(MODEL.read_bytes(), digest_size=8).hexdigest()
    assert cols["model_digest"] == digest and cols["input_index"] == 2 and cols["retrain_epochs"] == 3
    assert cols["accuracy_samples"] == 100.0 and cols["accuracy_dataset"] == "fashion-mnist"
    assert cols["table3_cv"] is None  # no Table III layer in this run


def test_every_setting_that_changes_a_row_is_part_of_its_point_id():
    from eie_sim.cost.energy import scale_table
    from eie_sim.cost.presets import get_table
    from eie_sim.explore.space import plan_points, resolve_layers, energy_table_key

    def ids(layers=(LAYER,), model=None, seed=0, index=0, dataset=None, table="eie45"):
        srcs, _ = resolve_layers(list(layers), model, seed, index, dataset)
        return {pid for _, _, pid in plan_points([{"n_pe": 4}], srcs, energy_table_key(get_table(table)))}

    base = ids()
    assert ids(seed=1) != base and ids(table="horowitz45") != base
    assert ids(layers=["alex7@0.1"]) != base
    m = ids(layers=[], model=MODEL)
    assert ids(layers=[], model=MODEL, seed=1) != m  # the seed draws the model's input when no test image fits
    assert ids(layers=[], model=MODEL, index=1) != m and ids(layers=[], model=MODEL, dataset="digits") != m
    eie45 = get_table("eie45")
    assert energy_table_key(scale_table(eie45, 28, 0.9)) != energy_table_key(eie45)
    from dataclasses import replace

    assert energy_table_key(replace(eie45, sram_cell="itrs-hp")) != energy_table_key(eie45)
    assert energy_table_key(replace(eie45, reference=ArchConfig(n_pe=16))) != energy_table_key(eie45)
    # the default table's key is the one earlier versions computed: their files resume as before
    old = json.dumps({"name": eie45.name, "e": {k: repr(v) for k, v in sorted(eie45.energy_pj.items())},
                      "s": {k: repr(v) for k, v in sorted(eie45.static_mw.items())}, "node": eie45.node_nm,
                      "vdd": eie45.vdd}, sort_keys=True)
    assert energy_table_key(eie45) == hashlib.blake2b(old.encode(), digest_size=6).hexdigest()


# ----------------------------------------------------------------------------- a file of another run


@pytest.mark.parametrize("layers, kw, words", [
    ([LAYER], {"seed": 1}, "seed is 0 in the file, 1 now"),
    ([LAYER, "vgg7@0.05"], {}, f"layers are {LAYER} in the file, {LAYER},vgg7@0.05 now"),
    (["alex7@0.1"], {}, f"layers are {LAYER} in the file, alex7@0.1 now"),
    ([LAYER], {"energy_table": "horowitz45"}, "energy_table is eie45 in the file, horowitz45 now"),
])
def test_a_file_of_another_run_is_refused_before_any_work(cluster, tmp_path, layers, kw, words):
    out = tmp_path / "s.parquet"
    sweep({"n_pe": [2, 4]}, [LAYER], scheduler=cluster, out=out)
    before, calls = out.read_bytes(), []
    with pytest.raises(RunMismatchError, match=rf"^out={str(out)!r} holds the rows of another run \({words}\); "
                                               r"give --append \(append=True\)"):
        sweep({"n_pe": [2, 4]}, layers, scheduler=cluster, out=out, progress=lambda *a: calls.append(a), **kw)
    assert calls == [] and out.read_bytes() == before


def test_append_adds_the_rows_of_another_seed_and_each_run_then_resumes(cluster, tmp_path):
    out = tmp_path / "s.parquet"
    a = sweep({"n_pe": [2, 4]}, [LAYER], scheduler=cluster, out=out, seed=0)
    b = sweep({"n_pe": [2, 4]}, [LAYER], scheduler=cluster, out=out, seed=1, append=True)
    assert a["seed"].tolist() == [0, 0] and b["seed"].tolist() == [1, 1]  # each run returns its own rows
    assert b.set_index("n_pe")["cycles"].to_dict() == {2: _cycles(2, 1), 4: _cycles(4, 1)}
    assert _cycles(2, 1) != _cycles(2, 0)  # another seed is another layer: other rows, not stale ones
    df = load_sweep(out)
    assert len(df) == 4 and df.groupby("seed")["point_id"].nunique().tolist() == [2, 2]
    for seed in (0, 1):  # either run now resumes without --append: nothing runs again
        starts = []
        sweep({"n_pe": [2, 4]}, [LAYER], scheduler=cluster, out=out, seed=seed, progress=lambda d, t, e: starts.append((d, t)))
        assert starts == [(2, 2)]
    with pytest.raises(RunMismatchError, match=r"seed is 1 in the file, 2 now"):  # the nearest run is named
        sweep({"n_pe": [2, 4]}, [LAYER], scheduler=cluster, out=out, seed=2)


def test_more_points_of_the_same_run_are_a_resume(cluster, tmp_path):
    out = tmp_path / "s.parquet"
    sweep({"n_pe": [2, 4]}, [LAYER], scheduler=cluster, out=out)
    starts = []
    df = sweep({"n_pe": [2, 4, 8]}, [LAYER], scheduler=cluster, out=out, progress=lambda d, t, e: starts.append(d))
    assert starts[0] == 2 and df.set_index("n_pe")["cycles"].to_dict()[8] == _cycles(8, 0)


def test_files_of_earlier_versions_and_of_codesign(cluster, tmp_path):
    out = tmp_path / "old.parquet"
    full = sweep({"n_pe": [2, 4]}, [LAYER], scheduler=cluster)
    legacy = full.drop(columns=[c for c in RUN_COLUMNS if c != "energy_table" and c in full.columns])
    legacy.iloc[:1].to_parquet(out)  # an earlier version's file, stopped after one point
    starts = []
    again = sweep({"n_pe": [2, 4]}, [LAYER], scheduler=cluster, out=out, progress=lambda d, t, e: starts.append(d))
    assert starts[0] == 1 and again["cycles"].tolist() == full["cycles"].tolist()  # resumed: what it lacks is not compared
    legacy.to_parquet(out)
    with pytest.raises(RunMismatchError, match=rf"layers are {LAYER} in the file, vgg7@0.05 now"):
        sweep({"n_pe": [2, 4]}, ["vgg7@0.05"], scheduler=cluster, out=out)
    legacy.assign(candidate="c0", rung=0, kind="candidate").to_parquet(out)  # the rows of eie-sim codesign
    with pytest.raises(RunMismatchError, match=r"command is codesign in the file, sweep now"):
        sweep({"n_pe": [2, 4]}, [LAYER], scheduler=cluster, out=out)


def test_a_csv_file_knows_its_run_too(cluster, tmp_path):
    out = tmp_path / "s.csv"
    sweep({"n_pe": [2]}, [LAYER], scheduler=cluster, out=out)
    starts = []
    sweep({"n_pe": [2]}, [LAYER], scheduler=cluster, out=out, progress=lambda d, t, e: starts.append(d))
    assert starts == [1]
    assert isinstance(load_sweep(out)["energy_table_digest"].iloc[0], str)
    with pytest.raises(RunMismatchError, match="energy_table is eie45 in the file, horowitz45 now"):
        sweep({"n_pe": [2]}, [LAYER], scheduler=cluster, out=out, energy_table="horowitz45")


@needs_fashion
def test_other_accuracy_samples_are_another_run_with_its_own_accuracy(cluster, tmp_path):
    from eie_sim.contract.golden import reference_forward_batch
    from eie_sim.contract.model import load_model
    from eie_sim.train.data import load_dataset

    out = tmp_path / "a.parquet"
    s5 = sweep({"n_pe": [4]}, [], model=MODEL, scheduler=cluster, out=out, accuracy_samples=5)
    with pytest.raises(RunMismatchError, match="accuracy_samples is 5 in the file, 50 now"):
        sweep({"n_pe": [4]}, [], model=MODEL, scheduler=cluster, out=out, accuracy_samples=50)
    with pytest.raises(RunMismatchError, match="accuracy_samples is 5 in the file, all now"):
        sweep({"n_pe": [4]}, [], model=MODEL, scheduler=cluster, out=out)
    s50 = sweep({"n_pe": [4]}, [], model=MODEL, scheduler=cluster, out=out, accuracy_samples=50, append=True)
    assert set(s5["point_id"]).isdisjoint(s50["point_id"]) and (s50["accuracy_samples"] == 50).all()
    digest = hashlib.blake2b(MODEL.read_bytes(), digest_size=8).hexdigest()
    assert (s50["model_digest"] == digest).all() and (s50["input_index"] == 0).all()
    data, m = load_dataset("fashion-mnist"), load_model(MODEL)
    for n, rows in ((5, s5), (50, s50)):
        want = float((reference_forward_batch(m, data.x_test[:n]).argmax(1) == data.y_test[:n]).mean())
        assert np.allclose(rows["accuracy"], want)


def test_options_that_do_nothing_are_refused():
    with pytest.raises(ConfigError, match=r"^accuracy_samples=100: applies to the accuracy of model=, which is not given"):
        sweep({"n_pe": [2]}, [LAYER], workers=1, accuracy_samples=100)
    with pytest.raises(ConfigError, match=r"^dataset='digits': applies to a model"):
        sweep({"n_pe": [2]}, [LAYER], workers=1, dataset="digits")
    with pytest.raises(ConfigError, match=r"^append='yes': expected True or False"):
        sweep({"n_pe": [2]}, [LAYER], workers=1, append="yes")


# ----------------------------------------------------------------------------- the CLI


def test_cli_refuses_another_run_in_one_line_and_appends_when_told(tmp_path):
    out = tmp_path / "r.parquet"
    args = ["sweep", "--pes", "1,2", "--layers", "alex7", "--scale", "0.05", "--out", str(out), "--workers", "1"]
    assert _cli(*args).returncode == 0
    r = _cli(*args, "--seed", "1")
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and "(seed is 0 in the file, 1 now); give --append" in err[0]
    assert err[0].startswith("eie-sim: error: out=")
    r = _cli(*args, "--seed", "1", "--append", "--json", "--quiet")
    assert r.returncode == 0 and json.loads(r.stdout)["points"] == 2
    assert sorted(load_sweep(out)["seed"]) == [0, 0, 1, 1]
    r = _cli(*args, "--node-nm", "28", "--vdd", "0.9")  # the energy table rescaled: another run
    assert r.returncode == 2 and ("energy_table is eie45 in the file, eie45@28nm/0.9V now; energy_node_nm is 45 in the "
                                  "file, 28 now; energy_vdd is 1 in the file, 0.9 now") in r.stderr
    assert _cli(*args, "--node-nm", "28", "--vdd", "0.9", "--append").returncode == 0
    df = load_sweep(out)
    scaled = df[df["energy_table"] == "eie45@28nm/0.9V"]
    assert sorted(scaled["n_pe"]) == [1, 2] and (scaled["energy_node_nm"] == 28).all()
    assert (scaled["energy_vdd"] == 0.9).all() and scaled["point_id"].isin(df[df["energy_table"] == "eie45"]["point_id"]).sum() == 0


def test_cli_resume_messages_and_exit_codes(tmp_path):
    out = tmp_path / "r.parquet"
    args = ["sweep", "--pes", "2,4", "--layers", "alex7", "--scale", "0.05", "--out", str(out), "--workers", "1"]
    assert _cli(*args).returncode == 0
    r = _cli(*args)
    assert r.returncode == 0 and "nothing to do: all 2 points are already in the results file" in r.stderr
    assert "points/s" not in r.stderr and "ETA" not in r.stderr
    r = _cli(*args, "--quiet", "--json")  # said without the progress line too; the summary counts them
    assert "nothing to do" in r.stderr and json.loads(r.stdout)["already_done"] == 2
    r = _cli("sweep", "--pes", "2,4,8", *args[3:])
    assert r.returncode == 0 and "resuming: 2 of 3 points already done" in r.stderr
    assert "3 points (2 already done)" in r.stdout
    r = _cli("sweep", "--pes", "2", "--layers", "alex7", "--scale", "0.05", "--act-bits", "4", "--workers", "1",
             "--out", str(tmp_path / "f.parquet"))
    assert r.returncode == 1 and "every point failed (1 rows with errors" in r.stderr


@pytest.mark.parametrize("extra, words", [
    (["--limit-test", "100"], "--limit-test=100: applies to the accuracy of --model, which is not given"),
    (["--dataset", "digits"], "--dataset=digits: applies to a model (its accuracy and input), and neither --model"),
    (["--finetune-epochs", "2"], "--finetune-epochs=2: applies to the accuracy of --model"),
    (["--input-index", "2"], "--input-index=2: applies to the input of a model"),
])
def test_cli_refuses_model_options_without_a_model(tmp_path, capsys, extra, words):
    assert main(["sweep", "--pes", "2", "--layers", "alex7", *extra, "--out", str(tmp_path / "x.parquet")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not (tmp_path / "x.parquet").exists()


# ----------------------------------------------------------------------------- plots of a file of several runs


@pytest.fixture(scope="module")
def two_seeds(cluster, tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "p.parquet"
    sweep({"n_pe": [1, 2, 4]}, [LAYER], scheduler=cluster, out=out, seed=0)
    sweep({"n_pe": [1, 2, 4]}, [LAYER], scheduler=cluster, out=out, seed=1, append=True)
    return out


def test_plot_refuses_to_mix_seeds_and_draws_the_one_chosen(two_seeds):
    pytest.importorskip("matplotlib")
    from eie_sim.explore.plots import plot, reference_slice

    df = load_sweep(two_seeds)
    msg = r"^the rows hold 2 values of seed \(0, 1\): runs of other settings in one file; choose one with --seed N"
    with pytest.raises(ConfigError, match=msg):
        plot(df, "speedup")
    with pytest.raises(ConfigError, match=msg):
        reference_slice(df, ("n_pe",))
    fig = plot(df, "speedup", seed=1)
    assert fig.eie_fixed == {"seed": 1} and type(fig.eie_fixed["seed"]) is int
    assert "held fixed: seed=1" in fig.axes[0].get_title()
    line = next(l for l in fig.axes[0].get_lines() if l.get_label() == LAYER)
    assert line.get_xdata().tolist() == [1, 2, 4]  # one dot per PE count
    want = [_cycles(1, 1) / _cycles(n, 1) for n in (1, 2, 4)]
    np.testing.assert_allclose(line.get_ydata(), want)
    assert want[0] == 1.0
    with pytest.raises(ConfigError, match=r"^seed=7: no row has it \(the sweep has 0, 1\)"):
        plot(df, "speedup", seed=7)


def test_cli_plot_names_the_column_and_chooses_by_seed(two_seeds, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "s.png"
    assert main(["plot", str(two_seeds), "--kind", "speedup", "-o", str(png)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2 values of seed (0, 1)" in err[0] and "--seed N" in err[0]
    assert main(["plot", str(two_seeds), "--kind", "speedup", "--seed", "0", "-o", str(png)]) == 0
    assert "(held fixed: seed=0)" in capsys.readouterr().out and png.stat().st_size > 10_000
    assert main(["plot", str(two_seeds), "--kind", "speedup", "--where", "seed=1", "-o", str(png)]) == 0
    assert "(held fixed: seed=1)" in capsys.readouterr().out


def test_plot_messages_name_plain_numbers(two_seeds, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    one = load_sweep(two_seeds)
    one = one[(one["n_pe"] == 4) & (one["seed"] == 0)]
    f = tmp_path / "one.parquet"
    one.to_parquet(f)
    assert main(["plot", str(f), "-o", str(tmp_path / "figs")]) == 0
    err = capsys.readouterr().err
    assert "skipped speedup: plot kind 'speedup' needs at least two values of n_pe; the sweep has [4]" in err
    assert "np." not in err and "int64" not in err
    assert main(["plot", str(f), "--kind", "fifo", "-o", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err
    assert "needs at least two values of fifo_depth; the sweep has [" in err and "np." not in err
