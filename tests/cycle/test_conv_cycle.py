"""The conv step of the cycle model (eie_sim.cycle.conv) against the mapping spec run slowly: for
each output position the fc cycle model (simulate_layer) on the patch, summed; conv-only counters
hand-worked on a tiny case; outputs against the golden model; a conv -> conv -> fc model."""

from __future__ import annotations

import numpy as np
import pytest

from eie_sim.config import ArchConfig
from eie_sim.contract.conv import conv_golden, geometry, patches_of
from eie_sim.contract.golden import reference_forward
from eie_sim.contract.layer import Model, ModelLayer
from eie_sim.cycle.conv import CONV_COUNTERS, simulate_conv
from eie_sim.cycle.simulator import COUNTERS, PER_PE_COLUMNS, simulate, simulate_layer


def conv_layer(rng, c_in=3, c_out=6, hw=(9, 7), kernel=(3, 2), stride=(2, 1), padding=(1, 0, 1, 1), pool="none",
               density=0.5, name="c", pool_kernel=2, pool_stride=2, pool_padding=0):
    kh, kw = kernel
    codes = rng.integers(0, 16, (c_out, c_in * kh * kw))
    codes[rng.random(codes.shape) > density] = 0
    cb = np.concatenate([[0.0], rng.normal(0, 0.5, 15)])
    params = dict(in_hw=hw, kernel=kernel, stride=stride, padding=padding, pool=pool)
    if pool != "none":
        params.update(pool_kernel=pool_kernel, pool_stride=pool_stride, pool_padding=pool_padding)
    return ModelLayer(name=name, codebook=cb, codes=codes.astype(np.uint8), bias=rng.normal(0, 0.1, c_out),
                      activation="relu", kind="conv", params=params)


def input_map(rng, layer, density=0.6):
    g = geometry(layer)
    x = np.abs(rng.normal(0, 1, g.n_in))
    x[rng.random(g.n_in) > density] = 0
    return x


def slow_reference(layer, x, config):
    """The spec, run slowly: the fc cycle model on each position's patch, summed over positions."""
    gold = conv_golden(layer, x, config)
    fc = ModelLayer(name="patch", codebook=layer.codebook, codes=layer.codes, bias=layer.bias,
                    activation=layer.activation, act_bits=layer.act_bits, index_bits=layer.index_bits)
    runs = [simulate_layer(fc, p, config, "patch", act_frac=gold.act_format.frac, fixed_input=True)
            for p in patches_of(layer, gold.input_fixed)]
    cycles = [r.cycles for r in runs]
    counters = {k: sum(r.counters[k] for r in runs) for k in COUNTERS}
    per_pe = {c: sum(r.per_pe_arrays[c] for r in runs) for c in PER_PE_COLUMNS}
    per_pe["stored_entries"] = runs[0].per_pe_arrays["stored_entries"]  # stored once, not per position
    return cycles, counters, per_pe, runs[0].entries


