import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eie_sim import ArchConfig, EIEError, Model, ModelLayer, encode, reference_forward, reference_spmv, simulate
from eie_sim.cycle.kernels import DRAIN_CYCLES, lnzd_levels, lnzd_nodes

from cycle_reference import slow_simulate
from helpers import random_codebook, random_codes


def check_against_reference(enc, a, cfg):
    got = simulate(enc, a, cfg)
    want = slow_simulate(enc, a, cfg)
    assert got.cycles == want["cycles"]
    assert {k: got.counters[k] for k in want["counters"]} == want["counters"]
    assert got.per_pe["busy_cycles"].tolist() == want["busy"]
    assert got.per_pe["starved_cycles"].tolist() == want["starved"]
    assert got.per_pe["blocked_cycles"].tolist() == want["blocked"]
    assert got.per_pe["stored_entries"].tolist() == want["stored"]
    assert got.output_fixed.tolist() == want["output_fixed"].tolist()
    gold = reference_spmv(enc, a, cfg)
    assert got.output_fixed.tolist() == gold.output_fixed.tolist()
    assert np.array_equal(got.output, gold.output)
    return got


def test_lnzd_tree():
    assert [lnzd_levels(n) for n in (1, 4, 5, 16, 17, 64, 65, 256)] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert lnzd_nodes(64) == 21  # 16 + 4 + 1, as in the EIE chip
    assert lnzd_nodes(1) == 1 and lnzd_nodes(8) == 3 and lnzd_nodes(256) == 85


def test_hand_worked_single_pe():
    # One PE, FIFO depth 1. Column 0 has 3 entries, column 1 none, column 2 one.
    codes = np.array([[1, 0, 0], [0, 0, 2], [3, 0, 0], [4, 0, 0]])
    enc = encode(codes, np.arange(8) * 0.5, n_pe=1, index_bits=4)
    cfg = ArchConfig(n_pe=1, fifo_depth=1, weight_bits=3)
    r = simulate(enc, np.array([1.0, 1.0, 1.0]), cfg)
    # LNZD latency 1, so the issue phase starts at cycle 1.
    #  1: broadcast j=0.                    PE starved.
    #  2: queue full (j=0): blocked.        PE pops j=0: busy 2, 3, 4 (3 entries).
    #  3: broadcast j=1.
    #  4: queue full (j=1): blocked.
    #  5: still full at the start: blocked. PE pops j=1: busy 5 (empty column, pointer read only).
    #  6: broadcast j=2.                    PE starved.
    #  7:                                   PE pops j=2: busy 7.
    # The issue phase ends at 8, then the pipeline drains.
    assert r.cycles == 8 + DRAIN_CYCLES
    assert r.per_pe["busy_cycles"].tolist() == [5]
    assert r.per_pe["starved_cycles"].tolist() == [2]
    assert r.per_pe["blocked_cycles"].tolist() == [3]
    assert r.counters["overhead_cycles"] == 1 + DRAIN_CYCLES
    assert r.counters["macs_real"] == 4 and r.counters["broadcasts"] == 3
    check_against_reference(enc, np.array([1.0, 1.0, 1.0]), cfg)


def test_zero_activations_cost_no_broadcast():
    codes = np.ones((8, 6), dtype=np.uint8)
    enc = encode(codes, np.array([0.0, 1.0]), n_pe=2)
    cfg = ArchConfig(n_pe=2, weight_bits=1)
    r = simulate(enc, np.zeros(6), cfg)
    assert r.counters["broadcasts"] == 0 and r.counters["macs_real"] == 0
    assert r.cycles == lnzd_levels(2) + DRAIN_CYCLES
    assert r.output_fixed.tolist() == [0] * 8
    r1 = simulate(enc, np.array([0, 0, 1.0, 0, 0, 0]), cfg)
    r2 = simulate(enc, np.array([0, 0, 1.0, 0, 0, 2.0]), cfg)
    assert r1.counters["broadcasts"] == 1 and r2.counters["broadcasts"] == 2
    assert r2.cycles > r1.cycles


layer_params = dict(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(0, 50),
    cols=st.integers(0, 40),
    density=st.sampled_from([0.0, 0.05, 0.2, 0.6, 1.0]),
    act_density=st.sampled_from([0.0, 0.3, 1.0]),
    n_pe=st.integers(1, 12),
    fifo_depth=st.sampled_from([1, 2, 3, 8]),
    index_bits=st.integers(1, 4),
    sram_width=st.sampled_from([8, 16, 64, 100]),
)


