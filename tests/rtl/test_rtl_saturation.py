"""The RTL's saturation counters: ``sat_acc`` (accumulator additions the saturating adder
clipped) and ``sat_out`` (outputs clipped by the read-out, once per layer), against the cycle
model's and the golden model's counts (:mod:`eie_sim.contract.saturation`, points acc and
outputs)."""

import numpy as np
import pytest

from eie_sim import ArchConfig, encode, reference_spmv
from eie_sim.contract.model import ModelLayer

from helpers import random_codebook, random_codes

pytestmark = pytest.mark.rtl


def _acc_case(rows, cols, regs, seed):
    """A layer whose 8-bit accumulators overflow: 4-bit activations and weights near full scale,
    dense enough that every row sums many products (|q| up to 8 each: 64 per product); mostly
    positive weights, so that partial sums clip and some fall back into the range."""
    rng = np.random.default_rng(seed)
    cfg = ArchConfig(n_pe=2, fifo_depth=2, act_regs_per_pe=regs, act_bits=4, acc_bits=8)
    codes = random_codes(rng, rows, cols, 0.7, 4)
    cb = np.r_[0.0, rng.uniform(0.5, 1, 15) * rng.choice([-1, 1], 15, p=[0.25, 0.75])]
    acts = rng.uniform(0.5, 1, cols)
    return encode(codes, cb, n_pe=2, index_bits=4), acts, cfg


def _out_case(rows, cols, regs, activation, out_frac, seed):
    """A model layer whose stored out_frac is too large for its outputs (or None: chosen from
    the range, so nothing saturates)."""
    rng = np.random.default_rng(seed)
    cfg = ArchConfig(n_pe=2, fifo_depth=2, act_regs_per_pe=regs)
    ml = ModelLayer(name="fc", codebook=random_codebook(rng, 4, 0.4), codes=random_codes(rng, rows, cols, 0.5, 4),
                    bias=rng.normal(0, 0.1, rows), activation=activation, out_frac=out_frac)
    acts = np.abs(rng.normal(size=cols)) * (rng.random(cols) < 0.6)
    return ml.compressed(2), acts, cfg, ml


def _run(layer, acts, cfg, source=None):
    """The RTL's counters in the Amaranth simulator, after checking outputs, cycles and every
    counter against the models; and the golden model's saturation counts."""
    from eie_rtl.driver import compare_counters, model_counters
    from eie_rtl.pysim import run_pysim

    counters = {}
    out, cycles, job = run_pysim(layer, acts, cfg, counters=counters, source=source)
    gold = reference_spmv(layer if source is None else source, acts, cfg)
    assert out.tolist() == gold.output_fixed.tolist()
    assert cycles == job.sim.cycles
    assert compare_counters(counters, model_counters(job.sim)) == []
    return counters, job.sim.saturation, gold.saturation


# name, rows, cols, registers per PE: outputs in the destination registers or written to the
# activation SRAM (rows > 2 x registers), inputs in one or several input batches
ACC_CASES = [("registers", 9, 40, 8), ("row-and-input-batches", 21, 40, 4)]


@pytest.mark.parametrize("name, rows, cols, regs", ACC_CASES, ids=[c[0] for c in ACC_CASES])
def test_accumulator_saturation_counted(name, rows, cols, regs):
    layer, acts, cfg = _acc_case(rows, cols, regs, seed=rows)
    ctr, model, gold = _run(layer, acts, cfg)
    assert ctr["saturated_acc"] == model.acc == gold.acc > 0
    assert ctr["saturated_outputs"] == model.outputs == gold.outputs
    if name != "registers":
        assert ctr["row_batches"] > 1 and ctr["input_batches"] > 1


# name, rows, cols, registers per PE, activation, out_frac
OUT_CASES = [
    ("registers", 9, 12, 8, "none", 20),  # odd rows: PE 1 holds one output fewer than PE 0
    ("registers-relu", 10, 12, 8, "relu", 20),  # only the positive side counts
    ("written-back", 21, 12, 4, "none", 20),
    ("written-back-relu", 21, 12, 4, "relu", 16),
]


@pytest.mark.parametrize("name, rows, cols, regs, activation, out_frac", OUT_CASES, ids=[c[0] for c in OUT_CASES])
def test_output_saturation_counted(name, rows, cols, regs, activation, out_frac):
    layer, acts, cfg, ml = _out_case(rows, cols, regs, activation, out_frac, seed=rows + len(activation))
    ctr, model, gold = _run(layer, acts, cfg, source=ml)
    assert ctr["saturated_outputs"] == model.outputs == gold.outputs > 0
    assert ctr["saturated_acc"] == model.acc == gold.acc == 0
    if activation == "relu":
        assert gold.outputs < rows  # some outputs are negative: zeroed by ReLU, not counted
    assert (ctr["row_batches"] > 1) == name.startswith("written-back")


@pytest.mark.parametrize("rows, regs", [(10, 8), (21, 4)], ids=["registers", "written-back"])
def test_normal_layer_counts_no_saturation(rows, regs):
    layer, acts, cfg, ml = _out_case(rows, 12, regs, "relu", None, seed=3)
    ctr, model, gold = _run(layer, acts, cfg, source=ml)
    assert ctr["saturated_acc"] == ctr["saturated_outputs"] == 0
    assert model.acc == model.outputs == gold.acc == gold.outputs == 0


