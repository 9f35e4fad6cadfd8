"""Conv cycle-model speed (issue 27): the conv step (eie_sim.cycle.conv) on LeNet-5's conv1 and
conv2 and on an AlexNet-like conv3 (256 -> 384, 3x3, pad 1, 13x13; 35% weights, 40% non-zero
activations; 64 PEs), each against a scipy im2col + CSR product of the same layer timed in the
same run (the baseline computes the layer's values only, no timing); then a whole LeNet-5 image
(conv1, conv2, fc 800-500 relu, fc 500-10) through ``simulate`` at 8, 16 and 64 PEs.
Synthetic seeded weights (conv 60% / 35%, fc 8% / 19% non-zero, Deep Compression's LeNet-5
densities); times are the median of repeated runs after a JIT warm-up.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_conv.py
"""

import time

import numpy as np
import scipy.sparse as sp

from eie_sim import ArchConfig
from eie_sim.contract.conv import geometry, patches_of
from eie_sim.contract.layer import Model, ModelLayer
from eie_sim.cycle.conv import simulate_conv
from eie_sim.cycle.simulator import simulate

RNG = np.random.default_rng(0)
CB = np.concatenate([[0.0], np.linspace(-0.5, 0.5, 15)])


def codes(rows, cols, density):
    c = RNG.integers(1, 16, (rows, cols))
    c[RNG.random(c.shape) > density] = 0
    return c.astype(np.uint8)


def conv(name, c_in, c_out, hw, k, density, pad=0, pool="none"):
    params = dict(in_hw=hw, kernel=(k, k), stride=1, padding=pad, pool=pool)
    if pool != "none":
        params.update(pool_kernel=2, pool_stride=2)
    return ModelLayer(name=name, codebook=CB, codes=codes(c_out, c_in * k * k, density),
                      bias=RNG.normal(0, 0.05, c_out), activation="relu", kind="conv", params=params)


def fc(name, n_in, n_out, density, activation):
    return ModelLayer(name=name, codebook=CB, codes=codes(n_out, n_in, density), bias=RNG.normal(0, 0.05, n_out),
                      activation=activation)


def median_ms(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return 1e3 * float(np.median(ts))


def scipy_layer(layer):
    """im2col + CSR product + ReLU on float inputs: the same layer's values, no timing."""
    w = sp.csr_matrix(layer.codebook[layer.codes.astype(np.int64)])
    bias = layer.bias[:, None]
    return lambda x: np.maximum(w @ patches_of(layer, x).T + bias, 0.0)


def input_map(layer, density):
    x = np.abs(RNG.normal(0, 1, geometry(layer).n_in))
    x[RNG.random(x.size) > density] = 0
    return x


conv1 = conv("conv1", 1, 20, (28, 28), 5, 0.60, pool="max")
conv2 = conv("conv2", 20, 50, (12, 12), 5, 0.35, pool="max")
conv3 = conv("alexnet_conv3", 256, 384, (13, 13), 3, 0.35, pad=1)
lenet5 = Model(layers=(conv1, conv2, fc("fc1", 800, 500, 0.08, "relu"), fc("fc2", 500, 10, 0.19, "none")),
               meta={"name": "lenet5"})

for layer, n_pe, act_density in ((conv1, 16, 0.8), (conv2, 16, 0.5), (conv3, 64, 0.40)):
    config = ArchConfig(n_pe=n_pe)
    x = input_map(layer, act_density)
    g = geometry(layer)
    reps = 5 if g.positions * g.patch > 100_000 else 30
    ours = median_ms(lambda: simulate_conv(layer, x, config), reps)
    f = scipy_layer(layer)
    base = median_ms(lambda: f(x), reps)
    r = simulate_conv(layer, x, config)
    print(f"{layer.name:14s} {g.c_out}x{g.patch} x {g.positions} positions, n_pe={n_pe}: conv step {ours:8.2f} ms, "
          f"scipy im2col+CSR {base:7.2f} ms, ratio {ours / base:6.1f}x  ({r.cycles} cycles, "
          f"{r.counters['macs_real']} MACs)")



def scipy_lenet5():
    """The float LeNet-5 forward pass with scipy: im2col + CSR per conv, 2x2 max pool, CSR fc."""
    f1, f2 = scipy_layer(conv1), scipy_layer(conv2)
    w3, w4 = (sp.csr_matrix(CB[m.layers[i].codes.astype(np.int64)]) for m, i in ((lenet5, 2), (lenet5, 3)))
    b3, b4 = lenet5.layers[2].bias, lenet5.layers[3].bias

    def run(x):
        y = f1(x).reshape(20, 12, 2, 12, 2).max(axis=(2, 4)).reshape(-1)
        y = f2(y).reshape(50, 4, 2, 4, 2).max(axis=(2, 4)).reshape(-1)
        return w4 @ np.maximum(w3 @ y + b3, 0.0) + b4
    return run


x = input_map(conv1, 0.8)
base_run = scipy_lenet5()
for n_pe in (8, 16, 64):
    config = ArchConfig(n_pe=n_pe)
    ms = median_ms(lambda: simulate(lenet5, x, config), 20)
    base = median_ms(lambda: base_run(x), 20)
    r = simulate(lenet5, x, config)
    print(f"LeNet-5 image, n_pe={n_pe:2d}: simulate {ms:6.2f} ms per image ({r.cycles} cycles); "
          f"scipy float forward {base:5.2f} ms, ratio {ms / base:5.1f}x")
