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

import numpy as np
import pandas as pd

from ..config import ArchConfig
from .kernels import (
    DRAIN_CYCLES,
    _accumulate_rows,
    _dense_pass,
    _simulate_pass,
    lnzd_levels,
    lnzd_nodes,
)
from ..errors import ConfigError, describe
from ..contract.fixedpoint import QFormat
from ..contract.format import CompressedLayer
from ..contract.golden import finish, prepare
from ..contract.model import Model, ModelLayer, load_model
from .layers import ROW_MAJOR_DENSITY, _encoded_for, _row_batches, _row_major

__all__ = ["SimResult", "simulate", "COUNTERS"]

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

    @cached_property
    def per_pe(self) -> pd.DataFrame:
        """One row per PE: entries_real, entries_padding (processed), busy_cycles, starved_cycles
        (issue-phase cycles with an empty queue), blocked_cycles (cycles in which this PE's full
        queue stalled the broadcast), spmat_sram_reads, stored_entries."""
        return pd.DataFrame({c: self.per_pe_arrays[c] for c in PER_PE_COLUMNS},
                            index=pd.RangeIndex(self.config.n_pe, name="pe"))

    @property
    def latency_us(self) -> float:
        return self.cycles / self.config.clock_mhz

    @property
    def entries_processed(self) -> int:
        return int(self.counters["macs_real"] + self.counters["macs_padding"])

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
        }
        if per_layer and self.layers:
            d["layers"] = [r.to_dict(per_layer=False) for r in self.layers]
        return d


# ----------------------------------------------------------------------------- one layer


@dataclass(eq=False)
class _Plan:
    """What is fixed before a layer runs (built once by :func:`_plan`; not frozen, which is slower
    to build). A layer runs row batch by row batch, one pass per input batch (:mod:`.kernels`,
    "Long vectors"; EIE paper, section IV, "Activation Read/Write"); nothing here depends on the
    timing. Traffic counts are values (activations, pointers) over the whole layer."""

    config: ArchConfig
    n_rows: int  # M, outputs
    n_cols: int  # K, inputs
    rows_per_batch: int  # R = n_pe * act_regs_per_pe: rows per row batch, inputs per input batch
    lnzd_latency: int  # cycles from the start of a pass to its first broadcast (LNZD tree levels)
    entries_per_word: int  # (v, z) entries per spmat SRAM word
    cap_words: int  # spmat SRAM words per PE
    acc_lo: int  # accumulator range (acc_bits, signed)
    acc_hi: int
    qa: np.ndarray  # int64 activations and codebook values (golden contract)
    qc: np.ndarray
    check_sat: bool  # False when no partial sum can saturate (the kernels then skip the test)
    by_rows: bool  # arithmetic row by row (dense activations) instead of in the passes
    row_batches: list  # (first row, kernel arrays) per row batch, see _row_batches
    nz_all: np.ndarray  # non-zero input indices (int64, ascending): the broadcasts of a row batch
    nz_batches: list  # nz_all split by input batch: the broadcasts of each pass
    load_cycles: list  # per input batch: cycles loading its inputs into the registers (0: none)
    write_cycles: list  # per row batch: cycles writing its outputs to the SRAM (0: none)
    act_sram_reads: int  # register loads from the activation SRAM
    act_dram_in: int  # register loads from DRAM instead (act_sram_kb overflow)
    act_sram_writes: int  # outputs written to the activation SRAM
    act_dram_out: int  # outputs written to DRAM instead
    ptr_sram_reads: int  # pointer reads from the pointer SRAMs, all PEs
    ptr_dram_reads: int  # pointer reads from DRAM (ptr_sram_kb overflow), all PEs


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


def _plan(enc: CompressedLayer, config: ArchConfig, prep) -> _Plan:
    """The :class:`_Plan` of ``enc`` on ``config`` with the prepared operands ``prep``."""
    N, regs, A = config.n_pe, config.act_regs_per_pe, config.acc_bits
    M, K = enc.shape
    R = N * regs
    act_cap = config.act_sram_kb * 8192 // config.act_bits  # activation values per PE
    batches = _row_batches(enc, R)
    n_in_batches = max(1, math.ceil(K / R))
    nz_all = np.flatnonzero(prep.qa).astype(np.int64)
    # vectors that fit the registers cost no load or write-back
    loads = _input_loads(K, N, regs, act_cap, n_in_batches) if K > R else ([0] * n_in_batches, 0, 0)
    writes = (_output_writes(tuple(r0 for r0, _ in batches), M, K, N, regs, act_cap) if M > R
              else ([0] * len(batches), 0, 0))
    ptr = _pointer_reads(nz_all, K, config.ptr_capacity, len(batches), N)
    # Each row gets at most one product per column, so if |acc0| + max|qc| * sum|qa| fits, no
    # partial sum can saturate and the kernel may skip the test (it then sums exactly).
    bound = float(np.abs(prep.acc0).max(initial=0)) + float(np.abs(prep.qc).max()) * float(np.abs(prep.qa).sum())
    acc_hi = (1 << (A - 1)) - 1
    return _Plan(
        config=config, n_rows=M, n_cols=K, rows_per_batch=R, lnzd_latency=lnzd_levels(N),
        entries_per_word=config.entries_per_word, cap_words=config.spmat_sram_kb * 8192 // config.sram_width,
        acc_lo=-(1 << (A - 1)), acc_hi=acc_hi, qa=prep.qa, qc=prep.qc, check_sat=not bound < acc_hi / 2,
        by_rows=nz_all.size > ROW_MAJOR_DENSITY * K, row_batches=batches, nz_all=nz_all,
        nz_batches=_input_batches(nz_all, R, n_in_batches), load_cycles=loads[0], write_cycles=writes[0],
        act_sram_reads=len(batches) * loads[1], act_dram_in=len(batches) * loads[2],
        act_sram_writes=writes[1], act_dram_out=writes[2], ptr_sram_reads=ptr[0], ptr_dram_reads=ptr[1],
    )


