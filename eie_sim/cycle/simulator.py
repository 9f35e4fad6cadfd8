"""``simulate()``: run a layer or a model on the cycle model and collect cycles, counters and outputs.

The timing rules and counter definitions are in :mod:`eie_sim.cycle`; the arithmetic is the
golden model's (:mod:`eie_sim.golden`), so ``output_fixed`` equals ``reference_spmv`` /
``reference_forward`` bit for bit.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..contract.codebook import check_codebook
from ..config import ArchConfig
from .kernels import (
    DRAIN_CYCLES,
    _accumulate_rows,
    _build_real_entries,
    _build_row_major,
    _simulate_pass,
    lnzd_levels,
    lnzd_nodes,
)
from ..errors import ConfigError, EncodingError, describe
from ..contract.fixedpoint import QFormat
from ..contract.format import CompressedLayer, encode, split_rows
from ..contract.golden import finish, prepare
from ..contract.model import Model, ModelLayer, load_model

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


# ----------------------------------------------------------------------------- layer preparation


def _kernel_arrays(enc: CompressedLayer) -> dict:
    """Kernel inputs of an encoded (sub-)layer, built once and cached on it.

    ptr_t (n_cols + 1, n_pe) int32 pointers; real_t (n_cols, n_pe) int32 real entries per column
    and PE; the real entries of all PEs in column order: real_rows (row in the sub-layer, uint16
    when it fits, else int32), real_codes (uint8), with column offsets col_rs. Padding entries
    are counted, never visited, so the kernel's arithmetic touches each real entry once.
    """
    arr = enc._cache.get("kernel")
    if arr is not None:
        return arr
    N, K = enc.n_pe, enc.n_cols
    entries = enc.entries_per_pe
    if entries.max(initial=0) >= 2**31 - 2**20:
        raise ConfigError(f"a PE holds {int(entries.max())} entries; the simulator supports fewer than 2**31 - 2**20")
    ptr_t = np.empty((K + 1, N), dtype=np.int32)
    for k, p in enumerate(enc.pes):
        ptr_t[:, k] = p.ptr
    offsets = np.concatenate([[0], np.cumsum(entries)]).astype(np.int64)
    v = np.concatenate([p.v for p in enc.pes]) if N > 1 else enc.pes[0].v
    z = np.concatenate([p.z for p in enc.pes]) if N > 1 else enc.pes[0].z
    nnz = enc.nnz
    row_dtype = np.uint16 if enc.n_rows <= 1 << 16 else np.int32
    real_t = np.empty((K, N), dtype=np.int32)
    col_rs = np.empty(K + 1, dtype=np.int64)
    real_rows = np.empty(nnz, dtype=row_dtype)
    real_codes = np.empty(nnz, dtype=np.uint8)
    _build_real_entries(ptr_t, offsets, v, z, real_t, col_rs, real_rows, real_codes)
    del v, z
    arr = {
        "ptr_t": ptr_t,
        "real_t": real_t,
        "col_rs": col_rs,
        "real_rows": real_rows,
        "real_codes": real_codes,
        "entries": entries,
        "padding": enc.padding_per_pe,
    }
    enc._cache["kernel"] = arr
    return arr


def _row_major(arr: dict, n_rows: int) -> dict:
    """Row-major copy of a kernel's real entries (built on first use, cached in ``arr``)."""
    if "row_ptr" not in arr:
        nnz = arr["real_rows"].size
        n_cols = arr["col_rs"].size - 1
        row_ptr = np.empty(n_rows + 1, dtype=np.int64)
        row_cols = np.empty(nnz, dtype=np.uint16 if n_cols <= 1 << 16 else np.int32)
        row_codes = np.empty(nnz, dtype=np.uint8)
        _build_row_major(arr["col_rs"], arr["real_rows"], arr["real_codes"], row_ptr, row_cols, row_codes)
        arr["row_ptr"], arr["row_cols"], arr["row_codes"] = row_ptr, row_cols, row_codes
    return arr


# Above this fraction of non-zero activations the arithmetic runs row by row over every real
# entry (register accumulation, like CSR); below it, column by column over the broadcast
# columns only. Both give identical results (see _accumulate_rows).
ROW_MAJOR_DENSITY = 0.6


