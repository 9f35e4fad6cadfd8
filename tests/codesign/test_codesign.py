"""The co-design search (eie_sim.codesign), master weights in model files
(eie_sim.contract.master) and retraining from them (eie_sim.train.pipeline), on scikit-learn's
digits with a tiny MLP, every task in this process (scheduler="synchronous")."""

import json

import numpy as np
import pytest

from eie_sim.cli import main
from eie_sim.config import ArchConfig
from eie_sim.contract.codebook import recluster
from eie_sim.contract.golden import reference_forward_batch
from eie_sim.contract.master import MasterWeights, load_master, master_from_codes, save_with_master
from eie_sim.contract.model import Model, load_model, save_model
from eie_sim.cost.report import energy_report
from eie_sim.cycle.simulator import simulate
from eie_sim.errors import ConfigError, ModelFileError
from eie_sim.codesign import tasks as codesign_task
from eie_sim.codesign import CodesignSpace, SearchSettings, best_compression, codesign
from eie_sim.explore.plots import pareto_mask
from eie_sim.explore.worker import _relayer
from eie_sim.train.compress import TrainSettings
from eie_sim.train.data import load_dataset
from eie_sim.train.pipeline import Recipe, compress_from_master, refit_at_width, train_dense

pytest.importorskip("sklearn")
pytest.importorskip("pyarrow")

SPACE = CodesignSpace(sparsity=((0.6, 0.8), (0.5,), (0.3,)), weight_bits=(3, 4), balance=(False, True),
                      n_pe=(2, 4), fifo_depth=(2, 4), sram_width=(32,), index_bits=(3, 4))
SEARCH = SearchSettings(candidates=3, eta=2, epochs=(1, 2), dense_epochs=4, simulate_images=3, budget_minutes=30)


def _acc(model, d):
    return float((reference_forward_batch(model, d.x_test).argmax(axis=1) == d.y_test).mean())


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def dense(digits):
    return train_dense("mlp:24,12", digits, TrainSettings(epochs=6), seed=0)


