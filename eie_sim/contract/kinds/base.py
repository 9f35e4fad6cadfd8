"""The layer-kind protocol and its registry.

A layer kind (``fc``, ``lstm``, ...) is one module under :mod:`eie_sim.contract.kinds` holding a
:class:`LayerKind` subclass registered with :func:`register`. Everything that differs between
kinds is a method of that class; the rest of eie-sim asks the registry (:func:`kind_of`) and
never compares kind names. Every kind's weights are one compressed matrix (the EIE storage of
section III of Han et al., ISCA 2016), so the matrix fields -- codebook, codes or encoded, bias,
activation, act_bits and the formats in_frac, w_frac, out_frac -- are common to all kinds
(:class:`eie_sim.contract.layer.ModelLayer`); a kind adds its own fields (``ModelLayer.params``)
and says what they mean.

A kind declares:

* ``name`` (the model file's ``kind``), ``fields`` (its own parameters, in file order),
  ``sequence`` (reads a T x X sequence, so it can only be a model's first layer);
* its fields' validation (:meth:`check`) and their model-file record (:meth:`record`,
  :meth:`read`);
* ``n_in``, ``n_out`` and ``next_frac`` (what the next layer receives);
* its golden step (:meth:`golden`), its batch golden step (:meth:`golden_batch`), its float step
  (:meth:`float_forward`) and the result a golden run of a chain starting with it returns
  (:meth:`chain_result`).

The cycle model registers a step per kind in :mod:`eie_sim.cycle.steps` the same way.
"""

from __future__ import annotations

from typing import ClassVar

from ...errors import EncodingError, ModelFileError, describe
from ..fixedpoint import FRAC_MAX, FRAC_MIN

__all__ = ["LayerKind", "register", "kind_of", "kind_names", "kind_with_field", "record_int", "record_frac"]

_REGISTRY: dict[str, "LayerKind"] = {}


class LayerKind:
    """One layer kind (module docstring). Subclasses override what differs from a plain matrix."""

    name: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()
    sequence: ClassVar[bool] = False

    # --- fields -----------------------------------------------------------------------------
    def check(self, layer, params: dict, where: str) -> dict:
        """Validated and normalised ``params`` of ``layer`` (EncodingError naming the field)."""
        if params:
            raise EncodingError(f"{where}: params={describe(params)}; kind {self.name!r} has no parameters")
        return {}

    def record(self, layer) -> dict:
        """The kind's fields as they are written to the model file's layer record."""
        return {f: layer.params[f] for f in self.fields}

    def read(self, rec: dict, where: str) -> dict:
        """The kind's fields from a model-file record (ModelFileError naming the field)."""
        return {}

    # --- shape ------------------------------------------------------------------------------
    def n_in(self, layer) -> int:
        """Inputs per call (per step for a sequence kind)."""
        return layer.shape[1]

    def n_out(self, layer) -> int:
        """Outputs passed to the next layer."""
        return layer.shape[0]

    def next_frac(self, layer) -> int | None:
        """The fractional bits of what the next layer receives."""
        return layer.out_frac

    def stored_formats(self, layer, acc_bits: int) -> tuple:
        """The (point, bits, frac) formats a calibrated layer stores (saturation messages)."""
        B, fa, fw = layer.act_bits, layer.in_frac, layer.w_frac
        return (("inputs", B, fa), ("weights", B, fw), ("bias", acc_bits, fa + fw), ("acc", acc_bits, fa + fw),
                ("outputs", B, layer.out_frac))

    # --- arithmetic -------------------------------------------------------------------------
    def golden(self, layer, x, config, *, act_frac: int | None = None, fixed_input: bool = False):
        """The golden result of ``layer`` on ``x`` (float, or integers in ``act_frac`` when
        ``fixed_input``); it has ``output_fixed``, ``out_format`` and ``saturation``."""
        raise NotImplementedError

    def golden_batch(self, layer, x, q, config, *, saturation: bool):
        """Batch golden step: ``x`` float inputs (first layer) or None, ``q`` int64 inputs in the
        layer's in_frac (later layers) or None. Returns (q_out int64 samples x n_out, counts int64
        samples x len(POINTS)); stored formats only."""
        raise NotImplementedError

    def float_forward(self, layer, h):
        """The float64 view (codebook values, no fixed point) on a batch ``h`` (samples x n_in,
        or samples x (T * n_in) for a sequence kind)."""
        raise NotImplementedError

    def chain_result(self, first, rest: tuple):
        """What the golden run of a model whose first layer is of this kind returns."""
        raise NotImplementedError


def record_int(rec: dict, key: str, where: str, lo: int, hi: int) -> int:
    """Field ``key`` of a model-file record: an integer in lo..hi, else ModelFileError naming it."""
    val = rec.get(key)
    if isinstance(val, bool) or not isinstance(val, int) or not lo <= val <= hi:
        raise ModelFileError(f"{where}: field {key!r}={describe(val)}; expected an integer in {lo}..{hi}")
    return val


def record_frac(rec: dict, key: str, where: str) -> int | None:
    """Field ``key`` of a model-file record: null or fractional bits in FRAC_MIN..FRAC_MAX."""
    val = rec.get(key, "missing")
    if val is not None and (isinstance(val, bool) or not isinstance(val, int) or not FRAC_MIN <= val <= FRAC_MAX):
        raise ModelFileError(f"{where}: field {key!r}={describe(val)}; expected null or an integer in {FRAC_MIN}..{FRAC_MAX}")
    return val


def register(kind: LayerKind) -> LayerKind:
    """Add ``kind`` (an instance) to the registry; a second kind of the same name is refused."""
    if not isinstance(kind, LayerKind) or not kind.name:
        raise EncodingError(f"kind={describe(kind)}: expected a named LayerKind instance")
    if kind.name in _REGISTRY and type(_REGISTRY[kind.name]) is not type(kind):
        raise EncodingError(f"kind={kind.name!r}: already registered by {type(_REGISTRY[kind.name]).__name__}")
    _REGISTRY[kind.name] = kind
    return kind


def kind_names() -> tuple[str, ...]:
    """The registered kind names, in registration order."""
    return tuple(_REGISTRY)


def kind_of(name, where: str = "layer", error=EncodingError) -> LayerKind:
    """The registered kind called ``name``, or ``error`` naming the field and the kinds there are."""
    kind = _REGISTRY.get(name) if isinstance(name, str) else None
    if kind is None:
        raise error(f"{where}: kind={describe(name)}; expected one of {kind_names()}")
    return kind


def kind_with_field(field: str) -> str | None:
    """The name of the first kind that has ``field`` (for messages), or None."""
    return next((k.name for k in _REGISTRY.values() if field in k.fields), None)
