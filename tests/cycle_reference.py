"""A slow, cycle-by-cycle Python model of the timing rules in eie_sim.cycle.kernels.

It steps every cycle with explicit queues and PE states; it shares no code with the Numba
model except the golden model's quantisation (prepare/finish) and the encoder.
"""

import math
from collections import deque

import numpy as np

from eie_sim.cycle.kernels import DRAIN_CYCLES, lnzd_levels, lnzd_nodes
from eie_sim.contract.format import decode, encode
from eie_sim.contract.golden import finish, prepare


def slow_simulate(enc, activations, config, **prep_kwargs):
    prep = prepare(enc, activations, config, **prep_kwargs)
    N, D = config.n_pe, config.fifo_depth
    M, K = enc.shape
    regs = config.act_regs_per_pe
    R = N * regs
    epw = config.sram_width // (enc.weight_bits + enc.index_bits)
    cap_words = config.spmat_sram_kb * 8192 // config.sram_width
    ptr_cap = config.ptr_sram_kb * 8192 // config.ptr_bits
    act_cap = config.act_sram_kb * 8192 // config.act_bits
    lo_acc, hi_acc = -(2 ** (config.acc_bits - 1)), 2 ** (config.acc_bits - 1) - 1
    codes = decode(enc)
    acc = [int(x) for x in prep.acc0]
    qa = [int(x) for x in prep.qa]
    qc = [int(x) for x in prep.qc]
    saturated = 0  # additions that saturated

    c = dict.fromkeys(["broadcasts", "ptr_sram_reads", "ptr_dram_reads", "spmat_sram_reads", "spmat_dram_words",
                       "real", "pad", "act_sram_reads", "act_sram_writes", "act_dram_in", "act_dram_out"], 0)
    busy = [0] * N
    starved = [0] * N
    blocked = [0] * N
    t = 0
    issue_cycles = 0
    n_row_batches = max(1, math.ceil(M / R)) if M > R else 1
    n_in_batches = max(1, math.ceil(K / R))
    entry_base = [0] * N
    stored = [0] * N
    # Activation j lives in PE j % N at local slot j // N; inputs first in the SRAM, then outputs.
    in_sram = K > R
    out_sram = M > R
    for rb in range(n_row_batches):
        r0 = rb * R
        sub = encode(codes[r0 : r0 + R], enc.codebook, n_pe=N, index_bits=enc.index_bits) if M > R else enc
        pes = sub.pes
        held = [None] * N
        for ib in range(n_in_batches):
            cols = range(ib * R, min((ib + 1) * R, K))
            if in_sram:
                loads = [0] * N
                for j in cols:
                    k, slot = j % N, j // N
                    loads[k] += 1
                    if slot < act_cap:
                        c["act_sram_reads"] += 1
                    else:
                        c["act_dram_in"] += 1
                t += max(loads)
            t += lnzd_levels(N)
            pending = [j for j in cols if qa[j] != 0]
            queues = [deque() for _ in range(N)]
            rem = [0] * N
            nxt = 0
            t0 = t
            while nxt < len(pending) or any(queues) or any(rem):
                can = nxt < len(pending) and all(len(q) < D for q in queues)
                if nxt < len(pending) and not can:
                    for k in range(N):
                        if len(queues[k]) == D:
                            blocked[k] += 1
                for k in range(N):
                    if rem[k] == 0 and queues[k]:
                        j = queues[k].popleft()
                        p = pes[k]
                        for idx in (j, j + 1):
                            if rb * (K + 1) + idx < ptr_cap:
                                c["ptr_sram_reads"] += 1
                            else:
                                c["ptr_dram_reads"] += 1
                        s, e = int(p.ptr[j]), int(p.ptr[j + 1])
                        rem[k] = max(e - s, 1)
                        row = -1
                        for idx in range(s, e):
                            row += int(p.z[idx]) + 1
                            w = (entry_base[k] + idx) // epw
                            if w != held[k]:
                                held[k] = w
                                if w < cap_words:
                                    c["spmat_sram_reads"] += 1
                                else:
                                    c["spmat_dram_words"] += 1
                            v = int(p.v[idx])
                            if v:
                                gi = r0 + k + N * row
                                val = acc[gi] + qc[v] * qa[j]
                                if val > hi_acc or val < lo_acc:
                                    saturated += 1
                                acc[gi] = min(max(val, lo_acc), hi_acc)
                                c["real"] += 1
                            else:
                                c["pad"] += 1
                    if rem[k] > 0:
                        busy[k] += 1
                        rem[k] -= 1
                    else:
                        starved[k] += 1
                if can:
                    for q in queues:
                        q.append(pending[nxt])
                    nxt += 1
                    c["broadcasts"] += 1
                t += 1
            issue_cycles += t - t0
        for k in range(N):
            entry_base[k] += pes[k].entries
            stored[k] += pes[k].entries
        t += DRAIN_CYCLES
        if out_sram:
            outs = [0] * N
            for i in range(r0, min(r0 + R, M)):
                k, local = i % N, i // N
                slot = (len(range(k, K, N)) if in_sram else 0) + local
                outs[k] += 1
                if slot < act_cap:
                    c["act_sram_writes"] += 1
                else:
                    c["act_dram_out"] += 1
            t += max(outs)
    macs = c["real"] + c["pad"]
    b = c["broadcasts"]
    counters = {
        "broadcasts": b,
        "lnzd_ops": b * lnzd_nodes(N),
        "queue_pushes": b * N,
        "queue_pops": b * N,
        "ptr_sram_reads": c["ptr_sram_reads"],
        "spmat_sram_reads": c["spmat_sram_reads"],
        "codebook_reads": macs,
        "macs_real": c["real"],
        "macs_padding": c["pad"],
        "act_reg_reads": b + macs + c["act_sram_writes"] + c["act_dram_out"],
        "act_reg_writes": macs + M + c["act_sram_reads"] + c["act_dram_in"],
        "act_sram_reads": c["act_sram_reads"],
        "act_sram_writes": c["act_sram_writes"],
        "dram_bytes_ptr": -(-c["ptr_dram_reads"] * config.ptr_bits // 8),
        "dram_bytes_spmat": -(-c["spmat_dram_words"] * config.sram_width // 8),
        "dram_bytes_act": -(-(c["act_dram_in"] + c["act_dram_out"]) * config.act_bits // 8),
        "row_batches": n_row_batches,
        "input_batches": n_in_batches,
        "overhead_cycles": t - issue_cycles,
    }
    counters["dram_bytes"] = -(-(c["ptr_dram_reads"] * config.ptr_bits + c["spmat_dram_words"] * config.sram_width
                                 + (c["act_dram_in"] + c["act_dram_out"]) * config.act_bits) // 8)
    res = finish(prep, np.array(acc, dtype=np.int64), saturated)
    return {
        "cycles": t,
        "counters": counters,
        "busy": busy,
        "starved": starved,
        "blocked": blocked,
        "stored": stored,
        "output_fixed": res.output_fixed,
    }
