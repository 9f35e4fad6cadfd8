"""The one compression pipeline (eie_sim.train.pipeline): compress, import and the co-design
search all run run_recipe; the CLI's compress equals the pipeline called directly."""

import numpy as np
import pytest

from eie_sim import load_model
from eie_sim.cli import main
from eie_sim.errors import ConfigError, EIEError
from eie_sim.train import compress as dc
from eie_sim.train import pipeline
from eie_sim.train.data import load_dataset
from eie_sim.train.nn import build
from eie_sim.train.pipeline import CALIBRATION_IMAGES, Recipe, export, run_recipe


def test_cli_compress_equals_the_pipeline_called_directly(tmp_path, capsys):
    out = tmp_path / "m.npz"
    assert main(["compress", "mlp:16", "--dataset", "digits", "--dense-epochs", "2", "--prune-rounds", "2",
                 "--retrain-epochs", "1", "--finetune-epochs", "1", "--sparsity", "0.5", "--seed", "3",
                 "--out", str(out), "--quiet"]) == 0
    cli = load_model(out)
    data = load_dataset("digits")
    net = build("mlp:16", np.random.default_rng(3), data.n_features, data.n_classes, data.side)
    dc.train(net, data, dc.TrainSettings(epochs=2, lr=0.05), seed=3, label="dense")
    recipe = Recipe(sparsity=(0.5,), weight_bits=(4,), prune_rounds=2, retrain_epochs=1, finetune_epochs=1,
                    lr=0.005, finetune_lr=0.005, finetune_guard=False, seed=3)
    res = run_recipe(net, data, recipe)
    direct = export(net, data, name="m", index_bits=4)
    assert len(cli.layers) == len(direct.layers) == 2
    for a, b in zip(cli.layers, direct.layers):
        assert np.array_equal(a.codes, b.codes) and np.array_equal(a.codebook, b.codebook)
        assert np.array_equal(a.bias, b.bias) and (a.in_frac, a.out_frac, a.w_frac) == (b.in_frac, b.out_frac, b.w_frac)
    assert cli.meta["compressed_float_accuracy"] == res.accuracy["compressed"]


def test_every_caller_runs_run_recipe(monkeypatch):
    """import (io.pipeline), compress_from_master and refit_at_width (the co-design search) go
    through run_recipe; the CLI's compress imports it (checked above by equal arrays)."""
    import eie_sim.io.pipeline as iop
    from eie_sim.cli import train as cli_train

    calls = []

    def spy(real):
        return lambda *a, **k: calls.append(a[2]) or real(*a, **k)

    monkeypatch.setattr(iop, "run_recipe", spy(iop.run_recipe))
    monkeypatch.setattr(pipeline, "run_recipe", spy(pipeline.run_recipe))
    data = load_dataset("digits")
    model, master, _ = pipeline.train_dense("mlp:8", data, dc.TrainSettings(epochs=1), seed=0)
    pipeline.compress_from_master(model, master, data, Recipe(sparsity=(0.5, 0.3), retrain_epochs=1), name="c")
    pipeline.refit_at_width(model, master, data, 3, epochs=1)
    assert len(calls) == 2 and all(isinstance(r, Recipe) for r in calls)
    assert "run_recipe(" in open(cli_train.__file__).read()
    assert "run_recipe(" in open(iop.__file__).read()
    assert iop.CALIBRATION_IMAGES is CALIBRATION_IMAGES == 5000


@pytest.mark.parametrize("kw,match", [
    ({"sparsity": 1.5}, r"sparsity=1\.5: expected"),
    ({"quality": -1}, r"quality=-1: expected"),
    ({"sparsity": 0.5, "quality": 1.0}, r"quality=\(1\.0,\): expected None when sparsity is given"),
    ({"weight_bits": 9}, r"weight_bits=9: expected an integer in 1\.\.8"),
    ({"balance_index_bits": 4}, r"balance_index_bits=4: expected None without balance_pes"),
    ({"lr": 0}, r"lr=0: expected a finite number > 0"),
    ({"weight_decay": 2.0}, r"weight_decay=2\.0: expected a number in \[0, 1\]"),
    ({"finetune_guard": "yes"}, r"finetune_guard='yes': expected True or False"),
])
def test_recipe_refuses_bad_fields_in_one_line(kw, match):
    with pytest.raises(ConfigError, match=match) as e:
        Recipe(**kw)
    assert isinstance(e.value, EIEError) and "\n" not in str(e.value)
