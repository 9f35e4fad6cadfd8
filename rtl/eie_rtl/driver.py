"""The load sequence and expected results of a layer, shared by every bench (Amaranth
simulator, cocotb under Verilator) and the CLI: the model is imported, never copied."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eie_sim import ArchConfig, CompressedLayer, simulate
from eie_sim.errors import ConfigError
from eie_sim.contract.golden import prepare, spmv_prepared

from .pe import LOAD_ACC, LOAD_CODEBOOK, LOAD_CONFIG, LOAD_PTR, LOAD_SPMAT, LOAD_SRC, PEParams

__all__ = ["LayerJob", "make_job", "params_for", "spmat_words", "layer_limits"]


@dataclass
class LayerJob:
    """Writes (target, pe, addr, data) to load a layer, with the golden outputs and the cycle
    model's count to check against."""

    writes: list
    n_rows: int
    n_pe: int
    expected_fixed: np.ndarray
    cycles_model: int
    broadcasts_model: int


def params_for(config: ArchConfig, max_cols: int, max_rows: int, spmat_words: int) -> PEParams:
    """PE build parameters for ``config`` and the largest layer a build must hold."""
    return PEParams(fifo_depth=config.fifo_depth, weight_bits=config.weight_bits, index_bits=config.index_bits,
                    act_bits=config.act_bits, acc_bits=config.acc_bits, ptr_bits=config.ptr_bits,
                    sram_width=config.sram_width, max_cols=max_cols, max_rows=max_rows,
                    max_src=max(1, -(-max_cols // config.n_pe)), spmat_words=spmat_words)


def layer_limits(layer: CompressedLayer) -> dict:
    """The smallest build limits that hold ``layer`` (each at least 1): max_cols, max_rows per PE
    and spmat_words (its fullest PE's entries in SRAM words, as in :meth:`CompressedLayer.storage`)."""
    words = int((-(-layer.entries_per_pe // layer.entries_per_word)).max())
    return {"max_cols": max(1, layer.n_cols), "max_rows": max(1, -(-layer.n_rows // layer.n_pe)),
            "spmat_words": max(1, words)}


def spmat_words(layer: CompressedLayer, pe: int) -> list[int]:
    """PE ``pe``'s packed spmat SRAM words as Python integers (64-bit limbs joined)."""
    return [sum(int(x) << (64 * i) for i, x in enumerate(w)) for w in layer.packed_spmat(pe)]


def _twos(value: int, bits: int) -> int:
    return int(value) & ((1 << bits) - 1)


def make_job(layer: CompressedLayer, activations, config: ArchConfig, source=None, **prep_kwargs) -> LayerJob:
    """Everything a bench needs to run ``layer`` on ``activations``: one pass (the layer must fit
    the registers: n_rows and n_cols <= n_pe * act_regs_per_pe), non-negative output shift.
    ``source``: the model layer ``layer`` was encoded from (its bias, activation function and
    fixed-point formats are used)."""
    if layer.n_rows > config.n_pe * config.act_regs_per_pe or layer.n_cols > config.n_pe * config.act_regs_per_pe:
        raise ConfigError(f"layer shape {layer.shape}: the RTL runs one pass of at most n_pe * act_regs_per_pe = "
                          f"{config.n_pe * config.act_regs_per_pe} rows and columns; use more PEs (--pes)")
    src = layer if source is None else source
    prep = prepare(src, activations, config, **prep_kwargs)
    gold = spmv_prepared(prep)
    sim = simulate(src, activations, config) if not prep_kwargs else None
    shift = prep.acc_frac - gold.out_format.frac
    if shift < 0:
        raise ConfigError(f"output shift {shift}: the RTL read-out supports shifts >= 0 (output frac <= accumulator frac)")
    writes = []
    N = layer.n_pe
    for k, pe in enumerate(layer.pes):
        writes += [(LOAD_PTR, k, j, int(v)) for j, v in enumerate(pe.ptr)]
        writes += [(LOAD_SPMAT, k, w, val) for w, val in enumerate(spmat_words(layer, k))]
        writes += [(LOAD_CODEBOOK, k, c, _twos(q, config.act_bits)) for c, q in enumerate(prep.qc)]
        rows = range(k, layer.n_rows, N)
        writes += [(LOAD_ACC, k, r, _twos(prep.acc0[i], config.acc_bits)) for r, i in enumerate(rows)]
    writes += [(LOAD_SRC, 0, j, _twos(q, config.act_bits)) for j, q in enumerate(prep.qa)]
    writes += [(LOAD_CONFIG, 0, 0, shift), (LOAD_CONFIG, 0, 1, int(prep.activation == "relu"))]
    return LayerJob(writes, layer.n_rows, N, gold.output_fixed,
                    sim.cycles if sim is not None else -1, sim.counters["broadcasts"] if sim is not None else -1)
