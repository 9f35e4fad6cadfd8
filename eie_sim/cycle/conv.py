"""The cycle model of a convolutional layer (kind ``conv``): one fc SpMV of W' per output position
on the PE array, then pooling in the activation unit.

The mapping (the spec the RTL follows too; contract in :mod:`eie_sim.contract.conv`):

1. W' (C_out x K, K = C_in kh kw) is encoded exactly as an fc layer (:func:`~.layers.encoded_for`,
   the same array plan: output channel c on PE c mod n_pe, row and input batches).
2. Output position p (row-major over Ho x Wo) is one fc pass sequence of W' on the patch q_p: its
   cycles, counters and per-PE figures are exactly those of :func:`~.simulator.simulate_layer` on
   (W', q_p). Positions run one after another (one accumulator per row): array cycles are the sum.
3. On top (not in the RTL, whose host does the im2col):

   - ``fmap_reads``: in-bounds patch values read from the input map (padding zeros are not read);
   - ``patch_stall_cycles``: patch p+1 is assembled while patch p runs (EIE's ping-pong source and
     destination registers, section IV); assembling patch p takes ceil(inbounds_p / n_pe) cycles,
     so the stall is assembly_0 + sum_p max(0, assembly_{p+1} - run_p);
   - ``fmap_writes``: C_out outputs per position written to the output map;
   - ``pool_ops``: one compare (max) or add (avg) per in-bounds value of every pooling window of
     every channel; ``pool_cycles``: after the last position each PE pools its own channels, one
     value a cycle: ceil(C_out / n_pe) channels on the busiest PE;
   - input or output map larger than the array's activation SRAM: the excess moves through DRAM
     (``dram_bytes_act``, with a note).

   Layer cycles = array cycles + patch_stall_cycles + pool_cycles.

The arithmetic is the contract's (:func:`eie_sim.contract.conv.conv_golden`), so outputs equal
``reference_forward`` bit for bit. The timing runs in :func:`conv_row_batch`, a Numba loop over
positions that calls the fc pass kernel (:func:`~.kernels.dense_pass`) on each patch's non-zeros:
its cost grows with the broadcasts, not with positions x K.

Counters: the fc :data:`~.simulator.COUNTERS` summed over positions (so ``row_batches`` and
``input_batches`` are per-position figures times the positions), plus ``positions``,
``fmap_reads``, ``fmap_writes``, ``pool_ops``, ``patch_stall_cycles``, ``pool_cycles``. Per-PE
arrays are summed over positions, except ``stored_entries`` (what each PE stores, once).
"""

from __future__ import annotations

import numpy as np

from .._jit import cached_njit
from ..config import ArchConfig
from ..contract.conv import conv_golden, geometry, patch_index, pool_index
from .kernels import DRAIN_CYCLES, dense_pass
from .layers import encoded_for
from .simulator import PER_PE_COLUMNS, SimResult, array_plan, overflow_notes
from .steps import register_step

__all__ = ["CONV_COUNTERS", "patch_nonzeros", "conv_row_batch", "conv_timing", "simulate_conv", "conv_step"]

CONV_COUNTERS = ("positions", "fmap_reads", "fmap_writes", "pool_ops", "patch_stall_cycles", "pool_cycles")


@cached_njit()
def patch_nonzeros(idx, q):
    """The broadcast columns of every patch: (nz, off, inbounds) with ``nz[off[p]:off[p+1]]`` the
    ascending patch columns k of position p whose input ``q[idx[p, k]]`` is non-zero (``idx``
    (positions, K) int64, -1 for padding), and ``inbounds[p]`` the patch values read from the map."""
    n_pos, K = idx.shape
    off = np.zeros(n_pos + 1, dtype=np.int64)
    inbounds = np.zeros(n_pos, dtype=np.int64)
    nz = np.empty(n_pos * K, dtype=np.int64)
    n = 0
    for p in range(n_pos):
        c = 0
        for k in range(K):
            i = idx[p, k]
            if i >= 0:
                c += 1
                if q[i] != 0:
                    nz[n] = k
                    n += 1
        inbounds[p] = c
        off[p + 1] = n
    return nz[:n], off, inbounds


