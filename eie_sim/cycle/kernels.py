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

from .._jit import cached_njit

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


@cached_njit(inline="always")
def _sat(t, lo, hi):
    """Saturate the accumulator value t to [lo, hi]; also say whether it saturated."""
    if t > hi:
        return hi, True
    if t < lo:
        return lo, True
    return t, False


@cached_njit()
def _issue_timing(ptr_t, nzcols, fifo_depth, st, blocked):
    """The issue phase of one pass (the module's rules) for the broadcast columns ``nzcols``,
    timing only. Cycles are relative to the first broadcast (cycle 0); returns the cycle of the
    last broadcast (-1 if none). ``st`` (fifo_depth + 2, n_pe) int32, zero on entry: per PE k it
    leaves in ``st[FREE, k]`` the cycle PE k is free after its last column and in
    ``st[BUSY, k]`` its busy cycles; rows 2.. are the ring below. Adds to ``blocked``.

    Broadcast i (column j) goes out in cycle t_i = max(t_{i-1} + 1, 1 + max_k start_k(i - D))
    (D = fifo_depth; the second term only for i >= D): PE k pops broadcast i - D in cycle
    start_k(i - D), and its queue stays full at the start of every cycle up to that one
    (registered full flags), so each such cycle from t_{i-1} + 1 on blocks the broadcast and is
    charged to PE k. PE k pops broadcast i in cycle start_k(i) = max(free_k, t_i + 1) (visible
    one cycle after the push) and is busy for max(e, 1) cycles, e = ptr_t[j + 1, k] - ptr_t[j, k].
    ``st[2 + i % D]`` holds start_k(i) for the last D broadcasts and ``ringmax`` its maximum over
    PEs (-1 before the first D broadcasts, which cannot stall). The state is int32 (the caller
    guarantees that a pass lasts fewer than 2**31 cycles) in one array, whose rows the compiler
    knows do not overlap, so that the loops over PEs vectorise without run-time alias checks."""
    n_pe = ptr_t.shape[1]
    one = np.int32(1)
    zero = np.int32(0)
    ringmax = np.full(fifo_depth, np.int32(-1), dtype=np.int32)
    t_prev = np.int32(-1)
    free = st[0]
    busy = st[1]
    slot = 0
    for i in range(nzcols.size):
        j = nzcols[i]
        earliest = np.int32(t_prev + one)
        rs = st[2 + slot]
        t_i = earliest
        if ringmax[slot] >= earliest:
            t_i = np.int32(ringmax[slot] + one)
            for k in range(n_pe):
                blocked[k] += max(np.int32(rs[k] - earliest + one), zero)
        tp1 = np.int32(t_i + one)
        r0 = ptr_t[j]
        r1 = ptr_t[j + 1]
        mx = zero
        for k in range(n_pe):
            sv = max(np.int32(r1[k] - r0[k]), one)
            start = max(free[k], tp1)
            rs[k] = start
            mx = max(mx, start)
            free[k] = start + sv
            busy[k] += sv
        ringmax[slot] = mx
        t_prev = t_i
        slot += 1
        if slot == fifo_depth:
            slot = 0
    return t_prev


