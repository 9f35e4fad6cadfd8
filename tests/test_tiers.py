"""The same layer cases through the golden model, the cycle model and the RTL."""

from pathlib import Path

import numpy as np
import pytest

from eie_sim import reference_spmv, simulate

from layer_cases import LayerCases

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "lenet300-fashion.npz"


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


@pytest.mark.rtl
@pytest.mark.parametrize("index_bits, n_pe, fifo_depth", [(1, 2, 4), (2, 4, 2), (3, 1, 1)])
def test_rtl_narrow_indices_padding_heavy(index_bits, n_pe, fifo_depth):
    """1- to 3-bit relative indices: most entries are padding; 10 or 5 entries per spmat word."""
    from eie_sim import ArchConfig, encode, reference_spmv, simulate
    from eie_rtl.pysim import run_pysim

    from helpers import random_codebook, random_codes

    rng = np.random.default_rng(20 + index_bits)
    codes = random_codes(rng, 40, 9, 0.06, 4)
    cb = random_codebook(rng, 4, 0.4)
    acts = np.abs(rng.normal(size=9))
    cfg = ArchConfig(n_pe=n_pe, fifo_depth=fifo_depth, index_bits=index_bits)
    layer = encode(codes, cb, n_pe=n_pe, index_bits=index_bits)
    assert layer.padding_per_pe.sum() > layer.nnz / 2
    out, cycles, _ = run_pysim(layer, acts, cfg)
    assert out.tolist() == reference_spmv(layer, acts, cfg).output_fixed.tolist()
    assert cycles == simulate(layer, acts, cfg).cycles


def _cosim(layer, acts, cfg, **limits):
    from eie_rtl.verilator import BuildSpec, run_cosim

    spec = BuildSpec.for_config(cfg, **{"max_cols": 128, "ptr_words": 129, "spmat_words": 64, "bias_words": 32, **limits})
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
        assert res["counters_match"], res["counters_differ"]
        return res["outputs"], res["cycles_rtl"]


@pytest.mark.rtl
def test_scaled_table_iii_layer_end_to_end():
    """A scaled-down Table III layer (AlexNet fc7 at 3%: 123 x 123, 9% weights, 35% activations)
    through golden model, cycle model and Verilator."""
    from eie_sim import ArchConfig, suite, encode, reference_spmv, simulate

    b = suite.get("alex7", scale=0.03)
    cfg = ArchConfig(n_pe=4, fifo_depth=8)
    layer = encode(b.codes, b.codebook, n_pe=4)
    res = _cosim(layer, b.activations, cfg)
    assert res["outputs_match"], res["first_mismatch"]
    assert res["outputs"].tolist() == reference_spmv(layer, b.activations, cfg).output_fixed.tolist()
    assert res["cycles_rtl"] == res["cycles_model"] == simulate(layer, b.activations, cfg).cycles
    assert res["counters_match"], res["counters_differ"]


@pytest.mark.rtl
def test_shipped_model_first_layer_end_to_end():
    """The shipped LeNet-300-100 (Fashion-MNIST) fc1, 300 x 784 with its bias, ReLU and
    calibrated fixed-point formats, on 16 PEs (784 inputs need 16 x 64 activation registers):
    a real test image through golden model, cycle model and Verilator."""
    from eie_sim import ArchConfig, load_model, reference_spmv, simulate

    model = load_model(MODEL_PATH)
    fc1 = model.layers[0]
    cfg = ArchConfig(n_pe=16, fifo_depth=8, weight_bits=fc1.weight_bits, index_bits=fc1.index_bits)
    rng = np.random.default_rng(0)
    acts = rng.random(fc1.shape[1]) * (rng.random(fc1.shape[1]) < 0.5)  # image-like: half the pixels dark
    layer = fc1.compressed(16)
    from eie_rtl.verilator import run_cosim

    res = run_cosim(layer, acts, cfg, source=fc1)  # a build sized for this layer
    gold = reference_spmv(fc1, acts, cfg)
    assert res["outputs_match"], res["first_mismatch"]
    assert res["outputs"].tolist() == gold.output_fixed.tolist()
    assert res["cycles_rtl"] == res["cycles_model"] == simulate(fc1, acts, cfg).cycles
