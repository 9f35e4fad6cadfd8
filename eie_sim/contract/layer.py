"""One layer of a compressed model: a weight-shared sparse matrix (codes and codebook, dense or
in the EIE layout), bias, activation, fixed-point formats, and the fields of its kind.

What differs between kinds (fc, lstm, ...) is asked of the kind's class in
:mod:`eie_sim.contract.kinds`; :class:`ModelLayer` holds only what every kind has, plus
``params``, the kind's own fields (validated by the kind, readable as attributes:
``layer.hidden`` of an lstm layer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..config import check_int
from ..errors import EncodingError, describe
from .codebook import check_codebook
from .fixedpoint import FRAC_MAX, FRAC_MIN
from .format import CompressedLayer, check_codes, decode, encode
from .kinds.base import LayerKind, kind_of

__all__ = ["ACTIVATIONS", "Model", "ModelLayer", "check_opt_frac"]

ACTIVATIONS = ("none", "relu")


def check_opt_frac(name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not FRAC_MIN <= int(value) <= FRAC_MAX:
        raise EncodingError(f"{name}={describe(value)}: expected None or an integer in {FRAC_MIN}..{FRAC_MAX}")
    return int(value)


@dataclass(frozen=True, eq=False)
class ModelLayer:
    """One layer of a compressed model: its weight matrix and, in ``params``, its kind's fields.

    Kind ``fc`` (the default) is ``y = act(W x + bias)``; the others are in
    :mod:`eie_sim.contract.kinds` (``lstm``: ``params={"hidden": H, "state_frac": None}``).

    Give the weights either as dense ``codes`` or as an ``encoded`` :class:`CompressedLayer`.
    ``in_frac``, ``w_frac``, ``out_frac``: fractional bits of the input activations, codebook
    values and outputs in ``act_bits``-bit fixed point; None means "choose from the range"
    at run time (see :mod:`eie_sim.contract.golden`).
    """

    name: str
    codebook: np.ndarray
    codes: np.ndarray | None = None
    encoded: CompressedLayer | None = None
    bias: np.ndarray | None = None
    activation: str = "none"
    act_bits: int = 16
    in_frac: int | None = None
    w_frac: int | None = None
    out_frac: int | None = None
    index_bits: int = 4
    meta: dict = field(default_factory=dict)
    kind: str = "fc"
    params: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        where = f"layer {self.name!r}" if isinstance(self.name, str) else "layer"
        if not isinstance(self.name, str) or not self.name:
            raise EncodingError(f"name={describe(self.name)}: expected a non-empty string")
        cb = check_codebook(self.codebook, name=f"{where}: codebook")
        object.__setattr__(self, "codebook", cb)
        wb = cb.size.bit_length() - 1
        if (self.codes is None) == (self.encoded is None):
            raise EncodingError(f"{where}: give exactly one of codes (dense) or encoded (EIE layout)")
        if self.codes is not None:
            object.__setattr__(self, "codes", check_codes(self.codes, wb, name=f"{where}: codes"))
        else:
            if not isinstance(self.encoded, CompressedLayer):
                raise EncodingError(f"{where}: encoded={describe(self.encoded)}; expected a CompressedLayer")
            if not np.array_equal(self.encoded.codebook, cb):
                raise EncodingError(f"{where}: encoded.codebook differs from codebook")
            object.__setattr__(self, "index_bits", self.encoded.index_bits)
        check_int(f"{where}: index_bits", self.index_bits, 1, 8)
        check_int(f"{where}: act_bits", self.act_bits, 2, 24)
        if self.activation not in ACTIVATIONS:
            raise EncodingError(f"{where}: activation={describe(self.activation)}; expected one of {ACTIVATIONS}")
        for nm in ("in_frac", "w_frac", "out_frac"):
            object.__setattr__(self, nm, check_opt_frac(f"{where}: {nm}", getattr(self, nm)))
        if self.bias is not None:
            b = np.asarray(self.bias)
            if b.ndim != 1 or b.size != self.shape[0] or not np.issubdtype(b.dtype, np.number):
                raise EncodingError(f"{where}: bias has shape {b.shape}; expected ({self.shape[0]},) numbers")
            b = b.astype(np.float64)
            if not np.all(np.isfinite(b)):
                raise EncodingError(f"{where}: bias[{int(np.argmax(~np.isfinite(b)))}] is not finite")
            object.__setattr__(self, "bias", b)
        if not isinstance(self.meta, dict):
            raise EncodingError(f"{where}: meta={describe(self.meta)}; expected a dict")
        self._check_kind(where)
        try:
            json.dumps(self.meta)
        except (TypeError, ValueError) as exc:
            raise EncodingError(f"{where}: meta is not JSON-serialisable ({exc})") from None

    def _check_kind(self, where: str) -> None:
        spec = kind_of(self.kind, where)
        if not isinstance(self.params, dict):
            raise EncodingError(f"{where}: params={describe(self.params)}; expected a dict of kind {self.kind!r}'s fields")
        object.__setattr__(self, "params", spec.check(self, dict(self.params), where))

    def __getattr__(self, name: str):
        """A kind's own field (``layer.hidden`` of an lstm layer) read from ``params``."""
        if not name.startswith("_") and name != "params":
            params = self.__dict__.get("params", {})
            if name in params:
                return params[name]
        raise AttributeError(f"{type(self).__name__!r} of kind {self.__dict__.get('kind')!r} has no attribute {name!r}")

    @property
    def spec(self) -> LayerKind:
        """The layer's kind (:mod:`eie_sim.contract.kinds`)."""
        return kind_of(self.kind)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.codes.shape) if self.codes is not None else self.encoded.shape

    @property
    def n_in(self) -> int:
        """Inputs per call (per step for a sequence kind such as lstm)."""
        return self.spec.n_in(self)

    @property
    def n_out(self) -> int:
        """Outputs passed to the next layer (h_T for an lstm layer)."""
        return self.spec.n_out(self)

    @property
    def next_frac(self) -> int | None:
        """The format of what the next layer receives (h's in_frac for lstm, else out_frac)."""
        return self.spec.next_frac(self)

    @property
    def weight_bits(self) -> int:
        return self.codebook.size.bit_length() - 1

    def dense_codes(self) -> np.ndarray:
        """Dense codes (outputs x inputs), decoded once and cached."""
        if self.codes is not None:
            return self.codes
        if "codes" not in self._cache:
            self._cache["codes"] = decode(self.encoded)
        return self._cache["codes"]

    def compressed(self, n_pe: int | None = None, **kwargs) -> CompressedLayer:
        """The EIE layout for ``n_pe`` PEs (the stored one when it matches), cached.

        ``kwargs`` go to :func:`eie_sim.encode` (ptr_bits, sram_width, spmat_sram_kb, ptr_sram_kb).
        """
        if self.encoded is not None and (n_pe is None or n_pe == self.encoded.n_pe) and all(
            getattr(self.encoded, k) == v for k, v in kwargs.items()
        ):
            return self.encoded
        if n_pe is None:
            raise EncodingError(f"layer {self.name!r} is stored dense: give n_pe to encode it")
        key = (n_pe, tuple(sorted(kwargs.items())))
        if key not in self._cache:
            self._cache[key] = encode(self.dense_codes(), self.codebook, n_pe=n_pe, index_bits=self.index_bits, **kwargs)
        return self._cache[key]


