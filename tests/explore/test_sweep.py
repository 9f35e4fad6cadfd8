"""Design-space sweeps on Dask: rows equal direct simulations, resume, worker-count
independence, error rows, accuracy per bit width, the CLI and the plots."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.distributed")
pytest.importorskip("pyarrow")

from eie_sim import ArchConfig, ConfigError, SweepLayer, suite, encode, energy_report, simulate, sweep  # noqa: E402
from eie_sim.cli import main  # noqa: E402
from eie_sim.contract.codebook import kmeans_codebook, quantize, recluster  # noqa: E402
from eie_sim.contract.model import load_model  # noqa: E402
from eie_sim.explore.sweep import expand_space, load_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "lenet300-fashion.npz"
have_fashion = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").exists() or bool(
    os.environ.get("EIE_SIM_FASHION_DIR"))
needs_fashion = pytest.mark.skipif(not have_fashion, reason="dataset-fashion-mnist is not installed")

SPACE = {"n_pe": [2, 8], "fifo_depth": [1, 4], "sram_width": [32, 128]}
LAYERS = ["alex8@0.05", "ntwd@0.04"]


def _user_layer():
    rng = np.random.default_rng(7)
    codes = np.where(rng.random((40, 30)) < 0.3, rng.integers(1, 16, (40, 30)), 0)
    return SweepLayer("mine", codes, np.r_[0.0, np.sort(rng.normal(0, 0.2, 15))], rng.random(30))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted sweep on 2 local workers, the result other tests compare against."""
    out = tmp_path_factory.mktemp("sweep") / "ref.parquet"
    df = sweep(SPACE, LAYERS + [_user_layer()], workers=2, out=out)
    return df, out


# ----------------------------------------------------------------------------- validation (no cluster)


@pytest.mark.parametrize("space, words", [
    ({"n_pes": [1, 2]}, "'n_pes': not an ArchConfig field"),
    ({"n_pe": []}, "is empty"),
    ({"n_pe": 4}, "expected a list"),
    ({"n_pe": "4"}, "expected a list"),
    ({"n_pe": [4, 0]}, "value 0"),
    ({"fifo_depth": [1, 1]}, "values repeat"),
    ({"weight_bits": [4, 9]}, "value 9"),
    ([("n_pe", [1])], "expected a dict"),
])
def test_bad_spaces_refused_before_work(space, words, tmp_path):
    out = tmp_path / "x.parquet"
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        sweep(space, ["alex8@0.05"], workers=1, out=out)
    assert not out.exists()


def test_bad_layers_and_options_refused(tmp_path):
    with pytest.raises(ConfigError, match="not a Table III layer"):
        sweep({"n_pe": [2]}, ["alexnet"], workers=1)
    with pytest.raises(ConfigError, match="scale"):
        sweep({"n_pe": [2]}, ["alex8@2"], workers=1)
    with pytest.raises(ConfigError, match="given twice"):
        sweep({"n_pe": [2]}, ["alex8", "alex8"], workers=1)
    with pytest.raises(ConfigError, match="workers"):
        sweep({"n_pe": [2]}, ["alex8@0.05"], workers=0)
    with pytest.raises(ConfigError, match="activations have shape"):
        SweepLayer("bad", np.zeros((3, 4), dtype=np.uint8), np.zeros(2), np.zeros(5))
    with pytest.raises(ConfigError, match="at least one"):
        sweep({"n_pe": [2]}, [], workers=1)
    with pytest.raises(ConfigError, match="one or the other"):
        sweep({"n_pe": [2]}, ["alex8@0.05"], workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ConfigError, match="dataset="):
        sweep({"n_pe": [2]}, [], model=MODEL, dataset="imagenet", workers=1)


def test_expand_space_is_the_cartesian_product():
    assert expand_space({"n_pe": np.array([1, 2])}) == [{"n_pe": 1}, {"n_pe": 2}]  # NumPy ints: same point ids
    assert type(expand_space({"n_pe": np.array([1])})[0]["n_pe"]) is int
    pts = expand_space({"n_pe": [1, 2, 4], "fifo_depth": [2, 8]})
    assert len(pts) == 6
    assert pts[0] == {"n_pe": 1, "fifo_depth": 2} and pts[-1] == {"n_pe": 4, "fifo_depth": 8}
    assert len({tuple(sorted(p.items())) for p in pts}) == 6


