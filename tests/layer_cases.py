"""Layer cases shared by every tier (golden model, cycle model, RTL in the Amaranth simulator,
RTL in Verilator): one test class, the device swapped (PyMTL3 style)."""

import numpy as np
import pytest

from eie_sim import ArchConfig, encode, reference_spmv, simulate

from helpers import random_codebook, random_codes

# name, n_pe, fifo_depth, rows, cols, weight density, activation density, index_bits, seed.
# FIFO depths 1 and 8 and 4-bit indices only, so the Verilator tier needs 8 builds.
CASES = [
    ("n1-fifo1", 1, 1, 9, 7, 0.4, 0.8, 4, 1),
    ("n1-fifo8", 1, 8, 9, 7, 0.4, 0.8, 4, 2),
    ("n2-fifo1", 2, 1, 16, 12, 0.3, 0.6, 4, 3),
    ("n2-fifo8-dense", 2, 8, 10, 10, 0.9, 1.0, 4, 4),
    ("n4-fifo1", 4, 1, 24, 20, 0.2, 0.5, 4, 5),
    ("n4-fifo8", 4, 8, 30, 24, 0.25, 0.4, 4, 6),
    ("n8-fifo1", 8, 1, 40, 24, 0.15, 0.6, 4, 7),
    ("n8-fifo8", 8, 8, 48, 32, 0.1, 0.5, 4, 8),
    ("padding-heavy", 2, 8, 64, 8, 0.03, 1.0, 4, 9),
    ("padding-tall", 4, 1, 120, 10, 0.02, 1.0, 4, 10),
    ("more-pes-than-rows", 8, 1, 5, 9, 0.5, 0.8, 4, 11),
    ("zero-activations", 4, 8, 12, 10, 0.5, 0.0, 4, 12),
    ("empty-columns", 4, 1, 16, 16, 0.0, 1.0, 4, 13),
]
IDS = [c[0] for c in CASES]


def make_case(case):
    name, n_pe, depth, rows, cols, wd, ad, ib, seed = case
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, rows, cols, wd, 4)
    if name == "empty-columns":
        codes[:, ::2] = 0
        codes[1::3, 1::2] = 5
    cb = random_codebook(rng, 4, 0.4)
    acts = np.abs(rng.normal(size=cols)) * (rng.random(cols) < ad)
    cfg = ArchConfig(n_pe=n_pe, fifo_depth=depth, index_bits=ib)
    return encode(codes, cb, n_pe=n_pe, index_bits=ib), acts, cfg


class LayerCases:
    """Subclasses set ``run`` to a function (layer, activations, config) -> (outputs, cycles or None)."""

    @staticmethod
    def run(layer, acts, cfg):  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.mark.parametrize("case", CASES, ids=IDS)
    def test_case(self, case):
        layer, acts, cfg = make_case(case)
        out, cycles = type(self).run(layer, acts, cfg)
        gold = reference_spmv(layer, acts, cfg)
        assert np.asarray(out).tolist() == gold.output_fixed.tolist()
        if cycles is not None:
            model = simulate(layer, acts, cfg)
            assert cycles == model.cycles, f"{case[0]}: cycles {cycles} != cycle model {model.cycles}"
