"""The pass kernels of the cycle model (kernels._dense_pass, which simulate_pass also runs, and
the per-code and float64 sums of kernels._accumulate_rows) against the previous fused column loop
(old_pass.old_simulate_pass), the ordered sums and the slow reference: identical cycles, counters and outputs, with and without stalls, holes in the
broadcast columns, several PEs and fifo depths, row and input batches, SRAM overflow."""

import numpy as np
import pytest

from eie_sim import ArchConfig, encode
from eie_sim.cycle.kernels import ACC_FLOAT, ACC_INT, ACC_SATURATING, accumulate_rows, dense_pass, simulate_pass
from eie_sim.cycle.layers import ROW_MAJOR_DENSITY, _kernel_arrays, row_major

from helpers import random_codebook, random_codes
from old_pass import old_simulate_pass
from test_simulator import check_against_reference


def _real_t(arr):
    """Real entries per column and PE (what the previous kernel took) from the prefix sums."""
    return np.ascontiguousarray(np.diff(arr["real_p"], axis=0))


def _both_passes(arr, nz, fifo_depth, epw, cap_words, entry_base, held):
    """(t_end, per-PE arrays) of the previous fused loop and of dense_pass from the same state."""
    n_pe = arr["ptr_t"].shape[1]
    out = []
    for dense in (False, True):
        st = [np.zeros(n_pe, dtype=np.int64) for _ in range(6)]
        h = held.copy()
        if dense:
            t = dense_pass(arr["ptr_t"], arr["real_p"], nz, fifo_depth, 7, epw, entry_base, cap_words, h, *st)
        else:
            acc = np.zeros(1, dtype=np.int64)
            t, _ = old_simulate_pass(arr["ptr_t"], _real_t(arr), arr["col_rs"], arr["real_rows"], arr["real_codes"],
                                  nz, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), acc, -1, 1, False, 0,
                                  fifo_depth, 7, epw, entry_base, cap_words, h, *st,
                                  bool(nz.size and nz[-1] - nz[0] + 1 == nz.size), False)
        out.append((int(t), [a.tolist() for a in st], h.tolist()))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_dense_pass_equals_general_loop(seed):
    rng = np.random.default_rng(seed)
    n_pe = int(rng.choice([1, 2, 3, 7, 16, 64]))
    rows = int(rng.integers(1, 200))
    cols = int(rng.integers(1, 120))
    density = float(rng.choice([0.02, 0.1, 0.3, 0.8]))
    enc = encode(random_codes(rng, rows, cols, density, 4), random_codebook(rng, 4), n_pe=n_pe,
                 index_bits=int(rng.integers(1, 5)))
    arr = _kernel_arrays(enc)
    # every column, every column but a few (holes), a random subset, a sub-range
    full = np.arange(cols, dtype=np.int64)
    holes = np.sort(rng.choice(cols, size=cols - min(cols, int(rng.integers(1, 4))), replace=False)).astype(np.int64)
    subset = np.flatnonzero(rng.random(cols) < 0.5).astype(np.int64)
    lo = int(rng.integers(0, cols))
    sub = np.arange(lo, int(rng.integers(lo, cols + 1)), dtype=np.int64)
    for nz in (full, holes, subset, sub):
        for fifo_depth in (1, 2, 3, 8, 100):
            epw = int(rng.integers(1, 9))
            cap_words = int(rng.choice([0, 1, 3, 2**40]))
            entry_base = rng.integers(0, 50, size=n_pe).astype(np.int64)
            held = np.where(rng.random(n_pe) < 0.5, -1, (entry_base + 1) // epw).astype(np.int64)
            general, dense = _both_passes(arr, nz, fifo_depth, epw, cap_words, entry_base, held)
            assert dense == general


def test_dense_pass_stalls():
    """Long columns on one PE fill its queue: the broadcast stalls and the PE is charged."""
    codes = np.zeros((8, 40), dtype=np.uint8)
    codes[0::2, ::3] = 1  # PE 0 (rows 0, 2, 4, 6 with 2 PEs) gets 4 entries in every third column
    enc = encode(codes, np.array([0.0, 1.0]), n_pe=2)
    arr = _kernel_arrays(enc)
    nz = np.arange(40, dtype=np.int64)
    for fifo_depth in (1, 2, 4):
        general, dense = _both_passes(arr, nz, fifo_depth, 4, 2**40, np.zeros(2, dtype=np.int64),
                                      np.full(2, -1, dtype=np.int64))
        assert dense == general
        blocked = dense[1][1]
        assert blocked[0] > 0


@pytest.mark.parametrize("seed", range(20))
def test_per_code_sums_equal_ordered_sums(seed):
    """Without saturation, the per-code integer sums (ACC_INT) and the float64 sums (ACC_FLOAT,
    within its 2**53 bound) equal the ordered sum (the saturating loop with an accumulator range
    that cannot saturate), and the ordered sum equals a plain integer matrix product."""
    rng = np.random.default_rng(seed)
    rows, cols = int(rng.integers(1, 300)), int(rng.integers(1, 300))
    weight_bits = int(rng.choice([1, 2, 4, 8]))
    codes = random_codes(rng, rows, cols, float(rng.choice([0.05, 0.5, 1.0])), weight_bits)
    enc = encode(codes, random_codebook(rng, weight_bits), n_pe=int(rng.integers(1, 9)))
    arr = row_major(_kernel_arrays(enc), rows)
    qc = rng.integers(-(1 << 23), 1 << 23, size=1 << weight_bits)
    # activations at the edge of the float64 bound: max|qc| * sum|qa| close to 2**53
    big = rng.integers(-(1 << 23), 1 << 23, size=cols)
    scale = (1 << 53) / (float(np.abs(qc).max()) * max(float(np.abs(big).sum()), 1.0))
    qa_float = np.trunc(big * min(scale * (1 - 1e-9), 1.0)).astype(np.int64)
    assert int(np.abs(qc).max()) * int(np.abs(qa_float).sum()) <= 1 << 53
    for qa, modes in ((big, (ACC_INT,)), (qa_float, (ACC_INT, ACC_FLOAT))):
        acc0 = rng.integers(-(1 << 40), 1 << 40, size=rows + 3)
        want = acc0.copy()
        assert not accumulate_rows(arr["row_ptr"], arr["row_ent"], arr["row_shift"], qa, qc, want, 3, -(1 << 62),
                                    (1 << 62) - 1, ACC_SATURATING)
        dense = np.asarray(codes, dtype=np.int64)
        exact = [int(acc0[3 + r]) + sum(int(qc[dense[r, j]]) * int(qa[j]) for j in np.flatnonzero(dense[r]))
                 for r in range(rows)]
        assert want[3:].tolist() == exact
        for mode in modes:
            got = acc0.copy()
            assert not accumulate_rows(arr["row_ptr"], arr["row_ent"], arr["row_shift"], qa, qc, got, 3, -(1 << 62),
                                        (1 << 62) - 1, mode)
            assert got.tolist() == want.tolist()


def test_row_major_packing_dtypes():
    """Entries are packed (column << code bits) | code in uint16, uint32 or uint64 as the
    largest column needs, and unpack to the layer's codes."""
    rng = np.random.default_rng(3)
    for cols, weight_bits, dtype in ((4096, 4, np.uint16), (4097, 4, np.uint32), (256, 8, np.uint16), (257, 8, np.uint32),
                                     (70000, 8, np.uint32)):
        codes = np.zeros((5, cols), dtype=np.uint8)
        hit = rng.choice(cols, size=40, replace=False)
        codes[rng.integers(0, 5, size=40), hit] = rng.integers(1, 1 << weight_bits, size=40)
        codes[4, cols - 1] = (1 << weight_bits) - 1
        enc = encode(codes, random_codebook(rng, weight_bits), n_pe=2)
        arr = row_major(_kernel_arrays(enc), 5)
        ent = arr["row_ent"]
        assert ent.dtype == dtype and arr["row_shift"] == weight_bits
        got = np.zeros_like(codes)
        for r in range(5):
            e = ent[arr["row_ptr"][r]:arr["row_ptr"][r + 1]].astype(np.int64)
            assert np.all(np.diff(e >> weight_bits) > 0)  # columns ascending
            got[r, e >> weight_bits] = e & ((1 << weight_bits) - 1)
        assert np.array_equal(got, codes)


@pytest.mark.parametrize("seed", range(12))
def test_dense_activations_match_slow_reference(seed):
    """simulate() with dense activations (row-by-row arithmetic, dense_pass) against the slow
    reference: a few zero activations (holes), stalls (small fifo), row and input batches."""
    rng = np.random.default_rng(1000 + seed)
    n_pe = int(rng.choice([1, 2, 4, 6]))
    regs = int(rng.choice([1, 2, 64]))
    rows, cols = int(rng.integers(1, 60)), int(rng.integers(1, 60))
    codes = random_codes(rng, rows, cols, float(rng.choice([0.1, 0.4, 0.9])), 4)
    cb = random_codebook(rng, 4, 0.3)
    a = np.abs(rng.normal(size=cols)) + 0.1
    a[rng.random(cols) < 0.1] = 0.0  # holes in the broadcast columns
    cfg = ArchConfig(n_pe=n_pe, fifo_depth=int(rng.choice([1, 2, 3, 8])), act_regs_per_pe=regs,
                     spmat_sram_kb=int(rng.choice([1, 64])), sram_width=64)
    enc = encode(codes, cb, n_pe=n_pe)
    if np.count_nonzero(a) > ROW_MAJOR_DENSITY * cols:  # the dense path ran
        check_against_reference(enc, a, cfg)


@pytest.mark.parametrize("seed", range(20))
def test_simulate_pass_equals_previous_kernel(seed):
    """simulate_pass (column-by-column arithmetic, products per code) against the previous
    kernel: the same cycle, per-PE counts, accumulators and saturation flag."""
    rng = np.random.default_rng(500 + seed)
    n_pe = int(rng.choice([1, 3, 8, 64]))
    rows, cols = int(rng.integers(1, 150)), int(rng.integers(1, 100))
    enc = encode(random_codes(rng, rows, cols, float(rng.choice([0.05, 0.3, 0.9])), 4), random_codebook(rng, 4),
                 n_pe=n_pe)
    arr = _kernel_arrays(enc)
    nz = np.flatnonzero(rng.random(cols) < float(rng.choice([0.2, 0.6, 1.0]))).astype(np.int64)
    qa = rng.integers(-(1 << 15), 1 << 15, size=cols)
    qc = rng.integers(-(1 << 15), 1 << 15, size=16)
    check_sat = bool(rng.random() < 0.5)
    lim = int(rng.choice([1 << 20, 1 << 40]))
    acc0 = rng.integers(-lim // 2, lim // 2, size=rows)
    res = []
    for kern in (old_simulate_pass, simulate_pass):
        st = [np.zeros(n_pe, dtype=np.int64) for _ in range(6)]
        held = np.full(n_pe, -1, dtype=np.int64)
        acc = acc0.copy()
        extra = (bool(nz.size and nz[-1] - nz[0] + 1 == nz.size), True) if kern is old_simulate_pass else ()
        t, sat = kern(arr["ptr_t"], arr["real_p"] if kern is simulate_pass else _real_t(arr), arr["col_rs"], arr["real_rows"], arr["real_codes"], nz, qa, qc, acc,
                      -lim, lim - 1, check_sat, 0, 4, 3, 4,
                      np.zeros(n_pe, dtype=np.int64), 2**40, held, *st, *extra)
        res.append((int(t), bool(sat), acc.tolist(), [a.tolist() for a in st], held.tolist()))
    assert res[1] == res[0]
