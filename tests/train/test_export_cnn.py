"""Export of a weight-shared CNN (eie_sim.train.export_cnn): the model's float view equals the
trainer network's forward; golden, cycle model and model file agree on it."""

from __future__ import annotations

import numpy as np

from eie_sim.config import ArchConfig
from eie_sim.contract.golden import reference_forward, reference_forward_batch
from eie_sim.contract.model import load_model, save_model
from eie_sim.cycle.simulator import simulate
from eie_sim.train.compress import apply_sparsity, export_model, float_forward, share_weights
from eie_sim.train.nn import lenet5


def _net():
    rng = np.random.default_rng(5)
    net = lenet5(rng, side=16)  # conv 5x5 -> pool -> conv 5x5 -> pool -> fc 500 relu -> fc 10
    apply_sparsity(net, [0.4, 0.7, 0.9, 0.8])
    share_weights(net, 4, seed=0)
    return net, rng


def test_exported_model_is_the_trainer_network():
    net, rng = _net()
    x = rng.random((12, 1, 16, 16)).astype(np.float32)
    model = export_model(net, x[:8], name="lenet5-small")
    assert [l.kind for l in model.layers] == ["conv", "conv", "fc", "fc"]
    assert model.layers[0].pool == "max" and model.layers[2].activation == "relu"
    want = net.forward(x).astype(np.float64)
    got = float_forward(model, x.reshape(len(x), -1))
    assert np.allclose(got, want, rtol=1e-4, atol=1e-4)
    # the calibrated golden model: batch = single, and close to the float view
    q = reference_forward_batch(model, x.reshape(len(x), -1).astype(np.float64))
    for i in (0, 11):
        r = reference_forward(model, x[i].reshape(-1).astype(np.float64))
        assert np.array_equal(r.output_fixed, q[i])
        assert np.abs(r.output - got[i]).max() < 0.02 * max(1.0, np.abs(got[i]).max())


def test_exported_cnn_runs_on_the_cycle_model_and_round_trips(tmp_path):
    net, rng = _net()
    x = rng.random((4, 1, 16, 16)).astype(np.float32)
    model = export_model(net, x, name="lenet5-small")
    path = save_model(model, tmp_path / "cnn.npz")
    back = load_model(path)
    v = x[0].reshape(-1).astype(np.float64)
    res = simulate(back, v, ArchConfig(n_pe=8))
    assert np.array_equal(res.output_fixed, reference_forward(model, v).output_fixed)
    assert [r.name for r in res.layers] == ["conv1", "conv2", "fc1", "fc2"]


def test_mixed_code_widths_run_on_one_width_array():
    """Deep Compression's per-layer widths (6-bit conv, 4-bit fc): eval runs the model on an array
    of the widest width, narrower codebooks padded; outputs equal the golden model's."""
    from eie_sim import one_code_width

    rng = np.random.default_rng(5)
    net = lenet5(rng, side=16)
    apply_sparsity(net, [0.4, 0.7, 0.9, 0.8])
    share_weights(net, [6, 6, 4, 4], seed=0)
    x = rng.random((4, 1, 16, 16)).astype(np.float32)
    model = export_model(net, x, name="lenet5-mixed")
    assert [l.weight_bits for l in model.layers] == [6, 6, 4, 4]
    wide, widths = one_code_width(model)
    assert widths == [4, 6] and [l.weight_bits for l in wide.layers] == [6, 6, 6, 6]
    for a, b in zip(model.layers, wide.layers):
        assert np.array_equal(a.codebook[a.dense_codes()], b.codebook[b.dense_codes()])
    v = x[1].reshape(-1).astype(np.float64)
    res = simulate(wide, v, ArchConfig(n_pe=8, weight_bits=6))
    assert np.array_equal(res.output_fixed, reference_forward(model, v).output_fixed)
    same, none = one_code_width(wide)
    assert same is wide and none == []


def test_run_on_a_mixed_width_model_says_so_and_equals_golden(tmp_path, capsys):
    """``eie-sim run`` on a model of 6-bit conv and 4-bit fc codes: one note line, then outputs
    equal to the golden model of the model as stored."""
    from eie_sim.cli import main

    rng = np.random.default_rng(6)
    net = lenet5(rng, side=16)
    apply_sparsity(net, [0.4, 0.7, 0.9, 0.8])
    share_weights(net, [6, 6, 4, 4], seed=0)
    model = export_model(net, rng.random((4, 1, 16, 16)).astype(np.float32), name="lenet5-mixed")
    path = save_model(model, tmp_path / "mixed.npz")
    out = tmp_path / "y.npy"
    assert main(["run", str(path), "--pes", "4", "-o", str(out)]) == 0
    notes = [l for l in capsys.readouterr().err.splitlines() if "weight_bits" in l]
    assert len(notes) == 1 and "weight_bits [4, 6]" in notes[0] and "runs at 6 bits" in notes[0]
    x = np.random.default_rng(0).random(model.n_inputs)  # run's input: seeded uniform, seed 0
    assert np.array_equal(np.load(out), reference_forward(model, x).output)