def conv_extras(layer, x, config, run_cycles):
    """The conv-only counters by loops over positions and pooling windows (module spec)."""
    g = geometry(layer)
    N = config.n_pe
    inb = []
    for oy in range(g.ho):
        for ox in range(g.wo):
            n = 0
            for c in range(g.c_in):
                for ky in range(g.kh):
                    for kx in range(g.kw):
                        yy, xx = oy * g.stride[0] + ky - g.padding[0], ox * g.stride[1] + kx - g.padding[1]
                        n += 0 <= yy < g.h and 0 <= xx < g.w
            inb.append(n)
    asm = [-(-n // N) for n in inb]
    stall = asm[0] + sum(max(0, asm[p + 1] - run_cycles[p]) for p in range(len(asm) - 1))
    per_channel = 0
    if g.pool != "none":
        for i in range(g.hp):
            for j in range(g.wp):
                for dy in range(g.pool_kernel[0]):
                    for dx in range(g.pool_kernel[1]):
                        yy = i * g.pool_stride[0] - g.pool_padding[0] + dy
                        xx = j * g.pool_stride[1] - g.pool_padding[1] + dx
                        per_channel += 0 <= yy < g.ho and 0 <= xx < g.wo
    busiest = len(range(0, g.c_out, N))  # channels of PE 0
    return dict(positions=g.ho * g.wo, fmap_reads=sum(inb), fmap_writes=g.ho * g.wo * g.c_out,
                pool_ops=g.c_out * per_channel, patch_stall_cycles=stall, pool_cycles=busiest * per_channel)


CASES = [
    dict(),
    dict(pool="max", hw=(10, 9), kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1)),
    dict(pool="avg", hw=(8, 8), kernel=(2, 3), stride=(1, 2), padding=(1, 2, 0, 1), pool_kernel=3, pool_stride=2,
         pool_padding=(1, 1, 0, 0)),
    dict(c_in=2, c_out=40, hw=(6, 6), kernel=(3, 3), stride=(1, 1), padding=0),  # C_out > R at n_pe=4: row batches
    dict(c_in=12, c_out=5, hw=(5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1)),  # K = 108 > R: input batches
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("n_pe", [1, 4, 8])
def test_conv_step_equals_the_fc_model_per_position(case, n_pe):
    rng = np.random.default_rng(100 + case)
    layer = conv_layer(rng, **CASES[case])
    x = input_map(rng, layer)
    config = ArchConfig(n_pe=n_pe, act_regs_per_pe=4 if n_pe == 4 else 64)
    res = simulate_conv(layer, x, config)
    cycles, counters, per_pe, entries = slow_reference(layer, x, config)
    extras = conv_extras(layer, x, config, cycles)
    assert {k: res.counters[k] for k in COUNTERS} == counters
    assert {k: res.counters[k] for k in CONV_COUNTERS} == extras
    assert res.cycles == sum(cycles) + extras["patch_stall_cycles"] + extras["pool_cycles"]
    for c in PER_PE_COLUMNS:
        np.testing.assert_array_equal(res.per_pe_arrays[c], per_pe[c], err_msg=c)
    assert res.entries == entries
    gold = reference_forward(Model(layers=(layer,)), x)
    np.testing.assert_array_equal(res.output_fixed, gold.output_fixed)
    assert res.out_format == gold.layers[0].out_format
    assert res.saturation == gold.layers[0].saturation
    if case in (3, 4) and n_pe == 4:
        assert counters["row_batches"] > extras["positions"] or counters["input_batches"] > extras["positions"]


def test_tiny_case_conv_counters_by_hand():
    """1 input channel 3x3, kernel 2x2, no padding, stride 1 -> 2x2 positions of 4 in-bounds values;
    max pool 2x2 over the 2x2 map -> one window of 4; 2 channels on 2 PEs."""
    rng = np.random.default_rng(7)
    layer = conv_layer(rng, c_in=1, c_out=2, hw=(3, 3), kernel=(2, 2), stride=(1, 1), padding=0, pool="max",
                       density=1.0)
    x = np.arange(1.0, 10.0) / 10
    res = simulate_conv(layer, x, ArchConfig(n_pe=2))
    c = res.counters
    assert c["positions"] == 4
    assert c["fmap_reads"] == 16  # 4 positions x 4 values
    assert c["fmap_writes"] == 8  # 4 positions x 2 channels
    assert c["pool_ops"] == 8  # 2 channels x 4 values
    assert c["pool_cycles"] == 4  # one channel per PE
    # assembly: ceil(4 / 2) = 2 cycles per patch; every run lasts longer, so only the first stalls
    assert c["patch_stall_cycles"] == 2


def test_padding_zeros_are_not_read():
    rng = np.random.default_rng(8)
    layer = conv_layer(rng, c_in=1, c_out=1, hw=(2, 2), kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1))
    res = simulate_conv(layer, np.ones(4), ArchConfig(n_pe=1))
    assert res.counters["fmap_reads"] == 4 * 4  # every 3x3 window over the padded 2x2 map holds all 4 values


def test_conv_conv_fc_model_through_simulate():
    rng = np.random.default_rng(9)
    c1 = conv_layer(rng, c_in=1, c_out=4, hw=(10, 10), kernel=(3, 3), stride=(1, 1), padding=0, pool="max",
                    name="conv1")
    c2 = conv_layer(rng, c_in=4, c_out=6, hw=(4, 4), kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1),
                    pool="avg", name="conv2")
    codes = rng.integers(0, 16, (5, 24)).astype(np.uint8)
    fc = ModelLayer(name="fc", codebook=c1.codebook, codes=codes, bias=rng.normal(0, 0.1, 5))
    model = Model(layers=(c1, c2, fc))
    x = input_map(rng, c1)
    config = ArchConfig(n_pe=4)
    res = simulate(model, x, config)
    gold = reference_forward(model, x)
    np.testing.assert_array_equal(res.output_fixed, gold.output_fixed)
    assert [r.name for r in res.layers] == ["conv1", "conv2", "fc"]
    one = simulate(c1, x, config)  # a conv ModelLayer alone runs its kind's step
    assert one.cycles == simulate_conv(c1, x, config).cycles == res.layers[0].cycles
    np.testing.assert_array_equal(one.output_fixed, res.layers[0].output_fixed)
    assert res.cycles == sum(r.cycles for r in res.layers)
    for k in CONV_COUNTERS + COUNTERS:  # the union of the layers' counters
        assert res.counters[k] == sum(r.counters.get(k, 0) for r in res.layers)
    assert res.saturation == gold.saturation


def test_sram_overflow_counts_as_the_fc_model_plus_the_feature_maps():
    """Pointers, entries and activations beyond tiny SRAMs go to DRAM per position as in the fc
    model; the input and output maps beyond the array's activation SRAM add to dram_bytes_act."""
    rng = np.random.default_rng(11)
    layer = conv_layer(rng, c_in=64, c_out=20, hw=(3, 3), kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1),
                       density=0.8)
    x = input_map(rng, layer, density=0.9)
    config = ArchConfig(n_pe=2, act_regs_per_pe=8, ptr_sram_kb=1, spmat_sram_kb=1, act_sram_kb=0)
    res = simulate_conv(layer, x, config)
    cycles, counters, per_pe, _ = slow_reference(layer, x, config)
    assert counters["dram_bytes_ptr"] > 0 and counters["dram_bytes_spmat"] > 0 and counters["dram_bytes_act"] > 0
    g = geometry(layer)
    maps = -(-(g.n_in + g.n_conv_out) * config.act_bits // 8)  # no activation SRAM: both maps in DRAM
    fc_keys = [k for k in COUNTERS if k not in ("dram_bytes", "dram_bytes_act")]
    assert {k: res.counters[k] for k in fc_keys} == {k: counters[k] for k in fc_keys}
    assert res.counters["dram_bytes_act"] == counters["dram_bytes_act"] + maps
    assert res.counters["dram_bytes"] == counters["dram_bytes"] + maps
    assert any("feature map overflow" in n for n in res.notes)
    assert res.cycles == sum(cycles) + conv_extras(layer, x, config, cycles)["patch_stall_cycles"]