# ----------------------------------------------------------------------------- recluster


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_recluster_equals_kmeans_on_the_expanded_weights(bits):
    rng = np.random.default_rng(bits)
    cb = np.r_[0.0, np.sort(rng.normal(0, 0.1, 15))]
    codes = np.where(rng.random((60, 50)) < 0.4, rng.integers(1, 16, (60, 50)), 0)
    new_codes, new_cb = recluster(codes, cb, bits)
    w = cb[codes]
    ref_cb = kmeans_codebook(w, bits)
    assert new_cb.size == 1 << bits
    np.testing.assert_allclose(new_cb, ref_cb, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(new_codes, quantize(w, ref_cb))
    assert np.array_equal(new_codes != 0, codes != 0)  # no weight pruned or added


def test_recluster_to_more_bits_keeps_every_value():
    rng = np.random.default_rng(0)
    cb = np.r_[0.0, np.sort(rng.normal(0, 0.1, 15))]
    codes = rng.integers(0, 16, (20, 20))
    c6, cb6 = recluster(codes, cb, 6)
    assert cb6.size == 64
    np.testing.assert_array_equal(cb6[c6], cb[codes])


# ----------------------------------------------------------------------------- results


def test_rows_equal_direct_simulation(reference):
    df, _ = reference
    n_layers = len(LAYERS) + 1
    assert len(df) == 8 * n_layers and df["point_id"].nunique() == len(df)
    assert df["error"].isna().all()
    for name in LAYERS:
        b = suite.get(name.split("@")[0], scale=float(name.split("@")[1]))
        for _, row in df[df["layer"] == name].iterrows():
            cfg = ArchConfig(n_pe=int(row["n_pe"]), fifo_depth=int(row["fifo_depth"]), sram_width=int(row["sram_width"]))
            sim = simulate(encode(b.codes, b.codebook, n_pe=cfg.n_pe), b.activations, cfg)
            rep = energy_report(sim, "eie45")
            assert row["cycles"] == sim.cycles
            assert row["spmat_sram_reads"] == sim.counters["spmat_sram_reads"]
            assert row["padding_entries"] == sim.padding_entries
            assert row["load_efficiency"] == pytest.approx(sim.load_efficiency)
            assert row["energy_pj"] == pytest.approx(rep.energy_pj)
            assert row["area_mm2"] == pytest.approx(rep.area_mm2)
            mods = sum(row[c] for c in df.columns if c.startswith("energy_module_"))
            assert mods == pytest.approx(row["energy_pj"])
    u = _user_layer()
    row = df[(df["layer"] == "mine") & (df["n_pe"] == 8) & (df["fifo_depth"] == 1) & (df["sram_width"] == 32)].iloc[0]
    cfg = ArchConfig(n_pe=8, fifo_depth=1, sram_width=32)
    assert row["cycles"] == simulate(encode(u.codes, u.codebook, n_pe=8), u.activations, cfg).cycles


def test_sram_width_moves_reads_not_cycles_or_work(reference):
    df, _ = reference
    g = df[(df["layer"] == "alex8@0.05") & (df["n_pe"] == 8) & (df["fifo_depth"] == 4)].set_index("sram_width")
    assert g.loc[128, "spmat_sram_reads"] < g.loc[32, "spmat_sram_reads"]
    assert g.loc[128, "macs_real"] == g.loc[32, "macs_real"]


def test_results_do_not_depend_on_worker_count(reference, tmp_path):
    df, _ = reference
    one = sweep(SPACE, LAYERS + [_user_layer()], workers=1, batch_size=3)
    pd.testing.assert_frame_equal(one.drop(columns=["notes"]), df.drop(columns=["notes"]), check_dtype=False)


def test_resume_after_interrupt_loses_nothing_and_duplicates_nothing(reference, tmp_path):
    df, _ = reference
    out = tmp_path / "resume.parquet"
    seen = []

    def stop_early(done, total, elapsed):
        seen.append(done)
        if done >= 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(SPACE, LAYERS + [_user_layer()], workers=1, batch_size=2, out=out, progress=stop_early)
    part = load_sweep(out)
    assert 0 < len(part) < len(df)
    starts = []
    full = sweep(SPACE, LAYERS + [_user_layer()], workers=2, out=out, progress=lambda d, t, e: starts.append(d))
    assert starts[0] == part["point_id"].nunique()  # the rerun skipped what was saved
    assert not full.duplicated(["point_id", "layer"]).any()
    pd.testing.assert_frame_equal(full.drop(columns=["notes"]), df.drop(columns=["notes"]), check_dtype=False)
    again = []
    sweep(SPACE, LAYERS + [_user_layer()], workers=1, out=out, progress=lambda d, t, e: again.append((d, t)))
    assert again == [(len(df), len(df))]  # nothing left to do: no cluster is started
    assert len(load_sweep(out)) == len(df)


def test_failing_points_get_error_rows_and_the_sweep_goes_on():
    rng = np.random.default_rng(3)
    codes = np.where(rng.random((64, 64)) < 0.5, rng.integers(1, 16, (64, 64)), 0)
    lay = SweepLayer("dense-ish", codes, np.r_[0.0, np.linspace(-1, 1, 15)], rng.random(64))
    df = sweep({"n_pe": [1, 4], "ptr_bits": [8, 17]}, [lay], workers=1)
    bad = df[df["error"].notna()]
    # 1 PE holds ~2,000 entries: 8-bit pointers overflow; 4 PEs hold ~500: they overflow too
    assert set(zip(bad["n_pe"], bad["ptr_bits"])) == {(1, 8), (4, 8)}
    assert bad["error"].str.contains("PointerOverflowError").all() and bad["cycles"].isna().all()
    good = df[df["error"].isna()]
    assert len(good) == 2 and good["cycles"].notna().all()


def test_pointer_width_grows_when_not_swept():
    b = suite.get("alex6", scale=0.5)  # 4608 x 2048 at 9%: ~850k entries on 1 PE need 20-bit pointers
    df = sweep({"n_pe": [1, 64]}, ["alex6@0.5"], workers=1)
    assert df["error"].isna().all()
    one = df[df["n_pe"] == 1].iloc[0]
    nnz = int(np.count_nonzero(b.codes))
    assert one["ptr_bits"] >= nnz.bit_length() and one["ptr_bits"] > 17
    assert df[df["n_pe"] == 64].iloc[0]["ptr_bits"] == 17


def test_existing_cluster_by_scheduler_address():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        got = sweep({"n_pe": [8], "fifo_depth": [4]}, ["alex8@0.05"], scheduler=cluster.scheduler_address)
    b = suite.get("alex8", scale=0.05)
    cfg = ArchConfig(n_pe=8, fifo_depth=4)
    assert got.iloc[0]["cycles"] == simulate(encode(b.codes, b.codebook, n_pe=8), b.activations, cfg).cycles
    with pytest.raises(ConfigError, match="scheduler"):
        sweep({"n_pe": [8]}, ["alex8@0.05"], scheduler="")


# ----------------------------------------------------------------------------- accuracy


@needs_fashion
def test_accuracy_per_weight_bits_matches_the_golden_model(tmp_path):
    from eie_sim.train.data import load_dataset
    from eie_sim.contract.golden import reference_forward_batch
    from eie_sim.contract.model import Model, ModelLayer

    n = 300
    df = sweep({"weight_bits": [2, 4], "n_pe": [16]}, [], model=MODEL, workers=1, accuracy_samples=n)
    assert set(df["layer"]) == {"fc1", "fc2", "fc3"}
    d = load_dataset("fashion-mnist")
    x, y = d.x_test[:n], d.y_test[:n]
    m = load_model(MODEL)
    acc4 = float((reference_forward_batch(m, x).argmax(1) == y).mean())
    m2 = Model(layers=tuple(
        ModelLayer(name=l.name, codebook=c, codes=k, bias=l.bias, activation=l.activation, act_bits=l.act_bits,
                   in_frac=l.in_frac, w_frac=l.w_frac, out_frac=l.out_frac, index_bits=l.index_bits)
        for l in m.layers for k, c in [recluster(l.dense_codes(), l.codebook, 2)]), meta=m.meta)
    acc2 = float((reference_forward_batch(m2, x).argmax(1) == y).mean())
    got = df.groupby("weight_bits")["accuracy"].agg(["min", "max"])
    assert got.loc[4, "min"] == got.loc[4, "max"] == pytest.approx(acc4)
    assert got.loc[2, "min"] == got.loc[2, "max"] == pytest.approx(acc2)
    assert acc2 < acc4
    # the model's layers run with the re-clustered weights: 2-bit rows read fewer spmat bits
    assert df["error"].isna().all()


# ----------------------------------------------------------------------------- CLI and plots


def test_cli_sweep_resume_and_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "cli.parquet"
    argv = ["sweep", "--pes", "1,2,4", "--fifo-depth", "1,8", "--sram-width", "32,64", "--layers", "alex8,ntwe",
            "--scale", "0.05", "--out", str(out), "--workers", "1", "--json", "--quiet"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert '"points": 24' in first and '"errors": 0' in first
    assert main(argv) == 0  # resumes: nothing to do
    assert len(load_sweep(out)) == 24
    for kind in ("speedup", "fifo", "padding", "balance", "sram-width", "energy"):
        png = tmp_path / f"{kind}.png"
        assert main(["plot", str(out), "--kind", kind, "-o", str(png)]) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert main(["plot", str(out), "--kind", "pareto", "-o", str(tmp_path / "p.png")]) == 2  # no accuracy column
    assert "needs an accuracy column" in capsys.readouterr().err
    assert main(["sweep", "--pes", "1,x", "--layers", "alex8", "--out", str(tmp_path / "y.parquet")]) == 2
    assert "--pes='1,x'" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "missing.parquet"), "--kind", "fifo", "-o", str(tmp_path / "m.png")]) == 2