def _row_batches(enc: CompressedLayer, rows_per_batch: int) -> list[tuple[int, dict]]:
    """(first row, kernel arrays) per row batch, cached on the layer. A layer that fits the
    registers is one batch; a longer one is split (:func:`eie_sim.format.split_rows`) one batch
    at a time, keeping only the kernel arrays."""
    if enc.n_rows <= rows_per_batch:
        return [(0, _kernel_arrays(enc))]
    key = ("row_batches", rows_per_batch)
    if key not in enc._cache:
        n_batches = -(-enc.n_rows // rows_per_batch)
        enc._cache[key] = [
            (r0, _kernel_arrays(sub))
            for b in range(n_batches)
            for r0, sub in split_rows(enc, rows_per_batch, batch=b)
        ]
    return enc._cache[key]


_ENCODE_CACHE: "OrderedDict[tuple, CompressedLayer]" = OrderedDict()
_ENCODE_CACHE_SIZE = 16


def _encode_cached(codes, codebook, config: ArchConfig) -> CompressedLayer:
    """Encode dense codes for ``config`` once; keyed by a hash of the arrays and the parameters."""
    codes = np.asarray(codes)
    cb = check_codebook(codebook, config.weight_bits)
    h = hashlib.blake2b(digest_size=16)
    h.update(str((codes.shape, codes.dtype.str)).encode())
    h.update(np.ascontiguousarray(codes).tobytes())
    h.update(cb.tobytes())
    key = (h.hexdigest(), config.n_pe, config.index_bits, config.ptr_bits, config.sram_width,
           config.spmat_sram_kb, config.ptr_sram_kb)
    hit = _ENCODE_CACHE.get(key)
    if hit is None:
        hit = encode(codes, cb, n_pe=config.n_pe, index_bits=config.index_bits, ptr_bits=config.ptr_bits,
                     sram_width=config.sram_width, spmat_sram_kb=config.spmat_sram_kb, ptr_sram_kb=config.ptr_sram_kb)
        _ENCODE_CACHE[key] = hit
        while len(_ENCODE_CACHE) > _ENCODE_CACHE_SIZE:
            _ENCODE_CACHE.popitem(last=False)
    else:
        _ENCODE_CACHE.move_to_end(key)
    return hit


def _check_layer_matches(enc: CompressedLayer, config: ArchConfig, what: str) -> None:
    if enc.n_pe != config.n_pe:
        raise ConfigError(f"{what} is encoded for n_pe={enc.n_pe} but config.n_pe={config.n_pe}; "
                          "re-encode it, or pass dense codes and a codebook to encode for the config")
    if enc.weight_bits != config.weight_bits:
        raise ConfigError(f"{what} has weight_bits={enc.weight_bits} (a codebook of {1 << enc.weight_bits}) "
                          f"but config.weight_bits={config.weight_bits}")
    if enc.index_bits != config.index_bits:
        raise ConfigError(f"{what} has index_bits={enc.index_bits} but config.index_bits={config.index_bits}")


def _encoded_for(layer, config: ArchConfig) -> tuple[CompressedLayer, object]:
    """(encoded layer for config, object for the golden ``prepare``)."""
    if isinstance(layer, CompressedLayer):
        _check_layer_matches(layer, config, "layer")
        return layer, layer
    if isinstance(layer, ModelLayer):
        if layer.weight_bits != config.weight_bits:
            raise ConfigError(f"layer {layer.name!r} has weight_bits={layer.weight_bits} "
                              f"but config.weight_bits={config.weight_bits}")
        if layer.encoded is not None and layer.encoded.n_pe == config.n_pe and layer.encoded.index_bits == config.index_bits:
            return layer.encoded, layer
        key = ("sim", config.n_pe, config.index_bits, config.ptr_bits)
        enc = layer._cache.get(key)
        if enc is None:
            enc = encode(layer.dense_codes(), layer.codebook, n_pe=config.n_pe, index_bits=config.index_bits,
                         ptr_bits=config.ptr_bits, sram_width=config.sram_width,
                         spmat_sram_kb=config.spmat_sram_kb, ptr_sram_kb=config.ptr_sram_kb)
            layer._cache[key] = enc
        return enc, layer
    if isinstance(layer, tuple) and len(layer) == 2:
        enc = _encode_cached(layer[0], layer[1], config)
        return enc, enc
    raise EncodingError(
        f"layer_or_model={describe(layer)}: expected a CompressedLayer, ModelLayer, Model, model file path "
        "or a (codes, codebook) pair"
    )


# ----------------------------------------------------------------------------- one layer


def _simulate_layer(layer, activations, config: ArchConfig, name: str, **prep_kwargs) -> SimResult:
    enc, source = _encoded_for(layer, config)
    prep = prepare(source, activations, config, **prep_kwargs)
    N = config.n_pe
    M, K = enc.shape
    regs = config.act_regs_per_pe
    R = N * regs
    lat = lnzd_levels(N)
    epw = config.entries_per_word
    cap_words = config.spmat_sram_kb * 8192 // config.sram_width
    ptr_cap = config.ptr_capacity
    act_cap = config.act_sram_kb * 8192 // config.act_bits  # activation values per PE
    A = config.acc_bits
    acc_lo, acc_hi = -(1 << (A - 1)), (1 << (A - 1)) - 1

    batches = _row_batches(enc, R)
    n_in_batches = max(1, math.ceil(K / R))
    nz_all = np.flatnonzero(prep.qa).astype(np.int64)
    if n_in_batches == 1:
        nz_batches = [nz_all]
    else:
        cuts = np.searchsorted(nz_all, np.arange(1, n_in_batches) * R)
        nz_batches = np.split(nz_all, cuts)

    pe_idx = np.arange(N, dtype=np.int64)
    n_in = np.maximum((K - pe_idx + N - 1) // N, 0)  # activations held by each PE (j % N == k)
    n_out = np.maximum((M - pe_idx + N - 1) // N, 0)
    inputs_in_sram = K > R
    outputs_in_sram = M > R
    in_slots = n_in if inputs_in_sram else np.zeros(N, dtype=np.int64)

    acc = prep.acc0.copy()
    # Each row gets at most one product per column, so if |acc0| + max|qc| * sum|qa| fits, no
    # partial sum can saturate and the kernel may skip the test (it then sums exactly).
    bound = float(np.abs(prep.acc0).max(initial=0)) + float(np.abs(prep.qc).max()) * float(np.abs(prep.qa).sum())
    check_sat = not bound < acc_hi / 2
    saturated = False
    busy = np.zeros(N, dtype=np.int64)
    blocked = np.zeros(N, dtype=np.int64)
    stats = np.zeros((4, N), dtype=np.int64)  # real, padding, spmat SRAM reads, spmat DRAM words
    entry_base = np.zeros(N, dtype=np.int64)
    held = np.full(N, -1, dtype=np.int64)
    ptr_sram = ptr_dram = 0
    issue_cycles = 0
    t = 0
    act_sram_reads = act_sram_writes = act_dram_in = act_dram_out = 0
    broadcasts = 0
    stored_entries = np.zeros(N, dtype=np.int64)
    stored_padding = np.zeros(N, dtype=np.int64)

    by_rows = nz_all.size > ROW_MAJOR_DENSITY * K
    for b, (row0, arr) in enumerate(batches):
        if by_rows:
            sub_rows = min(R, M - row0) if len(batches) > 1 else M
            _row_major(arr, sub_rows)
            saturated |= bool(_accumulate_rows(arr["row_ptr"], arr["row_cols"], arr["row_codes"], prep.qa, prep.qc,
                                               acc, row0, acc_lo, acc_hi, check_sat))
        stored_entries += arr["entries"]
        stored_padding += arr["padding"]
        held[:] = -1
        ptr_base = b * (K + 1)
        for ib in range(n_in_batches):
            if inputs_in_sram:
                lo = ib * regs
                hi = np.minimum((ib + 1) * regs, n_in)
                loads = np.maximum(hi - lo, 0)
                sram = np.maximum(np.minimum(hi, act_cap) - lo, 0)
                sram = np.minimum(sram, loads)
                act_sram_reads += int(sram.sum())
                act_dram_in += int((loads - sram).sum())
                t += int(loads.max())
            t_start = t + lat
            nz = nz_batches[ib]
            t_end, sat = _simulate_pass(
                arr["ptr_t"], arr["real_t"], arr["col_rs"], arr["real_rows"], arr["real_codes"], nz, prep.qa, prep.qc, acc, acc_lo, acc_hi, check_sat,
                row0, config.fifo_depth, t_start, epw, entry_base, cap_words, held, busy, blocked,
                stats[0], stats[1], stats[2], stats[3], bool(nz.size and nz[-1] - nz[0] + 1 == nz.size),
                not by_rows,
            )
            saturated |= bool(sat)
            if ptr_base + K + 1 <= ptr_cap:
                in_sram = 2 * int(nz.size)  # every pointer of this sub-layer is in the SRAM
            else:
                in_sram = int(np.count_nonzero(ptr_base + nz < ptr_cap) + np.count_nonzero(ptr_base + nz + 1 < ptr_cap))
            ptr_sram += N * in_sram
            ptr_dram += N * (2 * int(nz.size) - in_sram)
            broadcasts += int(nz.size)
            issue_cycles += t_end - t_start
            t = t_end
        entry_base += arr["entries"]
        t += DRAIN_CYCLES
        if outputs_in_sram:
            lo = row0 // N
            hi = np.minimum(lo + regs, n_out)
            outs = np.maximum(hi - lo, 0)
            first_slot = in_slots + lo
            sram = np.clip(act_cap - first_slot, 0, None)
            sram = np.minimum(sram, outs)
            act_sram_writes += int(sram.sum())
            act_dram_out += int((outs - sram).sum())
            t += int(outs.max())
    cycles = int(t)

    real = stats[0]
    pad = stats[1]
    macs = int(real.sum() + pad.sum())
    spmat_dram_words = int(stats[3].sum())
    ptr_dram_reads = ptr_dram
    dram_bits_ptr = ptr_dram_reads * config.ptr_bits
    dram_bits_spmat = spmat_dram_words * config.sram_width
    dram_bits_act = (act_dram_in + act_dram_out) * config.act_bits
    act_loads = act_sram_reads + act_dram_in
    act_outs = act_sram_writes + act_dram_out
    counters = {
        "broadcasts": broadcasts,
        "lnzd_ops": broadcasts * lnzd_nodes(N),
        "queue_pushes": broadcasts * N,
        "queue_pops": broadcasts * N,
        "ptr_sram_reads": ptr_sram,
        "spmat_sram_reads": int(stats[2].sum()),
        "codebook_reads": macs,
        "macs_real": int(real.sum()),
        "macs_padding": int(pad.sum()),
        "act_reg_reads": broadcasts + macs + act_outs,
        "act_reg_writes": macs + M + act_loads,
        "act_sram_reads": act_sram_reads,
        "act_sram_writes": act_sram_writes,
        "dram_bytes": -(-(dram_bits_ptr + dram_bits_spmat + dram_bits_act) // 8),
        "dram_bytes_ptr": -(-dram_bits_ptr // 8),
        "dram_bytes_spmat": -(-dram_bits_spmat // 8),
        "dram_bytes_act": -(-dram_bits_act // 8),
        "row_batches": len(batches),
        "input_batches": n_in_batches,
        "overhead_cycles": cycles - issue_cycles,
    }
    notes = []
    if counters["dram_bytes_spmat"]:
        notes.append(f"spmat SRAM overflow: {counters['dram_bytes_spmat']} bytes of entries read from DRAM "
                     f"(spmat_sram_kb={config.spmat_sram_kb} per PE is too small for this layer)")
    if counters["dram_bytes_ptr"]:
        notes.append(f"pointer SRAM overflow: {counters['dram_bytes_ptr']} bytes of pointers read from DRAM "
                     f"({K + 1} pointers x {len(batches)} row batch(es) per PE, ptr_sram_kb={config.ptr_sram_kb})")
    if counters["dram_bytes_act"]:
        notes.append(f"activation SRAM overflow: {counters['dram_bytes_act']} bytes of activations moved to/from DRAM "
                     f"(act_sram_kb={config.act_sram_kb} per PE)")
    res = finish(prep, acc, saturated)
    per_pe = {
        "entries_real": real,
        "entries_padding": pad,
        "busy_cycles": busy,
        "starved_cycles": issue_cycles - busy,
        "blocked_cycles": blocked,
        "spmat_sram_reads": stats[2],
        "stored_entries": stored_entries,
    }
    return SimResult(
        name=name,
        config=config,
        shape=(M, K),
        cycles=cycles,
        output=res.output,
        output_fixed=res.output_fixed,
        out_format=res.out_format,
        counters=counters,
        per_pe_arrays=per_pe,
        entries=int(stored_entries.sum()),
        padding_entries=int(stored_padding.sum()),
        notes=tuple(notes),
        acc_saturated=res.acc_saturated,
    )


# ----------------------------------------------------------------------------- public entry point


def simulate(layer_or_model, activations, config: ArchConfig | None = None) -> SimResult:
    """Run a layer or a model on the cycle model of an EIE PE array.

    ``layer_or_model``: a :class:`CompressedLayer` (its n_pe, weight_bits and index_bits must
    match ``config``), a ``(codes, codebook)`` pair (encoded for the config and cached), a
    :class:`ModelLayer`, a :class:`Model` or the path of a model file. ``activations``: the
    float input vector. Returns a :class:`SimResult`; for a model, its ``layers`` hold each
    layer's result and the top level sums cycles, counters and per-PE figures.
    """
    config = ArchConfig() if config is None else config
    if not isinstance(config, ArchConfig):
        raise ConfigError(f"config={describe(config)}: expected an ArchConfig")
    if isinstance(layer_or_model, (str, Path)):
        layer_or_model = load_model(layer_or_model)
    if not isinstance(layer_or_model, Model):
        name = layer_or_model.name if isinstance(layer_or_model, ModelLayer) else "layer"
        return _simulate_layer(layer_or_model, activations, config, name)
    model = layer_or_model
    results = []
    res = _simulate_layer(model.layers[0], activations, config, model.layers[0].name)
    results.append(res)
    for lay in model.layers[1:]:
        res = _simulate_layer(lay, res.output_fixed, config, lay.name, act_frac=res.out_format.frac, fixed_input=True)
        results.append(res)
    counters = {k: sum(r.counters[k] for r in results) for k in results[0].counters}
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
