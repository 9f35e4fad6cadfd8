"""The EIE benchmark suite (EIE paper, Table III), generated deterministically.

Each layer has the paper's shape, weight density and activation density. Weights are a uniform
random sparsity pattern at that density with uniform random 4-bit codes 1..15 over a codebook
whose entry 0 is 0.0 and whose 15 other entries are sorted draws from N(0, 0.05). Activations
are non-negative (post-ReLU): |N(0, 1)| on a random pattern at the activation density. The
paper's real weights are not public; these layers reproduce its shapes and sparsities, not its
values, so load balance and padding match the paper's statistics only on average.

``scale`` shrinks both dimensions (at least 1 each) for quick runs and RTL co-simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, describe

__all__ = ["NAMES", "TABLE_III", "Benchmark", "get"]

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


@dataclass(frozen=True, eq=False)
class Benchmark:
    """One generated Table III layer: ``codes`` (outputs x inputs, uint8), ``codebook`` (16 floats),
    ``activations`` (inputs,), plus the paper's figures it was generated from."""

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


def get(name: str, seed: int = 0, scale: float = 1.0) -> Benchmark:
    """Generate Table III layer ``name`` (see :data:`NAMES`) from ``seed``; same seed, same layer."""
    if name not in TABLE_III:
        raise ConfigError(f"benchmark={describe(name)}: expected one of {', '.join(NAMES)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed={describe(seed)}: expected an integer >= 0")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 1:
        raise ConfigError(f"scale={describe(scale)}: expected a number in (0, 1]")
    n_in, n_out, wd, ad, desc = TABLE_III[name]
    n_in_s, n_out_s = max(1, round(n_in * scale)), max(1, round(n_out * scale))
    rng = np.random.default_rng([int(seed), NAMES.index(name)])
    codebook = np.zeros(16)
    codebook[1:] = np.sort(rng.normal(0.0, 0.05, 15))
    codes = np.zeros((n_out_s, n_in_s), dtype=np.uint8)
    chunk = max(1, (1 << 24) // n_in_s)
    for r0 in range(0, n_out_s, chunk):
        mask = rng.random((min(chunk, n_out_s - r0), n_in_s), dtype=np.float32) < wd / 100.0
        block = codes[r0 : r0 + mask.shape[0]]
        block[mask] = rng.integers(1, 16, size=int(mask.sum()), dtype=np.uint8)
    acts = np.abs(rng.normal(size=n_in_s)) * (rng.random(n_in_s) < ad / 100.0)
    return Benchmark(name, desc, n_in_s, n_out_s, wd, ad, int(seed), float(scale), codes, codebook, acts)
