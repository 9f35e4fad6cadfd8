"""Codebooks (shared weights) and the float -> code mapping (Deep Compression, section 3).

A codebook has ``2**weight_bits`` float entries. Entry 0 is exactly 0.0 and means "no
weight"; it is never moved or reused. Non-zero weights are mapped to entries 1.., so the
sparsity pattern survives quantisation exactly.
"""

from __future__ import annotations

import numpy as np

from ..config import check_int
from ..errors import ConfigError, EncodingError, describe

__all__ = ["check_codebook", "check_weights", "quantize", "linear_codebook", "kmeans_codebook", "make_codebook", "recluster"]


def check_weights(weights, name: str = "weights") -> np.ndarray:
    """A finite 2-D float64 matrix (outputs x inputs), or EncodingError."""
    w = np.asarray(weights)
    if w.ndim != 2:
        raise EncodingError(f"{name}: expected a 2-D matrix (outputs x inputs), got shape {w.shape}")
    if 0 in w.shape:
        raise EncodingError(f"{name}: shape {w.shape}; expected at least one output and one input")
    if not (np.issubdtype(w.dtype, np.floating) or np.issubdtype(w.dtype, np.integer)):
        raise EncodingError(f"{name}: expected a numeric array, got dtype {w.dtype}")
    w = w.astype(np.float64, copy=False)
    bad = ~np.isfinite(w)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise EncodingError(f"{name}[{i}, {j}]={w[i, j]}: expected finite values (no NaN or inf)")
    return w


def check_codebook(codebook, weight_bits: int | None = None, name: str = "codebook") -> np.ndarray:
    """A finite float64 vector of 2**weight_bits entries with entry 0 == 0.0, or EncodingError.

    With ``weight_bits=None`` the width is inferred from the length, which must be a power of
    two between 2 and 256.
    """
    cb = np.asarray(codebook)
    if cb.ndim != 1:
        raise EncodingError(f"{name}: expected a 1-D vector, got shape {cb.shape}")
    if not (np.issubdtype(cb.dtype, np.floating) or np.issubdtype(cb.dtype, np.integer)):
        raise EncodingError(f"{name}: expected numeric values, got dtype {cb.dtype}")
    cb = cb.astype(np.float64)
    n = cb.size
    if weight_bits is None:
        if n < 2 or n > 256 or n & (n - 1):
            raise EncodingError(f"{name}: length {n}; expected 2**weight_bits entries with weight_bits in 1..8")
    else:
        weight_bits = check_int("weight_bits", weight_bits, 1, 8)
        if n != 1 << weight_bits:
            raise EncodingError(f"{name}: length {n}; expected 2**weight_bits = {1 << weight_bits} entries")
    bad = ~np.isfinite(cb)
    if bad.any():
        k = int(np.argmax(bad))
        raise EncodingError(f"{name}[{k}]={cb[k]}: expected finite values (no NaN or inf)")
    if cb[0] != 0.0:
        raise EncodingError(f"{name}[0]={float(cb[0])!r}: expected exactly 0.0 (code 0 means 'no weight')")
    return cb


def quantize(weights, codebook) -> np.ndarray:
    """Codes (uint8, same shape as ``weights``) of the nearest codebook entries.

    Exact zeros get code 0. Every non-zero weight gets the nearest of entries 1.. (ties go to
    the lower code), so no weight is pruned by quantisation and no zero gains a weight.
    """
    w = check_weights(weights)
    cb = check_codebook(codebook)
    codes = np.zeros(w.shape, dtype=np.uint8)
    mask = w != 0.0
    vals = w[mask]
    best_d = np.full(vals.shape, np.inf)
    best_k = np.zeros(vals.shape, dtype=np.uint8)
    for k in range(1, cb.size):  # strict '<' keeps the lowest code on ties
        d = np.abs(vals - cb[k])
        better = d < best_d
        best_d[better] = d[better]
        best_k[better] = k
    codes[mask] = best_k
    return codes


def linear_codebook(weights, weight_bits: int) -> np.ndarray:
    """Codebook with 2**weight_bits - 1 centroids spaced linearly over [min, max] of the
    non-zero weights (Deep Compression's linear initialisation), plus entry 0 = 0.0."""
    weight_bits = check_int("weight_bits", weight_bits, 1, 8)
    w = check_weights(weights)
    vals = w[w != 0.0]
    k = (1 << weight_bits) - 1
    cb = np.zeros(k + 1)
    if vals.size:
        cb[1:] = np.linspace(vals.min(), vals.max(), k)
    return cb


