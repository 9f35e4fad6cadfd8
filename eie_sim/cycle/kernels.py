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


@njit(cache=True, inline="always")
def _sat(t, lo, hi):
    """Saturate the accumulator value t to [lo, hi]; also say whether it saturated."""
    if t > hi:
        return hi, True
    if t < lo:
        return lo, True
    return t, False


@njit(cache=True)
def _issue_full(ptr_t, real_t, nzcols, fifo_depth, st, FREE, BUSY, BLOCKED, REAL, PAD):
    """The timing loop of a pass that broadcasts every column of a range (the same rules as the
    general loop in :func:`_simulate_pass`), with its state in separate arrays so that the
    compiler vectorises it; the spmat reads of such a pass are computed from its end points."""
    n_pe = ptr_t.shape[1]
    one = np.int32(1)
    zero = np.int32(0)
    free = np.zeros(n_pe, dtype=np.int32)
    busy = np.zeros(n_pe, dtype=np.int32)
    blocked = np.zeros(n_pe, dtype=np.int32)
    total = np.zeros(n_pe, dtype=np.int32)
    real = np.zeros(n_pe, dtype=np.int32)
    ring = np.zeros((fifo_depth, n_pe), dtype=np.int32)
    ringmax = np.zeros(fifo_depth, dtype=np.int32)
    t_prev = np.int32(-1)
    for i in range(nzcols.size):
        j = nzcols[i]
        earliest = zero if i == 0 else np.int32(t_prev + one)
        t_i = earliest
        slot = i % fifo_depth
        rs = ring[slot]
        if i >= fifo_depth and ringmax[slot] >= earliest:
            t_i = np.int32(ringmax[slot] + one)
            for k in range(n_pe):
                blocked[k] += max(np.int32(rs[k] - earliest + one), zero)
        tp1 = np.int32(t_i + one)
        r0 = ptr_t[j]
        r1 = ptr_t[j + 1]
        for k in range(n_pe):
            sv = max(np.int32(r1[k] - r0[k]), one)
            start = max(free[k], tp1)
            rs[k] = start
            free[k] = start + sv
            busy[k] += sv
        mx = rs[0]
        for k in range(1, n_pe):
            mx = max(mx, rs[k])
        ringmax[slot] = mx
        rr = real_t[j]
        for k in range(n_pe):
            real[k] += rr[k]
        t_prev = t_i
    # entries of the range, per PE: ptr at the end minus ptr at the start
    if nzcols.size:
        a = nzcols[0]
        b = nzcols[nzcols.size - 1] + 1
        for k in range(n_pe):
            total[k] = ptr_t[b, k] - ptr_t[a, k]
    for k in range(n_pe):
        st[FREE, k] = free[k]
        st[BUSY, k] = busy[k]
        st[BLOCKED, k] = blocked[k]
        st[REAL, k] = real[k]
        st[PAD, k] = total[k] - real[k]


