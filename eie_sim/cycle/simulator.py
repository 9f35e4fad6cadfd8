"""``simulate()``: run a layer or a model on the cycle model and collect cycles, counters and outputs.

The timing rules and counter definitions are in :mod:`eie_sim.cycle.kernels`, the layer
preparation in :mod:`eie_sim.cycle.layers`; the arithmetic is the golden model's
(:mod:`eie_sim.contract.golden`), so ``output_fixed`` equals ``reference_spmv`` /
``reference_forward`` bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..config import ArchConfig
from .kernels import (
    ACC_FLOAT,
    ACC_INT,
    ACC_SATURATING,
    DRAIN_CYCLES,
    accumulate_rows,
    scan_acts,
    dense_pass,
    simulate_pass,
    lnzd_levels,
    lnzd_nodes,
)
from ..errors import ConfigError, describe
from ..contract.fixedpoint import QFormat
from ..contract.format import CompressedLayer
from ..contract.golden import finish, prepare
from ..contract.model import Model, ModelLayer, load_model
from ..contract.saturation import Saturation
from .dram import dram_bytes
from .layers import ROW_MAJOR_DENSITY, encoded_for, row_batches, row_major
from .steps import register_step, step_of

if TYPE_CHECKING:  # the annotation of per_pe only; it imports pandas when asked
    import pandas as pd

__all__ = ["SimResult", "simulate", "COUNTERS", "PER_PE_COLUMNS", "array_plan", "overflow_notes"]

COUNTERS = (
    "broadcasts",
    "lnzd_ops",
    "queue_pushes",
    "queue_pops",
    "ptr_sram_reads",
    "spmat_sram_reads",
    "codebook_reads",
    "macs_real",
    "macs_padding",
    "act_reg_reads",
    "act_reg_writes",
    "act_sram_reads",
    "act_sram_writes",
    "dram_bytes",
    "dram_bytes_ptr",
    "dram_bytes_spmat",
    "dram_bytes_act",
    "row_batches",
    "input_batches",
    "overhead_cycles",
)

PER_PE_COLUMNS = (
    "entries_real",
    "entries_padding",
    "busy_cycles",
    "starved_cycles",
    "blocked_cycles",
    "spmat_sram_reads",
    "stored_entries",
)


@dataclass(frozen=True, eq=False)
class SimResult:
    """Result of :func:`simulate` for one layer, or for a model (then ``layers`` holds each layer's).

    cycles: clock cycles from start to the last write-back; latency_us at ``config.clock_mhz``.
    output / output_fixed: float view and integers, bit-identical to the golden model.
    counters: dict of integers (see :mod:`eie_sim.cycle`). per_pe: DataFrame, one row per PE
    (built on first access from ``per_pe_arrays``).
    entries / padding_entries: entries stored in the layout simulated (padding included / only).
    notes: warnings a user must read, such as DRAM traffic for SRAM overflow.
    saturation: values clipped at each quantisation point (:mod:`eie_sim.contract.saturation`),
    equal to the golden model's; for a model, the sum over its layers.
    """

    name: str
    config: ArchConfig
    shape: tuple[int, int]
    cycles: int
    output: np.ndarray
    output_fixed: np.ndarray
    out_format: QFormat
    counters: dict
    per_pe_arrays: dict
    entries: int
    padding_entries: int
    notes: tuple[str, ...] = ()
    layers: tuple["SimResult", ...] = ()
    acc_saturated: bool = False
    saturation: Saturation = Saturation()

    @cached_property
    def per_pe(self) -> pd.DataFrame:
        """One row per PE: entries_real, entries_padding (processed), busy_cycles, starved_cycles
        (issue-phase cycles with an empty queue), blocked_cycles (cycles in which this PE's full
        queue stalled the broadcast), spmat_sram_reads, stored_entries."""
        import pandas as pd  # here, not at the top: a simulation needs no pandas

        return pd.DataFrame({c: self.per_pe_arrays[c] for c in PER_PE_COLUMNS},
                            index=pd.RangeIndex(self.config.n_pe, name="pe"))

    @property
    def latency_us(self) -> float:
        return self.cycles / self.config.clock_mhz

    @property
    def entries_processed(self) -> int:
        return int(self.counters["macs_real"] + self.counters["macs_padding"])

    @property
    def padding_fraction(self) -> float:
        """Padding entries (the zeros stored where a relative index overflows, EIE section III) per
        entry processed; 0.0 when nothing was processed."""
        done = self.entries_processed
        return self.counters["macs_padding"] / done if done else 0.0

    @property
    def load_efficiency(self) -> float:
        """(entries processed / n_pe) / cycles: 1.0 means every PE did useful work every cycle."""
        return self.entries_processed / self.config.n_pe / self.cycles if self.cycles else 0.0

    @property
    def gops(self) -> float:
        """Giga-operations per second on the compressed layer: 2 operations per real MAC."""
        return 2.0 * self.counters["macs_real"] / (self.latency_us * 1e3) if self.cycles else 0.0

    def to_dict(self, per_layer: bool = True) -> dict:
        d = {
            "layer": self.name,
            "shape": list(self.shape),
            "n_pe": self.config.n_pe,
            "fifo_depth": self.config.fifo_depth,
            "sram_width": self.config.sram_width,
            "weight_bits": self.config.weight_bits,
            "index_bits": self.config.index_bits,
            "ptr_bits": self.config.ptr_bits,
            "clock_mhz": self.config.clock_mhz,
            "cycles": int(self.cycles),
            "latency_us": self.latency_us,
            "load_efficiency": self.load_efficiency,
            "gops": self.gops,
            "entries": int(self.entries),
            "padding_entries": int(self.padding_entries),
            "counters": {k: int(v) for k, v in self.counters.items()},
            "out_format": [self.out_format.bits, self.out_format.frac],
            "notes": list(self.notes),
            **self.saturation.to_dict(),
        }
        if per_layer and self.layers:
            d["layers"] = [r.to_dict(per_layer=False) for r in self.layers]
        return d


# ----------------------------------------------------------------------------- one layer


def _input_batches(nz_all: np.ndarray, per_batch: int, n_batches: int) -> list[np.ndarray]:
    """``nz_all`` (non-zero input indices) split into input batches of ``per_batch`` inputs: the
    broadcasts of each pass. A batch may be empty (its pass still costs load and LNZD latency)."""
    if n_batches == 1:
        return [nz_all]
    cuts = np.searchsorted(nz_all, np.arange(1, n_batches) * per_batch)
    return np.split(nz_all, cuts)


def _held_per_pe(n: int, n_pe: int) -> np.ndarray:
    """(n_pe,) int64: how many of ``n`` interleaved values (value i on PE i % n_pe) each PE holds."""
    return np.maximum((n - np.arange(n_pe, dtype=np.int64) + n_pe - 1) // n_pe, 0)


@lru_cache(maxsize=256)
def _input_loads(n_cols: int, n_pe: int, regs: int, act_cap: int, n_batches: int) -> tuple[tuple, int, int]:
    """Register loads of inputs longer than the registers. A PE keeps its inputs in activation
    SRAM slots 0, 1, ... and loads slots ``ib * regs`` on before input batch ib, one per cycle,
    all PEs in parallel: the pass waits for the largest count. Slots from ``act_cap`` on are in
    DRAM (counted, latency hidden). Returns (cycles per input batch, SRAM reads, DRAM reads)
    of one sweep over the input batches, which every row batch repeats. Memoised: it depends
    only on the shapes and the configuration."""
    n_in = _held_per_pe(n_cols, n_pe)
    lo = (np.arange(n_batches, dtype=np.int64) * regs)[:, None]
    hi = np.minimum(lo + regs, n_in)
    loads = np.maximum(hi - lo, 0)
    sram = np.minimum(np.maximum(np.minimum(hi, act_cap) - lo, 0), loads)
    return tuple(loads.max(axis=1).tolist()), int(sram.sum()), int((loads - sram).sum())


@lru_cache(maxsize=256)
def _output_writes(row0s: tuple, n_rows: int, n_cols: int, n_pe: int, regs: int, act_cap: int) -> tuple[tuple, int, int]:
    """Write-back of outputs longer than the registers. At the end of the row batch at
    ``row0`` a PE writes its outputs (local rows ``row0 // n_pe`` on, at most ``regs``) one per
    cycle, all PEs in parallel, to the activation SRAM slots after its inputs (if those are in
    the SRAM); slots from ``act_cap`` on are in DRAM. Returns (cycles per row batch, SRAM
    writes, DRAM writes) over all row batches. Memoised: it depends only on the shapes and the
    configuration."""
    n_out = _held_per_pe(n_rows, n_pe)
    in_slots = _held_per_pe(n_cols, n_pe) if n_cols > n_pe * regs else np.zeros(n_pe, dtype=np.int64)
    lo = (np.array(row0s, dtype=np.int64) // n_pe)[:, None]
    hi = np.minimum(lo + regs, n_out)
    outs = np.maximum(hi - lo, 0)
    sram = np.minimum(np.clip(act_cap - (in_slots + lo), 0, None), outs)
    return tuple(outs.max(axis=1).tolist()), int(sram.sum()), int((outs - sram).sum())


def _pointer_reads(nz_all: np.ndarray, n_cols: int, ptr_cap: int, n_row_batches: int, n_pe: int) -> tuple[int, int]:
    """Pointer reads of the layer, (from SRAM, from DRAM), all PEs (section IV, "Pointer Read
    Unit"): p[j] and p[j+1] per PE for each broadcast column j of each row batch. Row batch b's
    ``n_cols + 1`` pointers follow the earlier ones'; a PE's first ``ptr_cap`` are in its SRAM."""
    n, in_sram = int(nz_all.size), 0
    for b in range(n_row_batches):
        ptr_base = b * (n_cols + 1)
        if ptr_base + n_cols + 1 <= ptr_cap:
            in_sram += 2 * n  # every pointer of this sub-layer is in the SRAM
        else:
            in_sram += int(np.count_nonzero(ptr_base + nz_all < ptr_cap) + np.count_nonzero(ptr_base + nz_all + 1 < ptr_cap))
    return n_pe * in_sram, n_pe * (2 * n * n_row_batches - in_sram)


@dataclass(eq=False)
class _ArrayPlan:
    """What is fixed for one encoded layer on one configuration, whatever the activations: built
    once by :func:`_array_plan` and cached on the layer per configuration. A layer runs row batch by
    row batch, one pass per input batch (:mod:`.kernels`, "Long vectors"; EIE paper, section IV,
    "Activation Read/Write"). Traffic counts are values (activations) over the whole layer.
    ``full``: the :class:`_Timing` of activations that are all non-zero, which depends only on
    the layer and the configuration (every column is broadcast), filled on first use."""

    config: ArchConfig
    n_rows: int  # M, outputs
    n_cols: int  # K, inputs
    rows_per_batch: int  # R = n_pe * act_regs_per_pe: rows per row batch, inputs per input batch
    lnzd_latency: int  # cycles from the start of a pass to its first broadcast (LNZD tree levels)
    lnzd_nodes: int
    entries_per_word: int  # (v, z) entries per spmat SRAM word
    cap_words: int  # spmat SRAM words per PE
    acc_lo: int  # accumulator range (acc_bits, signed)
    acc_hi: int
    row_batches: list  # (first row, kernel arrays) per row batch, see row_batches
    batch_rows: list  # rows of each row batch
    n_in_batches: int
    load_cycles: tuple  # per input batch: cycles loading its inputs into the registers (0: none)
    write_cycles: tuple  # per row batch: cycles writing its outputs to the SRAM (0: none)
    act_sram_reads: int  # register loads from the activation SRAM
    act_dram_in: int  # register loads from DRAM instead (act_sram_kb overflow)
    act_sram_writes: int  # outputs written to the activation SRAM
    act_dram_out: int  # outputs written to DRAM instead
    padding_entries: int  # padding entries stored, all row batches
    full: "_Timing | None" = None


@dataclass(eq=False)
class _Timing:
    """The timing side of a layer's run: cycles, :data:`COUNTERS`, per-PE arrays
    (:data:`PER_PE_COLUMNS`), entries stored and notes."""

    cycles: int
    counters: dict
    per_pe: dict
    entries: int
    notes: tuple


_PLANS_PER_LAYER = 8  # configurations whose array plan a layer keeps (a sweep visits many)


def _array_plan(enc: CompressedLayer, config: ArchConfig) -> _ArrayPlan:
    """The :class:`_ArrayPlan` of ``enc`` on ``config``, cached on the layer (the last few
    configurations; ArchConfig is frozen and hashable, and every field is part of the key)."""
    key = ("sim_plan", config)
    cache = enc._cache
    plan = cache.get(key)
    if plan is not None:
        return plan
    N, regs, A = config.n_pe, config.act_regs_per_pe, config.acc_bits
    M, K = enc.shape
    R = N * regs
    act_cap = config.act_sram_kb * 8192 // config.act_bits  # activation values per PE
    batches = row_batches(enc, R)
    n_in_batches = max(1, math.ceil(K / R))
    # vectors that fit the registers cost no load or write-back
    loads = _input_loads(K, N, regs, act_cap, n_in_batches) if K > R else ((0,) * n_in_batches, 0, 0)
    writes = (_output_writes(tuple(r0 for r0, _ in batches), M, K, N, regs, act_cap) if M > R
              else ((0,) * len(batches), 0, 0))
    plan = _ArrayPlan(
        config=config, n_rows=M, n_cols=K, rows_per_batch=R, lnzd_latency=lnzd_levels(N), lnzd_nodes=lnzd_nodes(N),
        entries_per_word=config.entries_per_word, cap_words=config.spmat_sram_kb * 8192 // config.sram_width,
        acc_lo=-(1 << (A - 1)), acc_hi=(1 << (A - 1)) - 1, row_batches=batches,
        batch_rows=[min(R, M - r0) if len(batches) > 1 else M for r0, _ in batches], n_in_batches=n_in_batches,
        load_cycles=tuple(loads[0]), write_cycles=tuple(writes[0]), act_sram_reads=len(batches) * loads[1],
        act_dram_in=len(batches) * loads[2], act_sram_writes=writes[1], act_dram_out=writes[2],
        padding_entries=sum(int(arr["padding"].sum()) for _, arr in batches),
    )
    old = [k for k in cache if isinstance(k, tuple) and k and k[0] == "sim_plan"]
    for k in old[: max(0, len(old) - _PLANS_PER_LAYER + 1)]:  # dicts keep insertion order: oldest first
        del cache[k]
    cache[key] = plan
    return plan


array_plan = _array_plan  # public names for the conv step (.conv), which runs the same plan per position


def _run_passes(plan: _ArrayPlan, nz_all: np.ndarray, arith) -> tuple[_Timing, bool]:
    """Time every pass of the layer: each row batch broadcasts ``nz_all`` (non-zero input
    indices, int64 ascending) input batch by input batch; each input batch is loaded into the
    source registers and broadcast in a pass (:func:`~.kernels._simulate_pass`): the LNZD tree
    (section IV, "Distributed Leading Non-Zero Detection") delivers the first non-zero
    ``lnzd_latency`` cycles after the start, then one a cycle, into every PE's queue
    ("Activation Queue and Load Balancing"); the clock moves to the cycle the last PE is free.
    After its passes a row batch drains (``DRAIN_CYCLES``) and writes its outputs back.

    ``arith``: None when the arithmetic is done row by row (:func:`~.kernels._accumulate_rows`,
    dense activations), else (acc, qa, qc, check_sat) for the passes to accumulate column by
    column. Returns the timing and the number of additions of that arithmetic that saturated."""
    config = plan.config
    N, fifo, epw, cap = config.n_pe, config.fifo_depth, plan.entries_per_word, plan.cap_words
    st = np.zeros((6, N), dtype=np.int64)
    busy, blocked, real, pad, sram, dram = st
    entry_base = np.zeros(N, dtype=np.int64)
    held = np.empty(N, dtype=np.int64)
    nz_batches = _input_batches(nz_all, plan.rows_per_batch, plan.n_in_batches)
    t = issue = 0
    saturated = 0
    for b, (row0, arr) in enumerate(plan.row_batches):
        held[:] = -1
        ptr_t, real_p = arr["ptr_t"], arr["real_p"]
        for nz, load_cycles in zip(nz_batches, plan.load_cycles):
            t_start = t + load_cycles + plan.lnzd_latency
            if arith is None:
                t = int(dense_pass(ptr_t, real_p, nz, fifo, t_start, epw, entry_base, cap, held, busy, blocked,
                                    real, pad, sram, dram))
            else:
                acc, qa, qc, check_sat = arith
                t, sat = simulate_pass(ptr_t, real_p, arr["col_rs"], arr["real_rows"], arr["real_codes"], nz, qa, qc,
                                        acc, plan.acc_lo, plan.acc_hi, check_sat, row0, fifo, t_start, epw, entry_base,
                                        cap, held, busy, blocked, real, pad, sram, dram)
                t = int(t)
                saturated += int(sat)
            issue += t - t_start
        entry_base += arr["entries"]
        t += DRAIN_CYCLES + plan.write_cycles[b]
    ptr = _pointer_reads(nz_all, plan.n_cols, config.ptr_capacity, len(plan.row_batches), N)
    counters = _counters(plan, int(nz_all.size), st[2:].sum(axis=1).tolist(), ptr, t, issue)
    per_pe = dict(zip(PER_PE_COLUMNS, (real, pad, busy, issue - busy, blocked, sram, entry_base)))
    timing = _Timing(cycles=t, counters=counters, per_pe=per_pe, entries=int(entry_base.sum()),
                     notes=_overflow_notes(counters, config, plan.n_cols))
    return timing, saturated


def _counters(plan: _ArrayPlan, n_nz: int, sums: list, ptr: tuple, cycles: int, issue_cycles: int) -> dict:
    """The layer's :data:`COUNTERS` (defined in :mod:`.kernels`): integer counts; dram_bytes*
    in bytes (bits rounded up); overhead_cycles: cycles outside the passes' issue phases.
    ``sums``: per-PE totals of real entries, padding entries, spmat SRAM and DRAM word reads;
    ``ptr``: pointer reads from SRAM and from DRAM."""
    config, N = plan.config, plan.config.n_pe
    broadcasts = len(plan.row_batches) * n_nz  # every row batch re-broadcasts
    real, padding, spmat_sram, spmat_dram = sums[:4]
    macs = real + padding
    return {
        "broadcasts": broadcasts, "lnzd_ops": broadcasts * plan.lnzd_nodes,
        "queue_pushes": broadcasts * N, "queue_pops": broadcasts * N,
        "ptr_sram_reads": ptr[0], "spmat_sram_reads": spmat_sram,
        "codebook_reads": macs, "macs_real": real, "macs_padding": padding,
        "act_reg_reads": broadcasts + macs + (plan.act_sram_writes + plan.act_dram_out),
        "act_reg_writes": macs + plan.n_rows + (plan.act_sram_reads + plan.act_dram_in),
        "act_sram_reads": plan.act_sram_reads, "act_sram_writes": plan.act_sram_writes,
        **dram_bytes(config, ptr[1], spmat_dram, plan.act_dram_in + plan.act_dram_out),
        "row_batches": len(plan.row_batches), "input_batches": plan.n_in_batches,
        "overhead_cycles": cycles - issue_cycles,
    }


def _overflow_notes(counters: dict, config: ArchConfig, n_cols: int) -> tuple[str, ...]:
    """One note per SRAM (spmat, pointer, activation) that overflowed into DRAM, in bytes."""
    notes = []
    if counters["dram_bytes_spmat"]:
        notes.append(f"spmat SRAM overflow: {counters['dram_bytes_spmat']} bytes of entries read from DRAM "
                     f"(spmat_sram_kb={config.spmat_sram_kb} per PE is too small for this layer)")
    if counters["dram_bytes_ptr"]:
        notes.append(f"pointer SRAM overflow: {counters['dram_bytes_ptr']} bytes of pointers read from DRAM "
                     f"({n_cols + 1} pointers x {counters['row_batches']} row batch(es) per PE, ptr_sram_kb={config.ptr_sram_kb})")
    if counters["dram_bytes_act"]:
        notes.append(f"activation SRAM overflow: {counters['dram_bytes_act']} bytes of activations moved to/from DRAM "
                     f"(act_sram_kb={config.act_sram_kb} per PE)")
    return tuple(notes)


overflow_notes = _overflow_notes


def simulate_layer(layer, activations, config: ArchConfig, name: str, **prep_kwargs) -> SimResult:
    """Run one layer (``prep_kwargs`` go to the golden ``prepare``): the arithmetic (row by row
    for dense activations, else in the passes) and the timing of every pass, then counters,
    per-PE arrays (int64, cycles and counts), notes and outputs.

    When every activation is non-zero, every column is broadcast, so the timing (cycles,
    counters, per-PE arrays, notes) depends only on the layer and the configuration: it is
    computed once and kept in the layer's :class:`_ArrayPlan` (results get copies)."""
    enc, source = encoded_for(layer, config)
    prep = prepare(source, activations, config, **prep_kwargs)
    plan = _array_plan(enc, config)
    qa, qc, K = prep.qa, prep.qc, plan.n_cols
    n_nz, sum_abs, acc0_max = scan_acts(qa, prep.acc0)
    qc_max = int(np.abs(qc).max())
    # Each row gets at most one product per column, so if |acc0| + max|qc| * sum|qa| fits, no
    # partial sum can saturate and the kernels may skip the test (they then sum exactly).
    bound = float(acc0_max) + float(qc_max) * float(sum_abs)
    check_sat = not bound < plan.acc_hi / 2
    acc = prep.acc0.copy()
    by_rows = n_nz > ROW_MAJOR_DENSITY * K  # arithmetic row by row (dense activations), not in the passes
    saturated = 0
    if by_rows:
        # float64 is exact while every product and partial sum stays within 2**53 (accumulate_rows)
        mode = ACC_SATURATING if check_sat else ACC_FLOAT if qc_max * int(sum_abs) <= 1 << 53 else ACC_INT
        for (row0, arr), rows in zip(plan.row_batches, plan.batch_rows):
            row_major(arr, rows)
            saturated += int(accumulate_rows(arr["row_ptr"], arr["row_ent"], arr["row_shift"], qa, qc, acc, row0,
                                               plan.acc_lo, plan.acc_hi, mode))
    if by_rows and n_nz == K:
        timing = plan.full
        if timing is None:
            timing = plan.full = _run_passes(plan, np.arange(K, dtype=np.int64), None)[0]
        per_pe = {c: a.copy() for c, a in timing.per_pe.items()}
        counters = dict(timing.counters)
    else:
        timing, sat = _run_passes(plan, np.flatnonzero(qa).astype(np.int64, copy=False), None if by_rows else (acc, qa, qc, check_sat))
        saturated += sat
        per_pe, counters = timing.per_pe, timing.counters
    res = finish(prep, acc, saturated)
    return SimResult(
        name=name, config=config, shape=(plan.n_rows, K), cycles=timing.cycles, output=res.output,
        output_fixed=res.output_fixed, out_format=res.out_format, counters=counters, per_pe_arrays=per_pe,
        entries=timing.entries, padding_entries=plan.padding_entries, notes=timing.notes,
        acc_saturated=res.acc_saturated, saturation=res.saturation,
    )


# ----------------------------------------------------------------------------- public entry point


def simulate(layer_or_model, activations, config: ArchConfig | None = None) -> SimResult:
    """Run a layer or a model on the cycle model of an EIE PE array.

    ``layer_or_model``: a :class:`CompressedLayer` (its n_pe, weight_bits and index_bits must
    match ``config``), a ``(codes, codebook)`` pair (encoded for the config and cached), a
    :class:`ModelLayer`, a :class:`Model` or the path of a model file. ``activations``: the
    float input vector. Returns a :class:`SimResult`; for a model, its ``layers`` hold each
    layer's result and the top level sums cycles, counters and per-PE figures. A sequence model
    (first layer of kind lstm, :mod:`eie_sim.cycle.lstm`) takes a T x X sequence; its ``layers``
    are one result per step (``lstm[0]``, ``lstm[1]``, ...; output h_t), then the FC layers.
    A conv layer (:mod:`eie_sim.cycle.conv`) gives one result, its input the flattened map.
    """
    config = ArchConfig() if config is None else config
    if not isinstance(config, ArchConfig):
        raise ConfigError(f"config={describe(config)}: expected an ArchConfig")
    if isinstance(layer_or_model, (str, Path)):
        layer_or_model = load_model(layer_or_model)
    if isinstance(layer_or_model, ModelLayer) and layer_or_model.spec.sequence:
        layer_or_model = Model(layers=(layer_or_model,), meta={"name": layer_or_model.name})
    if isinstance(layer_or_model, ModelLayer):  # its kind's step (.steps): one result for fc and conv
        return step_of(layer_or_model.kind)(layer_or_model, activations, config)[0]
    if not isinstance(layer_or_model, Model):
        return simulate_layer(layer_or_model, activations, config, "layer")
    model = layer_or_model
    results = []  # every layer's step results, chained through the kinds' steps (.steps)
    first = model.layers[0]
    results += step_of(first.kind)(first, activations, config)
    for layer in model.layers[1:]:
        prev = results[-1]
        results += step_of(layer.kind)(layer, prev.output_fixed, config, act_frac=prev.out_format.frac, fixed_input=True)
    keys = dict.fromkeys(k for r in results for k in r.counters)  # union, first-seen order
    counters = {k: sum(r.counters.get(k, 0) for r in results) for k in keys}
    per_pe = {c: sum(r.per_pe_arrays[c] for r in results) for c in PER_PE_COLUMNS}
    last = results[-1]
    return SimResult(
        name=str(model.meta.get("name", "model")),
        config=config,
        shape=(model.n_outputs, model.n_inputs),
        cycles=sum(r.cycles for r in results),
        output=last.output,
        output_fixed=last.output_fixed,
        out_format=last.out_format,
        counters=counters,
        per_pe_arrays=per_pe,
        entries=sum(r.entries for r in results),
        padding_entries=sum(r.padding_entries for r in results),
        notes=tuple(f"{r.name}: {n}" for r in results for n in r.notes),
        layers=tuple(results),
        acc_saturated=any(r.acc_saturated for r in results),
        saturation=Saturation.sum(r.saturation for r in results),
    )


def fc_step(layer, x, config: ArchConfig, *, act_frac: int | None = None, fixed_input: bool = False) -> list:
    """The cycle-model step of an fc layer (:mod:`.steps`): one :func:`simulate_layer` run."""
    return [simulate_layer(layer, x, config, layer.name, act_frac=act_frac, fixed_input=fixed_input)]


register_step("fc", fc_step)