@pytest.fixture(scope="module")
def compressed(digits, dense):
    model, master, _ = dense
    return compress_from_master(model, master, digits, Recipe(sparsity=(0.7, 0.5, 0.2), weight_bits=4, retrain_epochs=1,
                                                              finetune_epochs=1, seed=3), name="c")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One search with a reference model and every output; the calls to candidate_task counted."""
    tmp = tmp_path_factory.mktemp("codesign")
    calls = []
    real = codesign_task.candidate_task

    def counting(*a):
        calls.append(a[3])  # the candidate's model name
        return real(*a)

    mp = pytest.MonkeyPatch()
    mp.setattr(codesign_task, "candidate_task", counting)
    try:
        d = load_dataset("digits")
        m, ms, _ = train_dense("mlp:24,12", d, TrainSettings(epochs=3), seed=1)
        ref, _, _ = compress_from_master(m, ms, d, Recipe(sparsity=(0.6, 0.5, 0.3), weight_bits=4, retrain_epochs=1,
                                                          finetune_epochs=1), name="ref")
        save_model(ref, tmp / "ref.npz")
        kw = dict(out=tmp / "cd.parquet", space=SPACE, search=SEARCH, scheduler="synchronous", reference=tmp / "ref.npz",
                  save_best=tmp / "best.npz", figures=tmp / "figs")
        res = codesign("mlp:24,12", "digits", **kw)
        first = list(calls)
        yield {"res": res, "tmp": tmp, "calls": calls, "first": first, "kw": kw}
    finally:
        mp.undo()


# ----------------------------------------------------------------------------- master weights


def test_master_weights_round_trip_exactly(tmp_path, dense):
    model, master, _ = dense
    rng = np.random.default_rng(0)
    masks = tuple(rng.random(w.shape) < 0.5 for w in master.weights)
    m = MasterWeights(tuple(w * k for w, k in zip(master.weights, masks)), masks, master.biases, "pruned")
    path = save_with_master(model, tmp_path / "m.npz", m)
    back = load_master(path)
    assert back.stage == "pruned"
    for a, b in zip(m.weights + m.masks + m.biases, back.weights + back.masks + back.biases):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    loaded = load_model(path)  # the model itself loads as before, its arrays untouched
    assert loaded.meta["master"] == {"version": 1, "stage": "pruned", "layers": 3}
    assert all(np.array_equal(a.dense_codes(), b.dense_codes()) for a, b in zip(model.layers, loaded.layers))
    save_model(model, tmp_path / "plain.npz")
    assert load_master(tmp_path / "plain.npz") is None
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["master.L1.w"] = arrays["master.L1.w"][:, :3]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match="master.L1.w"):
        load_master(tmp_path / "bad.npz")


def test_master_refuses_weights_outside_the_mask(dense):
    _, master, _ = dense
    masks = tuple(np.zeros(w.shape, bool) for w in master.weights)
    with pytest.raises(ModelFileError, match="outside its mask"):
        MasterWeights(master.weights, masks, master.biases, "pruned")


def test_master_from_codes_is_the_shared_weights(compressed):
    model, _, _ = compressed
    m = master_from_codes(model)
    for lay, w, k in zip(model.layers, m.weights, m.masks):
        assert np.array_equal(w, lay.codebook[lay.dense_codes()].astype(np.float32))
        assert np.array_equal(k, lay.dense_codes() != 0)


# ----------------------------------------------------------------------------- retraining from master weights


def test_compress_from_master_keeps_the_sparsity_and_its_accuracy_is_the_models(digits, compressed):
    model, master, info = compressed
    assert info["pruned"] and [round(k, 2) for k in info["kept"]] == [0.3, 0.5, 0.8]
    for lay, mask in zip(model.layers, master.masks):
        assert not np.any(lay.dense_codes()[~mask])  # no weight outside the new master's mask
    assert info["float_accuracy"] == pytest.approx(_acc(model, digits), abs=0.02)


def test_retraining_at_a_new_width_is_computed_not_copied(digits, compressed):
    model, master, _ = compressed
    re2 = [recluster(l.dense_codes(), l.codebook, 2) for l in model.layers]
    reclustered = Model(layers=tuple(_relayer(l, codes=c, codebook=cb) for l, (c, cb) in zip(model.layers, re2)),
                        meta=model.meta)
    refit = refit_at_width(model, master, digits, 2, epochs=2, seed=0)
    assert [l.weight_bits for l in refit.layers] == [2, 2, 2]
    assert not all(np.array_equal(a.codebook, b.codebook) for a, b in zip(refit.layers, reclustered.layers))
    assert _acc(refit, digits) != _acc(reclustered, digits)
    same = refit_at_width(model, master, digits, 4, epochs=1, seed=0)  # at the model's own width: trained again
    assert not all(np.array_equal(a.codebook, b.codebook) for a, b in zip(same.layers, model.layers))
    for lay, mask in zip(refit.layers, master.masks):
        assert np.array_equal(lay.dense_codes() != 0, mask & (lay.dense_codes() != 0))


# ----------------------------------------------------------------------------- the search


def _dominates(a, b, cost):
    return a[cost] <= b[cost] and a["accuracy"] >= b["accuracy"] and (a[cost] < b[cost] or a["accuracy"] > b["accuracy"])


@pytest.mark.parametrize("front,cost", [("front_energy", "energy_pj"), ("front_latency", "latency_us")])
def test_pareto_fronts_are_non_dominated(run, front, cost):
    res = run["res"]
    designs = [r for _, r in res.results.iterrows() if r["kind"] == "candidate" and r["error"] is None]
    front_rows = [r for _, r in getattr(res, front).iterrows()]
    assert front_rows and len(designs) == 3 * 8 + 2 * 8  # 3 candidates, then 2, on 8 hardware points
    for f in front_rows:
        assert not any(_dominates(d, f, cost) for d in designs)
    keys = {r["point_id"] for r in front_rows}
    for d in designs:  # every other design is dominated by a design on the front, or ties with one
        if d["point_id"] not in keys:
            assert any(_dominates(f, d, cost) or (f[cost] == d[cost] and f["accuracy"] == d["accuracy"])
                       for f in front_rows)


def test_pareto_mask_slow_check():
    rng = np.random.default_rng(5)
    cost, value = rng.integers(0, 8, 200).astype(float), rng.integers(0, 8, 200).astype(float)
    mask = pareto_mask(cost, value)
    for i in range(200):
        dominated = any(cost[j] <= cost[i] and value[j] >= value[i] and (cost[j] < cost[i] or value[j] > value[i])
                        for j in range(200))
        if mask[i]:
            assert not dominated
        else:
            assert dominated or any(mask[j] and cost[j] == cost[i] and value[j] == value[i] for j in range(200))


def test_search_rungs_promote_and_train_further(run):
    res = run["res"]
    assert [r["candidates"] for r in res.rungs] == [3, 2] and res.stopped is None
    assert len(run["first"]) == 5
    promoted = res.rungs[0]["promoted"]
    r1 = res.results[res.results["rung"] == 1]
    assert sorted(set(r1["candidate"])) == sorted(promoted)
    assert (r1["epochs"] == 4 * 1 + 2 * 2).all()  # 3 pruning rounds + fine-tuning at 1, then 2 + 2
    assert res.results.loc[res.results["error"].isna(), "simulator_matches"].all()


def test_saved_design_matches_an_independent_evaluation(run, digits):
    res, tmp = run["res"], run["tmp"]
    best, ref = res.best, res.reference_row
    assert res.best_path == tmp / "best.npz" and best["energy_pj"] < ref["energy_pj"]
    assert all(best[k] == ref[k] for k in ("n_pe", "fifo_depth", "sram_width", "index_bits"))
    model = load_model(res.best_path)
    assert load_master(res.best_path) is not None
    assert model.meta["codesign"]["n_pe"] == best["n_pe"]
    assert all(l.index_bits == best["index_bits"] for l in model.layers)
    assert _acc(model, digits) == best["accuracy"]
    cfg = ArchConfig(n_pe=int(best["n_pe"]), fifo_depth=int(best["fifo_depth"]), sram_width=int(best["sram_width"]),
                     weight_bits=model.layers[0].weight_bits, index_bits=int(best["index_bits"]))
    sims = [simulate(model, digits.x_test[i].astype(np.float64), cfg) for i in range(3)]
    assert np.mean([energy_report(s, "eie45").energy_pj for s in sims]) == pytest.approx(best["energy_pj"], rel=1e-12)
    assert np.mean([s.latency_us for s in sims]) == pytest.approx(best["latency_us"], rel=1e-12)
    bc = best_compression(res.results, res.dense_accuracy, 100.0)
    assert bc["compression"] == res.results.loc[res.results["kind"] == "candidate", "compression"].max()
    assert all(p.is_file() for p in res.figures) and len(res.figures) == 2


def test_resume_skips_finished_candidates(run):
    kw, calls = run["kw"], run["calls"]
    n = len(calls)
    again = codesign("mlp:24,12", "digits", **kw)
    assert len(calls) == n  # nothing trained again
    assert [r["resumed"] for r in again.rungs] == [3, 2]
    assert again.best["point_id"] == run["res"].best["point_id"]
    # a lost model file of a promoted candidate: that one rung-0 task runs again, nothing else
    name = run["res"].rungs[0]["promoted"][0]
    lost = next((kw["out"].parent / "cd.work" / "models").glob(f"{name}-r0-*.npz"))
    lost.unlink()
    third = codesign("mlp:24,12", "digits", **kw)
    assert calls[n:] == [f"{name}-r0"]
    assert [r["resumed"] for r in third.rungs] == [2, 2]
    assert third.results["point_id"].is_unique


def test_an_expired_budget_stops_and_keeps_what_ran(tmp_path):
    search = SearchSettings(candidates=2, epochs=(1, 1), dense_epochs=1, simulate_images=1, budget_minutes=1e-9)
    res = codesign("mlp:8,4", "digits", out=tmp_path / "cd.parquet", space=SPACE, search=search, scheduler="synchronous")
    assert res.stopped and "budget" in res.stopped and res.rungs[0]["trained"] == 0
    assert res.best is None


@pytest.mark.parametrize("kw,match", [
    ({"space": {"n_pe": [4]}}, "space="),
    ({"network": "lenet5"}, "network='lenet5'"),
    ({"dataset": "cifar"}, "dataset='cifar'"),
    ({"out": "x.txt"}, "out='x.txt'"),
    ({"max_loss": -1}, "max_loss=-1"),
    ({"scheduler": "nowhere"}, "scheduler='nowhere'"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, kw, match):
    args = {"network": "mlp:8", "dataset": "digits", "out": tmp_path / "cd.parquet", **kw}
    with pytest.raises(ConfigError, match=match):
        codesign(args.pop("network"), args.pop("dataset"), **args)
    assert not (tmp_path / "cd.parquet").exists()


@pytest.mark.parametrize("bad,match", [
    (lambda: CodesignSpace(weight_bits=(9,)), "weight_bits"), (lambda: CodesignSpace(balance=("on",)), "balance"),
    (lambda: SearchSettings(epochs=()), "epochs"), (lambda: SearchSettings(eta=1), "eta=1"),
    (lambda: CodesignSpace(sparsity=((1.0,),)), r"sparsity\[0\]"),
    (lambda: CodesignSpace(sram_width=(8,)), "sram_width=8 with weight_bits=5 and index_bits=4"),
])
def test_bad_space_and_settings(bad, match):
    with pytest.raises(ConfigError, match=match):
        bad()


def test_cli_codesign_json_and_one_line_errors(tmp_path, capsys):
    args = ["codesign", "mlp:8", "--dataset", "digits", "--out", str(tmp_path / "cd.parquet"), "--sparsity", "0.5",
            "--weight-bits", "3", "--balance", "off", "--pes", "2", "--fifo-depth", "2", "--sram-width", "32",
            "--index-bits", "4", "--candidates", "1", "--rung-epochs", "1", "--dense-epochs", "1", "--simulate", "1",
            "--synchronous", "--quiet", "--json", "--table-out", str(tmp_path / "t.md")]
    assert main(args) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["designs"] == 1 and s["best"]["n_pe"] == 2 and len(s["figures"]) == 2
    assert "accuracy %" in (tmp_path / "t.md").read_text()
    assert main(args[:-4] + ["--balance", "maybe"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--balance='maybe'" in err[0]


def test_sweep_accuracy_fine_tuned_at_each_width(tmp_path, digits, compressed):
    from eie_sim.explore.sweep import sweep

    model, master, _ = compressed
    path = save_with_master(Model(layers=model.layers, meta=dict(model.meta, dataset="digits")), tmp_path / "m.npz", master)
    space = {"weight_bits": [2, 4], "n_pe": [2]}
    plain = sweep(space, [], model=path, workers=1, out=tmp_path / "plain.parquet")
    tuned = sweep(space, [], model=path, workers=1, out=tmp_path / "tuned.parquet", retrain_epochs=1)
    assert set(plain["point_id"]).isdisjoint(tuned["point_id"])
    assert tuned["accuracy_model"].iloc[0] == "m.npz (fine-tuned 1 epochs at each width)"
    for wb in (2, 4):
        want = _acc(refit_at_width(model, master, digits, wb, epochs=1), digits)  # computed here, independently
        assert (tuned.loc[tuned["weight_bits"] == wb, "accuracy"] == want).all()
    p2, t2 = (df.loc[df["weight_bits"] == 2, "accuracy"].iloc[0] for df in (plain, tuned))
    assert p2 != t2
    save_model(model, tmp_path / "plain.npz")
    with pytest.raises(ConfigError, match="retrain_epochs=1: needs model= a model file with master weights"):
        sweep(space, [], model=tmp_path / "plain.npz", dataset="digits", workers=1, retrain_epochs=1)


def test_compress_keep_master_then_codesign_from_it(tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert main(["compress", "mlp:16", "--dataset", "digits", "--dense-epochs", "2", "--retrain-epochs", "1",
                 "--finetune-epochs", "1", "--sparsity", "0.5", "--keep-master", "--out", str(path), "--quiet"]) == 0
    model, master = load_model(path), load_master(path)
    assert master.stage == "pruned" and [round(k, 2) for k in master.kept] == [0.5, 0.5]
    for lay, mask in zip(model.layers, master.masks):
        assert not np.any(lay.dense_codes()[~mask])
    space = CodesignSpace(sparsity=((0.7,),), weight_bits=(3,), balance=(False,), n_pe=(2,), fifo_depth=(2,),
                          sram_width=(32,), index_bits=(4,))
    res = codesign(path, "digits", out=tmp_path / "cd.parquet", space=space, scheduler="synchronous",
                   search=SearchSettings(candidates=1, epochs=(1,), simulate_images=1))
    assert [round(k / 100, 2) for k in res.results["kept_pct"]] == [0.3]
    assert main(["compress", "lenet5", "--dataset", "digits", "--keep-master", "--out", str(path)]) == 2
    assert "--keep-master" in capsys.readouterr().err