@njit(cache=True)
def _simulate_pass(ptr_t, real_t, col_rs, real_rows, real_codes, nzcols, qa, qc, acc, acc_lo, acc_hi, check_sat,
                   row0, fifo_depth, t_start, epw, entry_base, cap_words, held, busy, blocked, real, pad,
                   sram_reads, dram_words, full, do_arith):
    """One pass: issue-phase timing (closed form of the module's rules), per-PE counters and the
    arithmetic of every real entry of every broadcast column.

    ptr_t: (n_cols + 1, n_pe) int32 column pointers; real_t: (n_cols, n_pe) int32 real entries
    per column and PE; col_rs: (n_cols + 1) offsets of each column's real entries (all PEs) in
    ``real_rows`` (row in the sub-layer, int32) and ``real_codes`` (uint8). nzcols: broadcast
    columns in order; ``do_arith`` False skips the arithmetic (done row by row instead, see
    :func:`_accumulate_rows`); ``full`` says they are every column from nzcols[0] to nzcols[-1] (then the
    spmat reads are computed once per PE). Accumulates ``acc[row] = sat(acc[row] + qc[v] * qa[j])`` (golden contract,
    step 3; the saturation test is skipped when ``check_sat`` is False, i.e. when it provably
    cannot fire). Each row belongs to one PE, which sees its columns in ascending order, so a
    column-by-column sweep gives every row the same order as the hardware.
    Updates per PE: busy, blocked, real and padding entries, spmat SRAM reads, spmat DRAM words,
    held (the spmat word held by each PE). The caller guarantees that the pass lasts fewer than
    2**31 cycles and that entry indices stay below 2**31, so the per-PE state is int32 (twice the
    SIMD lanes of int64).
    """
    n_pe = ptr_t.shape[1]
    m = nzcols.size
    inv_epw = 1.0 / epw
    cap = np.int32(min(cap_words, 2**31 - 1))
    # All per-PE state in one int32 array, so the loops below touch a single writable base
    # pointer and the compiler can vectorise them without runtime alias checks.
    FREE, BUSY, BLOCKED, REAL, PAD, SRAM, DRAM, HELD, BASE, RING = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
    st = np.zeros((RING + fifo_depth, n_pe), dtype=np.int32)
    for k in range(n_pe):
        st[HELD, k] = held[k]
        st[BASE, k] = entry_base[k]
    one = np.int32(1)
    zero = np.int32(0)
    ringmax = np.zeros(fifo_depth, dtype=np.int32)  # max over PEs of each ring slot
    if full:
        _issue_full(ptr_t, real_t, nzcols, fifo_depth, st, FREE, BUSY, BLOCKED, REAL, PAD)
    t_prev = np.int32(-1)
    for i in range(0 if full else m):
        j = nzcols[i]
        earliest = zero if i == 0 else np.int32(t_prev + one)
        t_i = earliest
        slot = i % fifo_depth
        r_slot = RING + slot
        if i >= fifo_depth and ringmax[slot] >= earliest:
            # ring: the cycle at which PE k popped broadcast i - fifo_depth. Its queue is full at
            # the start of every cycle up to and including that one, so the broadcast waits.
            t_i = np.int32(ringmax[slot] + one)
            for k in range(n_pe):
                st[BLOCKED, k] += max(np.int32(st[r_slot, k] - earliest + one), zero)
        tp1 = np.int32(t_i + one)
        mx = zero
        r0 = ptr_t[j]
        r1 = ptr_t[j + 1]
        for k in range(n_pe):  # branch-free: the branches here would be unpredictable
            c0 = r0[k]
            c1 = r1[k]
            c = np.int32(c1 - c0)
            sv = max(c, one)
            start = max(st[FREE, k], tp1)
            st[r_slot, k] = start
            mx = max(mx, start)
            st[FREE, k] = start + sv
            st[BUSY, k] += sv
            # Spmat reads: one per word not already held (a column's entries are consecutive).
            # (x + 1/2) / epw is at least 1/(2 epw) from an integer, far more than the float
            # error below 2**31, so truncation is floor division; for an empty column the
            # word values are unused.
            nonempty = np.int32(c > zero)
            base = st[BASE, k]
            ws = np.int32((base + c0 + 0.5) * inv_epw)
            we = np.int32((base + c1 - 0.5) * inv_epw)
            held_k = st[HELD, k]
            first = ws + np.int32(ws == held_k)
            words = nonempty * max(np.int32(we - first + one), zero)
            sram = nonempty * max(np.int32(min(we, np.int32(cap - one)) - first + one), zero)
            st[SRAM, k] += sram
            st[DRAM, k] += words - sram
            st[HELD, k] = held_k + nonempty * (we - held_k)
            r = real_t[j, k]
            st[REAL, k] += r
            st[PAD, k] += c - r
        ringmax[slot] = mx
        t_prev = t_i
    if full and m > 0:
        first_col = nzcols[0]
        last_col = nzcols[m - 1]
        for k in range(n_pe):
            lo = np.int64(st[BASE, k]) + ptr_t[first_col, k]
            hi = np.int64(st[BASE, k]) + ptr_t[last_col + 1, k]
            if hi > lo:  # words lo // epw .. (hi - 1) // epw, less the one already held
                ws = lo // epw
                we = (hi - 1) // epw
                first = ws + 1 if ws == st[HELD, k] else ws
                if first <= we:
                    sram = max(min(we, np.int64(cap) - 1) - first + 1, 0)
                    st[SRAM, k] += sram
                    st[DRAM, k] += we - first + 1 - sram
                st[HELD, k] = we
    t_end = np.int64(0)
    for k in range(n_pe):
        t_end = max(t_end, np.int64(st[FREE, k]))
        busy[k] += st[BUSY, k]
        blocked[k] += st[BLOCKED, k]
        real[k] += st[REAL, k]
        pad[k] += st[PAD, k]
        sram_reads[k] += st[SRAM, k]
        dram_words[k] += st[DRAM, k]
        held[k] = st[HELD, k]
    t_end += t_start

    saturated = False
    for i in range(m if do_arith else 0):
        j = nzcols[i]
        a = qa[j]
        if check_sat:
            for x in range(col_rs[j], col_rs[j + 1]):
                r = row0 + real_rows[x]
                acc[r], hit = _sat(acc[r] + qc[real_codes[x]] * a, acc_lo, acc_hi)
                saturated |= hit
        else:
            for x in range(col_rs[j], col_rs[j + 1]):
                acc[row0 + real_rows[x]] += qc[real_codes[x]] * a
    return t_end, saturated


