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