def kmeans_codebook(weights, weight_bits: int, *, init: str = "linear", iters: int = 100, seed: int = 0) -> np.ndarray:
    """Codebook from 1-D k-means (Lloyd) over the non-zero weights, 2**weight_bits - 1 centroids.

    ``init``: "linear" (default; the best of Deep Compression's three), "density" (quantiles of
    the weight CDF) or "random" (weights drawn with ``seed``). Entry 0 stays 0.0.
    """
    weight_bits = check_int("weight_bits", weight_bits, 1, 8)
    iters = check_int("iters", iters, 0, 100000)
    w = check_weights(weights)
    vals = np.sort(w[w != 0.0])
    k = (1 << weight_bits) - 1
    cb = np.zeros(k + 1)
    if vals.size == 0:
        return cb
    if init == "linear":
        c = np.linspace(vals[0], vals[-1], k)
    elif init == "density":
        c = np.quantile(vals, (np.arange(k) + 0.5) / k)
    elif init == "random":
        rng = np.random.default_rng(seed)
        c = np.sort(rng.choice(vals, size=k, replace=vals.size < k))
    else:
        raise ConfigError(f"init={describe(init)}: expected 'linear', 'density' or 'random'")
    csum = np.concatenate([[0.0], np.cumsum(vals)])
    for _ in range(iters):
        c = np.sort(c)
        edges = (c[1:] + c[:-1]) / 2.0
        idx = np.searchsorted(vals, edges, side="right")
        bounds = np.concatenate([[0], idx, [vals.size]])
        counts = np.diff(bounds)
        sums = csum[bounds[1:]] - csum[bounds[:-1]]
        new = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        if np.array_equal(new, c):
            break
        c = new
    cb[1:] = np.sort(c)
    return cb


def make_codebook(weights, weight_bits: int, method: str = "kmeans", seed: int = 0) -> np.ndarray:
    """Codebook by ``method``: "kmeans" (linear-initialised k-means) or "linear"."""
    if method == "kmeans":
        return kmeans_codebook(weights, weight_bits, seed=seed)
    if method == "linear":
        return linear_codebook(weights, weight_bits)
    raise ConfigError(f"codebook method={describe(method)}: expected 'kmeans' or 'linear'")


def recluster(codes, codebook, weight_bits: int, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Re-share an already shared layer at another width (Deep Compression Sec. 3, k-means).

    Weighted 1-D k-means, linear initialisation, over the distinct non-zero values in use
    (``codebook[c]`` for every code c > 0 that occurs, weighted by how often it occurs), so it
    costs O(codes) however large the layer. Returns ``(codes, codebook)`` with
    ``2**weight_bits`` entries: code 0 stays 0 and every non-zero code stays non-zero (no weight
    pruned or added). With at least as many centroids as values in use the values are kept
    exactly (the extra entries repeat the largest value).
    """
    cb = check_codebook(codebook)
    weight_bits = check_int("weight_bits", weight_bits, 1, 8)
    codes = np.asarray(codes)
    if codes.size and (not np.issubdtype(codes.dtype, np.integer) or codes.min() < 0 or codes.max() >= cb.size):
        raise EncodingError(f"codes: expected integers in 0..{cb.size - 1} (codebook of {cb.size} entries)")
    k = (1 << weight_bits) - 1
    new = np.zeros(k + 1)
    counts = np.bincount(codes.ravel().astype(np.intp), minlength=cb.size)
    used = np.flatnonzero(counts[1:]) + 1
    lut = np.zeros(cb.size, dtype=np.uint8)
    if used.size == 0:
        return lut[codes], new
    order = np.argsort(cb[used], kind="stable")
    used = used[order]
    vals, w = cb[used], counts[used].astype(np.float64)
    if used.size <= k:
        new[1 : 1 + used.size] = vals
        new[1 + used.size :] = vals[-1]
        lut[used] = 1 + np.arange(used.size)
        return lut[codes], new
    c = np.linspace(vals[0], vals[-1], k)
    for _ in range(iters):
        edges = (c[1:] + c[:-1]) / 2.0
        idx = np.searchsorted(edges, vals, side="left")
        sw = np.bincount(idx, weights=w, minlength=k)
        sv = np.bincount(idx, weights=w * vals, minlength=k)
        nc = np.where(sw > 0, sv / np.maximum(sw, 1e-300), c)
        nc.sort()
        if np.array_equal(nc, c):
            break
        c = nc
    edges = (c[1:] + c[:-1]) / 2.0
    lut[used] = 1 + np.searchsorted(edges, vals, side="left")
    new[1:] = c
    return lut[codes], new
