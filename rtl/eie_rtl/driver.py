"""The load sequence, memory images and expected results of a layer, shared by every bench
(Amaranth simulator, cocotb under Verilator) and the CLI: the model is imported, never copied.

A layer longer than the registers (``R = n_pe x act_regs_per_pe`` rows or columns) runs in row
and input batches exactly as in :mod:`eie_sim.cycle.simulator`: the row batches are the
sub-layers of :func:`eie_sim.contract.format.split_rows`, stored one after the other in each
PE's pointer and spmat memories; inputs longer than the registers sit in the activation SRAM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from eie_sim import ArchConfig, CompressedLayer, simulate
from eie_sim.contract.format import pack_fields, split_rows
from eie_sim.contract.golden import prepare, spmv_prepared
from eie_sim.cycle.dram import dram_bytes

from .params import (
    ARRAY_COUNTERS,
    CFG,
    LOAD_ACC,
    LOAD_ACT,
    LOAD_BASE,
    LOAD_CODEBOOK,
    LOAD_CONFIG,
    LOAD_PTR,
    LOAD_SPMAT,
    LOAD_SRC,
    PE_CFG,
    PE_COUNTERS,
    PEParams,
)

__all__ = ["ALL", "LayerJob", "make_job", "params_for", "layer_limits", "sub_layers", "rtl_counters", "model_counters",
           "compare_counters", "IMAGE_TARGETS"]

#: memory images a bench may preload from files, and the load-port target of each
IMAGE_TARGETS = {"ptr_even": LOAD_PTR, "ptr_odd": LOAD_PTR, "spmat": LOAD_SPMAT, "bias": LOAD_ACC, "act": LOAD_ACT}
U32 = (1 << 32) - 1
#: the ``pe`` of a write to every PE (``load_all``; for LOAD_SRC, data packs one input per PE)
ALL = -1


def _held(n: int, n_pe: int) -> list[int]:
    """How many of ``n`` interleaved values (value i on PE i % n_pe) each PE holds."""
    return [max(0, -(-(n - k) // n_pe)) for k in range(n_pe)]


def _twos(value: int, bits: int) -> int:
    return int(value) & ((1 << bits) - 1)


def sub_layers(layer: CompressedLayer, config: ArchConfig) -> list[tuple[int, CompressedLayer]]:
    """(first row, sub-layer) of each row batch, as the cycle model runs them."""
    R = config.n_pe * config.act_regs_per_pe
    return split_rows(layer, R) if layer.n_rows > R else [(0, layer)]


def layer_limits(layer: CompressedLayer, config: ArchConfig) -> dict:
    """The smallest memory depths that hold ``layer`` on ``config`` (each at least 1): the
    :class:`PEParams` fields max_cols, ptr_words, spmat_words, bias_words, act_words and
    max_row_batches."""
    N, regs = config.n_pe, config.act_regs_per_pe
    R = N * regs
    M, K = layer.shape
    subs = sub_layers(layer, config)
    entries = sum(sub.entries_per_pe.astype(np.int64) for _, sub in subs)
    epw = layer.entries_per_word
    n_in0, n_out0 = _held(K, N)[0], _held(M, N)[0]
    return {"max_cols": max(1, K), "ptr_words": max(2, len(subs) * (K + 1)),
            "spmat_words": max(1, int(-(-entries.max(initial=0) // epw))), "bias_words": max(1, n_out0),
            "act_words": max(1, (n_in0 if K > R else 0) + (n_out0 if M > R else 0)), "max_row_batches": len(subs)}


def params_for(config: ArchConfig, macros: bool = False, counters: bool = True, **limits) -> PEParams:
    """PE build parameters for ``config`` and the memory depths ``limits`` (:func:`layer_limits`)."""
    return PEParams(fifo_depth=config.fifo_depth, weight_bits=config.weight_bits, index_bits=config.index_bits,
                    act_bits=config.act_bits, acc_bits=config.acc_bits, ptr_bits=config.ptr_bits,
                    sram_width=config.sram_width, max_rows=config.act_regs_per_pe, max_src=config.act_regs_per_pe,
                    macros=macros, counters=counters, **limits)


@dataclass
class LayerJob:
    """Everything a bench needs for one layer: ``writes`` (target, pe, addr, data) through the
    load port (configuration, codebooks, base tables, source registers; ``pe`` = ALL: every PE
    at once, see :class:`eie_rtl.array.PEArray`), ``images`` (tag ->
    words) of the large memories, preloaded from files or written through the load port
    (:meth:`load_port_writes`); where to read each output (``out``: pe, sel, addr); and the
    golden outputs, the cycle model's cycles and counters to check against. Output i is local
    row i // N of PE i % N (``sel`` 1: in the activation SRAM). ``saturation``: the golden
    model's counts (:class:`eie_sim.contract.saturation.Saturation`)."""

    writes: list
    images: dict
    out: list
    n_pe: int
    expected_fixed: np.ndarray
    cycles_model: int
    broadcasts_model: int
    sim: object = None
    limits: dict = field(default_factory=dict)
    saturation: object = None

    @property
    def ack_rows(self) -> list:
        """The local rows whose read-out the bench acknowledges (``out_ack``) once read, so that
        ``sat_out`` counts their saturated outputs: every row read from the destination
        registers (none when the outputs were written to the activation SRAM, where they were
        counted)."""
        return sorted({addr for _, sel, addr in self.out if sel == 0})

    def load_port_writes(self) -> list:
        """Every image as load-port writes, then ``writes``."""
        out = []
        for tag, words in self.images.items():
            pe_s, kind = tag.split("_", 1)
            pe = int(pe_s[2:])
            target = IMAGE_TARGETS[kind]
            if kind == "ptr_even":
                out += [(target, pe, 2 * i, w) for i, w in enumerate(words)]
            elif kind == "ptr_odd":
                out += [(target, pe, 2 * i + 1, w) for i, w in enumerate(words)]
            else:
                out += [(target, pe, i, w) for i, w in enumerate(words)]
        return out + self.writes


