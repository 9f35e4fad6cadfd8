"""A small built-in example model, generated deterministically (no download, no training).

``example_model()`` is a LeNet-300-100-shaped MLP (784-300-100-10) at the per-layer weight
densities Deep Compression reports for LeNet-300-100 (8%, 9%, 26%; Han et al., ICLR 2016,
Table 2), with Gaussian weights shared through 4-bit k-means codebooks. Its weights are
random, not trained: it exists to exercise the format, the golden model and the CLI.
"""

from __future__ import annotations

import numpy as np

from .codebook import kmeans_codebook, quantize
from .model import Model, ModelLayer

__all__ = ["example_model", "random_sparse_weights"]


def random_sparse_weights(n_out: int, n_in: int, density: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian weights (He scale for the kept fan-in) with a uniform random mask of ``density``."""
    mask = rng.random((n_out, n_in)) < density
    w = rng.normal(0.0, np.sqrt(2.0 / max(1.0, density * n_in)), (n_out, n_in))
    return np.where(mask, w, 0.0)


def example_model(seed: int = 0, weight_bits: int = 4, index_bits: int = 4) -> Model:
    """The example MLP described in the module docstring, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    sizes = [784, 300, 100, 10]
    densities = [0.08, 0.09, 0.26]
    layers = []
    for i, dens in enumerate(densities):
        w = random_sparse_weights(sizes[i + 1], sizes[i], dens, rng)
        cb = kmeans_codebook(w, weight_bits)
        layers.append(
            ModelLayer(
                name=f"fc{i + 1}",
                codebook=cb,
                codes=quantize(w, cb),
                bias=rng.normal(0.0, 0.05, sizes[i + 1]),
                activation="relu" if i < len(densities) - 1 else "none",
                index_bits=index_bits,
                meta={"source": "random example, not trained", "density_target": dens},
            )
        )
    return Model(layers=tuple(layers), meta={"name": "example-lenet300-random", "seed": seed})