@njit(cache=True)
def _build_real_entries(ptr_t, offsets, v, z, real_t, col_rs, real_rows, real_codes):
    """Fill the kernel's view of a layer: real entries per column and PE (``real_t``), column
    offsets (``col_rs``) and, column by column (PE-major, rows ascending within a PE), the row
    (``k + n_pe * local_row``) and code of every real entry. v, z: all PEs' entries concatenated,
    PE k at ``offsets[k]``."""
    n_cols = ptr_t.shape[0] - 1
    n_pe = ptr_t.shape[1]
    for k in range(n_pe):
        base = offsets[k]
        for j in range(n_cols):
            cnt = 0
            for idx in range(ptr_t[j, k], ptr_t[j + 1, k]):
                if v[base + idx] != 0:
                    cnt += 1
            real_t[j, k] = cnt
    col_rs[0] = 0
    for j in range(n_cols):
        tot = 0
        for k in range(n_pe):
            tot += real_t[j, k]
        col_rs[j + 1] = col_rs[j] + tot
    fill = col_rs[:-1].copy()
    for k in range(n_pe):
        base = offsets[k]
        for j in range(n_cols):
            row = -1
            pos = fill[j]
            for idx in range(ptr_t[j, k], ptr_t[j + 1, k]):
                row += np.int64(z[base + idx]) + 1
                code = v[base + idx]
                if code != 0:
                    real_rows[pos] = k + n_pe * row
                    real_codes[pos] = code
                    pos += 1
            fill[j] = pos


@njit(cache=True)
def _build_row_major(col_rs, real_rows, real_codes, row_ptr, row_cols, row_codes):
    """Counting sort of the column-major real entries into rows (columns ascending in each row)."""
    n_cols = col_rs.size - 1
    n_rows = row_ptr.size - 1
    for r in range(n_rows + 1):
        row_ptr[r] = 0
    for x in range(real_rows.size):
        row_ptr[np.int64(real_rows[x]) + 1] += 1
    for r in range(n_rows):
        row_ptr[r + 1] += row_ptr[r]
    fill = row_ptr[:-1].copy()
    for j in range(n_cols):
        for x in range(col_rs[j], col_rs[j + 1]):
            r = np.int64(real_rows[x])
            row_cols[fill[r]] = j
            row_codes[fill[r]] = real_codes[x]
            fill[r] += 1


@njit(cache=True)
def _accumulate_rows(row_ptr, row_cols, row_codes, qa, qc, acc, row0, acc_lo, acc_hi, check_sat):
    """The arithmetic of a pass row by row (columns ascending, the hardware's order for every
    row): ``acc[row] = sat(acc[row] + qc[v] * qa[j])``. Zero activations add zero, which
    changes nothing even under saturation, so this equals the column sweep of
    :func:`_simulate_pass` and is faster when most activations are non-zero. Returns the
    saturated flag."""
    saturated = False
    n_rows = row_ptr.size - 1
    for r in range(n_rows):
        if check_sat:
            t = acc[row0 + r]
            for x in range(row_ptr[r], row_ptr[r + 1]):
                t, hit = _sat(t + qc[row_codes[x]] * qa[row_cols[x]], acc_lo, acc_hi)
                saturated |= hit
            acc[row0 + r] = t
        else:
            t = np.int64(0)
            for x in range(row_ptr[r], row_ptr[r + 1]):
                t += qc[row_codes[x]] * qa[row_cols[x]]
            acc[row0 + r] += t
    return saturated