def _spmat_image(subs, k: int, layer: CompressedLayer) -> tuple[list[int], list[int]]:
    """PE k's spmat words (all row batches' entries one after the other) and each batch's base."""
    fields, bases, base = [], [], 0
    for _, sub in subs:
        p = sub.pes[k]
        fields.append((p.v.astype(np.uint64) << np.uint64(layer.index_bits)) | p.z.astype(np.uint64))
        bases.append(base)
        base += len(p.v)
    allf = np.concatenate(fields) if fields else np.zeros(0, np.uint64)
    limbs = pack_fields(allf, layer.entry_bits, layer.sram_width)
    return [sum(int(x) << (64 * i) for i, x in enumerate(w)) for w in limbs], bases


def make_job(layer: CompressedLayer, activations, config: ArchConfig, source=None, **prep_kwargs) -> LayerJob:
    """The :class:`LayerJob` of ``layer`` (encoded for ``config.n_pe``) on ``activations``.
    ``source``: the model layer ``layer`` was encoded from (its bias, activation function and
    fixed-point formats are used)."""
    src = layer if source is None else source
    prep = prepare(src, activations, config, **prep_kwargs)
    gold = spmv_prepared(prep)
    sim = simulate(src, activations, config) if not prep_kwargs else None
    B = config.act_bits
    shift = min(max(prep.acc_frac - gold.out_format.frac, -B), 127)  # beyond these, the same outputs
    N, regs = config.n_pe, config.act_regs_per_pe
    R = N * regs
    M, K = layer.shape
    long_in, long_out = K > R, M > R
    subs = sub_layers(layer, config)
    n_in, n_out = _held(K, N), _held(M, N)
    images, writes = {}, []
    for k in range(N):
        words, bases = _spmat_image(subs, k, layer)
        ptrs = np.concatenate([sub.pes[k].ptr for _, sub in subs]).astype(np.int64).tolist()
        images[f"pe{k}_ptr_even"] = ptrs[0::2]
        images[f"pe{k}_ptr_odd"] = ptrs[1::2]
        images[f"pe{k}_spmat"] = words
        images[f"pe{k}_bias"] = [_twos(v, config.acc_bits) for v in prep.acc0[k::N]]
        if long_in:
            images[f"pe{k}_act"] = [_twos(v, B) for v in prep.qa[k::N]]
        writes += [(LOAD_BASE, k, b, base) for b, base in enumerate(bases)]
        writes += [(LOAD_CONFIG, k, PE_CFG["n_in"], n_in[k]), (LOAD_CONFIG, k, PE_CFG["n_out"], n_out[k]),
                   (LOAD_CONFIG, k, PE_CFG["out_base"], n_in[k] if long_in else 0)]
    writes += [(LOAD_CODEBOOK, ALL, c, _twos(q, B)) for c, q in enumerate(prep.qc)]  # the same in every PE
    if not long_in:  # register r of every PE in one write: inputs r * N .. r * N + N - 1
        qa = [_twos(q, B) for q in prep.qa] + [0] * (-K % N)
        writes += [(LOAD_SRC, ALL, r, sum(v << (B * k) for k, v in enumerate(qa[r * N:(r + 1) * N])))
                   for r in range(len(qa) // N)]
    cfg = {"out_shift": _twos(shift, 8), "relu": int(prep.activation == "relu"), "n_cols": K, "n_rows": M,
           "row_batches": len(subs), "input_batches": max(1, -(-K // R)), "n_in0": n_in[0], "n_out0": n_out[0],
           "ptr_cap": min(config.ptr_capacity, U32),
           "spmat_cap_words": min(config.spmat_sram_kb * 8192 // config.sram_width, U32),
           "act_cap": min(config.act_sram_kb * 8192 // B, U32)}
    writes += [(LOAD_CONFIG, 0, CFG[name], value) for name, value in cfg.items()]
    out = [(i % N, int(long_out), i // N) for i in range(M)]
    return LayerJob(writes, images, out, N, gold.output_fixed, sim.cycles if sim is not None else -1,
                    sim.counters["broadcasts"] if sim is not None else -1, sim, layer_limits(layer, config), gold.saturation)


# ----------------------------------------------------------------------------- counters


def rtl_counters(pe_counts: list, array_counts: list, cycles: int, config: ArchConfig) -> dict:
    """The cycle model's counters (:data:`eie_sim.cycle.simulator.COUNTERS` names) from the RTL's
    event counters: ``pe_counts[k][i]`` is PE k's ``PE_COUNTERS[i]``, ``array_counts[i]`` the
    array's ``ARRAY_COUNTERS[i]``. Only counters the RTL has; per-PE ones under ``per_pe``."""
    pe = {name: np.array([c[i] for c in pe_counts], dtype=np.int64) for i, name in enumerate(PE_COUNTERS)}
    arr = dict(zip(ARRAY_COUNTERS, (int(x) for x in array_counts)))
    tot = {name: int(v.sum()) for name, v in pe.items()}
    return {
        "broadcasts": arr["broadcasts"], "queue_pushes": tot["queue_pushes"], "queue_pops": tot["queue_pops"],
        "ptr_sram_reads": tot["ptr_sram_reads"], "spmat_sram_reads": tot["spmat_sram_reads"],
        "macs_real": tot["macs_real"], "macs_padding": tot["macs_padding"],
        "act_reg_reads": arr["src_reg_reads"] + tot["dest_reg_reads"],
        "act_reg_writes": tot["dest_reg_writes"] + arr["dest_reg_inits"] + tot["src_reg_writes"],
        "act_sram_reads": tot["act_sram_reads"], "act_sram_writes": tot["act_sram_writes"],
        **dram_bytes(config, tot["ptr_dram_reads"], tot["spmat_dram_reads"], tot["act_dram_reads"] + tot["act_dram_writes"]),
        "row_batches": arr["row_batches"], "input_batches": arr["passes"] // max(1, arr["row_batches"]),
        "overhead_cycles": int(cycles) - arr["issue_cycles"],
        "saturated_acc": tot["sat_acc"], "saturated_outputs": tot["sat_out"],
        "per_pe": {"entries_real": pe["macs_real"].tolist(), "entries_padding": pe["macs_padding"].tolist(),
                   "busy_cycles": pe["busy_cycles"].tolist(), "blocked_cycles": pe["blocked_cycles"].tolist(),
                   "spmat_sram_reads": pe["spmat_sram_reads"].tolist()},
    }


def model_counters(sim) -> dict:
    """The cycle model's counters that the RTL also counts (same keys as :func:`rtl_counters`;
    ``saturated_acc`` and ``saturated_outputs`` from ``sim.saturation``)."""
    keys = [k for k in rtl_counters([[0] * len(PE_COUNTERS)], [0] * len(ARRAY_COUNTERS), 0, sim.config) if k != "per_pe"]
    sat = sim.saturation.to_dict()
    out = {k: int(sat[k] if k.startswith("saturated_") else sim.counters[k]) for k in keys}
    out["per_pe"] = {k: np.asarray(sim.per_pe_arrays[k]).astype(np.int64).tolist()
                     for k in ("entries_real", "entries_padding", "busy_cycles", "blocked_cycles", "spmat_sram_reads")}
    return out


def compare_counters(rtl: dict, model: dict) -> list[str]:
    """Names of the counters that differ (per-PE ones as ``per_pe.<name>``); empty if all equal."""
    bad = [k for k in rtl if k != "per_pe" and rtl[k] != model.get(k)]
    bad += [f"per_pe.{k}" for k in rtl.get("per_pe", {}) if rtl["per_pe"][k] != model.get("per_pe", {}).get(k)]
    return bad