@cached_njit()
def _pass_counts(ptr_t, real_p, nzcols, epw, entry_base, cap_words, held, real, pad, sram_reads, dram_words):
    """Per-PE entries and spmat word reads of a pass that broadcasts ``nzcols``; adds to
    ``real``, ``pad``, ``sram_reads``, ``dram_words`` and updates ``held`` (all (n_pe,) int64).

    The work is one step per PE for each run of consecutive broadcast columns [a, b), not one
    per column. Real entries: ``real_p[b] - real_p[a]`` (``real_p``: per PE, real entries in
    the columns before each one). Padding: the run's entries ``ptr[b] - ptr[a]`` less the real
    ones. Spmat reads: a PE reads, for each non-empty column, the words of its entries not
    already held (the last word read). A column's entries follow the previous column's, so
    over a run the words read are exactly the words of entries
    ``entry_base + ptr[a] .. entry_base + ptr[b] - 1``, less the first if it is held; a skipped
    column leaves the held word unchanged. Words from ``cap_words`` on are in DRAM. The caller
    guarantees that entry indices (``entry_base`` included) stay below 2**31: the state is int32."""
    n_pe = ptr_t.shape[1]
    m = nzcols.size
    # int32 state in one array (one writable base pointer, so the loop over PEs vectorises)
    HELD, BASE, ENTRIES, SRAM, DRAM, REAL = 0, 1, 2, 3, 4, 5
    st = np.zeros((6, n_pe), dtype=np.int32)
    for k in range(n_pe):
        st[HELD, k] = held[k]
        st[BASE, k] = entry_base[k]
    one = np.int32(1)
    zero = np.int32(0)
    cap = np.int32(min(cap_words, 2**31 - 1))
    inv_epw = 1.0 / epw
    i = 0
    while i < m:
        a = nzcols[i]
        b = a + 1
        i += 1
        while i < m and nzcols[i] == b:
            b += 1
            i += 1
        pa = ptr_t[a]
        pb = ptr_t[b]
        ra = real_p[a]
        rb = real_p[b]
        for k in range(n_pe):  # branch-free
            c0 = pa[k]
            c1 = pb[k]
            c = np.int32(c1 - c0)
            st[ENTRIES, k] += c
            st[REAL, k] += np.int32(rb[k] - ra[k])
            # words (base + c0) // epw .. (base + c1 - 1) // epw, less the one held; (x + 1/2) / epw
            # is at least 1/(2 epw) from an integer, far more than the float error below 2**31, so
            # truncation is floor division; for an empty run the word values are unused.
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
    for k in range(n_pe):
        held[k] = st[HELD, k]
        real[k] += st[REAL, k]
        pad[k] += st[ENTRIES, k] - st[REAL, k]
        sram_reads[k] += st[SRAM, k]
        dram_words[k] += st[DRAM, k]


@cached_njit()
def dense_pass(ptr_t, real_p, nzcols, fifo_depth, t_start, epw, entry_base, cap_words, held, busy, blocked, real,
                pad, sram_reads, dram_words):
    """One pass without its arithmetic (done row by row for dense activations,
    :func:`accumulate_rows`, or column by column in :func:`simulate_pass`): the timing of
    :func:`_issue_timing`, then the counts of :func:`_pass_counts`, which cost one step per run
    of consecutive broadcast columns.

    ptr_t: (n_cols + 1, n_pe) int32 column pointers; real_p: (n_cols + 1, n_pe) int32 real
    entries before each column, per PE; nzcols: broadcast columns in ascending order. Adds per
    PE busy and blocked cycles, real and padding entries, spmat SRAM reads and spmat DRAM
    words; updates held (the spmat word held by each PE, -1 for none). Returns the cycle the
    last PE is free, the first broadcast being in cycle ``t_start``. The caller guarantees that
    the pass lasts fewer than 2**31 cycles and that entry indices stay below 2**31 (int32 state)."""
    n_pe = ptr_t.shape[1]
    st = np.zeros((fifo_depth + 2, n_pe), dtype=np.int32)
    blocked32 = np.zeros(n_pe, dtype=np.int32)
    _issue_timing(ptr_t, nzcols, fifo_depth, st, blocked32)
    _pass_counts(ptr_t, real_p, nzcols, epw, entry_base, cap_words, held, real, pad, sram_reads, dram_words)
    t_end = np.int64(0)
    for k in range(n_pe):
        t_end = max(t_end, np.int64(st[0, k]))
        busy[k] += st[1, k]
        blocked[k] += blocked32[k]
    return t_end + t_start