@given(**layer_params)
def test_matches_slow_reference(seed, rows, cols, density, act_density, n_pe, fifo_depth, index_bits, sram_width):
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, rows, cols, density, 4)
    cb = random_codebook(rng, 4, 0.3)
    a = np.abs(rng.normal(size=cols)) * (rng.random(cols) < act_density)
    cfg = ArchConfig(n_pe=n_pe, fifo_depth=fifo_depth, index_bits=index_bits, sram_width=max(sram_width, 4 + index_bits))
    enc = encode(codes, cb, n_pe=n_pe, index_bits=index_bits)
    check_against_reference(enc, a, cfg)


@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 70),
    cols=st.integers(1, 70),
    n_pe=st.integers(1, 5),
    regs=st.integers(1, 6),
    act_sram_kb=st.sampled_from([0, 1]),
    spmat_sram_kb=st.sampled_from([1, 64]),
    ptr_sram_kb=st.sampled_from([1, 32]),
    fifo_depth=st.sampled_from([1, 4]),
)
def test_batching_and_overflow_match_slow_reference(seed, rows, cols, n_pe, regs, act_sram_kb, spmat_sram_kb, ptr_sram_kb, fifo_depth):
    """Long vectors (input and row batches) and every SRAM overflowing into DRAM."""
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, rows, cols, 0.5, 2)
    cb = random_codebook(rng, 2, 0.3)
    a = np.abs(rng.normal(size=cols)) * (rng.random(cols) < 0.6)
    # Tiny SRAMs: a 1 KB spmat SRAM of 8192-bit words holds one word.
    cfg = ArchConfig(n_pe=n_pe, weight_bits=2, index_bits=2, act_regs_per_pe=regs, act_sram_kb=act_sram_kb,
                     spmat_sram_kb=spmat_sram_kb, ptr_sram_kb=ptr_sram_kb, sram_width=2048 if spmat_sram_kb == 1 else 64,
                     fifo_depth=fifo_depth, act_bits=16, ptr_bits=17)
    enc = encode(codes, cb, n_pe=n_pe, index_bits=2)
    got = check_against_reference(enc, a, cfg)
    assert got.counters["row_batches"] == -(-rows // (n_pe * regs))
    assert got.counters["input_batches"] == -(-cols // (n_pe * regs))


def test_padding_heavy_and_more_pes_than_rows():
    rng = np.random.default_rng(4)
    codes = random_codes(rng, 300, 20, 0.01, 4)
    cb = random_codebook(rng, 4)
    a = np.abs(rng.normal(size=20))
    enc = encode(codes, cb, n_pe=1, index_bits=1)
    r = check_against_reference(enc, a, ArchConfig(n_pe=1, index_bits=1, act_regs_per_pe=512))
    assert r.counters["macs_padding"] > r.counters["macs_real"]
    codes = random_codes(rng, 3, 10, 0.8, 4)
    enc = encode(codes, cb, n_pe=8)
    r = check_against_reference(enc, np.abs(rng.normal(size=10)), ArchConfig(n_pe=8))
    # 5 PEs own no row, yet each broadcast costs each of them a pointer read cycle
    assert (r.per_pe["busy_cycles"].iloc[3:] == r.counters["broadcasts"]).all()


def test_model_chain_matches_golden():
    rng = np.random.default_rng(9)
    sizes = [40, 30, 12]
    layers = []
    for i in range(2):
        layers.append(ModelLayer(name=f"l{i}", codebook=random_codebook(rng, 4, 0.3),
                                 codes=random_codes(rng, sizes[i + 1], sizes[i], 0.3, 4),
                                 bias=rng.normal(0, 0.1, sizes[i + 1]), activation="relu" if i == 0 else "none"))
    model = Model(layers=tuple(layers))
    x = np.abs(rng.normal(size=40))
    cfg = ArchConfig(n_pe=4)
    r = simulate(model, x, cfg)
    g = reference_forward(model, x, cfg)
    assert r.output_fixed.tolist() == g.output_fixed.tolist()
    assert r.cycles == sum(l.cycles for l in r.layers)
    assert r.counters["macs_real"] == sum(l.counters["macs_real"] for l in r.layers)
    # layer 2's broadcasts are exactly layer 1's non-zero outputs (ReLU zeros are skipped)
    assert r.layers[1].counters["broadcasts"] == np.count_nonzero(g.layers[0].output_fixed)


def test_fifo_trends():
    rng = np.random.default_rng(12)
    codes = random_codes(rng, 512, 512, 0.1, 4)
    cb = random_codebook(rng, 4)
    a = np.abs(rng.normal(size=512)) * (rng.random(512) < 0.4)
    cycles = []
    for depth in (1, 2, 4, 8, 16, 32):
        cycles.append(simulate((codes, cb), a, ArchConfig(n_pe=16, fifo_depth=depth)).cycles)
    assert all(x >= y for x, y in zip(cycles, cycles[1:]))  # deeper never costs cycles
    gains = [x - y for x, y in zip(cycles, cycles[1:])]
    assert sum(gains[:3]) > sum(gains[3:])  # most of the gain is from depth 1 to 8


def test_more_pes_never_slow_a_large_layer():
    rng = np.random.default_rng(13)
    codes = random_codes(rng, 1024, 1024, 0.1, 4)
    cb = random_codebook(rng, 4)
    a = np.abs(rng.normal(size=1024)) * (rng.random(1024) < 0.35)
    cycles = [simulate((codes, cb), a, ArchConfig(n_pe=n)).cycles for n in (1, 2, 4, 8, 16, 32, 64)]
    assert all(x > y for x, y in zip(cycles, cycles[1:]))


def test_result_fields():
    rng = np.random.default_rng(1)
    codes = random_codes(rng, 64, 64, 0.2, 4)
    cb = random_codebook(rng, 4)
    a = np.abs(rng.normal(size=64))
    cfg = ArchConfig(n_pe=4, clock_mhz=500)
    r = simulate((codes, cb), a, cfg)
    assert r.latency_us == pytest.approx(r.cycles / 500)
    assert r.load_efficiency == pytest.approx((r.counters["macs_real"] + r.counters["macs_padding"]) / 4 / r.cycles)
    assert r.gops == pytest.approx(2 * r.counters["macs_real"] / (r.cycles / 500e6) / 1e9)
    d = r.to_dict()
    for key in ("layer", "n_pe", "fifo_depth", "sram_width", "cycles", "latency_us", "load_efficiency", "entries",
                "padding_entries", "counters"):
        assert key in d
    assert list(r.per_pe.columns) == ["entries_real", "entries_padding", "busy_cycles", "starved_cycles",
                                      "blocked_cycles", "spmat_sram_reads", "stored_entries"]


def test_bad_input():
    rng = np.random.default_rng(2)
    codes = random_codes(rng, 10, 12, 0.3, 4)
    cb = random_codebook(rng, 4)
    enc = encode(codes, cb, n_pe=4)
    with pytest.raises(EIEError, match="length 11; expected 12"):
        simulate(enc, np.ones(11), ArchConfig(n_pe=4))
    with pytest.raises(EIEError, match=r"activations\[3\]=nan"):
        simulate(enc, np.r_[np.ones(3), np.nan, np.ones(8)], ArchConfig(n_pe=4))
    with pytest.raises(EIEError, match="encoded for n_pe=4 but config.n_pe=8"):
        simulate(enc, np.ones(12), ArchConfig(n_pe=8))
    with pytest.raises(EIEError, match="weight_bits=4 .* config.weight_bits=2"):
        simulate(enc, np.ones(12), ArchConfig(n_pe=4, weight_bits=2))
    with pytest.raises(EIEError, match="fifo_depth=0"):
        simulate(enc, np.ones(12), dataclasses.replace(ArchConfig(n_pe=4), fifo_depth=0))
    with pytest.raises(EIEError, match="expected a CompressedLayer"):
        simulate("not a layer".split(), np.ones(12))
    with pytest.raises(EIEError, match="pointers need 5 bits but ptr_bits=4"):
        simulate((np.ones((20, 1), dtype=np.uint8), cb), np.ones(1), ArchConfig(n_pe=1, ptr_bits=4))
    with pytest.raises(EIEError, match="2\\*\\*weight_bits = 16"):
        simulate((codes, cb[:8]), np.ones(12), ArchConfig(n_pe=4))


@given(seed=st.integers(0, 2**32 - 1), act_density=st.sampled_from([0.2, 1.0]), n_pe=st.integers(1, 4),
       relu=st.booleans())
def test_saturating_accumulator_matches_golden_and_reference(seed, act_density, n_pe, relu):
    """8-bit values in a 16-bit accumulator saturate; both arithmetic paths (column sweep for
    sparse activations, row sweep for dense ones) must saturate in the hardware's order."""
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, 12, 30, 0.7, 3)
    cb = np.r_[0.0, rng.uniform(-1.9, 1.9, 7)]
    a = rng.uniform(0.0, 1.9, 30) * (rng.random(30) < act_density)
    layer = ModelLayer(name="sat", codebook=cb, codes=codes, act_bits=8, in_frac=6, w_frac=6, out_frac=2,
                       activation="relu" if relu else "none")
    cfg = ArchConfig(n_pe=n_pe, weight_bits=3, act_bits=8, acc_bits=16)
    got = simulate(layer, a, cfg)
    gold = reference_spmv(layer, a, cfg)
    enc = encode(codes, cb, n_pe=n_pe)
    slow = slow_simulate(enc, a, cfg, act_frac=6, w_frac=6, out_frac=2, activation="relu" if relu else "none")
    assert got.output_fixed.tolist() == gold.output_fixed.tolist() == slow["output_fixed"].tolist()
    assert got.acc_saturated == gold.acc_saturated
    assert got.cycles == slow["cycles"]
