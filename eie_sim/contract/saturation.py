"""Saturation counts: how many values clipped at each quantisation point of a layer.

Every narrowing of the golden contract (:mod:`eie_sim.contract.golden`, steps 1-4, and the
LSTM cell, :mod:`eie_sim.contract.lstm`) saturates instead of wrapping. A clipped value is a
wrong answer that looks like a right one, so every tier counts them, per layer, and the CLI
prints a warning for each non-zero count. The points:

``inputs``   input values clipped when quantised to Q(B, fa) (step 1; floats only: integers
             handed on from the previous layer were already counted there as its outputs).
``weights``  codebook entries clipped when quantised to Q(B, fw) (step 2).
``bias``     bias values clipped to the accumulator Q(A, fa + fw) (step 3, initial value).
``acc``      accumulations that clipped (step 3): each ``acc_i + qc[v] * qa_j`` out of range
             counts once, so a row can count many times. The hardware's saturating adder
             (RTL counter ``sat_acc``) counts the same events.
``outputs``  outputs clipped when rounded to Q(B, fo) (step 4); after ReLU only the positive
             side counts (a negative value clipped and then zeroed by ReLU is exact). RTL
             counter ``sat_out``.
``gates``    LSTM gate pre-activations z clipped to Q(B, fg) (LSTM step 1).
``state``    LSTM cell-state values c clipped to Q(B, fc) (LSTM step 3).
``hidden``   LSTM hidden values h clipped to Q(B, fa) (LSTM step 4).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["POINTS", "Saturation", "format_range"]

POINTS = ("inputs", "weights", "bias", "acc", "outputs", "gates", "state", "hidden")

_WHAT = {
    "inputs": "input value(s)",
    "weights": "codebook entr(ies)",
    "bias": "bias value(s) (accumulator format)",
    "acc": "accumulation(s)",
    "outputs": "output(s)",
    "gates": "gate pre-activation(s)",
    "state": "cell-state value(s)",
    "hidden": "hidden value(s)",
}

_FIX = {
    "inputs": "the inputs exceed the range the model was calibrated for: calibrate on your data "
              "(eie-sim import --input-range LO HI or --calibrate FILE.npz) or scale the inputs",
    "weights": "w_frac is too large for the codebook: store a smaller w_frac (or none, to fit the codebook)",
    "bias": "raise --acc-bits or lower the layer's in_frac/w_frac",
    "acc": "partial sums exceed the accumulator: raise --acc-bits",
    "outputs": "out_frac is too large for these inputs: calibrate the model on representative data",
    "gates": "out_frac (the gate format) is too large: calibrate the LSTM on representative sequences",
    "state": "state_frac is too large: calibrate the LSTM on representative sequences",
    "hidden": "h overflows its format (in_frac): calibrate the LSTM on representative sequences",
}


def format_range(bits: int, frac: int) -> str:
    """``Q16.15 (range -1 .. 0.999969)``: a signed format and the values it holds."""
    lo = -(2.0 ** (bits - 1)) * 2.0 ** -frac
    hi = (2.0 ** (bits - 1) - 1) * 2.0 ** -frac
    return f"Q{bits}.{frac} (range {lo:.6g} .. {hi:.6g})"


@dataclass(frozen=True)
class Saturation:
    """Saturation counts of one layer (or the sum over a model's layers), one per point of the
    module docstring. ``formats``: ((point, bits, frac), ...) the format each count refers to,
    for messages (one layer's; a sum has none)."""

    inputs: int = 0
    weights: int = 0
    bias: int = 0
    acc: int = 0
    outputs: int = 0
    gates: int = 0
    state: int = 0
    hidden: int = 0
    formats: tuple = ()

    def __post_init__(self) -> None:
        for p in POINTS:
            object.__setattr__(self, p, int(getattr(self, p)))

    def __add__(self, other: "Saturation") -> "Saturation":
        return Saturation(**{p: getattr(self, p) + getattr(other, p) for p in POINTS})

    @staticmethod
    def sum(items) -> "Saturation":
        total = Saturation()
        for s in items:
            total = total + s
        return total

    @property
    def total(self) -> int:
        return sum(getattr(self, p) for p in POINTS)

    def __bool__(self) -> bool:
        return self.total > 0

    def counts(self) -> dict:
        """{point: count} for every point."""
        return {p: getattr(self, p) for p in POINTS}

    def to_dict(self) -> dict:
        """{"saturated_inputs": n, ..., "saturated_total": n}: the keys of ``--json`` output and sweep rows."""
        d = {f"saturated_{p}": getattr(self, p) for p in POINTS}
        d["saturated_total"] = self.total
        return d

    def with_counts(self, **counts) -> "Saturation":
        """A copy with the given counts replaced (formats kept)."""
        known = {f.name for f in fields(self)}
        return Saturation(**{**{k: getattr(self, k) for k in known}, **counts})

    def warnings(self, layer: str) -> list[str]:
        """One line per non-zero count: the layer, the count, the format and its range, the fix."""
        fmts = {p: (b, f) for p, b, f in self.formats}
        out = []
        for p in POINTS:
            n = getattr(self, p)
            if not n:
                continue
            fmt = f" in {format_range(*fmts[p])}" if p in fmts else ""
            out.append(f"warning: layer {layer}: {n:,} {_WHAT[p]} saturated{fmt}; {_FIX[p]}")
        return out