@dataclass(eq=False)
class _Tally:
    """Running state of a layer over its row batches and passes. Per-PE (n_pe,) int64 arrays,
    updated in place by the kernels: busy and blocked cycles; ``stats`` rows real entries,
    padding entries, spmat SRAM and spmat DRAM word reads; ``entry_base``: entries of the row
    batches so far (where the current sub-layer starts in the spmat SRAM; at the end, the
    entries stored); ``held``: spmat word held (-1: none). ``acc``: int64 accumulators of the
    layer's rows; ``t``: the current cycle; ``issue_cycles``: cycles in the passes' issue phases."""

    acc: np.ndarray
    busy: np.ndarray
    blocked: np.ndarray
    stats: np.ndarray
    entry_base: np.ndarray
    held: np.ndarray
    t: int = 0
    issue_cycles: int = 0
    saturated: bool = False

    @classmethod
    def start(cls, acc0: np.ndarray, n_pe: int) -> "_Tally":
        """Cycle 0: accumulators at ``acc0`` (copied), every count zero, no spmat word held."""
        z = [np.zeros(n_pe, dtype=np.int64) for _ in range(3)]
        return cls(acc0.copy(), z[0], z[1], np.zeros((4, n_pe), dtype=np.int64), z[2], np.full(n_pe, -1, dtype=np.int64))


def _accumulate_by_rows(plan: _Plan, tally: _Tally, arr: dict, row0: int) -> None:
    """The arithmetic of one row batch, row by row over every real entry (dense activations,
    see :data:`ROW_MAJOR_DENSITY`). No cycles: the timing comes from the passes."""
    sub_rows = min(plan.rows_per_batch, plan.n_rows - row0) if len(plan.row_batches) > 1 else plan.n_rows
    _row_major(arr, sub_rows)
    tally.saturated |= bool(_accumulate_rows(arr["row_ptr"], arr["row_cols"], arr["row_codes"], plan.qa, plan.qc,
                                             tally.acc, row0, plan.acc_lo, plan.acc_hi, plan.check_sat))


def _run_pass(plan: _Plan, tally: _Tally, arr: dict, row0: int, nz: np.ndarray) -> None:
    """One pass of input batch ``nz`` over the row batch at ``row0`` (kernel arrays ``arr``) in
    :func:`~.kernels._simulate_pass`: the LNZD tree (section IV, "Distributed Leading Non-Zero
    Detection") delivers the first non-zero ``lnzd_latency`` cycles after the start, then one a
    cycle, into every PE's queue ("Activation Queue and Load Balancing"). The clock moves to the
    cycle the last PE is free; adds per-PE cycles, entries, word reads (and, unless by_rows, MACs)."""
    t_start = tally.t + plan.lnzd_latency
    stats = tally.stats
    if plan.by_rows:  # the arithmetic is done row by row (_accumulate_by_rows)
        t_end = _dense_pass(arr["ptr_t"], arr["real_t"], nz, plan.config.fifo_depth, t_start, plan.entries_per_word,
                            tally.entry_base, plan.cap_words, tally.held, tally.busy, tally.blocked,
                            stats[0], stats[1], stats[2], stats[3])
        tally.issue_cycles += t_end - t_start
        tally.t = t_end
        return
    t_end, sat = _simulate_pass(
        arr["ptr_t"], arr["real_t"], arr["col_rs"], arr["real_rows"], arr["real_codes"], nz, plan.qa, plan.qc,
        tally.acc, plan.acc_lo, plan.acc_hi, plan.check_sat, row0, plan.config.fifo_depth, t_start,
        plan.entries_per_word, tally.entry_base, plan.cap_words, tally.held, tally.busy, tally.blocked,
        stats[0], stats[1], stats[2], stats[3],
    )
    tally.saturated |= bool(sat)
    tally.issue_cycles += t_end - t_start
    tally.t = t_end


def _run_row_batch(plan: _Plan, tally: _Tally, b: int) -> None:
    """Row batch ``b``: each input batch is loaded into the source registers and broadcast in a
    pass; then the pipeline drains (``DRAIN_CYCLES``) and the outputs are written back."""
    row0, arr = plan.row_batches[b]
    if plan.by_rows:
        _accumulate_by_rows(plan, tally, arr, row0)
    tally.held[:] = -1
    for nz, load_cycles in zip(plan.nz_batches, plan.load_cycles):
        tally.t += load_cycles
        _run_pass(plan, tally, arr, row0, nz)
    tally.entry_base += arr["entries"]
    tally.t += DRAIN_CYCLES + plan.write_cycles[b]


