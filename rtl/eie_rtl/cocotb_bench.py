"""cocotb bench of the PE array: a driver for the load port, a monitor of ``done``, a checker
of the read-out. The job (writes to make) comes from the file named by EIE_JOB, written by
:func:`eie_rtl.verilator.run_cosim` from :func:`eie_rtl.driver.make_job`; the result goes to
EIE_RESULT."""

from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, Timer


async def load(dut, writes):
    """Driver: one load-port write per clock cycle."""
    for target, pe, addr, data in writes:
        await FallingEdge(dut.clk)
        dut.load_en.value = 1
        dut.load_target.value = target
        dut.load_pe.value = pe
        dut.load_addr.value = addr
        dut.load_data.value = int(data, 16)
    await FallingEdge(dut.clk)
    dut.load_en.value = 0


async def wait_done(dut, limit=10_000_000):
    """Monitor: clock edges until ``done``."""
    for _ in range(limit):
        await RisingEdge(dut.clk)
        await ReadOnly()
        if int(dut.done.value):
            return
    raise RuntimeError("done never rose")


async def read_outputs(dut, n_rows, n_pe):
    out = []
    for i in range(n_rows):
        await FallingEdge(dut.clk)
        dut.out_pe.value = i % n_pe
        dut.out_addr.value = i // n_pe
        await Timer(1, unit="ns")
        out.append(int(dut.out_data.value.to_signed()))
    return out


@cocotb.test()
async def run_layer(dut):
    job = json.loads(open(os.environ["EIE_JOB"]).read())
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.start.value = 0
    dut.load_en.value = 0
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    t0 = time.perf_counter()
    await load(dut, job["writes"])
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    await wait_done(dut)
    cycles = int(dut.cycles.value)
    broadcasts = int(dut.broadcasts.value)
    seconds = time.perf_counter() - t0
    outputs = await read_outputs(dut, job["n_rows"], job["n_pe"])
    with open(os.environ["EIE_RESULT"], "w") as fh:
        json.dump({"cycles": cycles, "broadcasts": broadcasts, "outputs": outputs, "seconds": seconds,
                   "total_cycles": cycles + len(job["writes"])}, fh)
