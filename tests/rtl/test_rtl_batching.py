"""Layers longer than the activation registers in the RTL: row batches, input batches (the
activation SRAM), SRAM overflow into DRAM and negative output shifts. Each case is checked
against the golden model (outputs), the cycle model (cycles) and the cycle model's counters
(every event counter of the RTL)."""

import numpy as np
import pytest

from eie_sim import ArchConfig, encode, reference_spmv, simulate
from eie_sim.contract.golden import prepare

from helpers import random_codebook, random_codes

pytestmark = pytest.mark.rtl

# name, rows, cols, n_pe, registers per PE, FIFO depth, other ArchConfig fields, seed
CASES = [
    ("rows-batched", 21, 12, 2, 4, 2, {}, 1),
    ("inputs-batched", 9, 30, 2, 4, 2, {}, 2),
    ("both-batched-3pe", 30, 31, 3, 4, 1, {}, 3),
    ("act-sram-overflow", 40, 50, 4, 4, 2, {"act_sram_kb": 0}, 4),
    ("spmat-sram-overflow", 100, 60, 2, 32, 4, {"spmat_sram_kb": 1, "index_bits": 2}, 5),
    ("narrow-index-rows-batched", 50, 7, 2, 8, 8, {"index_bits": 1}, 6),
]


def _case(rows, cols, n_pe, regs, fifo, extra, seed, density=0.6):
    rng = np.random.default_rng(seed)
    ib = extra.get("index_bits", 4)
    cfg = ArchConfig(n_pe=n_pe, fifo_depth=fifo, act_regs_per_pe=regs, **extra)
    codes = random_codes(rng, rows, cols, density, 4)
    cb = random_codebook(rng, 4, 0.4)
    acts = np.abs(rng.normal(size=cols)) * (rng.random(cols) < 0.6)
    return encode(codes, cb, n_pe=n_pe, index_bits=ib), acts, cfg


@pytest.mark.parametrize("name, rows, cols, n_pe, regs, fifo, extra, seed", CASES, ids=[c[0] for c in CASES])
def test_batched_layer_in_amaranth_sim(name, rows, cols, n_pe, regs, fifo, extra, seed):
    from eie_rtl.driver import compare_counters, model_counters
    from eie_rtl.pysim import run_pysim

    layer, acts, cfg = _case(rows, cols, n_pe, regs, fifo, extra, seed)
    counters = {}
    out, cycles, _ = run_pysim(layer, acts, cfg, counters=counters)
    sim = simulate(layer, acts, cfg)
    assert out.tolist() == reference_spmv(layer, acts, cfg).output_fixed.tolist()
    assert cycles == sim.cycles
    assert compare_counters(counters, model_counters(sim)) == []
    R = n_pe * regs
    # the case exercises what its name says
    assert counters["row_batches"] == -(-rows // R) and counters["input_batches"] == -(-cols // R)
    if "overflow" in name:
        assert counters["dram_bytes"] > 0


def test_negative_output_shift_in_amaranth_sim():
    """An output format with 3 more fraction bits than the accumulator: the read-out shifts left
    and saturates (golden contract, step 4). Small integer activations and a coarse weight
    format keep most outputs inside the range."""
    from eie_rtl.pysim import run_pysim

    layer, _, cfg = _case(12, 10, 2, 8, 2, {}, 7, density=0.5)
    acts = np.random.default_rng(7).integers(0, 4, 10).astype(float)
    fmt = {"act_frac": 0, "w_frac": 2, "out_frac": 5}
    assert prepare(layer, acts, cfg, **fmt).acc_frac - fmt["out_frac"] == -3
    out, cycles, _ = run_pysim(layer, acts, cfg, **fmt)
    gold = reference_spmv(layer, acts, cfg, **fmt).output_fixed
    assert out.tolist() == gold.tolist()
    assert cycles == simulate(layer, acts, cfg).cycles  # the same non-zero inputs
    inside = gold[(gold != 0) & (np.abs(gold) < (1 << (cfg.act_bits - 1)) - 1)]
    assert inside.size and np.all(inside % 8 == 0)  # the case exercises the left shift by 3


def test_cli_cosim_runs_a_layer_longer_than_the_registers(capsys):
    """The example of the issue: 300 inputs on 2 PEs (128 registers) runs in input batches."""
    import json

    from eie_sim.cli import main

    assert main(["rtl", "cosim", "--pes", "2", "--random", "40x300", "--engine", "amaranth", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["outputs_match"] and res["cycles_rtl"] == res["cycles_model"] and res["counters_match"]
    assert res["counters_rtl"]["input_batches"] == 3


def test_verilator_batched_overflowing_layer_preloaded_and_through_the_load_port():
    """Row and input batches with every SRAM overflowing into DRAM, in Verilator: memories
    preloaded from files and written through the load port give the same cycles, outputs and
    counters, equal to the models'."""
    from eie_rtl.verilator import run_cosim

    layer, acts, cfg = _case(70, 150, 2, 32, 4, {"ptr_bits": 32, "ptr_sram_kb": 1, "spmat_sram_kb": 1,
                                                 "act_sram_kb": 0}, 8, density=0.6)
    fast = run_cosim(layer, acts, cfg)
    slow = run_cosim(layer, acts, cfg, preload=False)
    sim = simulate(layer, acts, cfg)
    for res in (fast, slow):
        assert res["outputs"].tolist() == reference_spmv(layer, acts, cfg).output_fixed.tolist()
        assert res["cycles_rtl"] == sim.cycles
        assert res["counters_match"], res["counters_differ"]
    assert fast["counters_rtl"] == slow["counters_rtl"]
    c = fast["counters_rtl"]
    assert c["row_batches"] == 2 and c["input_batches"] == 3
    assert c["dram_bytes_ptr"] > 0 and c["dram_bytes_spmat"] > 0 and c["dram_bytes_act"] > 0