def _counters(plan: _Plan, tally: _Tally, cycles: int) -> dict:
    """The layer's :data:`COUNTERS` (defined in :mod:`.kernels`): integer counts; dram_bytes*
    in bytes (bits rounded up); overhead_cycles: cycles outside the passes' issue phases."""
    config, N, stats = plan.config, plan.config.n_pe, tally.stats
    broadcasts = len(plan.row_batches) * int(plan.nz_all.size)  # every row batch re-broadcasts
    real, padding, spmat_sram, spmat_dram = stats.sum(axis=1).tolist()
    macs = real + padding
    dram_bits_ptr = plan.ptr_dram_reads * config.ptr_bits
    dram_bits_spmat = spmat_dram * config.sram_width
    dram_bits_act = (plan.act_dram_in + plan.act_dram_out) * config.act_bits
    return {
        "broadcasts": broadcasts, "lnzd_ops": broadcasts * lnzd_nodes(N),
        "queue_pushes": broadcasts * N, "queue_pops": broadcasts * N,
        "ptr_sram_reads": plan.ptr_sram_reads, "spmat_sram_reads": spmat_sram,
        "codebook_reads": macs, "macs_real": real, "macs_padding": padding,
        "act_reg_reads": broadcasts + macs + (plan.act_sram_writes + plan.act_dram_out),
        "act_reg_writes": macs + plan.n_rows + (plan.act_sram_reads + plan.act_dram_in),
        "act_sram_reads": plan.act_sram_reads, "act_sram_writes": plan.act_sram_writes,
        "dram_bytes": -(-(dram_bits_ptr + dram_bits_spmat + dram_bits_act) // 8),
        "dram_bytes_ptr": -(-dram_bits_ptr // 8), "dram_bytes_spmat": -(-dram_bits_spmat // 8),
        "dram_bytes_act": -(-dram_bits_act // 8),
        "row_batches": len(plan.row_batches), "input_batches": len(plan.nz_batches),
        "overhead_cycles": cycles - tally.issue_cycles,
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


def _simulate_layer(layer, activations, config: ArchConfig, name: str, **prep_kwargs) -> SimResult:
    """Run one layer (``prep_kwargs`` go to the golden ``prepare``): plan it, time each row
    batch, then collect counters, per-PE arrays (int64, cycles and counts), notes and outputs."""
    enc, source = _encoded_for(layer, config)
    prep = prepare(source, activations, config, **prep_kwargs)
    plan = _plan(enc, config, prep)
    tally = _Tally.start(prep.acc0, config.n_pe)
    for b in range(len(plan.row_batches)):
        _run_row_batch(plan, tally, b)
    cycles = int(tally.t)
    counters = _counters(plan, tally, cycles)
    res = finish(prep, tally.acc, tally.saturated)
    stats = tally.stats
    per_pe = dict(zip(PER_PE_COLUMNS, (stats[0], stats[1], tally.busy, tally.issue_cycles - tally.busy,
                                       tally.blocked, stats[2], tally.entry_base)))
    return SimResult(
        name=name, config=config, shape=(plan.n_rows, plan.n_cols), cycles=cycles, output=res.output,
        output_fixed=res.output_fixed, out_format=res.out_format, counters=counters, per_pe_arrays=per_pe,
        entries=int(tally.entry_base.sum()),
        padding_entries=sum(int(arr["padding"].sum()) for _, arr in plan.row_batches),
        notes=_overflow_notes(counters, config, plan.n_cols), acc_saturated=res.acc_saturated,
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
    """
    config = ArchConfig() if config is None else config
    if not isinstance(config, ArchConfig):
        raise ConfigError(f"config={describe(config)}: expected an ArchConfig")
    if isinstance(layer_or_model, (str, Path)):
        layer_or_model = load_model(layer_or_model)
    if isinstance(layer_or_model, ModelLayer) and layer_or_model.kind == "lstm":
        layer_or_model = Model(layers=(layer_or_model,), meta={"name": layer_or_model.name})
    if not isinstance(layer_or_model, Model):
        name = layer_or_model.name if isinstance(layer_or_model, ModelLayer) else "layer"
        return _simulate_layer(layer_or_model, activations, config, name)
    model = layer_or_model
    if model.is_sequence:  # activations: a T x X sequence; layers: one result per step, then the FC layers
        from .lstm import simulate_sequence

        steps, fcs = simulate_sequence(model, activations, config)
        results = steps + fcs
    else:
        results = []
        res = _simulate_layer(model.layers[0], activations, config, model.layers[0].name)
        results.append(res)
        for lay in model.layers[1:]:
            res = _simulate_layer(lay, res.output_fixed, config, lay.name, act_frac=res.out_format.frac, fixed_input=True)
            results.append(res)
    counters = {k: sum(r.counters.get(k, 0) for r in results) for k in results[0].counters}
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
    )