@cached_njit()
def simulate_pass(ptr_t, real_p, col_rs, real_rows, real_codes, nzcols, qa, qc, acc, acc_lo, acc_hi, check_sat,
                   row0, fifo_depth, t_start, epw, entry_base, cap_words, held, busy, blocked, real, pad,
                   sram_reads, dram_words):
    """One pass with its arithmetic done column by column (sparse activations): the timing and
    counts of :func:`dense_pass`, then, for every real entry of every broadcast column,
    ``acc[row] = sat(acc[row] + qc[v] * qa[j])`` (golden contract, step 3; the saturation
    test is skipped when ``check_sat`` is False, i.e. when it provably cannot fire, and the
    products ``qc[v] * qa[j]`` are then formed once per code and column). Each row belongs to
    one PE, which sees its columns in ascending order, so a column-by-column sweep gives every
    row the same order as the hardware.

    col_rs: (n_cols + 1) offsets of each column's real entries (all PEs) in ``real_rows`` (row
    in the sub-layer) and ``real_codes`` (uint8). Returns (the cycle the last PE is free,
    the number of additions that saturated)."""
    t_end = dense_pass(ptr_t, real_p, nzcols, fifo_depth, t_start, epw, entry_base, cap_words, held, busy, blocked,
                        real, pad, sram_reads, dram_words)
    saturated = 0  # additions that saturated
    prod = np.empty(qc.size, dtype=np.int64)  # qc[v] * a for the column's activation a
    acc_b = acc[row0:]  # the row batch's accumulators
    one = np.uint64(1)
    for i in range(nzcols.size):
        j = nzcols[i]
        a = qa[j]
        # unsigned indices: Numba then emits no negative-index wraparound in the inner loops
        x = np.uint64(col_rs[j])
        e = np.uint64(col_rs[j + 1])
        if check_sat:
            while x < e:
                r = real_rows[x]
                acc_b[r], hit = _sat(acc_b[r] + qc[real_codes[x]] * a, acc_lo, acc_hi)
                saturated += hit
                x += one
        else:
            for v in range(qc.size):
                prod[v] = qc[v] * a
            while x < e:
                acc_b[real_rows[x]] += prod[real_codes[x]]
                x += one
    return t_end, saturated


@cached_njit()
def build_real_entries(ptr_t, offsets, v, z, real_p, col_rs, real_rows, real_codes):
    """Fill the kernel's view of a layer: per PE, the real entries in the columns before each
    column (``real_p``, (n_cols + 1, n_pe)), column offsets (``col_rs``) and, column by column
    (PE-major, rows ascending within a PE), the row (``k + n_pe * local_row``) and code of
    every real entry. v, z: all PEs' entries concatenated, PE k at ``offsets[k]``."""
    n_cols = ptr_t.shape[0] - 1
    n_pe = ptr_t.shape[1]
    for k in range(n_pe):
        base = offsets[k]
        real_p[0, k] = 0
        for j in range(n_cols):
            cnt = 0
            for idx in range(ptr_t[j, k], ptr_t[j + 1, k]):
                if v[base + idx] != 0:
                    cnt += 1
            real_p[j + 1, k] = real_p[j, k] + cnt
    col_rs[0] = 0
    for j in range(n_cols):
        tot = 0
        for k in range(n_pe):
            tot += real_p[j + 1, k] - real_p[j, k]
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


@cached_njit()
def build_row_major(col_rs, real_rows, real_codes, shift, row_ptr, row_ent):
    """Counting sort of the column-major real entries into rows (columns ascending in each row),
    each entry packed into one unsigned integer, ``(column << shift) | code`` (the caller picks
    ``shift`` >= the code bits and a dtype that holds the largest column)."""
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
        hi = np.uint64(j) << np.uint64(shift)
        for x in range(col_rs[j], col_rs[j + 1]):
            r = np.int64(real_rows[x])
            row_ent[fill[r]] = hi | np.uint64(real_codes[x])
            fill[r] += 1


#: arithmetic modes of :func:`accumulate_rows`
ACC_SATURATING, ACC_FLOAT, ACC_INT = 0, 1, 2