def test_pareto_front_is_not_dominated():
    from eie_sim.explore.plots import pareto_front

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"weight_bits": np.repeat([2, 3, 4, 5], 3), "n_pe": np.tile([4, 16, 64], 4),
                       "energy_pj": rng.random(12) * 1e6, "accuracy": rng.random(12), "layer": "fc1", "error": ""})
    g = pareto_front(df)
    front = g[g["on_front"]]
    for _, r in g.iterrows():
        dominated = ((g["energy_pj"] < r["energy_pj"]) & (g["accuracy"] >= r["accuracy"])).any()
        assert r["on_front"] == (not dominated)
    assert front["accuracy"].is_monotonic_increasing


def test_ctrl_c_in_the_cli_then_rerun_completes(tmp_path):
    """SIGINT to a running `eie-sim sweep` saves what finished; the same command resumes."""
    out = tmp_path / "int.parquet"
    cmd = [sys.executable, "-m", "eie_sim.cli", "sweep", "--pes", "1,2,4,8,16,32,64", "--fifo-depth", "1,2,4,8",
           "--sram-width", "32,64,128", "--layers", "alex6,vgg7", "--scale", "0.5", "--out", str(out),
           "--workers", "1", "--points-per-task", "1", "--flush-seconds", "0", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if out.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    total = 7 * 4 * 3 * 2
    print('interrupted sweep exit code', proc.returncode)
    if proc.returncode == 130:
        assert "rerun the same command to resume" in err
        n_saved = load_sweep(out)["point_id"].nunique()
        assert 0 < n_saved < total
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    df = load_sweep(out)
    assert len(df) == total and not df.duplicated(["point_id", "layer"]).any()


def test_a_worker_killed_mid_sweep_loses_nothing(reference):
    """A worker process dies while the sweep runs: Dask reruns its tasks elsewhere (the nanny
    restarts it) and the result equals the uninterrupted sweep."""
    from dask.distributed import Client, LocalCluster

    df, _ = reference
    killed = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as admin:
            victim, pid = sorted(admin.run(os.getpid).items())[0]

            def kill_once(done, total, elapsed):
                if done > 0 and not killed:
                    killed.append(done)
                    os.kill(pid, signal.SIGKILL)  # a crash, not a clean shutdown

            got = sweep(SPACE, LAYERS + [_user_layer()], scheduler=cluster.scheduler_address, batch_size=1,
                        progress=kill_once)
            for _ in range(100):  # the nanny brings up a new worker process, at a new address
                if victim not in admin.scheduler_info()["workers"]:
                    break
                time.sleep(0.1)
            assert victim not in admin.scheduler_info()["workers"]
    assert killed and killed[0] < len(df)
    pd.testing.assert_frame_equal(got.drop(columns=["notes"]), df.drop(columns=["notes"]), check_dtype=False)


def test_the_most_expensive_groups_are_submitted_first():
    """Longest-processing-time-first: the group that encodes and simulates the most weights goes
    out first with the highest priority, whatever order the layers were given in."""
    from eie_sim.cost.presets import get_table
    from eie_sim.explore.space import plan_points, resolve_layers, energy_table_key
    from eie_sim.explore.sweep import _group_by_encoding, _submit_batches

    class FakeClient:
        def __init__(self):
            self.calls = []

        def scheduler_info(self):
            return {"workers": {"a": {}, "b": {}}}

        def scatter(self, v, broadcast=False):
            return v

        def submit(self, fn, src, user, cfgs, ids, *common, pure, priority):
            self.calls.append((src.name, next(iter(cfgs))["n_pe"], priority))
            return object()

    table = get_table("eie45")
    srcs, arrays = resolve_layers(["alex8@0.05", "vgg6@0.2", "ntwe@0.1"], None, 0, 0, None)
    todo = plan_points(expand_space({"n_pe": [4, 16]}), srcs, energy_table_key(table))
    client = FakeClient()
    _submit_batches(client, _group_by_encoding(todo), arrays, len(todo), None, (table, 0, True))
    names = [(n, pe) for n, pe, _ in client.calls]
    assert names[0] == ("vgg6@0.2", 16) and names[-1] == ("alex8@0.05", 4)
    prios = [p for _, _, p in client.calls]
    assert prios == sorted(prios, reverse=True) and len(set(prios)) == len(prios)
