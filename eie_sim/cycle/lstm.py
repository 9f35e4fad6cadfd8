"""The cycle model of an LSTM layer (kind ``lstm``) over a sequence: per step, the gate
matrix-vector product on the PE array, then the element-wise cell update in each PE.

Row-to-PE mapping (unit-local). Unit u's four gate rows (i, f, g, o) all go to PE u % N, so the
cell update of unit u needs nothing from another PE: the array runs the gate matrix in the
order ``row r = N * (4 * (u // N) + k) + u % N`` for gate k of unit u (EIE's rule row r -> PE
r % N then puts it on PE u % N as local row 4 * (u // N) + k), with empty rows where H is not a
multiple of N. The stored matrix keeps the canonical order (row k*H + u); the permuted layer
is built and encoded per PE count and cached. Balance cost: each PE holds 4 * ceil(H / N) rows
instead of ceil(4H / N) -- none when N divides H (H = 128 on 64 PEs), up to 4 * ceil(H/N) /
(4H/N) - 1 otherwise (NT-LSTM's H = 600 on 64 PEs: 40 rows on the busiest PE against an
average of 37.5, +6.7%); within that, non-zeros per PE vary as for any layer
(``mapping_cost`` measures both mappings' cycles on a given matrix).

Timing per step t (cycles, all serial: h_t is needed before step t + 1 can start):

1. **Load x_t** into the activation registers from the activation SRAM: ceil(X / N) cycles
   (X values spread over N PEs, one write per PE per cycle). Counted: X act_sram_reads and X
   act_reg_writes.
2. **Gates**: the matrix-vector product on a = [x_t ; h_{t-1} ; 1] under the existing rules
   (:mod:`eie_sim.cycle.kernels`); only a's non-zeros are broadcast, so the real density of
   x_t and h_{t-1} counts. Its counters as for an FC layer.
3. **Element-wise unit**, one per PE, pipelined, ``ELEM_PIPELINE`` = 4 stages (table read,
   interpolation multiply, cell multiply-add, round and write). It is bound by its single
   table port: 5 table reads per hidden unit (sigmoid i, f, o, tanh g, tanh c), each reading
   two adjacent 16-bit entries as one 32-bit word, so ``ELEM_CYCLES_PER_UNIT`` = 5 cycles per
   unit; the multiplies and adds overlap with the reads. The step's element-wise time is
   5 * ceil(H / N) + 4 cycles (the busiest PE). Per unit: 4 act_reg_reads (its gate
   pre-activations), 5 lut_reads, 8 elem_mults (5 interpolations, f*c, i*g, o*tanh c),
   9 elem_adds (5 interpolations, 3 sigmoid offsets, the cell sum), one cell_reg_read and one
   cell_reg_write (c in a per-PE register file), one act_reg_write (h_t into the ping-pong
   activation registers, read by the next step's broadcast: no transfer between PEs).

Energy of the element-wise counters: :mod:`eie_sim.cost.elementwise`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..config import ArchConfig
from ..contract.fixedpoint import QFormat, count_quantize_saturated, quantize_fixed
from ..contract.lstm import cell_update, check_sequence, lstm_formats, step_activations
from ..contract.layer import ModelLayer
from ..errors import EncodingError, describe
from .simulator import simulate_layer
from .steps import register_step

__all__ = ["ELEM_CYCLES_PER_UNIT", "ELEM_PIPELINE", "unit_local_order", "pe_layer",
           "simulate_lstm", "mapping_cost"]

ELEM_CYCLES_PER_UNIT = 5
ELEM_PIPELINE = 4


def unit_local_order(hidden: int, n_pe: int) -> np.ndarray:
    """For each row of the array's order, the canonical row (k*H + u) it holds, or -1 (empty)."""
    blocks = -(-hidden // n_pe)
    order = np.full(4 * blocks * n_pe, -1, np.int64)
    u = np.arange(hidden)
    for k in range(4):
        order[n_pe * (4 * (u // n_pe) + k) + u % n_pe] = k * hidden + u
    return order


def pe_layer(layer: ModelLayer, n_pe: int, interleaved: bool = False) -> tuple[ModelLayer, np.ndarray]:
    """The lstm layer's gate matrix as an fc ModelLayer in the array's row order (cached), and
    the order (:func:`unit_local_order`; ``interleaved``: the plain canonical order instead)."""
    key = ("lstm_pe_layer", n_pe, interleaved)
    if key not in layer._cache:
        codes = layer.dense_codes()
        order = np.arange(codes.shape[0]) if interleaved else unit_local_order(layer.hidden, n_pe)
        perm = np.zeros((order.size, codes.shape[1]), np.uint8)
        perm[order >= 0] = codes[order[order >= 0]]
        fc = ModelLayer(name=layer.name, codebook=layer.codebook, codes=perm, act_bits=layer.act_bits,
                        index_bits=layer.index_bits)
        layer._cache[key] = (fc, order)
    return layer._cache[key]


def _step_counters(H: int, X: int) -> dict:
    return {"lut_reads": 5 * H, "elem_mults": 8 * H, "elem_adds": 9 * H, "cell_reg_reads": H, "cell_reg_writes": H}


def simulate_lstm(layer: ModelLayer, seq, config: ArchConfig, interleaved: bool = False):
    """Run ``layer`` over ``seq`` (T x X floats): returns (step results, h_T integers, formats).

    Each step result is a :class:`~eie_sim.cycle.simulator.SimResult` named ``name[t]`` whose
    cycles, counters and per-PE figures include the x_t load and the element-wise stage, and
    whose output is h_t (Q(B, fa)), bit-exact with :func:`eie_sim.contract.lstm.reference_lstm`.
    """
    if not isinstance(layer, ModelLayer) or "hidden" not in layer.params:
        raise EncodingError(f"layer={describe(layer)}: expected a ModelLayer of kind 'lstm'")
    seq = check_sequence(seq, layer.n_in)
    fm = lstm_formats(layer, seq)
    fc_layer, order = pe_layer(layer, config.n_pe, interleaved)
    H, X, N = layer.hidden, layer.n_in, config.n_pe
    qx = quantize_fixed(seq, QFormat(fm.bits, fm.fa))
    h = np.zeros(H, np.int64)
    c = np.zeros(H, np.int64)
    units_busiest = -(-H // N)
    load = -(-X // N)
    elem = ELEM_CYCLES_PER_UNIT * units_busiest + ELEM_PIPELINE
    units_per_pe = np.bincount(np.arange(H) % N, minlength=N)
    steps = []
    for t in range(len(seq)):
        r = simulate_layer(fc_layer, step_activations(qx[t], h, fm.fa), config, f"{layer.name}[{t}]",
                            act_frac=fm.fa, w_frac=fm.fw, out_frac=fm.fg, fixed_input=True)
        z = np.empty(4 * H, np.int64)
        z[order[order >= 0]] = r.output_fixed[order >= 0]
        _, c, h, n_c, n_h = cell_update(z, c, fm, counts=True)
        sat = r.saturation
        sat = sat.with_counts(inputs=count_quantize_saturated(seq[t], QFormat(fm.bits, fm.fa)), outputs=0,
                              gates=sat.outputs, state=n_c, hidden=n_h, bias=0,
                              formats=sat.formats + (("gates", fm.bits, fm.fg), ("state", fm.bits, fm.fc),
                                                     ("hidden", fm.bits, fm.fa)))
        counters = dict(r.counters)
        counters["act_sram_reads"] += X
        counters["act_reg_writes"] += X + H
        counters["act_reg_reads"] += 4 * H
        counters["elem_cycles"] = elem
        counters.update(_step_counters(H, X))
        counters["overhead_cycles"] += load + elem
        per_pe = dict(r.per_pe_arrays)
        per_pe["busy_cycles"] = per_pe["busy_cycles"] + ELEM_CYCLES_PER_UNIT * units_per_pe
        steps.append(replace(r, cycles=r.cycles + load + elem, counters=counters, per_pe_arrays=per_pe,
                             output_fixed=h, output=np.ldexp(h.astype(np.float64), -fm.fa),
                             out_format=QFormat(fm.bits, fm.fa), shape=(4 * H, X + H + 1), saturation=sat))
    return steps, h, fm


def mapping_cost(layer: ModelLayer, seq, config: ArchConfig) -> dict:
    """Cycles of the gate products over ``seq`` with the unit-local mapping and with the plain
    interleaved one (row k*H + u on PE (k*H + u) % N): what keeping the cell update local costs."""
    if not isinstance(config, ArchConfig):
        raise EncodingError(f"config={describe(config)}: expected an ArchConfig")
    local = sum(s.cycles for s in simulate_lstm(layer, seq, config)[0])
    inter = sum(s.cycles for s in simulate_lstm(layer, seq, config, interleaved=True)[0])
    return {"unit_local_cycles": local, "interleaved_cycles": inter, "overhead": local / inter - 1.0,
            "rows_busiest_pe": 4 * math.ceil(layer.hidden / config.n_pe), "rows_mean": 4 * layer.hidden / config.n_pe}


def lstm_step(layer: ModelLayer, seq, config: ArchConfig, *, act_frac=None, fixed_input: bool = False) -> list:
    """The cycle-model step of an lstm layer (:mod:`.steps`): one result per time step, the last
    one's output h_T in Q(B, fa) for the next layer."""
    if fixed_input:
        raise EncodingError(f"layer {layer.name!r}: an lstm layer reads a float sequence; expected it first")
    return simulate_lstm(layer, seq, config)[0]


register_step("lstm", lstm_step)
