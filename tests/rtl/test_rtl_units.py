"""Amaranth-simulator unit tests of the RTL units against Python references."""

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator

from eie_sim import ConfigError
from eie_sim.contract.fixedpoint import round_shift

pytestmark = pytest.mark.rtl


def run(dut, bench, clock=True):
    sim = Simulator(dut)
    if clock:
        sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_lnzd_node_exhaustive():
    from eie_rtl import LNZDNode

    dut = LNZDNode(2)

    async def bench(ctx):
        for valid in range(16):
            for idx in itertools.product(range(4), repeat=4):
                if idx[1] or idx[2]:
                    continue  # keep the loop short; children 0 and 3 carry the index variation
                ctx.set(dut.valid_in, valid)
                ctx.set(dut.index_in, sum(v << (2 * c) for c, v in enumerate(idx)))
                first = next((c for c in range(4) if valid >> c & 1), None)
                assert ctx.get(dut.valid) == (first is not None)
                if first is not None:
                    assert ctx.get(dut.index) == first * 4 + idx[first]

    run(dut, bench, clock=False)


def test_pointer_banks():
    from eie_rtl import LOAD_PTR, PEParams, PointerRead

    p = PEParams(max_cols=9)
    dut = PointerRead(p)
    ptrs = [0, 3, 3, 7, 12, 12, 13, 20, 21, 25]

    async def bench(ctx):
        for j, v in enumerate(ptrs):
            ctx.set(dut.load_en, 1)
            ctx.set(dut.load_target, LOAD_PTR)
            ctx.set(dut.load_addr, j)
            ctx.set(dut.load_data, v)
            await ctx.tick()
        ctx.set(dut.load_en, 0)
        for j in range(len(ptrs) - 1):
            ctx.set(dut.col, j)
            assert (ctx.get(dut.start), ctx.get(dut.end)) == (ptrs[j], ptrs[j + 1])

    run(dut, bench)


@pytest.mark.parametrize("acc_bits, act_bits", [(48, 16), (16, 8)])
def test_activation_rw_saturating_add_and_readout(acc_bits, act_bits):
    """Initial values from the bias memory (valid bits cleared by batch_start), saturating
    adds back to back (the write-through bypass), one row never updated, and the read-out
    against the golden round_shift for right, zero and left (negative) shifts."""
    from eie_rtl import LOAD_ACC, ActivationRW, PEParams

    rows = 5
    p = PEParams(act_bits=act_bits, acc_bits=acc_bits, max_rows=rows)
    dut = ActivationRW(p)
    rng = np.random.default_rng(0)
    lim = 1 << (acc_bits - 1)
    start = [int(x) for x in rng.integers(-lim // 2, lim // 2, rows)]
    start[2] = 3  # small: left shifts of it do not all saturate
    prods = [(int(r), int(v)) for r, v in zip(rng.integers(0, rows - 1, 40),
                                              rng.integers(-(1 << (2 * act_bits - 2)), 1 << (2 * act_bits - 2), 40))]

    async def bench(ctx):
        for r, v in enumerate(start):
            ctx.set(dut.load_en, 1)
            ctx.set(dut.load_target, LOAD_ACC)
            ctx.set(dut.load_addr, r)
            ctx.set(dut.load_data, v & ((1 << acc_bits) - 1))
            await ctx.tick()
        ctx.set(dut.load_en, 0)
        ctx.set(dut.batch_start, 1)
        await ctx.tick()
        ctx.set(dut.batch_start, 0)
        acc = list(start)
        for r, v in prods:  # back to back, same rows repeating; row rows-1 never updated
            ctx.set(dut.add_valid, 1)
            ctx.set(dut.add_row, r)
            ctx.set(dut.add_prod, v)
            await ctx.tick()
            acc[r] = min(max(acc[r] + v, -lim), lim - 1)
        ctx.set(dut.add_valid, 0)
        for shift in (-40, -act_bits, -3, 0, 1, 7, 20, acc_bits + 5, 127):
            for relu in (0, 1):
                ctx.set(dut.out_shift, shift)
                ctx.set(dut.relu, relu)
                want = round_shift(np.array(acc), shift, act_bits)
                if relu:
                    want = np.maximum(want, 0)
                for r in range(rows):
                    ctx.set(dut.out_addr, r)
                    got = ctx.get(dut.out_data)
                    # the driver clamps shifts below -act_bits to -act_bits (the same outputs)
                    assert got == want[r], (shift, relu, r, acc[r], want[r])

    run(dut, bench)


def test_parameters_are_checked():
    from eie_rtl import PEArray, PEParams

    with pytest.raises(ValueError, match="fifo_depth"):
        PEParams(fifo_depth=0)
    with pytest.raises(ConfigError, match="weight_bits"):
        PEParams(weight_bits=4.0)
    with pytest.raises(ValueError, match="n_pe"):
        PEArray(0, PEParams(), 8)
    with pytest.raises(ValueError, match="child_bits"):
        __import__("eie_rtl").LNZDNode(-1)


def test_area_memory_bits_by_hand(capsys):
    import json

    from eie_sim.cli import main

    assert main(["rtl", "area", "--weight-bits", "2,4", "--json", "--max-cols", "64", "--spmat-words", "256", "--pes", "1"]) == 0
    rows = json.loads(capsys.readouterr().out)  # one document: a list, one object per width
    assert [r["weight_bits"] for r in rows] == [2, 4]
    for r in rows:
        mods, units = r["modules"], r["units"]
        # memories of 4096 bits or more are SRAM macros (memory_bits), smaller ones register
        # files mapped to flip-flops (register_file_bits)
        assert units["arith"]["register_file_bits"] == (1 << r["weight_bits"]) * 16  # the codebook
        assert units["arith"]["flip_flops"] >= (1 << r["weight_bits"]) * 16
        assert units["spmat"]["memory_bits"] == 256 * 64  # the spmat SRAM
        assert units["ptr"]["register_file_bits"] == 2 * (64 // 2 + 1) * 17  # two banks of 17-bit pointers
        assert units["actrw"]["register_file_bits"] >= 64 * 48  # the accumulators at least
        assert r["total"]["memory_bits"] == 256 * 64
        # a 16 x 16 multiplier has 256 partial-product ANDs; a mapped cell absorbs two at most
        assert units["arith"]["gates"] >= 16 * 16 // 2
        assert r["total"]["gates"] == sum(m["gates"] for m in mods.values())
        assert r["total"]["area_um2"] == pytest.approx(sum(m["area_um2"] for m in mods.values()))


def test_cli_cosim_takes_the_architecture_flags(capsys):
    """rtl cosim takes the same ArchConfig flags as run (here a 3-bit index and FIFO 2 in the
    Amaranth simulator): cycles equal the cycle model's and outputs the golden model's."""
    import json

    from eie_sim.cli import main

    assert main(["rtl", "cosim", "--random", "16x12", "--density", "0.3", "--pes", "2", "--fifo-depth", "2",
                 "--index-bits", "3", "--engine", "amaranth", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["outputs_match"] and res["cycles_rtl"] == res["cycles_model"] and res["fifo_depth"] == 2