@dataclass(frozen=True, eq=False)
class Model:
    """A chain of :class:`ModelLayer`; the output of layer l is the input of layer l + 1."""

    layers: tuple[ModelLayer, ...]
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        object.__setattr__(self, "layers", layers)
        if not layers:
            raise EncodingError("layers: expected at least one layer")
        names = set()
        for i, lay in enumerate(layers):
            if not isinstance(lay, ModelLayer):
                raise EncodingError(f"layers[{i}]={describe(lay)}: expected a ModelLayer")
            if lay.name in names:
                raise EncodingError(f"layers[{i}].name={lay.name!r}: duplicate layer name")
            names.add(lay.name)
            if i and lay.spec.sequence:
                raise EncodingError(f"layers[{i}] ({lay.name!r}) is an {lay.kind} layer; expected {lay.kind} "
                                    "only as the first layer")
            if i:
                prev = layers[i - 1]
                if lay.n_in != prev.n_out:
                    raise EncodingError(
                        f"layer {lay.name!r} has {lay.n_in} inputs; expected {prev.n_out}, "
                        f"the outputs of layer {prev.name!r}"
                    )
                if lay.in_frac is not None and prev.next_frac is not None and lay.in_frac != prev.next_frac:
                    raise EncodingError(
                        f"layer {lay.name!r}: in_frac={lay.in_frac}; expected {prev.next_frac}, "
                        f"the output format of layer {prev.name!r}"
                    )
        if not isinstance(self.meta, dict):
            raise EncodingError(f"meta={describe(self.meta)}; expected a dict")

    def layer(self, name: str) -> ModelLayer:
        for lay in self.layers:
            if lay.name == name:
                return lay
        raise EncodingError(f"layer={name!r}: no such layer; the model has {[l.name for l in self.layers]}")

    @property
    def is_sequence(self) -> bool:
        """True if the model reads sequences (its first layer's kind is a sequence kind: lstm)."""
        return self.layers[0].spec.sequence

    @property
    def n_inputs(self) -> int:
        """Inputs per sample, or per step for a sequence model."""
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out
