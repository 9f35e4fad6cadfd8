"""A sweep over a CNN model file (conv + fc layers): every row equals the cycle model and the
energy report run directly on the same layer, input and configuration, conv counters included,
and the CLI sweeps it too."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.distributed")
pytest.importorskip("pyarrow")

from eie_sim import ArchConfig, energy_report, simulate, sweep  # noqa: E402
from eie_sim.cli import main  # noqa: E402
from eie_sim.contract.golden import reference_forward  # noqa: E402
from eie_sim.contract.model import load_model, save_model  # noqa: E402
from eie_sim.cycle.conv import CONV_COUNTERS  # noqa: E402
from eie_sim.train.compress import apply_sparsity, export_model, share_weights  # noqa: E402
from eie_sim.train.nn import lenet5  # noqa: E402

SPACE = {"n_pe": [2, 8], "fifo_depth": [1, 4]}


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    rng = np.random.default_rng(5)
    net = lenet5(rng, side=16)
    apply_sparsity(net, [0.4, 0.7, 0.9, 0.8])
    share_weights(net, 4, seed=0)
    x = rng.random((8, 1, 16, 16)).astype(np.float32)
    return save_model(export_model(net, x, name="cnn"), tmp_path_factory.mktemp("cnn") / "cnn.npz")


def test_rows_of_a_cnn_equal_direct_simulation(cnn, tmp_path):
    df = sweep(SPACE, [str(cnn)], workers=1, out=tmp_path / "s.parquet")
    assert df["error"].isna().all() and len(df) == 4 * 4
    model = load_model(cnn)
    x = np.random.default_rng(0).random(model.n_inputs)  # no dataset fits: the seeded uniform input (seed 0)
    for (n_pe, depth), rows in df.groupby(["n_pe", "fifo_depth"]):
        cfg = ArchConfig(n_pe=int(n_pe), fifo_depth=int(depth))
        res = simulate(model, x, cfg)
        assert np.array_equal(res.output_fixed, reference_forward(model, x).output_fixed)
        rep = energy_report(res, "eie45")
        assert rows["layer"].tolist() == ["conv1", "conv2", "fc1", "fc2"]
        for (_, row), lay, e in zip(rows.iterrows(), res.layers, rep.layers):
            assert row["cycles"] == lay.cycles
            assert row["energy_pj"] == pytest.approx(e.energy_pj)
            for c in CONV_COUNTERS:
                assert row[c] == lay.counters.get(c, 1 if c == "positions" else 0), c
        # 16x16 image, 5x5 kernels, no padding: 12x12 positions, then 2x2 pooling and 6x6 -> 2x2
        assert rows["positions"].tolist() == [144, 4, 1, 1]
    # more PEs: fewer cycles on every conv layer (positions x the per-position SpMV)
    c = df[df["fifo_depth"] == 4].pivot(index="layer", columns="n_pe", values="cycles")
    assert (c.loc[["conv1", "conv2"], 8] < c.loc[["conv1", "conv2"], 2]).all()


def test_cli_sweeps_a_cnn(cnn, tmp_path, capsys):
    out = tmp_path / "cli.parquet"
    assert main(["sweep", "--pes", "2,8", "--layers", str(cnn), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    df = pd.read_parquet(out)
    assert sorted(df["layer"].unique()) == ["conv1", "conv2", "fc1", "fc2"] and df["error"].isna().all()
    assert (df.loc[df["layer"].str.startswith("conv"), "fmap_reads"] > 0).all()