@cached_njit()
def conv_row_batch(nz, off, R, load_cycles, lnzd, ptr_t, real_p, fifo, epw, entry_base, cap_words, ptr_base, ptr_cap,
                   busy, blocked, real, pad, sram, dram, pos_cycles, pos_issue, pos_ptr_sram, pos_spmat_dram):
    """One row batch of every position: per position, its input batches (patch columns
    [ib R, (ib + 1) R)) each loaded (``load_cycles[ib]``) and broadcast in a pass after the LNZD
    latency, exactly as the fc model's ``_run_passes``. Adds per PE to busy, blocked, real, pad,
    sram, dram (int64); per position to ``pos_cycles`` (the row batch's cycles before its drain
    and write-back), ``pos_issue`` (issue-phase cycles), ``pos_ptr_sram`` (pointer reads from the
    SRAM, per PE) and ``pos_spmat_dram`` (spmat words read from DRAM, all PEs)."""
    n_pe = ptr_t.shape[1]
    K = ptr_t.shape[0] - 1
    held = np.empty(n_pe, dtype=np.int64)
    for p in range(off.size - 1):
        held[:] = -1
        d0 = dram.sum()
        lo = off[p]
        hi = off[p + 1]
        s = lo
        t = np.int64(0)
        for ib in range(load_cycles.size):
            e = s
            lim = (ib + 1) * R
            while e < hi and nz[e] < lim:
                e += 1
            if ib == load_cycles.size - 1:
                e = hi
            t_start = t + load_cycles[ib] + lnzd
            t = dense_pass(ptr_t, real_p, nz[s:e], fifo, t_start, epw, entry_base, cap_words, held, busy, blocked,
                           real, pad, sram, dram)
            pos_issue[p] += t - t_start
            s = e
        pos_cycles[p] += t
        if ptr_base + K + 1 <= ptr_cap:
            pos_ptr_sram[p] += 2 * (hi - lo)
        else:
            for i in range(lo, hi):
                j = nz[i]
                pos_ptr_sram[p] += (ptr_base + j < ptr_cap) + (ptr_base + j + 1 < ptr_cap)
        pos_spmat_dram[p] += dram.sum() - d0


