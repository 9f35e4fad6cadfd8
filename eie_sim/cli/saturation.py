"""Saturation reports of the CLI: one warning line per layer and quantisation point on stderr,
and the per-layer counts of ``eval`` over a data set (:mod:`eie_sim.contract.saturation`)."""

from __future__ import annotations

import sys

import numpy as np

from ..contract.saturation import POINTS, Saturation

__all__ = ["by_layer", "warn", "stored_formats", "batch_summary"]


def by_layer(pairs) -> list[tuple[str, Saturation]]:
    """(layer name, counts) pairs with an LSTM's steps (``name[t]``) summed into one layer; the
    formats of the first step are kept for the messages."""
    names, sums = [], {}
    for name, sat in pairs:
        base = name.split("[")[0]
        if base not in sums:
            names.append(base)
            sums[base] = sat
        else:
            sums[base] = (sums[base] + sat).with_counts(formats=sums[base].formats)
    return [(n, sums[n]) for n in names]


def warn(pairs, where: str = "") -> int:
    """Print a warning line per non-zero count of every layer to stderr; returns the lines printed."""
    n = 0
    for name, sat in by_layer(pairs):
        for line in sat.warnings(name):
            print(line + where, file=sys.stderr)
            n += 1
    return n


def stored_formats(layer, acc_bits: int) -> tuple:
    """The (point, bits, frac) formats a calibrated layer stores, for messages."""
    return layer.spec.stored_formats(layer, acc_bits)


def batch_summary(model, counts: np.ndarray, acc_bits: int) -> tuple[dict, list[tuple[str, Saturation]]]:
    """``eval``'s report of ``counts`` (samples, layers, points) from the batch golden model:
    the fraction (and number) of samples with any saturation, the totals and per-layer totals over the inputs,
    and (name, counts) pairs for :func:`warn`."""
    per_layer = counts.sum(axis=0)
    pairs = [(lay.name, Saturation(**dict(zip(POINTS, per_layer[i].tolist())), formats=stored_formats(lay, acc_bits)))
             for i, lay in enumerate(model.layers)]
    any_sat = counts.reshape(len(counts), -1).sum(axis=1) > 0
    doc = {"saturated_input_fraction": float(any_sat.mean()) if len(counts) else 0.0,
           "saturated_samples": int(any_sat.sum()),
           **Saturation.sum(s for _, s in pairs).to_dict(),
           "saturation_by_layer": {name: s.to_dict() for name, s in pairs}}
    return doc, pairs
