"""The same layer cases through the golden model, the cycle model and the RTL."""

import numpy as np
import pytest

from eie_sim import reference_spmv, simulate

from layer_cases import LayerCases


class TestGoldenModel(LayerCases):
    @staticmethod
    def run(layer, acts, cfg):
        return reference_spmv(layer, acts, cfg).output_fixed, None


class TestCycleModel(LayerCases):
    @staticmethod
    def run(layer, acts, cfg):
        r = simulate(layer, acts, cfg)
        return r.output_fixed, r.cycles


@pytest.mark.rtl
class TestRTLAmaranthSim(LayerCases):
    @staticmethod
    def run(layer, acts, cfg):
        from eie_rtl.pysim import run_pysim

        out, cycles, _ = run_pysim(layer, acts, cfg)
        return out, cycles


def _cosim(layer, acts, cfg, **limits):
    from eie_rtl.verilator import BuildSpec, run_cosim

    spec = BuildSpec.for_config(cfg, **{"max_cols": 32, "max_rows": 32, "spmat_words": 64, **limits})
    return run_cosim(layer, acts, cfg, spec=spec)


@pytest.mark.rtl
class TestRTLVerilator(LayerCases):
    """The Verilog of the same design, in Verilator under cocotb: one build per (n_pe,
    fifo_depth, index_bits), reused by every case that fits it."""

    @staticmethod
    def run(layer, acts, cfg):
        res = _cosim(layer, acts, cfg)
        # the deviation between RTL and model cycles, reported per case (pinned at 0 by the class)
        print(f"cycles_rtl={res['cycles_rtl']} cycles_model={res['cycles_model']} "
              f"deviation={res['cycles_rtl'] - res['cycles_model']}")
        return res["outputs"], res["cycles_rtl"]


@pytest.mark.rtl
def test_scaled_table_iii_layer_end_to_end():
    """A scaled-down Table III layer (AlexNet fc7 at 3%: 123 x 123, 9% weights, 35% activations)
    through golden model, cycle model and Verilator."""
    from eie_sim import ArchConfig, benchmarks, encode, reference_spmv, simulate

    b = benchmarks.get("alex7", scale=0.03)
    cfg = ArchConfig(n_pe=4, fifo_depth=8)
    layer = encode(b.codes, b.codebook, n_pe=4)
    res = _cosim(layer, b.activations, cfg, max_cols=128, max_rows=32, spmat_words=64)
    assert res["outputs_match"], res["first_mismatch"]
    assert res["outputs"].tolist() == reference_spmv(layer, b.activations, cfg).output_fixed.tolist()
    assert res["cycles_rtl"] == res["cycles_model"] == simulate(layer, b.activations, cfg).cycles
