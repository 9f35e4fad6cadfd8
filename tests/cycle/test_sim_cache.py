"""What simulate() keeps on an encoded layer between calls (the per-configuration layout and
the timing of all-non-zero activations) is keyed correctly: every result equals a fresh
simulate() on a fresh encoding of the same layer, whatever ran before on the cached one."""

import numpy as np

from eie_sim import ArchConfig, encode, simulate
from eie_sim.cycle.simulator import _PLANS_PER_LAYER

from helpers import random_codebook, random_codes


def _key(r):
    """Everything a result exposes: outputs, cycles, counters, per-PE arrays, notes."""
    return (r.to_dict(), r.output_fixed.tolist(), r.output.tolist(), r.per_pe.to_dict(),
            {k: np.asarray(v).tolist() for k, v in r.per_pe_arrays.items()}, r.acc_saturated)


def _layer(seed, rows=70, cols=50):
    rng = np.random.default_rng(seed)
    return random_codes(rng, rows, cols, 0.3, 4), random_codebook(rng, 4), rng


def _fresh(codes, cb, a, cfg):
    return simulate(encode(codes, cb, n_pe=cfg.n_pe), a, cfg)


def test_cached_layout_keyed_by_config():
    codes, cb, rng = _layer(0)
    enc = encode(codes, cb, n_pe=4)
    a = rng.random(50) * (rng.random(50) < 0.5)
    cfgs = [ArchConfig(n_pe=4), ArchConfig(n_pe=4, fifo_depth=1), ArchConfig(n_pe=4, act_regs_per_pe=3, act_sram_kb=0),
            ArchConfig(n_pe=4, acc_bits=32), ArchConfig(n_pe=4, spmat_sram_kb=1, ptr_sram_kb=1)]
    for cfg in cfgs + cfgs[::-1]:
        assert _key(simulate(enc, a, cfg)) == _key(_fresh(codes, cb, a, cfg))


def test_layouts_kept_per_layer_are_bounded():
    codes, cb, rng = _layer(1)
    enc = encode(codes, cb, n_pe=2)
    a = rng.random(50)
    cfgs = [ArchConfig(n_pe=2, fifo_depth=d) for d in range(1, _PLANS_PER_LAYER + 4)]
    for cfg in cfgs + cfgs:
        assert _key(simulate(enc, a, cfg)) == _key(_fresh(codes, cb, a, cfg))
    assert sum(1 for k in enc._cache if isinstance(k, tuple) and k[0] == "sim_plan") <= _PLANS_PER_LAYER


def test_dense_timing_cache_against_fresh_runs():
    """All-non-zero activations reuse the timing of the first such run: different values, a
    sparse vector in between, other configurations, row and input batches."""
    codes, cb, rng = _layer(2, rows=90, cols=60)
    for cfg in (ArchConfig(n_pe=4), ArchConfig(n_pe=4, act_regs_per_pe=4, act_sram_kb=0, fifo_depth=2)):
        enc = encode(codes, cb, n_pe=4)
        runs = [rng.random(60) + 0.5, -rng.random(60) - 0.1, rng.random(60) * (rng.random(60) < 0.3),
                rng.normal(size=60) + 5.0, np.where(rng.random(60) < 0.9, rng.random(60) + 0.1, 0.0)]
        for a in runs:
            assert _key(simulate(enc, a, cfg)) == _key(_fresh(codes, cb, a, cfg))
        assert enc._cache[("sim_plan", cfg)].full is not None  # the cache was used


def test_results_do_not_share_cached_arrays():
    """Changing a result's counters or per-PE arrays leaves the next result untouched."""
    codes, cb, rng = _layer(3)
    enc = encode(codes, cb, n_pe=4)
    cfg = ArchConfig(n_pe=4)
    a = rng.random(50) + 0.5
    r1 = simulate(enc, a, cfg)
    want = _key(r1)
    r1.counters["broadcasts"] += 1
    for v in r1.per_pe_arrays.values():
        v += 1
    assert _key(simulate(enc, a, cfg)) == want
