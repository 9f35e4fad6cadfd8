"""Layer kind ``conv``: a 2-D convolution (dilation 1, one group) with optional pooling, run on
the EIE array as one sparse matrix-vector product per output position (im2col); the contract is
in :mod:`eie_sim.contract.conv`. EIE ran only FC and LSTM layers; Deep Compression's CNNs (Han
et al., ICLR 2016) are what this kind adds.

Fields (file order): ``in_hw`` (H, W of the input map), ``kernel`` (kh, kw), ``stride`` (sh, sw),
``padding`` (top, left, bottom, right: zeros), ``pool`` ("none", "max" or "avg", in the
activation unit after the ReLU), ``pool_kernel``, ``pool_stride``, ``pool_padding`` (ignored, and
stored as (1, 1), (1, 1), (0, 0, 0, 0), when pool is "none"). The matrix is C_out x (C_in kh kw);
n_in = C_in H W, n_out = C_out Hp Wp, both channel-major.
"""

from __future__ import annotations

import numpy as np

from ...budget import check_budget
from ...errors import EIEError, EncodingError, ModelFileError, describe
from ..conv import POOLS, conv_batch, conv_float, conv_golden, geometry_of, out_size
from ..golden import ForwardResult
from .base import LayerKind, register

__all__ = ["Conv"]

_MAX_SIDE = 1 << 15


def _ints(where: str, name: str, value, n: int, lo: int, hi: int, error=EncodingError) -> tuple:
    """``value`` as a tuple of ``n`` integers in lo..hi (an int is repeated), else ``error``."""
    vals = [value] * n if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    ok = isinstance(vals, (list, tuple)) and len(vals) == n and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= v <= hi for v in vals)
    if not ok:
        raise error(f"{where}: {name}={describe(value)}; expected {n} integers in {lo}..{hi}")
    return tuple(int(v) for v in vals)


class Conv(LayerKind):
    """A convolution y = act(W * x + bias), then pooling (module docstring)."""

    name = "conv"
    fields = ("in_hw", "kernel", "stride", "padding", "pool", "pool_kernel", "pool_stride", "pool_padding")

    def check(self, layer, params, where):
        return self._checked(layer.shape, params, where, EncodingError)

    def _checked(self, shape, params, where, error):
        extra = sorted(set(params) - set(self.fields))
        if extra:
            raise error(f"{where}: params {extra}; kind 'conv' has fields {list(self.fields)}")
        if "in_hw" not in params or "kernel" not in params:
            raise error(f"{where}: a conv layer needs params in_hw and kernel; got {sorted(params)}")
        p = {"in_hw": _ints(where, "in_hw", params["in_hw"], 2, 1, _MAX_SIDE, error)}
        p["kernel"] = _ints(where, "kernel", params["kernel"], 2, 1, _MAX_SIDE, error)
        p["stride"] = _ints(where, "stride", params.get("stride", 1), 2, 1, _MAX_SIDE, error)
        kh, kw = p["kernel"]
        p["padding"] = pad = _ints(where, "padding", params.get("padding", 0), 4, 0, _MAX_SIDE, error)
        if pad[0] >= kh or pad[2] >= kh or pad[1] >= kw or pad[3] >= kw:
            raise error(f"{where}: padding={list(pad)}; expected each side smaller than the kernel {list(p['kernel'])}")
        (h, w), (sh, sw) = p["in_hw"], p["stride"]
        if h + pad[0] + pad[2] < kh or w + pad[1] + pad[3] < kw:
            raise error(f"{where}: kernel={list(p['kernel'])} is larger than the padded input "
                        f"{h + pad[0] + pad[2]}x{w + pad[1] + pad[3]}")
        rows, cols = shape
        if cols % (kh * kw):
            raise error(f"{where}: shape {rows}x{cols}; a conv layer with kernel {kh}x{kw} expects C_out x "
                        f"(C_in * {kh * kw}) columns")
        pool = params.get("pool", "none")
        if pool not in POOLS:
            raise error(f"{where}: pool={describe(pool)}; expected one of {POOLS}")
        p["pool"] = pool
        if pool == "none":
            p.update(pool_kernel=(1, 1), pool_stride=(1, 1), pool_padding=(0, 0, 0, 0))
        else:
            ho, wo = out_size(h, kh, sh, pad[0], pad[2]), out_size(w, kw, sw, pad[1], pad[3])
            pk = p["pool_kernel"] = _ints(where, "pool_kernel", params.get("pool_kernel"), 2, 1, _MAX_SIDE, error)
            p["pool_stride"] = _ints(where, "pool_stride", params.get("pool_stride", pk), 2, 1, _MAX_SIDE, error)
            pp = p["pool_padding"] = _ints(where, "pool_padding", params.get("pool_padding", 0), 4, 0, _MAX_SIDE, error)
            if pp[0] >= pk[0] or pp[2] >= pk[0] or pp[1] >= pk[1] or pp[3] >= pk[1]:
                raise error(f"{where}: pool_padding={list(pp)}; expected each side smaller than pool_kernel {list(pk)}")
            if ho + pp[0] + pp[2] < pk[0] or wo + pp[1] + pp[3] < pk[1]:
                raise error(f"{where}: pool_kernel={list(pk)} is larger than the padded conv output "
                            f"{ho + pp[0] + pp[2]}x{wo + pp[1] + pp[3]}")
        g = geometry_of(shape, p)
        try:  # the patch index (positions x patch, int64) every tier builds
            check_budget(f"conv layer with {g.positions} positions of {g.patch} inputs", 8 * g.positions * g.patch)
        except EIEError as exc:
            raise error(f"{where}: {exc}") from None
        return p

    def record(self, layer):
        return {f: list(v) if isinstance(v, tuple) else v for f, v in layer.params.items()}

    def read(self, rec, where):
        missing = [f for f in self.fields if f not in rec]
        if missing:
            raise ModelFileError(f"{where}: fields {missing} missing; a conv layer record has {list(self.fields)}")
        shape = rec.get("shape")
        return self._checked(tuple(shape), {f: rec[f] for f in self.fields}, where, ModelFileError)

    def geometry(self, layer):
        return geometry_of(layer.shape, layer.params)

    def n_in(self, layer):
        g = self.geometry(layer)
        return g.n_in

    def n_out(self, layer):
        return self.geometry(layer).n_out

    def golden(self, layer, x, config, *, act_frac=None, fixed_input=False):
        return conv_golden(layer, x, config, act_frac=act_frac, fixed_input=fixed_input)

    def golden_batch(self, layer, x, q, config, *, saturation):
        return conv_batch(layer, x, q, config, saturation=saturation)

    def float_forward(self, layer, h):
        return conv_float(layer, h)

    def chain_result(self, first, rest):
        return ForwardResult(layers=(first,) + tuple(rest))


register(Conv())
