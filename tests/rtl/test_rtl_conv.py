"""A conv layer on the RTL as its sequence of patch SpMVs, weights loaded once and one patch
loaded per output position (host-side im2col and pooling), in the Amaranth simulator and in
Verilator under cocotb: outputs equal the golden model bit for bit, cycles and every fc counter
per position equal the fc cycle model on (W', patch) -- the spec's slow reference of the conv
cycle step -- and the conv step's array cycles and fc counters equal the RTL's sums."""

import numpy as np
import pytest

from eie_sim import ArchConfig
from eie_sim.contract.model import ModelLayer

pytestmark = pytest.mark.rtl

CASES = [  # name, c_in, c_out, hw, kernel, stride, padding, pool, seed
    ("s1-pad1-maxpool", 2, 6, (5, 5), (3, 3), (1, 1), (1, 1, 1, 1), "max", 1),
    ("s2-asym-pad", 2, 6, (5, 5), (3, 3), (2, 2), (0, 1, 1, 0), "none", 2),
]
REGS = {"s2-asym-pad-long-vectors": 1}  # 1 register per PE: patches in the activation SRAM, 2 row batches
PYSIM_CASES = CASES + [("s2-asym-pad-long-vectors",) + CASES[1][1:]]


def _layer(c_in, c_out, hw, kernel, stride, padding, pool, seed):
    rng = np.random.default_rng(seed)
    kh, kw = kernel
    codes = rng.integers(0, 16, (c_out, c_in * kh * kw))
    codes[rng.random(codes.shape) > 0.5] = 0
    cb = np.concatenate([[0.0], rng.normal(0, 0.5, 15)])
    params = dict(in_hw=hw, kernel=kernel, stride=stride, padding=padding, pool=pool)
    if pool != "none":
        params.update(pool_kernel=2, pool_stride=2, pool_padding=0)
    layer = ModelLayer(name="c", codebook=cb, codes=codes.astype(np.uint8), bias=rng.normal(0, 0.1, c_out),
                       activation="relu", kind="conv", params=params)
    x = np.abs(rng.normal(size=c_in * hw[0] * hw[1])) * (rng.random(c_in * hw[0] * hw[1]) < 0.7)
    return layer, x


@pytest.mark.parametrize("name, c_in, c_out, hw, kernel, stride, padding, pool, seed", PYSIM_CASES,
                         ids=[c[0] for c in PYSIM_CASES])
def test_conv_layer_in_amaranth_sim(name, c_in, c_out, hw, kernel, stride, padding, pool, seed):
    from eie_rtl.conv import run_conv_pysim
    from eie_rtl.driver import compare_counters, model_counters

    from eie_sim import reference_forward
    from eie_sim.contract.conv import patches_of
    from eie_sim.cycle.simulator import simulate_layer
    from eie_sim.cycle.steps import step_kinds

    layer, x = _layer(c_in, c_out, hw, kernel, stride, padding, pool, seed)
    cfg = ArchConfig(n_pe=4, act_regs_per_pe=REGS.get(name, 64))
    run = run_conv_pysim(layer, x, cfg)
    gold = run.golden
    assert run.conv_fixed.tolist() == gold.conv_fixed.reshape(run.conv_fixed.shape).tolist()
    assert run.output_fixed.tolist() == gold.output_fixed.tolist()
    assert run.output_fixed.tolist() == np.asarray(reference_forward(layer, x, cfg).output_fixed).reshape(-1).tolist()
    fmt = dict(fixed_input=True, act_frac=gold.act_format.frac, out_frac=gold.out_format.frac)
    total, fc_sums = 0, {}
    for p, patch in enumerate(patches_of(layer, gold.input_fixed)):
        sim = simulate_layer(layer, patch.astype(np.int64), cfg, "c", **fmt)
        assert run.cycles[p] == sim.cycles
        assert compare_counters(run.counters[p], model_counters(sim)) == []
        total += sim.cycles
        for k, v in sim.counters.items():
            fc_sums[k] = fc_sums.get(k, 0) + int(v)
    assert sum(run.cycles) == total
    if "conv" in step_kinds():  # the cycle model's conv step: array cycles and the fc counters
        from eie_sim import simulate

        conv = simulate(layer, x, cfg)
        c = conv.counters
        assert conv.cycles - c["patch_stall_cycles"] - c["pool_cycles"] == total
        # the RTL equals the fc model per position (above), so the conv step's fc counters equal their sums
        assert {k: int(c[k]) for k in fc_sums} == fc_sums
    _check_report(layer, x, cfg, run)


def _check_report(layer, x, cfg, run):
    """conv_report: everything equal; the weights were written once, the patches per position."""
    from eie_rtl.conv import conv_report, summary_line

    from eie_sim.contract.conv import geometry

    rep = conv_report(layer, x, cfg, run)
    assert rep["outputs_match"] and rep["cycles_per_position_match"], rep["first_mismatch"]
    assert rep["cycles_rtl"] == rep["cycles_model"] == sum(run.cycles)
    assert rep["counters_match"], rep["counters_differ"]
    assert rep["cycles_layer_model"] == rep["cycles_model"] + rep["patch_stall_cycles"] + rep["pool_cycles"]
    assert len(run.cycles) == rep["positions"] == geometry(layer).positions
    assert rep["counters_rtl"]["broadcasts"] > 0 and rep["counters_rtl"]["macs_real"] > 0
    assert ", counters equal" in summary_line(rep, cfg)
    return rep


def test_conv_layer_in_verilator_weights_loaded_once():
    """One small Verilator build (4 PEs, 6 x 18 matrix): the cocotb bench writes the weights
    once and loops over the 25 output positions in one simulation, each loading only its patch."""
    from eie_rtl.conv import run_conv_cosim

    layer, x = _layer(*CASES[0][1:])
    cfg = ArchConfig(n_pe=4)
    run = run_conv_cosim(layer, x, cfg)
    rep = _check_report(layer, x, cfg, run)
    assert rep["engine"] == "verilator" and rep["positions"] == 25
    assert rep["patch_writes"] == 25 * 5  # ceil(18 / 4) source-register writes (4 inputs each) per position
    print(rep["layer"], rep["cycles_rtl"], rep["cycles_model"], rep["seconds"])


def test_cli_cosim_of_a_conv_model_layer(tmp_path, capsys):
    from eie_sim.cli import main
    from eie_sim.contract.model import save_model

    layer, _ = _layer(*CASES[1][1:])
    path = save_model(layer, tmp_path / "conv.npz")
    assert main(["rtl", "cosim", "--model", str(path), "--engine", "amaranth"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cosim: conv 2x5x5 -> 6x2x2") and "outputs equal golden" in out and "counters equal" in out
    assert "4 positions, weights loaded once" in out