@cached_njit()
def accumulate_rows(row_ptr, row_ent, shift, qa, qc, acc, row0, acc_lo, acc_hi, mode):
    """The arithmetic of a pass row by row (columns ascending, the hardware's order for every
    row): ``acc[row] = sat(acc[row] + qc[v] * qa[j])`` for every real entry (j, v) of the row,
    ``row_ent`` holding ``(j << shift) | v`` (see :func:`build_row_major`). Zero activations
    add zero, which changes nothing even under saturation, so this equals the column sweep of
    :func:`simulate_pass` and is faster when most activations are non-zero. Returns the
    number of additions that saturated. Indices are unsigned, so Numba emits no negative-index wraparound.

    ``mode`` ACC_SATURATING: the ordered saturating sum of the contract. The other modes are
    for callers that have shown that no partial sum can saturate
    (``|acc0| + max|qc| * sum|qa|`` fits the accumulator, far inside int64); integer addition
    is then exact in any order:

    * ACC_INT: per code, ``sum_v qc[v] * (sum of qa[j] over the row's entries with code v)``;
      every partial sum is bounded by ``sum|qa|`` or ``max|qc| * sum|qa|``, so none overflows.
    * ACC_FLOAT (the caller has also shown ``max|qc| * sum|qa| <= 2**53``): the products and
      their sums in float64, in four interleaved partial sums. Every product ``qc[v] * qa[j]``
      and every partial sum of a row's products is an integer of magnitude at most
      ``max|qc| * sum|qa| <= 2**53`` (a row has at most one entry per column), so each is
      exactly representable and every float64 multiply and add is exact; the float result
      is the exact integer sum, converted back exactly, and ``acc0 + sum`` is the int64 sum.
    """
    saturated = 0  # additions that saturated
    n_rows = row_ptr.size - 1
    s = np.uint64(shift)
    m = (np.uint64(1) << s) - np.uint64(1)
    one = np.uint64(1)
    if mode == ACC_SATURATING:
        for r in range(n_rows):
            t = acc[row0 + r]
            x = np.uint64(row_ptr[r])
            e = np.uint64(row_ptr[r + 1])
            while x < e:
                p = np.uint64(row_ent[x])
                t, hit = _sat(t + qc[p & m] * qa[p >> s], acc_lo, acc_hi)
                saturated += hit
                x += one
            acc[row0 + r] = t
        return saturated
    if mode == ACC_FLOAT:
        qaf = np.empty(qa.size, dtype=np.float64)
        for j in range(qa.size):
            qaf[j] = np.float64(qa[j])
        qcf = np.empty(qc.size, dtype=np.float64)
        for v in range(qc.size):
            qcf[v] = np.float64(qc[v])
        two, three, four = np.uint64(2), np.uint64(3), np.uint64(4)
        for r in range(n_rows):
            t0 = 0.0
            t1 = 0.0
            t2 = 0.0
            t3 = 0.0
            x = np.uint64(row_ptr[r])
            e = np.uint64(row_ptr[r + 1])
            while x + four <= e:
                p0 = np.uint64(row_ent[x])
                p1 = np.uint64(row_ent[x + one])
                p2 = np.uint64(row_ent[x + two])
                p3 = np.uint64(row_ent[x + three])
                t0 += qcf[p0 & m] * qaf[p0 >> s]
                t1 += qcf[p1 & m] * qaf[p1 >> s]
                t2 += qcf[p2 & m] * qaf[p2 >> s]
                t3 += qcf[p3 & m] * qaf[p3 >> s]
                x += four
            while x < e:
                p0 = np.uint64(row_ent[x])
                t0 += qcf[p0 & m] * qaf[p0 >> s]
                x += one
            acc[row0 + r] += np.int64((t0 + t1) + (t2 + t3))
        return saturated
    n_codes = qc.size
    bins = np.zeros(np.int64(m) + 1, dtype=np.int64)
    for r in range(n_rows):
        x = np.uint64(row_ptr[r])
        e = np.uint64(row_ptr[r + 1])
        while x < e:
            p = np.uint64(row_ent[x])
            bins[p & m] += qa[p >> s]
            x += one
        t = np.int64(0)
        for v in range(n_codes):
            t += bins[v] * qc[v]
            bins[v] = 0
        acc[row0 + r] += t
    return saturated


@cached_njit()
def scan_acts(qa, acc0):
    """One pass over a layer's operands: (non-zero activations, ``sum|qa|``, ``max|acc0|``, 0
    for none), the exact integers that ``np.count_nonzero(qa)``, ``np.abs(qa).sum()`` and
    ``np.abs(acc0).max(initial=0)`` give (|qa| < 2**23 and n_cols < 2**40, so the sum cannot
    overflow int64; accumulators are above -2**61)."""
    n_nz = 0
    s = np.int64(0)
    for j in range(qa.size):
        a = qa[j]
        n_nz += a != 0
        s += abs(a)
    m = np.int64(0)
    for i in range(acc0.size):
        m = max(m, abs(acc0[i]))
    return n_nz, s, m
