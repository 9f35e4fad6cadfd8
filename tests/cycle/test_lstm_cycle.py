"""The LSTM cycle model: bit-exact with the golden cell on every step, the unit-local mapping,
element-wise timing and counters, and their energy."""

import numpy as np
import pytest

from eie_sim import ArchConfig
from eie_sim.contract.codebook import kmeans_codebook, quantize
from eie_sim.contract.lstm import reference_sequence
from eie_sim.contract.model import Model, ModelLayer
from eie_sim.cost.report import energy_report
from eie_sim.cycle.lstm import ELEM_CYCLES_PER_UNIT, ELEM_PIPELINE, mapping_cost, unit_local_order
from eie_sim.cycle.simulator import simulate


def _model(seed=0, H=20, X=8):
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.2, (4 * H, X + H + 1)) * (rng.random((4 * H, X + H + 1)) < 0.3)
    cb = kmeans_codebook(w, 4)
    lay = ModelLayer(name="lstm", codebook=cb, codes=quantize(w, cb), kind="lstm", params={"hidden": H, "state_frac": 11},
                     in_frac=14, out_frac=10)
    w2 = rng.normal(0, 0.3, (10, H))
    cb2 = kmeans_codebook(w2, 4)
    return Model(layers=(lay, ModelLayer(name="fc", codebook=cb2, codes=quantize(w2, cb2), in_frac=14))), rng


@pytest.mark.parametrize("n_pe", [1, 3, 8, 32])
def test_bit_exact_every_step(n_pe):
    m, rng = _model(n_pe)
    seq = rng.random((6, 8)) * (rng.random((6, 8)) < 0.5)
    s = simulate(m, seq, ArchConfig(n_pe=n_pe))
    g = reference_sequence(m, seq)
    assert [r.name for r in s.layers] == [f"lstm[{t}]" for t in range(6)] + ["fc"]
    for r, h in zip(s.layers[:6], g.lstm.h_fixed):
        assert np.array_equal(r.output_fixed, h)
    assert np.array_equal(s.output_fixed, g.output_fixed)
    assert s.cycles == sum(r.cycles for r in s.layers)
    elem = ELEM_CYCLES_PER_UNIT * -(-20 // n_pe) + ELEM_PIPELINE
    assert all(r.counters["elem_cycles"] == elem for r in s.layers[:6])
    c = s.layers[1].counters
    assert (c["lut_reads"], c["elem_mults"], c["elem_adds"], c["cell_reg_writes"]) == (100, 160, 180, 20)
    # h_{t-1} = 0 at t = 0: the first step broadcasts only x_0's non-zeros and the constant 1
    c0 = s.layers[0].counters
    assert c0["broadcasts"] == (np.count_nonzero(seq[0]) + 1) * c0["row_batches"]


def test_unit_local_mapping():
    for H, N in ((20, 8), (128, 64), (600, 64), (5, 1)):
        order = unit_local_order(H, N)
        rows = np.flatnonzero(order >= 0)
        assert sorted(order[rows]) == list(range(4 * H))
        unit = order[rows] % H
        assert np.array_equal(rows % N, unit % N)  # every gate row of unit u on PE u % N
    m, rng = _model()
    cost = mapping_cost(m.layers[0], rng.random((4, 8)), ArchConfig(n_pe=8))
    assert cost["rows_busiest_pe"] == 12 and cost["rows_mean"] == 10.0


def test_energy_has_the_element_wise_unit():
    m, rng = _model()
    s = simulate(m, rng.random((3, 8)), ArchConfig(n_pe=4))
    rep = energy_report(s, "eie45")
    step = rep.layers[0]
    assert step.by_module["ElemUnit"] > 0
    assert step.by_action["elem_mult"] == pytest.approx(0.775 * 160)
    assert step.by_action["elem_add"] == pytest.approx(0.1 * 180)
    assert "ElemUnit" not in rep.layers[-1].by_module  # the FC layer has none
    assert rep.energy_pj == pytest.approx(sum(r.energy_pj for r in rep.layers))