def _ceil_bytes(bits: np.ndarray) -> int:
    return int((-(-bits // 8)).sum())


def conv_timing(layer, q: np.ndarray, config: ArchConfig) -> tuple[int, dict, dict, int, tuple]:
    """The timing of conv ``layer`` on the quantised input map ``q`` (int64, n_in): (cycles,
    counters, per-PE arrays, entries stored, notes) per the module's mapping."""
    g = geometry(layer)
    enc, _ = encoded_for(layer, config)
    plan = array_plan(enc, config)
    idx = layer._cache.get("conv_patch_index")
    if idx is None:
        idx = layer._cache["conv_patch_index"] = patch_index(g)
    nz, off, inbounds = patch_nonzeros(idx, np.ascontiguousarray(q, dtype=np.int64))
    N, P, K = config.n_pe, g.positions, plan.n_cols
    per = np.zeros((6, N), dtype=np.int64)
    busy, blocked, real, pad, sram, dram = per
    pos = np.zeros((4, P), dtype=np.int64)
    cyc, issue, ptr_sram, spmat_dram = pos
    loads = np.asarray(plan.load_cycles, dtype=np.int64)
    entry_base = np.zeros(N, dtype=np.int64)
    for b, (_, arr) in enumerate(plan.row_batches):
        conv_row_batch(nz, off, plan.rows_per_batch, loads, plan.lnzd_latency, arr["ptr_t"], arr["real_p"],
                       config.fifo_depth, plan.entries_per_word, entry_base, plan.cap_words, b * (K + 1),
                       config.ptr_capacity, busy, blocked, real, pad, sram, dram, cyc, issue, ptr_sram, spmat_dram)
        entry_base = entry_base + arr["entries"]
        cyc += DRAIN_CYCLES + plan.write_cycles[b]
    counters = _fc_counters(plan, config, off, per, pos)
    counters.update(_conv_counters(layer, g, config, inbounds, cyc))
    notes = overflow_notes(dict(counters, row_batches=len(plan.row_batches)), config, K)
    excess = max(0, g.n_in - _array_act_values(config)) + max(0, g.n_conv_out - _array_act_values(config))
    if excess:
        extra = -(-excess * config.act_bits // 8)
        counters["dram_bytes"] += extra
        counters["dram_bytes_act"] += extra
        notes += (f"feature map overflow: {extra} bytes of the input or output map moved to/from DRAM (maps of "
                  f"{g.n_in} and {g.n_conv_out} values; the array's activation SRAM holds {_array_act_values(config)})",)
    cycles = int(cyc.sum()) + counters["patch_stall_cycles"] + counters["pool_cycles"]
    per_pe = dict(zip(PER_PE_COLUMNS, (real, pad, busy, int(issue.sum()) - busy, blocked, sram, entry_base)))
    return cycles, counters, per_pe, int(entry_base.sum()), notes


def _array_act_values(config: ArchConfig) -> int:
    """Activation values the array's activation SRAMs hold (all PEs)."""
    return config.n_pe * (config.act_sram_kb * 8192 // config.act_bits)


def _fc_counters(plan, config: ArchConfig, off: np.ndarray, per: np.ndarray, pos: np.ndarray) -> dict:
    """The fc counters (:mod:`.kernels`) of every position's run, summed over positions; the
    DRAM bytes are rounded up per position, as each fc run rounds its own."""
    N, n_rb, P = config.n_pe, len(plan.row_batches), off.size - 1
    cyc, issue, ptr_sram, spmat_dram = pos
    nnz = np.diff(off)
    broadcasts = int(n_rb * nnz.sum())
    real, pad, sram = (int(a.sum()) for a in per[2:5])
    macs = real + pad
    ptr_dram = N * (2 * n_rb * nnz - ptr_sram)
    b_ptr, b_sp = ptr_dram * config.ptr_bits, spmat_dram * config.sram_width
    b_act = np.full(P, (plan.act_dram_in + plan.act_dram_out) * config.act_bits, dtype=np.int64)
    return {
        "broadcasts": broadcasts, "lnzd_ops": broadcasts * plan.lnzd_nodes,
        "queue_pushes": broadcasts * N, "queue_pops": broadcasts * N,
        "ptr_sram_reads": int(N * ptr_sram.sum()), "spmat_sram_reads": sram,
        "codebook_reads": macs, "macs_real": real, "macs_padding": pad,
        "act_reg_reads": broadcasts + macs + P * (plan.act_sram_writes + plan.act_dram_out),
        "act_reg_writes": macs + P * (plan.n_rows + plan.act_sram_reads + plan.act_dram_in),
        "act_sram_reads": P * plan.act_sram_reads, "act_sram_writes": P * plan.act_sram_writes,
        "dram_bytes": _ceil_bytes(b_ptr + b_sp + b_act), "dram_bytes_ptr": _ceil_bytes(b_ptr),
        "dram_bytes_spmat": _ceil_bytes(b_sp), "dram_bytes_act": _ceil_bytes(b_act),
        "row_batches": P * n_rb, "input_batches": P * plan.n_in_batches,
        "overhead_cycles": int((cyc - issue).sum()),
    }


def _conv_counters(layer, g, config: ArchConfig, inbounds: np.ndarray, run: np.ndarray) -> dict:
    """The conv-only counters (module docstring, item 3); ``run``: each position's fc cycles."""
    N = config.n_pe
    assembly = -(-inbounds // N)
    stall = int(assembly[0] + np.maximum(assembly[1:] - run[:-1], 0).sum()) if assembly.size else 0
    if g.pool == "none":
        per_channel = 0
    else:
        pidx = layer._cache.get("conv_pool_index")
        if pidx is None:
            pidx = layer._cache["conv_pool_index"] = pool_index(g)
        per_channel = int(np.count_nonzero(pidx >= 0))
    return {"positions": g.positions, "fmap_reads": int(inbounds.sum()), "fmap_writes": g.positions * g.c_out,
            "pool_ops": g.c_out * per_channel, "patch_stall_cycles": stall,
            "pool_cycles": -(-g.c_out // N) * per_channel}


def simulate_conv(layer, x, config: ArchConfig, *, act_frac: int | None = None, fixed_input: bool = False) -> SimResult:
    """Run conv ``layer`` on the input map ``x`` (n_in floats, or integers in ``act_frac`` when
    ``fixed_input``): outputs from the contract (pooled, flattened C, Hp, Wp), timing per the
    module's mapping. ``shape`` is the array's matrix (C_out, K)."""
    gold = conv_golden(layer, x, config, act_frac=act_frac, fixed_input=fixed_input)
    cycles, counters, per_pe, entries, notes = conv_timing(layer, gold.input_fixed, config)
    enc, _ = encoded_for(layer, config)
    plan = array_plan(enc, config)
    return SimResult(
        name=layer.name, config=config, shape=(plan.n_rows, plan.n_cols), cycles=cycles, output=gold.output,
        output_fixed=gold.output_fixed, out_format=gold.out_format, counters=counters, per_pe_arrays=per_pe,
        entries=entries, padding_entries=plan.padding_entries, notes=notes, acc_saturated=gold.acc_saturated,
        saturation=gold.saturation,
    )


def conv_step(layer, x, config: ArchConfig, *, act_frac: int | None = None, fixed_input: bool = False) -> list:
    """The cycle-model step of a conv layer (:mod:`.steps`): one :func:`simulate_conv` run."""
    return [simulate_conv(layer, x, config, act_frac=act_frac, fixed_input=fixed_input)]


register_step("conv", conv_step)
