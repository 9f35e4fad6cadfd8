"""Load-balance-aware pruning: every PE keeps the same number of weights in each column group.

Why per column. On an EIE array a broadcast column j occupies PE k for max(e_kj, 1) cycles,
e_kj its entries in that column (padding included), and the broadcast of the next columns
waits once any PE's activation queue (``fifo_depth``, 8 in the paper) is full. So the time of
a layer is set by the busiest PE over windows of a few columns, not by the per-PE totals
alone: a matrix whose PEs hold equal totals (ESE's load-balance-aware pruning, Han et al.,
FPGA 2017) still loses cycles wherever one PE's column is longer than the others'. Here the
unit of balance is a *column group* of ``group`` consecutive input columns (default 1: every
column): within each group, every PE keeps the same number of weights, the largest (by
magnitude) of its own rows of that group. With ``group=1`` a column costs every PE the same
time and no queue ever fills; ``group`` = the queue depth leaves the queues to absorb
imbalance within a group; ``group`` >= the number of columns is ESE's per-PE total.

How many weights each group keeps: the layer's ordinary pruning (threshold = quality x std,
or the largest ``1 - sparsity``) is computed first and counts K_g weights in group g; each PE
then keeps k_g of its rows' weights there, the k_g being the layer's kept total spread over the
groups in proportion to K_g (largest remainders, so sum_g k_g = round(sum_g K_g / P), P the PEs
that hold rows of this layer). The layer keeps its overall density and its distribution over
input columns (inputs that matter keep more weights); only the spread over PEs is forced equal.
A PE with fewer candidate weights in a group than k_g keeps all of them (rows not a multiple
of N, weights already pruned in an earlier round).

Rows to PEs: row i on PE i % N at local row i // N (the EIE format,
:func:`eie_sim.contract.format.encode`); an LSTM gate matrix (4H rows, canonical order
k*H + u) maps unit u's four gate rows to PE u % N at local row 4 * (u // N) + k, as the cycle
model runs it (``eie_sim.cycle.lstm.unit_local_order``). A layer with at most one row per PE is
pruned without the constraint: every column then costs each PE one cycle whatever is kept.

Index-aware pruning (``index_bits``): with b-bit relative indices a run of 2**b zeros before
an entry costs a padding entry, which takes a cycle like a real one. Then the count k_g bounds
the *entries* (real + padding) of every PE in the group, and each PE's selection maximises the
kept magnitude under that bound, by dynamic programming over its local rows (exact; per column,
then a knapsack over the columns of a group). Cost: R^2 x k per column (R local rows, k the
largest count) and group x k^2 per group for the knapsack, so large groups are slow; the tables
are built a chunk of columns at a time (``DP_BYTES``). Row batches of very long layers (more rows
than ``n_pe * act_regs_per_pe``) restart the relative index; this ignores that.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, describe

#: bytes of dynamic-programming tables per chunk of columns (index-aware pruning)
DP_BYTES = 1 << 28

__all__ = ["check_balance", "row_map", "group_budgets", "balanced_mask", "pe_group_counts", "pe_group_entries"]


def _int_arg(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= int(value) <= hi:
        raise ConfigError(f"{name}={describe(value)}: expected an integer in {lo}..{hi}")
    return int(value)


def check_balance(balance_pes, balance_group=1, balance_index_bits=None) -> tuple:
    """(n_pe, group, index_bits) checked: ``balance_pes`` an integer in 1..65536, ``balance_group``
    in 1..2**31, ``balance_index_bits`` None or 1..8; ConfigError naming the field otherwise."""
    n = _int_arg("balance_pes", balance_pes, 1, 1 << 16)
    g = _int_arg("balance_group", balance_group, 1, 1 << 31)
    b = None if balance_index_bits is None else _int_arg("balance_index_bits", balance_index_bits, 1, 8)
    return n, g, b


def row_map(n_rows: int, n_pe: int, hidden: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(PE, local row) of every row: i % N, i // N; or for an LSTM gate matrix of ``hidden``
    units (row k*H + u): u % N, 4 * (u // N) + k."""
    i = np.arange(n_rows, dtype=np.int64)
    if hidden is None:
        return i % n_pe, i // n_pe
    if n_rows != 4 * hidden:
        raise ConfigError(f"hidden={describe(hidden)}: an LSTM gate matrix has 4 * hidden rows, this one {n_rows}")
    u, k = i % hidden, i // hidden
    return u % n_pe, 4 * (u // n_pe) + k


def _grid(values: np.ndarray, n_pe: int, hidden, fill) -> np.ndarray:
    """(N, R, K) array: ``values`` (M x K) at [PE, local row, column], ``fill`` where no row is."""
    pe, local = row_map(values.shape[0], n_pe, hidden)
    out = np.full((n_pe, int(local.max()) + 1, values.shape[1]), fill, dtype=values.dtype)
    out[pe, local] = values
    return out


def _ungrid(grid: np.ndarray, n_rows: int, n_pe: int, hidden) -> np.ndarray:
    pe, local = row_map(n_rows, n_pe, hidden)
    return grid[pe, local]


def _groups(a: np.ndarray, group: int, fill) -> np.ndarray:
    """(..., K) -> (..., n_groups, group): columns in groups, the last padded with ``fill``."""
    K = a.shape[-1]
    ng = -(-K // group)
    pad = np.full(a.shape[:-1] + (ng * group - K,), fill, dtype=a.dtype)
    return np.concatenate([a, pad], axis=-1).reshape(a.shape[:-1] + (ng, group))


def group_budgets(target: np.ndarray, n_pe: int, group: int = 1, hidden: int | None = None) -> np.ndarray:
    """Weights each PE keeps in each column group (int64, one per group): the layer's kept
    total ``round(target.sum() / P)`` spread over the groups in proportion to ``target``'s
    count in each (largest remainders; P = PEs that hold rows of the layer)."""
    target = np.asarray(target, bool)
    pe, _ = row_map(target.shape[0], n_pe, hidden)
    n_active = int(np.unique(pe).size)
    per_group = _groups(target.sum(axis=0).astype(np.float64), group, 0.0).sum(axis=-1) / n_active
    base = np.floor(per_group).astype(np.int64)
    extra = int(round(per_group.sum())) - int(base.sum())
    if extra > 0:
        order = np.argsort(-(per_group - base), kind="stable")
        base[order[:extra]] += 1
    return base


def pe_group_counts(mask: np.ndarray, n_pe: int, group: int = 1, hidden: int | None = None) -> np.ndarray:
    """(N, n_groups) int64: non-zeros of ``mask`` (M x K) per PE and column group."""
    g = _grid(np.asarray(mask) != 0, n_pe, hidden, False)
    return _groups(g.sum(axis=1), group, 0).sum(axis=-1).astype(np.int64)


def pe_group_entries(mask: np.ndarray, n_pe: int, index_bits: int, group: int = 1, hidden: int | None = None) -> np.ndarray:
    """(N, n_groups) int64: EIE entries (non-zeros + padding, ``index_bits``-bit relative row
    indices) per PE and column group."""
    g = _grid(np.asarray(mask) != 0, n_pe, hidden, False)  # (N, R, K)
    N, R, K = g.shape
    S = 1 << index_bits
    last = np.full((N, K), -1, np.int64)
    pads = np.zeros((N, K), np.int64)
    for r in range(R):
        here = g[:, r]
        pads += np.where(here, (r - last - 1) // S, 0)
        last = np.where(here, r, last)
    return _groups(g.sum(axis=1) + pads, group, 0).sum(axis=-1).astype(np.int64)


def _top_k(scores: np.ndarray, budget: np.ndarray, group: int) -> np.ndarray:
    """Plain selection: in each (PE, group) the ``budget[g]`` largest candidate scores
    (``scores`` (N, R, K), -inf for no candidate); ties to the lower column, then local row."""
    N, R, K = scores.shape
    blk = _groups(scores, group, -np.inf).transpose(0, 2, 3, 1)  # (N, ng, group, R)
    ng = blk.shape[1]
    flat = blk.reshape(N, ng, group * R)
    order = np.argsort(-flat, axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(group * R)[None, None, :], axis=-1)
    keep = (rank < budget[None, :, None]) & np.isfinite(flat)
    keep = keep.reshape(N, ng, group, R).transpose(0, 3, 1, 2).reshape(N, R, ng * group)
    return keep[:, :, :K]


def _column_dp(s: np.ndarray, bmax: int, S: int):
    """Per column (``s`` (R, P): scores of the local rows, -inf for no candidate): f[e, j] =
    the best kept magnitude with e entries (padding included), the last at row j; prev[e, j]
    the row before (-1: none). Returns f (bmax+1, R, P) and prev."""
    R, P = s.shape
    f = np.full((bmax + 1, R, P), -np.inf)
    prev = np.full((bmax + 1, R, P), -1, np.int16)
    for j in range(R):
        c0 = 1 + j // S
        if c0 <= bmax:
            f[c0, j] = s[j]
        for l in range(j):
            c = 1 + (j - l - 1) // S
            if c > bmax:
                continue
            cand = f[: bmax + 1 - c, l] + s[j]
            better = cand > f[c:, j]
            f[c:, j] = np.where(better, cand, f[c:, j])
            prev[c:, j] = np.where(better, l, prev[c:, j])
    return f, prev


def _best_upto(f: np.ndarray) -> np.ndarray:
    """best[m, p]: the best magnitude with at most m entries (0 with none)."""
    best = np.maximum(f.max(axis=1), 0.0)
    return np.maximum.accumulate(best, axis=0)


def _backtrack(f: np.ndarray, prev: np.ndarray, budget: np.ndarray, S: int) -> np.ndarray:
    """The rows kept (R, P) bool by the best selection of at most ``budget[p]`` entries."""
    bmax1, R, P = f.shape
    e_idx = np.arange(bmax1)[:, None, None]
    v = np.where(e_idx <= budget[None, None, :], f, -np.inf).reshape(bmax1 * R, P)
    flat = np.argmax(v, axis=0)
    ok = np.take_along_axis(v, flat[None, :], axis=0)[0] > -np.inf
    e, j = flat // R, flat % R
    keep = np.zeros((R, P), bool)
    cols = np.arange(P)
    for _ in range(bmax1):
        if not ok.any():
            break
        keep[j[ok], cols[ok]] = True
        l = prev[e, j, cols].astype(np.int64)
        cost = np.where(l < 0, 1 + j // S, 1 + (j - l - 1) // S)
        e = e - cost
        ok &= l >= 0
        j = np.where(ok, l, 0)
        e = np.where(ok, e, 0)
    return keep


def _index_aware(scores: np.ndarray, budget: np.ndarray, group: int, index_bits: int) -> np.ndarray:
    """Selection whose entries (real + padding) per (PE, group) are at most ``budget[g]``, of
    the largest total magnitude: DP per column, then a knapsack over a group's columns."""
    N, R, K = scores.shape
    S = 1 << index_bits
    ng = -(-K // group)
    bcol = np.repeat(budget, group)[:K]  # each column's group budget
    bmax = int(budget.max(initial=0))
    if bmax == 0:
        return np.zeros_like(scores, dtype=bool)
    s = scores.transpose(1, 0, 2).reshape(R, N * K)  # column p = pe * K + col
    f, prev = _column_dp(s, bmax, S)
    if group == 1:
        take = np.tile(bcol, N)
    else:
        best = _best_upto(f).reshape(bmax + 1, N, K)
        best = _groups(best, group, 0.0)  # (bmax+1, N, ng, group)
        F = np.zeros((bmax + 1, N, ng))
        arg = np.zeros((group, bmax + 1, N, ng), np.int16)
        for c in range(group):
            G2 = np.full_like(F, -np.inf)
            for m in range(bmax + 1):
                cand = np.full_like(F, -np.inf)
                cand[m:] = F[: bmax + 1 - m] + best[m, :, :, c][None]
                better = cand > G2
                G2 = np.where(better, cand, G2)
                arg[c] = np.where(better, m, arg[c])
            F = G2
        e = np.broadcast_to(budget[None, :], (N, ng)).copy()
        takes = np.zeros((N, ng, group), np.int64)
        for c in range(group - 1, -1, -1):
            m = np.take_along_axis(arg[c], e[None], axis=0)[0]
            takes[:, :, c] = m
            e = e - m
        take = takes.reshape(N, ng * group)[:, :K].reshape(N * K)
    keep = _backtrack(f, prev, take, S)
    return keep.reshape(R, N, K).transpose(1, 0, 2)


def balanced_mask(scores: np.ndarray, candidates: np.ndarray, target: np.ndarray, n_pe: int, *, group: int = 1,
                  index_bits: int | None = None, hidden: int | None = None) -> np.ndarray:
    """The balanced mask (M x K bool) of a weight matrix: ``scores`` (|W|), ``candidates`` (the
    weights not yet pruned), ``target`` (the layer's ordinary pruning, within ``candidates``),
    which sets the per-group counts (:func:`group_budgets`). Module docstring for the rules."""
    n_pe, group, index_bits = check_balance(n_pe, group, index_bits)
    scores = np.abs(np.asarray(scores, np.float64))
    cand = np.asarray(candidates, bool)
    target = np.asarray(target, bool) & cand
    if scores.ndim != 2 or cand.shape != scores.shape or target.shape != scores.shape:
        raise ConfigError(f"scores, candidates, target: shapes {scores.shape}, {cand.shape}, {target.shape}; "
                          "expected three equal 2-D shapes")
    M = scores.shape[0]
    group = min(group, scores.shape[1])
    _, local = row_map(M, n_pe, hidden)
    if int(local.max()) < 1:  # at most one row per PE: balance cannot change a column's cost
        return target
    budget = group_budgets(target, n_pe, group, hidden)
    grid = _grid(np.where(cand, scores, -np.inf), n_pe, hidden, -np.inf)
    if index_bits is None:
        keep = _top_k(grid, budget, group)
    else:  # the DP tables hold (max budget + 1) x R x N floats per column: a chunk of groups at a time
        N, R, K = grid.shape
        per_group = (int(budget.max(initial=0)) + 1) * R * N * group * 10
        step = max(1, DP_BYTES // per_group) * group
        keep = np.concatenate([_index_aware(grid[:, :, c0 : c0 + step], budget[c0 // group : (c0 + step) // group],
                                            group, index_bits) for c0 in range(0, K, step)], axis=2)
    return _ungrid(keep, M, n_pe, hidden) & cand
