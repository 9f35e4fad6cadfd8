"""meta['sequence'] and meta['codesign'] are checked when a model file is loaded: a malformed
field is one ModelFileError line naming it, and golden/run/info/export fail with that one line."""

import numpy as np
import pytest

from eie_sim.cli import main
from eie_sim.contract.model import Model, ModelLayer, load_model, save_model
from eie_sim.errors import ModelFileError


def _lstm_model():
    rng = np.random.default_rng(0)
    codes = (rng.random((8, 3 + 2 + 1)) < 0.5).astype(np.uint8) * rng.integers(1, 16, (8, 6)).astype(np.uint8)
    cb = np.r_[0.0, np.linspace(-1, 1, 15)]
    return Model(layers=(ModelLayer(name="lstm", codebook=cb, codes=codes, kind="lstm", params={"hidden": 2}),))


@pytest.mark.parametrize("meta, field", [
    ({"sequence": [4, 3]}, "meta['sequence']=[4, 3]; expected an object"),
    ({"sequence": "4x3"}, "meta['sequence']='4x3'"),
    ({"sequence": {"steps": -2, "features": 3}}, "meta['sequence']['steps']=-2; expected an integer in 1.."),
    ({"sequence": {"steps": float("nan"), "features": 3}}, "meta['sequence']['steps']=nan"),
    ({"sequence": {"steps": 2.5, "features": 3}}, "meta['sequence']['steps']=2.5"),
    ({"sequence": {"steps": 4, "features": 7}}, "meta['sequence']['features']=7; the lstm layer reads 3"),
    ({"codesign": [16]}, "meta['codesign']=[16]; expected an object"),
    ({"codesign": {"n_pe": 0}}, "meta['codesign']['n_pe']=0; expected an integer in 1..65536"),
    ({"codesign": {"fifo_depth": True}}, "meta['codesign']['fifo_depth']=True"),
    ({"codesign": {"sram_width": "64"}}, "meta['codesign']['sram_width']='64'"),
])
def test_malformed_meta_is_refused_at_load_and_by_every_command(tmp_path, capsys, meta, field):
    m = _lstm_model()
    path = tmp_path / "m.npz"
    save_model(Model(layers=m.layers, meta=meta), path)
    with pytest.raises(ModelFileError, match=field.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        load_model(path)
    for cmd in (["info"], ["golden"], ["run"], ["export", "-o", str(tmp_path / "x.onnx")]):
        argv = [cmd[0], str(path), *cmd[1:]]
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and field in err[0], (argv, err)


def test_well_formed_meta_loads(tmp_path):
    m = _lstm_model()
    path = tmp_path / "m.npz"
    save_model(Model(layers=m.layers, meta={"sequence": {"steps": 4, "features": 3}, "codesign": {"n_pe": 8}}), path)
    assert load_model(path).meta["sequence"]["steps"] == 4
