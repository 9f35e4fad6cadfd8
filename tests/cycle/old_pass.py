"""The cycle model's pass kernel as it was before the dense path (eie_sim.cycle.kernels at
5ea3012): one fused loop per broadcast column for timing and spmat word counts, here run for
every pass (also those that broadcast every column of a range) and with the word counts written
plainly. Kept as a second, independent implementation of the same rules to test
kernels._simulate_pass against."""

import numpy as np
from numba import njit

from eie_sim.cycle.kernels import _sat  # the saturation step itself is not under test




@njit(cache=True)
def old_simulate_pass(ptr_t, real_t, col_rs, real_rows, real_codes, nzcols, qa, qc, acc, acc_lo, acc_hi, check_sat,
                   row0, fifo_depth, t_start, epw, entry_base, cap_words, held, busy, blocked, real, pad,
                   sram_reads, dram_words, full, do_arith):
    """One pass: issue-phase timing (closed form of the module's rules), per-PE counters and the
    arithmetic of every real entry of every broadcast column.

    ptr_t: (n_cols + 1, n_pe) int32 column pointers; real_t: (n_cols, n_pe) int32 real entries
    per column and PE; col_rs: (n_cols + 1) offsets of each column's real entries (all PEs) in
    ``real_rows`` (row in the sub-layer, int32) and ``real_codes`` (uint8). nzcols: broadcast
    columns in order; ``do_arith`` False skips the arithmetic (done row by row instead, see
    :func:`accumulate_rows`); ``full`` (every column from nzcols[0] to nzcols[-1]) is accepted
    for the old signature and ignored. Accumulates ``acc[row] = sat(acc[row] + qc[v] * qa[j])`` (golden contract,
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
    t_prev = np.int32(-1)
    for i in range(m):
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
            # Spmat reads, counted plainly (integer floor division): the words of entries
            # base + c0 .. base + c1 - 1, less the first if it is the word already held; words at or beyond the
            # SRAM capacity are DRAM reads.
            if c > 0:
                base = np.int64(st[BASE, k])
                ws = (base + c0) // epw
                we = (base + c1 - 1) // epw
                for w in range(ws, we + 1):
                    if w == ws and w == st[HELD, k]:
                        continue
                    if w < cap:
                        st[SRAM, k] += 1
                    else:
                        st[DRAM, k] += 1
                st[HELD, k] = we
            r = real_t[j, k]
            st[REAL, k] += r
            st[PAD, k] += c - r
        ringmax[slot] = mx
        t_prev = t_i
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
