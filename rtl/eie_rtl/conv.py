"""A conv layer on the PE array as its sequence of patch SpMVs (the conv mapping of
:mod:`eie_sim.contract.conv`): the im2col is done by the host (this driver), and so is the
pooling (the RTL has no pooling unit; :func:`eie_sim.contract.conv.pool_fixed`).

W' (C_out x C_in*kh*kw) is encoded like an fc layer; each output position p runs one fc job
on the patch vector q_p (int64, ``patches_of`` on the quantised input map) with the layer's
bias, activation and the formats of the whole layer (act_frac, out_frac from the golden
:func:`conv_golden`). Positions run one after another; array cycles = sum over positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eie_sim import ArchConfig
from eie_sim.contract.conv import conv_golden, geometry, patches_of, pool_fixed
from eie_sim.cycle.layers import encoded_for

__all__ = ["ConvRun", "run_conv_pysim"]


@dataclass(frozen=True)
class ConvRun:
    """The RTL's conv outputs (C_out x positions, int64), pooled flat outputs, cycles per
    position, and each position's RTL counters (dicts of :func:`eie_rtl.driver.rtl_counters`)."""

    conv_fixed: np.ndarray
    output_fixed: np.ndarray
    cycles: list
    counters: list
    golden: object


def run_conv_pysim(layer, x, config: ArchConfig) -> ConvRun:
    """Run conv ``layer`` (a ModelLayer of kind conv) on the float input map ``x`` in the
    Amaranth simulator, one fc job per output position. Note: this path builds and loads the
    array per position (the Amaranth simulator has no resumable state between runs)."""
    from .pysim import run_pysim

    gold = conv_golden(layer, x, config)
    enc, _ = encoded_for(layer, config)
    fmt = dict(fixed_input=True, act_frac=gold.act_format.frac, out_frac=gold.out_format.frac)
    cols, cycles, counters = [], [], []
    for patch in patches_of(layer, gold.input_fixed):
        ctr = {}
        out, cyc, _ = run_pysim(enc, patch.astype(np.int64), config, counters=ctr, source=layer, **fmt)
        cols.append(out)
        cycles.append(int(cyc))
        counters.append(ctr)
    g = geometry(layer)
    y = np.stack(cols, axis=1) if cols else np.zeros((g.c_out, 0), np.int64)
    return ConvRun(y, pool_fixed(layer, y).reshape(-1), cycles, counters, gold)