def test_output_counted_once_however_often_the_bench_acknowledges(monkeypatch):
    """Outputs left in the destination registers count at the first acknowledgement of their
    row's read-out: rows acknowledged twice (and in another order) count once; rows never
    acknowledged do not count."""
    from eie_rtl import driver
    from eie_rtl.pysim import run_pysim

    layer, acts, cfg, ml = _out_case(9, 12, 8, "none", 20, seed=11)
    want = reference_spmv(ml, acts, cfg).saturation.outputs
    assert want > 0
    ack_rows = driver.LayerJob.ack_rows.fget
    for acks, expect in ((lambda job: ack_rows(job)[::-1] * 2, want), (lambda job: [], 0)):
        monkeypatch.setattr(driver.LayerJob, "ack_rows", property(acks))
        counters = {}
        run_pysim(layer, acts, cfg, counters=counters, source=ml)
        assert counters["saturated_outputs"] == expect


def test_activation_rw_sat_out_events():
    """ActivationRW alone: ``sat_out`` rises for an acknowledged row that saturates, only while
    ``count_reads``, only for rows the PE holds (n_out) and only once per row until
    ``layer_start``; ``sat_acc`` for each clipped addition."""
    from amaranth.sim import Simulator

    from eie_rtl import LOAD_ACC, LOAD_CONFIG, ActivationRW, PEParams
    from eie_rtl.params import PE_CFG

    acc_bits, rows = 16, 6
    dut = ActivationRW(PEParams(act_bits=8, acc_bits=acc_bits, max_rows=rows))
    bias = [1000, 5, -1000, 3, 2000, 2000]  # with out_shift 0: rows 0, 2, 4 (and 5) saturate 8 bits
    events = {"sat_out": 0, "sat_acc": 0}

    async def tick(ctx):
        events["sat_out"] += ctx.get(dut.ev_sat_out)
        events["sat_acc"] += ctx.get(dut.ev_sat_acc)
        await ctx.tick()

    async def bench(ctx):
        writes = [(LOAD_ACC, r, v & ((1 << acc_bits) - 1)) for r, v in enumerate(bias)]
        writes.append((LOAD_CONFIG, PE_CFG["n_out"], 5))  # row 5 is not one of this PE's outputs
        for target, addr, data in writes:
            ctx.set(dut.load_en, 1)
            ctx.set(dut.load_target, target)
            ctx.set(dut.load_addr, addr)
            ctx.set(dut.load_data, data)
            await ctx.tick()
        ctx.set(dut.load_en, 0)
        ctx.set(dut.layer_start, 1)
        ctx.set(dut.batch_start, 1)
        await ctx.tick()
        ctx.set(dut.layer_start, 0)
        ctx.set(dut.batch_start, 0)
        for prod in (32000, 32000, -30000):  # row 1: 5 + 32000 fits, + 32000 clips, - 30000 fits
            ctx.set(dut.add_valid, 1)
            ctx.set(dut.add_row, 1)
            ctx.set(dut.add_prod, prod)
            await tick(ctx)
        ctx.set(dut.add_valid, 0)
        assert events == {"sat_out": 0, "sat_acc": 1}
        ctx.set(dut.out_ack, 1)
        for r in range(rows):  # not counting reads: nothing
            ctx.set(dut.out_addr, r)
            await tick(ctx)
        assert events["sat_out"] == 0
        ctx.set(dut.count_reads, 1)
        for r in (0, 0, 1, 2, 2, 2, 3, 5, 4, 0):  # row 1: 32767 - 30000 = 2767 saturates too
            ctx.set(dut.out_addr, r)
            await tick(ctx)
        assert events["sat_out"] == 4  # rows 0, 1, 2, 4 once each; row 5 not held
        ctx.set(dut.out_ack, 0)
        ctx.set(dut.layer_start, 1)  # a new layer counts again
        await tick(ctx)
        ctx.set(dut.layer_start, 0)
        ctx.set(dut.out_ack, 1)
        ctx.set(dut.out_addr, 4)
        await tick(ctx)
        assert events["sat_out"] == 5

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_cli_cosim_compares_saturation_counters(capsys):
    """``rtl cosim``: the 8-bit accumulators of a random layer saturate; the RTL's count is
    among the counters compared with the cycle model's (--json) and printed (text)."""
    import json

    from eie_sim.cli import main

    args = ["rtl", "cosim", "--pes", "2", "--random", "10x40", "--density", "0.5", "--act-bits", "4", "--acc-bits", "8",
            "--engine", "amaranth"]
    assert main(args + ["--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["counters_match"] and res["outputs_match"]
    n = res["counters_rtl"]["saturated_acc"]
    assert n == res["counters_model"]["saturated_acc"] > 0
    assert res["counters_rtl"]["saturated_outputs"] == res["counters_model"]["saturated_outputs"]
    assert main(args) == 0
    assert f"counters_match True, saturated (RTL): acc {n:,}" in capsys.readouterr().out


def test_verilator_saturation_counters():
    """One small Verilator build: accumulators and outputs (left in the destination registers,
    acknowledged by the cocotb bench) saturate; the counts equal the models'."""
    from eie_rtl.verilator import run_cosim

    rng = np.random.default_rng(5)
    cfg = ArchConfig(n_pe=2, fifo_depth=2, act_regs_per_pe=8, act_bits=4, acc_bits=8)
    ml = ModelLayer(name="fc", codebook=np.r_[0.0, rng.uniform(0.5, 1, 15) * rng.choice([-1, 1], 15)],
                    codes=random_codes(rng, 9, 24, 0.7, 4), act_bits=4, out_frac=3)
    acts = rng.uniform(0.5, 1, 24)
    res = run_cosim(ml.compressed(2), acts, cfg, source=ml)
    gold = reference_spmv(ml, acts, cfg).saturation
    assert res["outputs_match"] and res["cycles_rtl"] == res["cycles_model"]
    assert res["counters_match"], res["counters_differ"]
    assert res["counters_rtl"]["saturated_acc"] == gold.acc > 0
    assert res["counters_rtl"]["saturated_outputs"] == gold.outputs > 0
