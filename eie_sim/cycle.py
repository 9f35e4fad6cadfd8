"""Cycle-approximate model of an EIE PE array (EIE paper, sections IV-V), in Numba.

The timing rules (the RTL implements the same ones)
----------------------------------------------------
Cycles are numbered from 0 at the start of a layer. One *pass* broadcasts one batch of input
columns to the PEs for one batch of output rows (see "Long vectors").

* **Non-zero detection and broadcast.** A quadtree of leading-non-zero detectors (LNZD; one
  node per 4 PEs, then one per 4 nodes up to the root) finds the non-zero input activations in
  ascending index order. The first one of a pass leaves the root ``lnzd_levels(n_pe)`` cycles
  after the pass starts; after that the tree is pipelined and delivers one per cycle. Zero
  activations cost no cycle. In cycle t the root broadcasts the next (j, a_j) to every PE's
  activation queue if, at the start of cycle t, no queue holds ``fifo_depth`` entries
  (registered full flags: a pop in cycle t frees its slot for cycle t + 1). Otherwise the
  broadcast stalls; every full queue is charged one *blocking* cycle.
* **Queues.** A value pushed in cycle t is visible to the PE from cycle t + 1.
* **PE.** A PE that is free pops the head (j, a_j) of its queue and reads p[j] and p[j+1] in
  the same cycle (two pointer banks, even and odd). Its spmat-read unit then delivers one entry
  per cycle to the arithmetic unit; the pointer read of the next column overlaps the last entry
  of this one. A column with e entries (padding included) therefore occupies the PE for
  ``max(e, 1)`` cycles: an empty column still costs its pointer read. A bypass forwards the
  adder output when two consecutive entries update the same accumulator, so no entry stalls.
* **Pipeline drain.** After the last PE is free, ``DRAIN_CYCLES = 5`` cycles follow: the spmat
  read of the last entry, then the arithmetic stages (codebook lookup and address
  accumulation; multiply; shift and add; write back). Every batch of output rows drains once.
* **Long vectors** (EIE section IV, activation read/write unit). Each PE has
  ``act_regs_per_pe`` source and destination registers, so one pass covers at most
  ``R = n_pe * act_regs_per_pe`` input columns (4,096 at 64 PEs) and one row batch at most R
  output rows. Longer inputs live in the activation SRAM and are loaded into the source
  registers at the start of each input batch, one value per PE per cycle; longer outputs are
  processed in row batches (each re-broadcasts the whole input; its rows are encoded as their
  own sub-layer with the same interleaving), and each row batch ends by writing its outputs to
  the activation SRAM, one value per PE per cycle. Short vectors stay in the ping-pong
  registers: no SRAM traffic and no cycles.
* **Capacity.** Pointers, entries and activations that do not fit the pointer, spmat and
  activation SRAMs of a PE live in DRAM: every access to them is counted in ``dram_bytes``
  (and not as an SRAM access). DRAM latency is assumed hidden by prefetching; the report says
  when any DRAM traffic occurred.

Counters (all integers, per layer)
----------------------------------
broadcasts         non-zero activations broadcast (once per row batch)
lnzd_ops           LNZD node evaluations: broadcasts x lnzd_nodes(n_pe)
queue_pushes       entries pushed into activation queues: broadcasts x n_pe
queue_pops         entries popped: equal to queue_pushes
ptr_sram_reads     pointer-bank reads: 2 per popped column (p[j] from one bank, p[j+1] from the other)
spmat_sram_reads   spmat SRAM word reads: one each time the next entry lies in a word not held
codebook_reads     codebook look-ups: one per entry processed (padding included)
macs_real          multiply-accumulates of real weights
macs_padding       multiply-accumulates of padding entries (by zero)
act_reg_reads      broadcast source reads + accumulator reads (one per MAC) + outputs read out to SRAM
act_reg_writes     accumulator writes (one per MAC) + accumulator initialisation (one per row)
                   + source registers loaded from SRAM
act_sram_reads     activations loaded from the activation SRAM into source registers
act_sram_writes    outputs written from the destination registers to the activation SRAM
dram_bytes         DRAM traffic for everything that overflowed an SRAM (ceil of bits / 8)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["DRAIN_CYCLES", "lnzd_levels", "lnzd_nodes"]

DRAIN_CYCLES = 5


def lnzd_levels(n_pe: int) -> int:
    """Levels of the LNZD quadtree: 1 up to 4 PEs, 2 up to 16, 3 up to 64, ..."""
    levels, nodes = 1, math.ceil(n_pe / 4)
    while nodes > 1:
        nodes = math.ceil(nodes / 4)
        levels += 1
    return levels


def lnzd_nodes(n_pe: int) -> int:
    """LNZD nodes in the quadtree: ceil(N/4) + ceil(N/16) + ... + 1 (21 for 64 PEs)."""
    total, nodes = 0, math.ceil(n_pe / 4)
    while True:
        total += nodes
        if nodes == 1:
            return total
        nodes = math.ceil(nodes / 4)


@njit(cache=True)
def _timing_pass(ptr_t, nzcols, fifo_depth, t_start, ptr_base, ptr_cap, busy, blocked, ring, free, ptr_stats):
    """Issue-phase timing of one pass (closed form of the module's rules).

    ptr_t: (n_cols + 1, n_pe) int64 pointers; nzcols: columns broadcast, in order;
    t_start: cycle of the first possible broadcast. Updates busy, blocked (per PE) and
    ptr_stats[k, 0/1] (pointer reads from SRAM / DRAM). ring: (n_pe, fifo_depth) scratch.
    Returns the first cycle at which every PE is free again.
    """
    n_pe = ptr_t.shape[1]
    m = nzcols.size
    for k in range(n_pe):
        free[k] = 0
    t_prev = t_start - 1
    for i in range(m):
        j = nzcols[i]
        earliest = t_start if i == 0 else t_prev + 1
        t_i = earliest
        slot = i % fifo_depth
        if i >= fifo_depth:
            for k in range(n_pe):
                sk = ring[k, slot]  # cycle at which PE k popped broadcast i - fifo_depth
                if sk + 1 > t_i:
                    t_i = sk + 1
                if sk >= earliest:
                    blocked[k] += sk - earliest + 1
        in_sram = 0
        if ptr_base + j < ptr_cap:
            in_sram += 1
        if ptr_base + j + 1 < ptr_cap:
            in_sram += 1
        for k in range(n_pe):
            e = ptr_t[j + 1, k] - ptr_t[j, k]
            s = e if e > 1 else 1
            st = t_i + 1
            if free[k] > st:
                st = free[k]
            ring[k, slot] = st
            free[k] = st + s
            busy[k] += s
            ptr_stats[k, 0] += in_sram
            ptr_stats[k, 1] += 2 - in_sram
        t_prev = t_i
    t_end = t_start
    for k in range(n_pe):
        if free[k] > t_end:
            t_end = free[k]
    return t_end


@njit(cache=True)
def _entries_pass(ptr, offsets, v, z, nzcols, qa, qc, acc, acc_lo, acc_hi, row0, epw, entry_base, cap_words,
                  held_word, stats):
    """Functional part of one pass: every entry of every broadcast column, per PE, in order.

    Accumulates ``acc[row] = sat(acc[row] + qc[v] * qa[j])`` (golden contract, step 3) and
    counts per PE: stats[k, 0] real entries, 1 padding entries, 2 spmat SRAM word reads,
    3 spmat words read from DRAM. Returns 1 if any accumulator saturated.
    """
    n_pe = ptr.shape[0]
    m = nzcols.size
    saturated = 0
    for k in range(n_pe):
        base = offsets[k]
        eb = entry_base[k]
        hw = held_word[k]
        real = 0
        pad = 0
        reads = 0
        dram = 0
        for i in range(m):
            j = nzcols[i]
            a = qa[j]
            s = ptr[k, j]
            e = ptr[k, j + 1]
            row = -1
            for idx in range(s, e):
                row += np.int64(z[base + idx]) + 1
                w = (eb + idx) // epw
                if w != hw:
                    hw = w
                    if w < cap_words:
                        reads += 1
                    else:
                        dram += 1
                code = v[base + idx]
                if code != 0:
                    r = row0 + k + n_pe * row
                    t = acc[r] + qc[code] * a
                    if t > acc_hi:
                        t = acc_hi
                        saturated = 1
                    elif t < acc_lo:
                        t = acc_lo
                        saturated = 1
                    acc[r] = t
                    real += 1
                else:
                    pad += 1
        held_word[k] = hw
        stats[k, 0] += real
        stats[k, 1] += pad
        stats[k, 2] += reads
        stats[k, 3] += dram
    return saturated
