"""The layer-kind protocol: a new kind is one class per tier (the contract's LayerKind, the cycle
model's step), and the model file, the golden chain (one sample and batch), the float view and
the cycle model then run it with no other change. The kind here, ``halve``, exists only in this
test: an fc layer whose outputs are divided by 2**shift (round half up) before the next layer."""

from dataclasses import replace
from math import floor

import re

import numpy as np
import pytest

from eie_sim import ArchConfig, ConfigError, EncodingError, Model, ModelFileError, ModelLayer, load_model, \
    reference_forward, reference_spmv, save_model, simulate
from eie_sim.contract.fixedpoint import round_shift
from eie_sim.contract.golden import reference_forward_batch
from eie_sim.contract.kinds import base
from eie_sim.contract.kinds.fc import FC
from eie_sim.cycle import steps
from eie_sim.cycle.simulator import fc_step
from eie_sim.train.compress import float_forward

from helpers import random_codebook, random_codes


class Halve(FC):
    name = "halve"
    fields = ("shift",)

    def check(self, layer, params, where):
        s = params.get("shift")
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= 4 or set(params) != {"shift"}:
            raise EncodingError(f"{where}: shift={s!r}; expected an integer in 0..4")
        return {"shift": s}

    def read(self, rec, where):
        if not isinstance(rec.get("shift"), int):
            raise ModelFileError(f"{where}: field 'shift'={rec.get('shift')!r}; expected an integer")
        return {"shift": rec["shift"]}

    @staticmethod
    def halved(res, layer):
        q = round_shift(res.output_fixed, layer.params["shift"], res.out_format.bits)
        return replace(res, output_fixed=q, output=np.ldexp(q.astype(np.float64), -res.out_format.frac))

    def golden(self, layer, x, config, *, act_frac=None, fixed_input=False):
        return self.halved(super().golden(layer, x, config, act_frac=act_frac, fixed_input=fixed_input), layer)

    def golden_batch(self, layer, x, q, config, *, saturation):
        out, counts = super().golden_batch(layer, x, q, config, saturation=saturation)
        return round_shift(out, layer.params["shift"], layer.act_bits), counts

    def float_forward(self, layer, h):
        return super().float_forward(layer, h) / 2 ** layer.params["shift"]


def halve_step(layer, x, config, *, act_frac=None, fixed_input=False):
    return [Halve.halved(r, layer) for r in fc_step(layer, x, config, act_frac=act_frac, fixed_input=fixed_input)]


@pytest.fixture
def halve_kind(monkeypatch):
    monkeypatch.setitem(base._REGISTRY, "halve", Halve())  # registered for this test only
    monkeypatch.setitem(steps._STEPS, "halve", halve_step)


def _model(seed=0, kind="halve"):
    rng = np.random.default_rng(seed)
    cb1, cb2 = random_codebook(rng, 4, 0.3), random_codebook(rng, 4, 0.3)
    l1 = ModelLayer(name="h1", codebook=cb1, codes=random_codes(rng, 24, 40, 0.3, 4), kind=kind,
                    params={"shift": 2} if kind == "halve" else {}, in_frac=14, w_frac=14, out_frac=11)
    l2 = ModelLayer(name="fc2", codebook=cb2, codes=random_codes(rng, 10, 24, 0.4, 4), in_frac=11, w_frac=14,
                    out_frac=10, bias=rng.normal(0, 0.1, 10))
    return Model(layers=(l1, l2), meta={"name": "halve-test"})


def test_a_new_kind_runs_through_file_golden_batch_float_and_cycle_model(halve_kind, tmp_path):
    model = _model()
    back = load_model(save_model(model, tmp_path / "h.npz"))
    assert back.layers[0].kind == "halve" and back.layers[0].params == {"shift": 2}
    assert back.layers[0].shift == 2  # a kind's field reads as an attribute

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (6, 40))
    plain = replace(model.layers[0], kind="fc", params={})  # the same matrix as a plain fc layer
    for xi in x:
        y1 = reference_spmv(plain, xi).output_fixed
        want1 = np.array([floor(int(v) / 4 + 0.5) for v in y1])  # round half up, Python integers
        want = reference_spmv(model.layers[1], want1, act_frac=11, fixed_input=True).output_fixed
        got = reference_forward(back, xi)
        assert np.array_equal(got.layers[0].output_fixed, want1)
        assert np.array_equal(got.output_fixed, want)
        assert np.array_equal(simulate(back, xi, ArchConfig(n_pe=4)).output_fixed, want)
    batch = reference_forward_batch(back, x)
    assert np.array_equal(batch, np.stack([reference_forward(back, xi).output_fixed for xi in x]))
    fl = float_forward(back, x)
    w1 = plain.codebook[plain.codes]
    w2 = model.layers[1].codebook[model.layers[1].codes]
    assert np.allclose(fl, (x @ w1.T / 4) @ w2.T + model.layers[1].bias, rtol=1e-12, atol=1e-12)


def test_a_kind_without_a_cycle_step_is_refused_by_name(monkeypatch):
    monkeypatch.setitem(base._REGISTRY, "halve", Halve())
    with pytest.raises(ConfigError, match="kind='halve': the cycle model has no step for it"):
        simulate(_model(), np.ones(40), ArchConfig(n_pe=4))


def test_unregistered_kinds_and_foreign_fields_are_refused():
    assert base.kind_names()[:2] == ("fc", "lstm")
    with pytest.raises(EncodingError, match=re.escape(f"kind='halve'; expected one of {base.kind_names()}")):
        _model()
    with pytest.raises(EncodingError, match="params=.*kind 'fc' has no parameters"):
        ModelLayer(name="x", codebook=np.array([0.0, 0.5]), codes=np.ones((2, 3), np.uint8), params={"hidden": 1})
    with pytest.raises(AttributeError, match="has no attribute 'hidden'"):
        _ = _model(kind="fc").layers[0].hidden
    with pytest.raises(EncodingError, match="already registered"):
        base.register(type("Other", (FC,), {"name": "fc"})())
