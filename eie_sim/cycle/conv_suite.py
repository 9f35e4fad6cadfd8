"""The convolutional benchmark suite: AlexNet's and VGG-16's conv layers with Deep Compression's
per-layer weight densities, generated deterministically (the companion of :mod:`.suite`, EIE's
Table III of FC layers).

Shapes are the networks' own (AlexNet as in Caffe's reference model, 227 x 227 input; VGG-16
configuration D, 224 x 224). Weight densities are the pruned fractions Deep Compression reports
(Han, Mao and Dally, ICLR 2016, Table 4 for AlexNet and Table 5 for VGG-16, which repeat Han et
al., NIPS 2015, Tables 4 and 5). Activation densities -- the non-zero fraction of each layer's
input map -- are in :data:`ACT_SOURCES`: the first layer reads the image (dense); each other
layer reads the previous layer's output density after ReLU, the Act% column of Han et al.,
NIPS 2015, Tables 4 and 5 (the only per-layer figures for conv layers we found; its FLOP% column
equals Weights% times the previous layer's Act%, which is how we read it as output density).
For the FC layers the same column agrees with EIE's Table III (AlexNet fc6 34% vs 35.1%).

How a layer is generated
------------------------
As :func:`eie_sim.cycle.suite.get`: 4-bit codes 1..15 over a codebook of sorted N(0, 0.05)
draws, kept with probability ``min(1, s d r_i c_j)`` with gamma row (output channel) and column
(patch position) multipliers of coefficient of variation ``row_cv`` / ``col_cv`` and ``s``
solved so the expected density is Deep Compression's ``d``. The defaults,
:data:`DEFAULT_CONV_ROW_CV` = 0.13 and :data:`DEFAULT_CONV_COL_CV` = 0.25, are the medians of the
excess CVs (sampling noise removed, as in :mod:`.suite`) of the pruned k x k conv layers that are
public: SqueezeNet's eight 3 x 3 expand layers as Deep Compression released them (29.9-33.0 %
kept; rows 0.10-0.29, columns 0.18-0.31; ``real_layers.json``). Conv layers disperse more over
their patch positions than fc8 does over its inputs (0.08), so they have their own default. EIE stores 4-bit weight codes;
Deep Compression used 8-bit codes for conv layers, so these layers have its sparsity, not its
precision. The input map holds |N(0, 1)| values (post-ReLU) at the activation density, placed
independently (real maps cluster their zeros spatially; the patch's non-zero count, which is
what the array's work depends on, has the stated mean either way); the first layer's image is
N(0, 1), dense.

AlexNet's conv2, conv4 and conv5 have two groups (each output channel sees half the input
channels). The conv kind has one group, so a grouped layer is stored as one block-diagonal
matrix: the weights outside an output channel's group are zero and are not stored, and every
non-zero input is broadcast once to all PEs, as EIE broadcasts an FC layer's inputs; the density
``d`` applies within the groups, as Deep Compression's does.

``scale`` in (0, 1] shrinks channel counts (at least 1) and the input side (at least the kernel)
for quick runs and tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..contract.layer import ModelLayer
from ..errors import ConfigError, describe
from .suite import check_cv, keep_scale, multipliers

__all__ = ["CONV_LAYERS", "CONV_NAMES", "ACT_SOURCES", "NETWORKS", "ConvBenchmark", "get_conv",
           "DEFAULT_CONV_ROW_CV", "DEFAULT_CONV_COL_CV"]

#: Default CV (dimensionless) of the per-output-channel multipliers: median excess row CV of
#: SqueezeNet's released pruned 3 x 3 layers (module docstring).
DEFAULT_CONV_ROW_CV = 0.13
#: Default CV (dimensionless) of the per-patch-position multipliers: their median excess column CV.
DEFAULT_CONV_COL_CV = 0.25

# name: (C_in, C_out, input side, kernel, stride, padding, groups, pool (kernel, stride) or None,
#        weight density %, activation density %, description)
CONV_LAYERS = {
    "alex-conv1": (3, 96, 227, 11, 4, 0, 1, (3, 2), 84.0, 100.0, "AlexNet conv1"),
    "alex-conv2": (96, 256, 27, 5, 1, 2, 2, (3, 2), 38.0, 88.0, "AlexNet conv2"),
    "alex-conv3": (256, 384, 13, 3, 1, 1, 1, None, 35.0, 52.0, "AlexNet conv3"),
    "alex-conv4": (384, 384, 13, 3, 1, 1, 2, None, 37.0, 37.0, "AlexNet conv4"),
    "alex-conv5": (384, 256, 13, 3, 1, 1, 2, (3, 2), 37.0, 40.0, "AlexNet conv5"),
    "vgg-conv1_1": (3, 64, 224, 3, 1, 1, 1, None, 58.0, 100.0, "VGG-16 conv1_1"),
    "vgg-conv1_2": (64, 64, 224, 3, 1, 1, 1, (2, 2), 22.0, 53.0, "VGG-16 conv1_2"),
    "vgg-conv2_1": (64, 128, 112, 3, 1, 1, 1, None, 34.0, 89.0, "VGG-16 conv2_1"),
    "vgg-conv2_2": (128, 128, 112, 3, 1, 1, 1, (2, 2), 36.0, 80.0, "VGG-16 conv2_2"),
    "vgg-conv3_1": (128, 256, 56, 3, 1, 1, 1, None, 53.0, 81.0, "VGG-16 conv3_1"),
    "vgg-conv3_2": (256, 256, 56, 3, 1, 1, 1, None, 24.0, 68.0, "VGG-16 conv3_2"),
    "vgg-conv3_3": (256, 256, 56, 3, 1, 1, 1, (2, 2), 42.0, 70.0, "VGG-16 conv3_3"),
    "vgg-conv4_1": (256, 512, 28, 3, 1, 1, 1, None, 32.0, 64.0, "VGG-16 conv4_1"),
    "vgg-conv4_2": (512, 512, 28, 3, 1, 1, 1, None, 27.0, 51.0, "VGG-16 conv4_2"),
    "vgg-conv4_3": (512, 512, 28, 3, 1, 1, 1, (2, 2), 34.0, 45.0, "VGG-16 conv4_3"),
    "vgg-conv5_1": (512, 512, 14, 3, 1, 1, 1, None, 35.0, 34.0, "VGG-16 conv5_1"),
    "vgg-conv5_2": (512, 512, 14, 3, 1, 1, 1, None, 29.0, 32.0, "VGG-16 conv5_2"),
    "vgg-conv5_3": (512, 512, 14, 3, 1, 1, 1, (2, 2), 36.0, 29.0, "VGG-16 conv5_3"),
}
CONV_NAMES = tuple(CONV_LAYERS)

#: whole networks: their conv layers here, then their FC layers of EIE Table III (:mod:`.suite`)
NETWORKS = {
    "alexnet": (("alex-conv1", "alex-conv2", "alex-conv3", "alex-conv4", "alex-conv5"), ("alex6", "alex7", "alex8")),
    "vgg16": (tuple(n for n in CONV_NAMES if n.startswith("vgg-")), ("vgg6", "vgg7", "vgg8")),
}
_FIRST = {convs[0] for convs, _ in NETWORKS.values()}

#: where each layer's activation density comes from
ACT_SOURCES = {
    name: ("the input image: dense" if name in _FIRST else
           "the previous layer's Act% (non-zero outputs after ReLU), Han et al., NIPS 2015, "
           + ("Table 4 (AlexNet)" if name.startswith("alex") else "Table 5 (VGG-16)")
           + "; pooling between the layers, which raises the density a little, is not accounted for")
    for name in CONV_NAMES
}


@dataclass(frozen=True, eq=False)
class ConvBenchmark:
    """One generated conv layer: ``layer`` (a conv :class:`ModelLayer`, formats chosen at run
    time), ``activations`` (its input map, n_in values, channel-major), the figures it follows."""

    name: str
    description: str
    layer: ModelLayer
    activations: np.ndarray
    groups: int
    weight_density_pct: float
    act_density_pct: float
    seed: int
    scale: float
    row_cv: float
    col_cv: float


def _group_mask(c_out: int, c_in: int, k2: int, groups: int) -> np.ndarray | None:
    """True where output channel o may use patch column j (same group), or None for one group."""
    if groups == 1:
        return None
    og = np.arange(c_out) * groups // c_out
    ig = (np.arange(c_in * k2) // k2) * groups // c_in
    return og[:, None] == ig[None, :]


def get_conv(name: str, seed: int = 0, scale: float = 1.0, *, row_cv: float = DEFAULT_CONV_ROW_CV,
             col_cv: float = DEFAULT_CONV_COL_CV) -> ConvBenchmark:
    """Generate conv layer ``name`` (see :data:`CONV_NAMES`) from ``seed``; same arguments, same layer."""
    if name not in CONV_LAYERS:
        raise ConfigError(f"benchmark={describe(name)}: expected one of {', '.join(CONV_NAMES)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed={describe(seed)}: expected an integer >= 0")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 1:
        raise ConfigError(f"scale={describe(scale)}: expected a number in (0, 1]")
    row_cv, col_cv = check_cv("row_cv", row_cv), check_cv("col_cv", col_cv)
    c_in, c_out, side, k, stride, pad, groups, pool, wd, ad, desc = CONV_LAYERS[name]
    if scale < 1:
        c_in = c_in if c_in <= 3 else max(groups, round(c_in * scale) // groups * groups)
        c_out = max(groups, round(c_out * scale) // groups * groups)
        side = max(k, round(side * scale))
    index = 100 + CONV_NAMES.index(name)  # streams apart from the Table III layers'
    rng = np.random.default_rng([int(seed), index])
    codebook = np.zeros(16)
    codebook[1:] = np.sort(rng.normal(0.0, 0.05, 15))
    n_cols = c_in * k * k
    r = multipliers(int(seed), index, 1, c_out, row_cv)
    c = multipliers(int(seed), index, 2, n_cols, col_cv)
    allowed = _group_mask(c_out, c_in, k * k, groups)
    a = (wd / 100.0) * r
    a *= keep_scale(a, c, wd / 100.0)
    keep = rng.random((c_out, n_cols)) < np.minimum(1.0, a[:, None] * c[None, :])
    if allowed is not None:
        keep &= allowed
    codes = np.zeros((c_out, n_cols), dtype=np.uint8)
    codes[keep] = rng.integers(1, 16, size=int(keep.sum()), dtype=np.uint8)
    params = dict(in_hw=(side, side), kernel=(k, k), stride=(stride, stride), padding=(pad,) * 4)
    if pool is not None:
        params.update(pool="max", pool_kernel=(pool[0],) * 2, pool_stride=(pool[1],) * 2)
    layer = ModelLayer(name=name, codebook=codebook, codes=codes, activation="relu", kind="conv", params=params)
    n_in = c_in * side * side
    if name in _FIRST:  # a network's first layer reads the image
        acts = rng.normal(size=n_in)
    else:
        acts = np.abs(rng.normal(size=n_in)) * (rng.random(n_in) < ad / 100.0)
    return ConvBenchmark(name, desc, layer, acts, groups, wd, ad, int(seed), float(scale), row_cv, col_cv)
