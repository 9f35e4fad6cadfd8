import json

import numpy as np
import pytest

from eie_sim import ArchConfig, EIEError, benchmarks, encode, reference_spmv, simulate
from eie_sim.cli import main
from eie_sim.contract.fixedpoint import quantize_fixed


def test_suite_matches_table_iii():
    assert benchmarks.NAMES == ("alex6", "alex7", "alex8", "vgg6", "vgg7", "vgg8", "ntwe", "ntwd", "ntlstm")
    assert benchmarks.TABLE_III["vgg6"][:4] == (25088, 4096, 4.0, 18.3)
    assert benchmarks.TABLE_III["ntwd"][:4] == (600, 8791, 11.0, 100.0)


@pytest.mark.parametrize("name", benchmarks.NAMES)
def test_generated_layer_statistics(name):
    b = benchmarks.get(name, seed=0, scale=0.25)
    n_in, n_out, wd, ad, _ = benchmarks.TABLE_III[name]
    assert b.codes.shape == (round(n_out * 0.25), round(n_in * 0.25))
    assert b.codebook[0] == 0.0 and b.codebook.size == 16
    assert 100 * np.count_nonzero(b.codes) / b.codes.size == pytest.approx(wd, rel=0.05)
    assert 100 * np.count_nonzero(b.activations) / b.activations.size == pytest.approx(ad, abs=4.0)
    assert np.all(b.activations >= 0)
    again = benchmarks.get(name, seed=0, scale=0.25)
    assert np.array_equal(b.codes, again.codes) and np.array_equal(b.activations, again.activations)
    other = benchmarks.get(name, seed=1, scale=0.25)
    assert not np.array_equal(b.codes, other.codes)


@pytest.mark.parametrize("name", benchmarks.NAMES)
def test_full_size_layer_bit_exact_against_golden(name):
    b = benchmarks.get(name)
    cfg = ArchConfig()
    enc = encode(b.codes, b.codebook, n_pe=cfg.n_pe)
    res = simulate(enc, b.activations, cfg)
    gold = reference_spmv(enc, b.activations, cfg)
    assert np.array_equal(res.output_fixed, gold.output_fixed)
    # activations that round to zero in the fixed-point format are not broadcast
    live = quantize_fixed(b.activations, gold.act_format) != 0
    assert res.counters["macs_real"] == int(np.count_nonzero(b.codes[:, live]))
    assert res.counters["broadcasts"] == res.counters["row_batches"] * int(np.count_nonzero(live))
    assert 0.5 < res.load_efficiency <= 1.0


def test_bad_benchmark_arguments():
    with pytest.raises(EIEError, match="benchmark='alex9'"):
        benchmarks.get("alex9")
    with pytest.raises(EIEError, match="scale=0"):
        benchmarks.get("alex6", scale=0)
    with pytest.raises(EIEError, match="seed=-1"):
        benchmarks.get("alex6", seed=-1)


def test_cli_run_json(capsys):
    assert main(["run", "alex8", "--scale", "0.1", "--pes", "8", "--fifo-depth", "2", "--sram-width", "128", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out.strip())
    for key in ("layer", "n_pe", "fifo_depth", "sram_width", "cycles", "latency_us", "load_efficiency", "entries",
                "padding_entries", "counters"):
        assert key in rec
    assert (rec["layer"], rec["n_pe"], rec["fifo_depth"], rec["sram_width"]) == ("alex8", 8, 2, 128)
    b = benchmarks.get("alex8", scale=0.1)
    direct = simulate((b.codes, b.codebook), b.activations, ArchConfig(n_pe=8, fifo_depth=2, sram_width=128))
    assert rec["cycles"] == direct.cycles and rec["counters"] == direct.counters


def test_cli_run_text_and_model(tmp_path, capsys):
    assert main(["run", "ntlstm", "--scale", "0.05", "--pes", "4"]) == 0
    out = capsys.readouterr().out
    assert "cycles" in out and "load efficiency" in out and "per PE busy" in out
    path = tmp_path / "ex.npz"
    main(["example", "-o", str(path)])
    capsys.readouterr()
    assert main(["run", str(path), "--pes", "4", "--json"]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.strip().splitlines()]
    assert [l["layer"] for l in lines] == ["fc1", "fc2", "fc3"]


def test_cli_bench(capsys):
    assert main(["bench", "--scale", "0.05", "--pes", "4", "--json"]) == 0
    rows = [json.loads(l) for l in capsys.readouterr().out.strip().splitlines()]
    assert [r["layer"] for r in rows] == list(benchmarks.NAMES)
    assert main(["bench", "--scale", "0.05", "--pes", "4", "--layers", "alex6,vgg8"]) == 0
    out = capsys.readouterr().out
    assert "alex6" in out and "vgg8" in out and "ntwe" not in out


@pytest.mark.parametrize("args, match", [
    (["run", "nonsense"], "neither a model file nor a benchmark"),
    (["run", "alex6", "--fifo-depth", "0"], "fifo_depth=0"),
    (["bench", "--pes", "0"], "n_pe=0"),
    (["bench", "--layers", "alex6,foo", "--scale", "0.01"], "benchmark='foo'"),
])
def test_cli_errors(capsys, args, match):
    assert main(args) == 2
    assert match in capsys.readouterr().err
