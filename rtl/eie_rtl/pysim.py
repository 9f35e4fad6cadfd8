"""Run a layer on the PE array in the Amaranth simulator (no Verilator needed; small layers)."""

from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from eie_sim import ArchConfig, CompressedLayer

from .array import PEArray
from .driver import ALL, LayerJob, layer_limits, make_job, params_for, rtl_counters
from .params import ARRAY_COUNTER_BASE, ARRAY_COUNTERS, LOAD_SRC, PE_COUNTERS

__all__ = ["build_for", "run_pysim", "run_positions"]


def build_for(layer: CompressedLayer, config: ArchConfig) -> PEArray:
    """A PE array just large enough for ``layer``."""
    return PEArray(config.n_pe, params_for(config, **layer_limits(layer, config)))


def run_pysim(layer: CompressedLayer, activations, config: ArchConfig, max_cycles: int = 1_000_000,
              counters: dict | None = None, source=None, **prep_kwargs) -> tuple[np.ndarray, int, LayerJob]:
    """(fixed-point outputs, cycles from start to done, the job) of one layer in the Amaranth
    simulator. ``counters``: a dict to fill with the RTL's counters (:func:`rtl_counters`);
    ``source`` and ``prep_kwargs`` as in :func:`eie_rtl.driver.make_job`."""
    job = make_job(layer, activations, config, source=source, **prep_kwargs)
    (out, cycles, ctr), = run_positions(build_for(layer, config), job.load_port_writes(), [[]], job.out, job.ack_rows,
                                        config, max_cycles)
    if counters is not None:
        counters.update(ctr)
    return out, cycles, job


def run_positions(dut: PEArray, writes, positions, out_addrs, acks, config: ArchConfig,
                  max_cycles: int = 1_000_000) -> list[tuple[np.ndarray, int, dict]]:
    """In one Amaranth simulation of ``dut``: the load-port ``writes`` (target, pe, addr, data)
    once, then for each entry of ``positions`` (a list of load-port writes, e.g. a conv
    position's patch) its writes, a start, the read-out of ``out_addrs`` (pe, sel, addr; rows
    ``acks`` acknowledged) and the counters. Returns (outputs, cycles, RTL counters) per entry."""
    runs = []

    async def write(ctx, ws):
        for target, pe, addr, data in ws:
            wide = pe == ALL and target == LOAD_SRC
            ctx.set(dut.load_en, 1)
            ctx.set(dut.load_target, target)
            ctx.set(dut.load_all, pe == ALL)
            ctx.set(dut.load_pe, max(pe, 0))
            ctx.set(dut.load_addr, addr)
            ctx.set(dut.load_data, 0 if wide else data)
            ctx.set(dut.load_wide, data if wide else 0)
            await ctx.tick()
        ctx.set(dut.load_en, 0)

    async def bench(ctx):
        await write(ctx, writes)
        for ws in positions:
            await write(ctx, ws)
            runs.append(await run_once(ctx))

    async def run_once(ctx):
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(max_cycles):
            if ctx.get(dut.done):
                break
            await ctx.tick()
        else:
            raise RuntimeError(f"the PE array did not finish within {max_cycles} cycles")
        cycles = ctx.get(dut.cycles)
        out = []
        for pe, sel, addr in out_addrs:
            ctx.set(dut.out_pe, pe)
            ctx.set(dut.out_sel, sel)
            ctx.set(dut.out_addr, addr)
            out.append(ctx.get(dut.out_data))
        ctx.set(dut.out_sel, 0)
        for addr in acks:  # acknowledge each read-out: sat_out counts the row's saturated outputs
            ctx.set(dut.out_addr, addr)
            ctx.set(dut.out_ack, 1)
            await ctx.tick()
        ctx.set(dut.out_ack, 0)
        pe_counts = []
        for k in range(config.n_pe):
            ctx.set(dut.ctr_pe, k)
            row = []
            for i in range(len(PE_COUNTERS)):
                ctx.set(dut.ctr_sel, i)
                row.append(ctx.get(dut.ctr_value))
            pe_counts.append(row)
        arr = []
        for i in range(len(ARRAY_COUNTERS)):
            ctx.set(dut.ctr_sel, ARRAY_COUNTER_BASE + i)
            arr.append(ctx.get(dut.ctr_value))
        return np.array(out, dtype=np.int64), int(cycles), rtl_counters(pe_counts, arr, cycles, config)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return runs
