"""Full-size Table III layers on the paper's configuration (64 PEs, FIFO 8, 64-bit spmat words,
64 source and destination registers per PE) in Verilator: one build holds every Table III layer
(:func:`eie_rtl.verilator.table3_spec`; about 8 minutes to build, then reused). Outputs against
the golden model, cycles and every event counter against the cycle model.

Slow: run with ``make test-rtl-full`` (``pytest -m slow tests/rtl/test_rtl_full_scale.py``)."""

import pytest

from eie_sim import ArchConfig, encode, reference_spmv, simulate
from eie_sim.cycle import suite

pytestmark = [pytest.mark.rtl, pytest.mark.slow]

# alex7 and ntwe: one pass; ntlstm: the LSTM matrix; alex6 and vgg6: input batches (9,216 and
# 25,088 inputs > 4,096 registers); ntwd: row batches (8,791 outputs)
LAYERS = ["alex7", "ntwe", "ntlstm", "alex6", "ntwd", "vgg6"]


@pytest.fixture(scope="module")
def spec():
    from eie_rtl.verilator import table3_spec

    return table3_spec(ArchConfig())


@pytest.mark.parametrize("name", LAYERS)
def test_full_size_table_iii_layer(spec, name):
    from eie_rtl.verilator import run_cosim

    cfg = ArchConfig()
    b = suite.get(name)
    layer = encode(b.codes, b.codebook, n_pe=64)
    res = run_cosim(layer, b.activations, cfg, spec=spec)
    print(f"{name} {layer.n_rows}x{layer.n_cols}: cycles_rtl {res['cycles_rtl']} cycles_model {res['cycles_model']} "
          f"counters_match {res['counters_match']} seconds {res['seconds']}")
    assert res["outputs"].tolist() == reference_spmv(layer, b.activations, cfg).output_fixed.tolist()
    sim = simulate(layer, b.activations, cfg)
    assert res["cycles_rtl"] == sim.cycles
    assert res["counters_match"], res["counters_differ"]
    c = res["counters_rtl"]
    assert c["row_batches"] == -(-layer.n_rows // 4096) and c["input_batches"] == -(-layer.n_cols // 4096)
