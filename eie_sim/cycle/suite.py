"""The EIE benchmark suite (EIE paper, Table III), generated deterministically.

Each layer has the paper's shape, weight density and activation density. The codes are uniform
random 4-bit codes 1..15 over a codebook whose entry 0 is 0.0 and whose 15 other entries are
sorted draws from N(0, 0.05). Activations are non-negative (post-ReLU): |N(0, 1)| on a random
pattern at the activation density. The paper's real weights are not public; these layers
reproduce its shapes and sparsities, not its values.

Sparsity pattern: dispersed by default
--------------------------------------
Pruned networks are not uniformly sparse: some output neurons (rows) keep many more weights than
others, and so do some inputs (columns). EIE interleaves rows over the PEs, so this dispersion is
what unbalances the PEs' work -- the paper's main source of lost cycles -- and a uniform pattern
balances better than a real network does. ``get`` therefore draws one multiplier per row,
``r_i``, and one per column, ``c_j``, each from a gamma distribution of mean 1 and coefficient of
variation ``row_cv`` / ``col_cv`` (shape ``1/cv**2``, scale ``cv**2``), and keeps cell ``(i, j)``
with probability ``p_ij = min(1, s * d * r_i * c_j)``, where ``d`` is Table III's weight density
and ``s`` (about 1) is solved for so that the expected density of the layer, clipping at 1
included, equals ``d`` exactly. The multipliers are quantiles of the gamma distribution at
uniform draws that depend on the seed only, so raising ``row_cv`` for a fixed seed spreads the
same rows further apart. The activations depend on ``(name, seed, scale)`` only, not on the
dispersion.

``row_cv = col_cv = 0`` is the uniform generator: every cell kept with probability ``d``
independently, bit for bit the generator of earlier versions (same codes, codebook and
activations for the same seed). Use it to reproduce earlier results or to isolate the effect of
dispersion.

Defaults: measured on a real pruned layer
-----------------------------------------
:data:`DEFAULT_ROW_CV` = 0.13 and :data:`DEFAULT_COL_CV` = 0.08 are the dispersion of the one
pruned layer of the paper's networks that is public: AlexNet fc8 as the EIE authors released it
with their C++ simulator (RalphMao/EIE-simulator, ``data/``; Deep Compression pruning, 1000 x
4096, 25.7 % of weights kept). Its per-row and per-column counts of kept weights have CVs 0.133
and 0.098; less the sampling noise a uniform pattern of that shape and density shows
(``sqrt((1 - d) / (d n))``: 0.027 and 0.054), the excess is 0.130 and 0.082, which is what
``row_cv`` / ``col_cv`` model. ``eie_sim/cycle/real_layers.json`` holds these and the
statistics of SqueezeNet's 26 released pruned layers (songhan/SqueezeNet-Deep-Compression), with
the files' provenance; ``benchmarks/real_dispersion.py`` regenerates it from fetched copies.
Generated ``alex8`` with these defaults has the real fc8's row / column CVs (0.130 / 0.106), its
per-PE imbalance on 64 PEs (1.13 vs 1.10) and its FIFO effect (depth 1 costs 1.27x the cycles
of depth 8; the real layer 1.29x, in eie-sim and in the authors' simulator); with the released
activation vector it runs in 7,824 cycles against the real layer's 7,881
(``benchmarks/bench_suite_fidelity.py``).

The same excess is used for every Table III layer (fc, and the NeuralTalk embedding and LSTM
layers, for which no pruned weights are public). The model: a per-layer magnitude threshold keeps
more of the rows and columns whose weights are larger, by factors whose spread (the excess CV) is
a property of the trained layer, and the measured CV then falls with width as the sampling noise
does. It is a simplification: SqueezeNet's pruned 3 x 3 layers (``real_layers.json``) have
excess row CVs that also fall with width, from 0.17-0.29 at 144 inputs per row to 0.12 at 576,
and their excess column CVs are higher (0.18-0.31, median 0.25), which is why the conv suite
has its own default (:mod:`.conv_suite`). fc8, 4096 inputs wide, is the nearest real layer in
kind and width to the Table III layers (600 to 25,088 wide); for the widest, the default may
overstate the dispersion, whose effect at these CVs is small (at most 6 % more cycles than the
uniform pattern on 64 PEs). The previous default, 0.6 / 0.6 (:data:`PREVIOUS_ROW_CV`), came
from our own small MLPs trained on Fashion-MNIST, whose dispersion is mostly dead neurons and
image-border inputs (``models/README.md``); it put three to five times the real imbalance into
the suite. ``row_cv=0.6, col_cv=0.6`` reproduces those layers bit for bit; sweep ``row_cv`` /
``col_cv`` (0 to :data:`MAX_CV`) when a conclusion depends on the dispersion.

``scale`` shrinks both dimensions (at least 1 each) for quick runs and RTL co-simulation.
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, describe

__all__ = ["NAMES", "TABLE_III", "Benchmark", "get", "multipliers", "keep_scale", "check_cv", "DEFAULT_ROW_CV", "DEFAULT_COL_CV", "PREVIOUS_ROW_CV",
           "PREVIOUS_COL_CV", "MAX_CV"]

# name: (inputs, outputs, weight density %, activation density %, description)
TABLE_III = {
    "alex6": (9216, 4096, 9.0, 35.1, "AlexNet fc6"),
    "alex7": (4096, 4096, 9.0, 35.3, "AlexNet fc7"),
    "alex8": (4096, 1000, 25.0, 37.5, "AlexNet fc8"),
    "vgg6": (25088, 4096, 4.0, 18.3, "VGG-16 fc6"),
    "vgg7": (4096, 4096, 4.0, 37.5, "VGG-16 fc7"),
    "vgg8": (4096, 1000, 23.0, 41.1, "VGG-16 fc8"),
    "ntwe": (4096, 600, 10.0, 100.0, "NeuralTalk We"),
    "ntwd": (600, 8791, 11.0, 100.0, "NeuralTalk Wd"),
    "ntlstm": (1201, 2400, 10.0, 100.0, "NeuralTalk LSTM"),
}
NAMES = tuple(TABLE_III)

#: Default coefficient of variation (std / mean, dimensionless) of the per-row (per output neuron)
#: keep-probability multipliers; 0 is a uniform pattern: the excess row CV of the released AlexNet
#: fc8 (module docstring, ``real_layers.json``).
DEFAULT_ROW_CV = 0.13
#: Default coefficient of variation (dimensionless) of the per-column (per input) multipliers: the
#: excess column CV of the released AlexNet fc8.
DEFAULT_COL_CV = 0.08
#: The earlier defaults (from our own small pruned MLPs), kept to reproduce results made with them.
PREVIOUS_ROW_CV = PREVIOUS_COL_CV = 0.6
#: Largest accepted ``row_cv`` / ``col_cv``: at CV 4 the gamma shape is 1/16 and most rows or columns are empty.
MAX_CV = 4.0


@dataclass(frozen=True, eq=False)
class Benchmark:
    """One generated Table III layer: ``codes`` (outputs x inputs, uint8), ``codebook`` (16 floats),
    ``activations`` (inputs,), plus the paper's figures and the generator parameters it came from
    (``row_cv`` / ``col_cv``: coefficients of variation of the row / column density multipliers,
    0 for the uniform pattern)."""

    name: str
    description: str
    n_in: int
    n_out: int
    weight_density_pct: float
    act_density_pct: float
    seed: int
    scale: float
    codes: np.ndarray
    codebook: np.ndarray
    activations: np.ndarray
    row_cv: float = 0.0
    col_cv: float = 0.0


def check_cv(arg: str, value) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
          and math.isfinite(value) and 0 <= value <= MAX_CV)
    if not ok:
        raise ConfigError(f"{arg}={describe(value)}: expected a coefficient of variation, a number in [0, {MAX_CV:g}]")
    return float(value)


def multipliers(seed: int, index: int, stream: int, n: int, cv: float) -> np.ndarray:
    """n gamma variates of mean 1 and coefficient of variation ``cv``: quantiles at seeded uniforms,
    so for one seed a larger ``cv`` spreads the same ranks further (all ones when ``cv`` is 0)."""
    if cv == 0:
        return np.ones(n)
    u = np.random.default_rng([seed, index, stream]).random(n)
    k = 1.0 / (cv * cv)
    return gammaincinv_ufunc()(k, u) / k


@functools.cache
def gammaincinv_ufunc() -> np.ufunc:
    """``scipy.special.gammaincinv``, the ufunc itself (the gamma quantile of :func:`multipliers`).

    Importing ``scipy.special`` costs about 0.15 s (its array-API layer imports much of NumPy's
    optional modules), as much as importing Numba, for one function. So unless ``scipy.special``
    is already imported, the ufunc comes straight from the extension module that defines it,
    ``scipy.special._special_ufuncs`` (about 3 ms): the same compiled function, so the same
    values to the bit (``tests/cycle/test_suite.py`` compares them). If this SciPy keeps
    ``gammaincinv`` elsewhere, or that load fails, ``scipy.special`` is imported as usual."""
    if "scipy.special" not in sys.modules:
        try:
            f = _special_ufunc("gammaincinv")
        except Exception:  # another SciPy layout: the public import below
            f = None
        if f is not None:
            return f
    from scipy.special import gammaincinv as f

    return f


def _special_ufunc(name: str):
    """Ufunc ``name`` of ``scipy.special._special_ufuncs``, loaded without running
    ``scipy/special/__init__.py`` and left out of ``sys.modules`` (a later ``import scipy.special``
    loads the module as it always does); None if that module or the ufunc is not there."""
    import importlib.machinery
    import importlib.util

    import scipy  # the package's own set-up (on Windows it makes its bundled DLLs findable); Numba imports it anyway

    modname = "scipy.special._special_ufuncs"
    folder = Path(scipy.__file__).parent / "special"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_special_ufuncs{suffix}"
        if path.is_file():
            break
    else:
        return None
    loader = importlib.machinery.ExtensionFileLoader(modname, str(path))
    spec = importlib.util.spec_from_file_location(modname, path, loader=loader)
    try:
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
    finally:
        sys.modules.pop(modname, None)  # a single-phase extension module registers itself: undo it
    f = getattr(module, name, None)
    return f if isinstance(f, np.ufunc) else None


def _expected_density(s: float, a: np.ndarray, c_sorted: np.ndarray, c_cum: np.ndarray) -> float:
    """mean over (i, j) of min(1, s * a_i * c_j), c sorted ascending, c_cum = [0, cumsum(c)]."""
    with np.errstate(divide="ignore"):
        k = np.searchsorted(c_sorted, 1.0 / (s * a), side="left")  # columns below the clip
    total = s * np.dot(a, c_cum[k]) + np.sum(c_sorted.size - k)
    return float(total) / (a.size * c_sorted.size)


def keep_scale(a: np.ndarray, c: np.ndarray, target: float) -> float:
    """s with mean_ij min(1, s * a_i * c_j) = target (bisection; the mean is increasing in s)."""
    c_sorted = np.sort(c)
    c_cum = np.concatenate(([0.0], np.cumsum(c_sorted)))
    lo = target / max(float(a.mean() * c.mean()), 1e-300)  # no clipping: the mean is exactly target at lo
    if _expected_density(lo, a, c_sorted, c_cum) >= target:
        return lo
    hi = 2 * lo
    while _expected_density(hi, a, c_sorted, c_cum) < target:
        lo, hi = hi, 2 * hi
        if hi > 1e300:  # too few non-zero multipliers to reach the density: keep every possible cell
            return hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if _expected_density(mid, a, c_sorted, c_cum) < target else (lo, mid)
    return hi


def get(name: str, seed: int = 0, scale: float = 1.0, *, row_cv: float = DEFAULT_ROW_CV,
        col_cv: float = DEFAULT_COL_CV) -> Benchmark:
    """Generate Table III layer ``name`` (see :data:`NAMES`) from ``seed``; same arguments, same layer.

    ``scale`` in (0, 1] shrinks both dimensions. ``row_cv`` / ``col_cv``: coefficient of variation
    (std / mean, dimensionless, 0 to :data:`MAX_CV`) of the per-row (output) and per-column (input)
    density multipliers; the expected overall density stays Table III's. ``row_cv=0, col_cv=0`` is
    the uniform generator of earlier versions, bit for bit. See the module docstring for the model
    and the measurements behind the defaults.
    """
    if name not in TABLE_III:
        raise ConfigError(f"benchmark={describe(name)}: expected one of {', '.join(NAMES)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed={describe(seed)}: expected an integer >= 0")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 1:
        raise ConfigError(f"scale={describe(scale)}: expected a number in (0, 1]")
    row_cv, col_cv = check_cv("row_cv", row_cv), check_cv("col_cv", col_cv)
    n_in, n_out, wd, ad, desc = TABLE_III[name]
    n_in_s, n_out_s = max(1, round(n_in * scale)), max(1, round(n_out * scale))
    index = NAMES.index(name)
    rng = np.random.default_rng([int(seed), index])
    codebook = np.zeros(16)
    codebook[1:] = np.sort(rng.normal(0.0, 0.05, 15))
    codes = np.zeros((n_out_s, n_in_s), dtype=np.uint8)
    chunk = max(1, (1 << 24) // n_in_s)
    if row_cv == 0 and col_cv == 0:  # the uniform generator
        for r0 in range(0, n_out_s, chunk):
            mask = rng.random((min(chunk, n_out_s - r0), n_in_s), dtype=np.float32) < wd / 100.0
            block = codes[r0 : r0 + mask.shape[0]]
            block[mask] = rng.integers(1, 16, size=int(mask.sum()), dtype=np.uint8)
    else:
        r = multipliers(int(seed), index, 1, n_out_s, row_cv)
        c = multipliers(int(seed), index, 2, n_in_s, col_cv)
        a = (wd / 100.0) * r
        a *= keep_scale(a, c, wd / 100.0)
        a32, c32 = a.astype(np.float32), c.astype(np.float32)
        code_rng = np.random.default_rng([int(seed), index, 3])
        for r0 in range(0, n_out_s, chunk):
            u = rng.random((min(chunk, n_out_s - r0), n_in_s), dtype=np.float32)
            # the uniform generator's code draw, so that the activations below come out the same
            rng.integers(1, 16, size=int(np.count_nonzero(u < wd / 100.0)), dtype=np.uint8)
            # u_ij < p_ij = a_i c_j (p_ij >= 1: always kept), as u_ij / c_j < a_i in place: no second chunk
            if col_cv:
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # tiny c_j: inf, never kept
                    np.divide(u, c32, out=u)
            mask = u < a32[r0 : r0 + u.shape[0], None]
            block = codes[r0 : r0 + u.shape[0]]
            block[mask] = code_rng.integers(1, 16, size=int(np.count_nonzero(mask)), dtype=np.uint8)
    acts = np.abs(rng.normal(size=n_in_s)) * (rng.random(n_in_s) < ad / 100.0)
    return Benchmark(name, desc, n_in_s, n_out_s, wd, ad, int(seed), float(scale), codes, codebook, acts,
                     row_cv, col_cv)
