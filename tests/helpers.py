"""Slow, obviously correct references shared by the tests."""

import numpy as np


def random_codes(rng, rows, cols, density, weight_bits):
    mask = rng.random((rows, cols)) < density
    vals = rng.integers(1, 1 << weight_bits, size=(rows, cols))
    return np.where(mask, vals, 0).astype(np.uint8)


def random_codebook(rng, weight_bits, scale=1.0):
    cb = rng.normal(0.0, scale, 1 << weight_bits)
    cb[0] = 0.0
    return cb


def slow_encode(codes, n_pe, index_bits):
    """The EIE format written out loop by loop, as the paper describes it."""
    S = 1 << index_bits
    rows, cols = codes.shape
    out = []
    for k in range(n_pe):
        local = list(range(k, rows, n_pe))
        v, z, ptr = [], [], [0]
        for j in range(cols):
            zeros = 0
            for i in local:
                c = int(codes[i, j])
                if c == 0:
                    zeros += 1
                    continue
                while zeros > S - 1:
                    v.append(0)
                    z.append(S - 1)
                    zeros -= S
                v.append(c)
                z.append(zeros)
                zeros = 0
            ptr.append(len(v))
        out.append((ptr, v, z))
    return out
