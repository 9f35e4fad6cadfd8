"""Run a layer on the PE array in the Amaranth simulator (no Verilator needed; small layers)."""

from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from eie_sim import ArchConfig, CompressedLayer

from .array import PEArray
from .driver import LayerJob, layer_limits, make_job, params_for

__all__ = ["build_for", "run_pysim"]


def build_for(layer: CompressedLayer, config: ArchConfig) -> PEArray:
    """A PE array just large enough for ``layer``."""
    lim = layer_limits(layer)
    return PEArray(config.n_pe, params_for(config, **lim), max_inputs=lim["max_cols"])


def run_pysim(layer: CompressedLayer, activations, config: ArchConfig, max_cycles: int = 1_000_000) -> tuple[np.ndarray, int, LayerJob]:
    """(fixed-point outputs, cycles from start to done, the job) of one layer in the Amaranth simulator."""
    job = make_job(layer, activations, config)
    dut = build_for(layer, config)
    res = {}

    async def bench(ctx):
        for target, pe, addr, data in job.writes:
            ctx.set(dut.load_en, 1)
            ctx.set(dut.load_target, target)
            ctx.set(dut.load_pe, pe)
            ctx.set(dut.load_addr, addr)
            ctx.set(dut.load_data, data)
            await ctx.tick()
        ctx.set(dut.load_en, 0)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(max_cycles):
            if ctx.get(dut.done):
                break
            await ctx.tick()
        else:
            raise RuntimeError(f"the PE array did not finish within {max_cycles} cycles")
        res["cycles"] = ctx.get(dut.cycles)
        out = []
        for i in range(job.n_rows):
            ctx.set(dut.out_pe, i % config.n_pe)
            ctx.set(dut.out_addr, i // config.n_pe)
            out.append(ctx.get(dut.out_data))
        res["out"] = np.array(out, dtype=np.int64)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return res["out"], res["cycles"], job
