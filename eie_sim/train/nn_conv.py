"""Convolution and pooling layers of any geometry for the trainer: what an imported ONNX CNN
needs beyond :class:`~.nn.Conv2D` (valid, stride 1, square) and :class:`~.nn.MaxPool2D` (2 x 2).

:class:`GeneralConv2D` is a :class:`~.nn.Conv2D` (so pruning, sharing and export treat it as one)
with a kh x kw kernel, a stride and zero padding (top, left, bottom, right); :class:`Pool2D` is
max or average pooling (count_include_pad=0: the average of the in-bounds values) with a kernel,
a stride and padding. Both gather their windows with the conv contract's patch index
(:func:`eie_sim.contract.conv.patch_index`), so their float32 forward is the conv kind's
(:mod:`eie_sim.contract.conv`) computation, and scatter the gradients back with ``np.add.at``.
"""

from __future__ import annotations

import numpy as np

from ..contract.conv import geometry_of, patch_index
from .nn import Conv2D, Layer, Param

__all__ = ["GeneralConv2D", "Pool2D", "window_index"]


def window_index(hw: tuple, kernel: tuple, stride: tuple, padding: tuple, channels: int = 1) -> np.ndarray:
    """(positions, channels * kh * kw) flat indices into a (channels, H, W) map of the windows, -1
    for padding (the conv contract's patch order)."""
    g = geometry_of((1, channels * kernel[0] * kernel[1]),
                    {"in_hw": tuple(hw), "kernel": tuple(kernel), "stride": tuple(stride), "padding": tuple(padding),
                     "pool": "none", "pool_kernel": (1, 1), "pool_stride": (1, 1), "pool_padding": (0, 0, 0, 0)})
    return patch_index(g)


def _gather(x2: np.ndarray, idx: np.ndarray, fill: float) -> np.ndarray:
    """x2 (..., n) read at idx (-1 gives ``fill``)."""
    ext = np.concatenate([x2, np.full(x2.shape[:-1] + (1,), fill, dtype=x2.dtype)], axis=-1)
    return ext[..., np.where(idx < 0, x2.shape[-1], idx)]


class GeneralConv2D(Conv2D):
    """y = W * x + b with W (out_ch, in_ch, kh, kw), ``stride`` (sh, sw), ``padding`` (top, left,
    bottom, right) of zeros; dilation 1, one group."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, stride=(1, 1), padding=(0, 0, 0, 0), name: str = "conv"):
        self.name = name
        self.k = int(weight.shape[2])
        self.kernel = tuple(int(v) for v in weight.shape[2:])
        self.stride = tuple(int(v) for v in stride)
        self.padding = tuple(int(v) for v in padding)
        self.params = {"W": Param(np.array(weight, dtype=np.float32)),
                       "b": Param(np.array(bias, dtype=np.float32), decay=False)}
        self.need_dx = True
        self._idx = {}

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = self.kernel, self.stride, self.padding
        return (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1

    def index(self, c: int, h: int, w: int) -> np.ndarray:
        key = (c, h, w)
        if key not in self._idx:
            self._idx[key] = window_index((h, w), self.kernel, self.stride, self.padding, c)
        return self._idx[key]

    def forward(self, x, train):
        B, C, H, W = x.shape
        self.shape = x.shape
        idx = self.index(C, H, W)
        self.cols = _gather(x.reshape(B, -1), idx, 0.0)  # (B, P, K)
        wv = self.params["W"].value
        out = np.einsum("bpk,ok->bop", self.cols, wv.reshape(wv.shape[0], -1)) + self.params["b"].value[None, :, None]
        return np.ascontiguousarray(out.reshape(B, wv.shape[0], *self.out_hw(H, W)), dtype=np.float32)

    def backward(self, grad):
        B, C, H, W = self.shape
        wv = self.params["W"].value
        O = wv.shape[0]
        g = grad.reshape(B, O, -1)
        self.params["W"].grad = np.einsum("bop,bpk->ok", g, self.cols).reshape(wv.shape).astype(np.float32)
        self.params["b"].grad = g.sum(axis=(0, 2))
        if not self.need_dx:
            return None
        dcols = np.einsum("bop,ok->bpk", g, wv.reshape(O, -1))
        idx = self.index(C, H, W)
        n = C * H * W
        dx = np.zeros((B, n + 1), dtype=np.float32)
        np.add.at(dx, (slice(None), np.where(idx < 0, n, idx)), dcols)
        return dx[:, :n].reshape(self.shape)


class Pool2D(Layer):
    """``mode`` "max" or "avg" pooling (the average of the in-bounds values) per channel with
    ``kernel``, ``stride`` and ``padding`` (top, left, bottom, right)."""

    def __init__(self, mode: str, kernel, stride, padding=(0, 0, 0, 0)):
        self.mode = mode
        self.pool = (mode, tuple(int(v) for v in kernel), tuple(int(v) for v in stride), tuple(int(v) for v in padding))
        self.params = {}

    def forward(self, x, train):
        B, C, H, W = x.shape
        _, k, s, p = self.pool
        idx = window_index((H, W), k, s, p)  # (Pp, kk) into one channel
        self.shape, self.idx = x.shape, idx
        ho, wo = (H + p[0] + p[2] - k[0]) // s[0] + 1, (W + p[1] + p[3] - k[1]) // s[1] + 1
        x2 = x.reshape(B, C, H * W)
        if self.mode == "max":
            win = _gather(x2, idx, -np.inf)  # (B, C, Pp, kk)
            self.arg = win.argmax(axis=-1)
            out = win.max(axis=-1)
        else:
            self.n = (idx >= 0).sum(axis=1).astype(np.float32)
            out = _gather(x2, idx, 0.0).sum(axis=-1) / self.n
        return np.ascontiguousarray(out.reshape(B, C, ho, wo), dtype=np.float32)

    def backward(self, grad):
        B, C, H, W = self.shape
        n = H * W
        g = grad.reshape(B, C, -1)
        dx = np.zeros((B, C, n + 1), dtype=np.float32)
        idx = np.where(self.idx < 0, n, self.idx)
        if self.mode == "max":
            at = np.take_along_axis(np.broadcast_to(idx, (B, C) + idx.shape), self.arg[..., None], axis=-1)[..., 0]
            np.add.at(dx, (np.arange(B)[:, None, None], np.arange(C)[None, :, None], at), g)
        else:
            share = np.broadcast_to((g / self.n)[..., None], g.shape + (idx.shape[1],))
            np.add.at(dx, (slice(None), slice(None), idx), share)
        return dx[..., :n].reshape(self.shape)
