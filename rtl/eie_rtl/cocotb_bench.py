"""cocotb bench of the PE array: a driver for the load port, a monitor of ``done``, a checker
of the read-out (each row acknowledged, for the saturated-output counter) and of the event
counters. The job (writes to make, where to read each output, the rows to acknowledge) comes
from the file named by EIE_JOB, written by :func:`eie_rtl.verilator.run_cosim` from
:func:`eie_rtl.driver.make_job`; the large memories were preloaded from files at time 0
(``+EIE_PRELOAD``). The result goes to EIE_RESULT.

A job may hold ``positions``: a list of load-port write lists (e.g. the patch activations of each
output position of a conv layer, :func:`eie_rtl.conv.run_conv_cosim`). Then the common
``writes`` (weights, pointers, bias, configuration) are made once, and for each position its
writes are made, the array started, its outputs read and acknowledged and its counters read,
one after another in the one simulation; the result's ``runs`` holds each position's figures
(the top-level ones are the first run's). Without ``positions``, one run with no extra writes."""

from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer, with_timeout

CLOCK_NS = 10


async def load(dut, writes, wide_target):
    """Driver: one load-port write per clock cycle (pe < 0: every PE; for ``wide_target``, the
    data goes on ``load_wide``)."""
    for target, pe, addr, data in writes:
        await FallingEdge(dut.clk)
        wide = pe < 0 and target == wide_target
        dut.load_en.value = 1
        dut.load_target.value = target
        dut.load_all.value = int(pe < 0)
        dut.load_pe.value = max(pe, 0)
        dut.load_addr.value = addr
        dut.load_data.value = 0 if wide else int(data, 16)
        dut.load_wide.value = int(data, 16) if wide else 0
    await FallingEdge(dut.clk)
    dut.load_en.value = 0


def _slices(value, n: int, bits: int, signed: bool) -> list[int]:
    """The n ``bits``-wide fields of an integer, lowest first."""
    v = int(value)
    out = [(v >> (bits * k)) & ((1 << bits) - 1) for k in range(n)]
    return [x - (1 << bits) if signed and x >> (bits - 1) else x for x in out]


async def read_port(dut, settings, output):
    """Set each (signal, value) of ``settings``, let the combinational read settle, read ``output``."""
    for sig, value in settings:
        getattr(dut, sig).value = value
    await Timer(1, unit="ns")
    return getattr(dut, output).value


@cocotb.test()
async def run_layer(dut):
    job = json.loads(open(os.environ["EIE_JOB"]).read())
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rst.value = 1
    dut.start.value = 0
    dut.load_en.value = 0
    dut.out_ack.value = 0
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    t0 = time.perf_counter()
    await load(dut, job["writes"], job["wide_target"])
    t_load = time.perf_counter() - t0
    runs, t_run, t_read = [], 0.0, 0.0
    for writes in job.get("positions", [[]]):
        t0 = time.perf_counter()
        if writes:
            await load(dut, writes, job["wide_target"])
        t_load += time.perf_counter() - t0
        run, tr, td = await run_once(dut, job)
        runs.append(run)
        t_run, t_read = t_run + tr, t_read + td
    with open(os.environ["EIE_RESULT"], "w") as fh:
        json.dump({**runs[0], "runs": runs, "load_seconds": t_load, "run_seconds": t_run, "read_seconds": t_read}, fh)


async def run_once(dut, job):
    """Start the array, wait for ``done`` (monitor), read and acknowledge the outputs and read
    the counters (checker). Returns (figures, run seconds, read seconds)."""
    t0 = time.perf_counter()
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    # monitor: one trigger on `done`; the simulator runs at full speed until it rises
    await with_timeout(RisingEdge(dut.done), 2**40, "ns")
    await FallingEdge(dut.clk)
    cycles = int(dut.cycles.value)
    broadcasts = int(dut.broadcasts.value)
    t_run = time.perf_counter() - t0
    t0 = time.perf_counter()
    # checker: local row r of every PE at once on out_wide (output r * N + k from PE k)
    n_pe, n_rows = job["n_pe"], len(job["out"])
    sel = job["out"][0][1] if n_rows else 0
    outputs = []
    for r in range(-(-n_rows // n_pe)):
        v = await read_port(dut, (("out_sel", sel), ("out_addr", r)), "out_wide")
        outputs += _slices(v, n_pe, job["act_bits"], True)
    outputs = outputs[:n_rows]
    # acknowledge each row read from the destination registers, one a clock cycle: the
    # saturated-output counter counts a row at its first acknowledgement
    for r in job.get("acks", []):
        await FallingEdge(dut.clk)
        dut.out_sel.value = 0
        dut.out_addr.value = r
        dut.out_ack.value = 1
    await FallingEdge(dut.clk)
    dut.out_ack.value = 0
    by_sel = [_slices(await read_port(dut, (("ctr_sel", i),), "ctr_wide"), n_pe, 32, False)
              for i in range(job["n_pe_counters"])]
    pe_counters = [[by_sel[i][k] for i in range(job["n_pe_counters"])] for k in range(n_pe)]
    array_counters = [int(await read_port(dut, (("ctr_sel", job["array_counter_base"] + i),), "ctr_value"))
                      for i in range(job["n_array_counters"])]
    t_read = time.perf_counter() - t0
    return ({"cycles": cycles, "broadcasts": broadcasts, "outputs": outputs, "pe_counters": pe_counters,
             "array_counters": array_counters}, t_run, t_read)
