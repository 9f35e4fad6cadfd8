"""Export of a trained, weight-shared convolutional network (:class:`~.nn.Conv2D`, the
:class:`~.nn.MaxPool2D` after it, :class:`~.nn.Flatten`, :class:`~.nn.Dense`, :class:`~.nn.ReLU`)
to an eie-sim :class:`Model` of conv and fc layers (:mod:`eie_sim.contract.kinds.conv`).

Each Conv2D becomes one conv layer (valid convolution, stride 1: the trainer's, :class:`~.nn.Conv2D`;
kernel, stride and padding of a :class:`~.nn_conv.GeneralConv2D`) with the max pooling that follows
it fused (pool 2 x 2, stride 2: in the activation unit; a :class:`~.nn_conv.Pool2D`'s max or avg
pooling with its kernel, stride and padding) and
``relu`` when a ReLU follows it or its pooling (max and ReLU commute). Its codes are the trainer's
W (C_out, C_in, k, k) as the EIE matrix W.reshape(C_out, -1), the conv kind's column order.
Flatten is the identity: the trainer's (B, C, H, W) arrays flatten channel-major, as the conv
kind lays out its outputs. Formats are calibrated as :func:`~.compress.export_model` does for
fc networks: the input format from the calibration inputs' range, each layer's output format
from ``headroom`` x the largest output seen, each layer's input format the previous output's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..contract.fixedpoint import choose_frac
from ..contract.layer import Model, ModelLayer
from ..errors import ConfigError
from ..contract.conv import geometry_of
from .nn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, Network, ReLU
from .nn_conv import Pool2D

__all__ = ["export_cnn"]


def _followers(net: Network, i: int) -> list:
    """The parameter-free layers after layer ``i``, up to the next layer with weights."""
    out = []
    for layer in net.layers[i + 1:]:
        if "W" in layer.params:
            break
        out.append(layer)
    return out


def _kind_fields(layer, follow: list, shape: tuple) -> tuple[str, dict, tuple]:
    """(kind, params, output shape) of a weighted layer given what follows it and its input shape."""
    if isinstance(layer, Dense):
        return "fc", {}, (layer.params["W"].value.shape[0],)
    c_out, _, kh, kw = layer.params["W"].value.shape
    _, h, w = shape
    params = dict(in_hw=(h, w), kernel=(kh, kw), stride=tuple(layer.stride), padding=tuple(layer.padding), pool="none")
    pools = [l.pool for l in follow if isinstance(l, (MaxPool2D, Pool2D))]
    if len(pools) > 1:
        raise ConfigError(f"layer {layer.name!r}: followed by {len(pools)} pooling layers; expected at most one")
    if pools:
        mode, k, s, p = pools[0]
        params.update(pool=mode, pool_kernel=k, pool_stride=s, pool_padding=p)
    g = geometry_of((c_out, layer.params["W"].value[0].size), params)
    return "conv", params, (c_out, g.hp, g.wp)


def export_cnn(net: Network, calibration: np.ndarray, *, name: str, act_bits: int = 16, index_bits: int = 4,
               headroom: float = 2.0, meta: dict | None = None) -> Model:
    """The convolutional network ``net`` (weights shared) as an eie-sim :class:`Model` (module docstring)."""
    weighted = net.weighted()
    if any(not isinstance(l, (Conv2D, Dense)) for l in weighted):
        raise ConfigError(f"network {net.name!r}: export_cnn takes Conv2D and Dense layers only")
    if any(l.params["W"].codes is None for l in weighted):
        raise ConfigError("export_cnn: share_weights() first; the model format stores weight codes")
    shape = tuple(net.input_shape)
    h = calibration.reshape(len(calibration), -1).astype(np.float64)
    in_frac = choose_frac(h, act_bits)
    layers = []
    for i, layer in enumerate(net.layers):
        if "W" not in layer.params:
            continue
        follow = _followers(net, i)
        if any(not isinstance(l, (MaxPool2D, Pool2D, ReLU, Flatten, Dropout)) for l in follow):
            raise ConfigError(f"layer {layer.name!r}: followed by {[type(l).__name__ for l in follow]}; "
                              "expected MaxPool2D, Pool2D, ReLU, Flatten or Dropout")
        kind, params, out_shape = _kind_fields(layer, follow, shape)
        p = layer.params["W"]
        cb = p.codebook.astype(np.float64)
        cb[0] = 0.0
        codes = p.codes.reshape(p.codes.shape[0], -1).astype(np.uint8)
        activation = "relu" if any(isinstance(l, ReLU) for l in follow) else "none"
        lay = ModelLayer(name=layer.name, codebook=cb, codes=codes, bias=layer.params["b"].value.astype(np.float64),
                         activation=activation, act_bits=act_bits, in_frac=in_frac, w_frac=choose_frac(cb, act_bits),
                         index_bits=index_bits, kind=kind, params=params,
                         meta={"kept_pct": float(100 * np.count_nonzero(codes) / codes.size)})
        h = lay.spec.float_forward(lay, h)
        out_frac = choose_frac(np.array([headroom * np.abs(h).max()]), act_bits)
        layers.append(dataclasses.replace(lay, out_frac=out_frac, _cache={}))
        in_frac, shape = out_frac, out_shape
    return Model(layers=tuple(layers), meta=dict(meta or {}, name=name))
