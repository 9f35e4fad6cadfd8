"""The figures plot the sweep's data: bar heights, line values, axis limits, colours and label
positions read back from the returned matplotlib Figure (hand-built rows; no cluster)."""

import itertools

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from eie_sim.cli import main  # noqa: E402
from eie_sim.errors import ConfigError  # noqa: E402
from eie_sim.explore.plots import KINDS, pareto_front, plot  # noqa: E402

PES = [1, 2, 4, 8]
LAYERS = {"big@0.5": 256, "small": 40}  # layer -> rows


def _rows(act_regs=64, pes=PES):
    """Sweep-like rows: cycles fall with PEs, padding grows with PEs, accuracy per weight_bits."""
    out = []
    for (layer, rows), n, fifo, sram, wb in itertools.product(LAYERS.items(), pes, [2, 8], [32, 64], [2, 4]):
        real = 1000 * rows // 40
        pad = 10 * n * (2 if layer == "small" else 1)
        cyc = int(real / n * (1.3 if act_regs * n < rows else 1.0) * (1 + 1 / fifo) * (1 + wb / 10)) + 7
        out.append({
            "point_id": f"{n}-{fifo}-{sram}-{wb}", "n_pe": n, "fifo_depth": fifo, "sram_width": sram, "weight_bits": wb,
            "index_bits": 4, "act_bits": 16, "ptr_bits": 17, "act_regs_per_pe": act_regs, "source": "model",
            "layer": layer, "rows": rows, "cols": 100, "cycles": cyc, "entries": real + pad, "padding_entries": pad,
            "row_batches": -(-rows // (act_regs * n)), "load_efficiency": min(1.0, (real + pad) / n / cyc),
            "spmat_sram_reads": 50_000 // sram + 100 * (layer == "small"), "energy_action_spmat_sram_read_pj": 900.0 + sram,
            "energy_pj": 1e5 * (1 + np.log2(n)) * (1 + wb / 4) + fifo + sram / 10, "energy_module_spmatread_pj": 5e4,
            "energy_module_arithmunit_pj": 3e4 * wb, "accuracy": 0.5 + wb / 10, "accuracy_model": "m.npz",
            "accuracy_dataset": "digits", "energy_table": "eie45", "error": ""})
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def df():
    return _rows()


def _lines(ax):
    return {l.get_label(): (np.asarray(l.get_xdata(), float), np.asarray(l.get_ydata(), float)) for l in ax.get_lines()
            if not l.get_label().startswith("_")}


def _disjoint(a, b):
    return a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0


def test_padding_stacks_padding_on_real_work(df):
    fig = plot(df, "padding")
    ax1, ax2 = fig.axes
    ref = df[(df["fifo_depth"] == 8) & (df["sram_width"] == 64) & (df["weight_bits"] == 4)]
    tot = ref.groupby("n_pe")[["entries", "padding_entries"]].sum()
    real = (tot["entries"] - tot["padding_entries"]) / 1e6
    bars = ax2.patches
    assert len(bars) == 2 * len(PES)
    real_h = np.array([b.get_height() for b in bars[:len(PES)]])
    pad_h = np.array([b.get_height() for b in bars[len(PES):]])
    pad_y = np.array([b.get_y() for b in bars[len(PES):]])
    np.testing.assert_allclose(real_h, real.to_numpy())
    np.testing.assert_allclose(real_h, real_h[0])  # real work does not depend on the PE count
    np.testing.assert_allclose(pad_h, tot["padding_entries"].to_numpy() / 1e6)
    np.testing.assert_allclose(pad_y, real_h)  # padding sits on top of the real work
    np.testing.assert_allclose(real_h + pad_h, tot["entries"].to_numpy() / 1e6)  # the stack is `entries`
    # left panel: padding as a share of entries processed, per layer, named in a legend
    lines = _lines(ax1)
    for layer in LAYERS:
        g = ref[ref["layer"] == layer].sort_values("n_pe")
        np.testing.assert_allclose(lines[layer][1], 100 * g["padding_entries"] / g["entries"])
    assert [t.get_text() for t in ax1.get_legend().get_texts()] == list(LAYERS)
    assert ax1.get_ylim()[0] == 0 and ax2.get_ylim()[0] == 0
    assert fig.eie_fixed == {"fifo_depth": 8, "sram_width": 64, "weight_bits": 4}
    assert "held fixed: fifo_depth=8, sram_width=64, weight_bits=4" in ax1.get_title()


def test_speedup_is_over_one_pe_and_captions_fixed_registers(df):
    fig = plot(df, "speedup")
    ax = fig.axes[0]
    lines = _lines(ax)
    ref = df[(df["fifo_depth"] == 8) & (df["sram_width"] == 64) & (df["weight_bits"] == 4)]
    for layer in LAYERS:
        c = ref[ref["layer"] == layer].set_index("n_pe")["cycles"].astype(float)
        np.testing.assert_allclose(lines[layer][0], PES)
        np.testing.assert_allclose(lines[layer][1], c.loc[1] / c.loc[PES].to_numpy())
    np.testing.assert_allclose(lines["linear (ideal)"][1], PES)
    assert "over 1 PE" in ax.get_ylabel() and "over 1 PE" in ax.get_title()
    assert fig.eie_assumption == "fixed"
    assert "fixed at act_regs_per_pe=64" in fig.eie_caption and "super-linear" in fig.eie_caption
    assert "big@0.5 up to 2 PEs" in fig.eie_caption and "--set act_regs_per_pe=" in fig.eie_caption
    assert fig.eie_caption_artist in fig.texts
    # no tick label in 10^x notation
    fig.canvas.draw()
    assert all("^" not in t.get_text() for t in ax.get_yticklabels())


def test_speedup_with_registers_sized_to_the_layer_says_so():
    fig = plot(_rows(act_regs=256), "speedup")
    assert fig.eie_assumption == "sized"
    assert "sized to the layer" in fig.eie_caption and "Fig. 11" in fig.eie_caption
    assert "super-linear" not in fig.eie_caption


def test_speedup_without_a_one_pe_point_says_its_baseline():
    d = _rows(pes=[2, 4, 8])
    fig = plot(d, "speedup")
    ax = fig.axes[0]
    assert "over 2 PEs" in ax.get_ylabel() and "no 1-PE point" in ax.get_ylabel()
    y = _lines(ax)["small"][1]
    assert y[0] == 1.0


@pytest.mark.parametrize("kind", ["speedup", "fifo", "balance", "energy"])
def test_legends_sit_beside_the_axes(df, kind):
    fig = plot(df, kind)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    leg = ax.get_legend().get_window_extent(r)
    assert _disjoint(leg, ax.get_window_extent(r))  # never over the data
    fb = fig.bbox
    assert fb.x0 <= leg.x0 and leg.x1 <= fb.x1 + 1 and fb.y0 <= leg.y0 and leg.y1 <= fb.y1 + 1
    texts = [t.get_window_extent(r) for t in ax.get_legend().get_texts()]
    assert all(_disjoint(a, b) for a, b in itertools.combinations(texts, 2))
    if kind in ("fifo", "balance"):
        assert ax.get_ylim() == (0, 105)
    assert not ax.texts  # no end-of-line labels


def test_sram_width_axes_start_at_zero(df):
    fig = plot(df, "sram-width")
    ax, ax2 = fig.axes
    assert ax.get_ylim()[0] == 0 and ax2.get_ylim()[0] == 0
    ref = df[(df["n_pe"] == 8) & (df["fifo_depth"] == 8) & (df["weight_bits"] == 4)]
    reads = ref.groupby("sram_width")["spmat_sram_reads"].sum() / 1e3
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), reads.to_numpy())
    assert ax.get_ylim()[1] >= reads.max() and ax2.get_ylim()[1] >= ax2.get_lines()[0].get_ydata().max()


def test_pareto_colours_by_pe_count_with_readable_ticks_and_labels(df):
    fig = plot(df, "pareto", accuracy_samples=2000)
    ax = fig.axes[0]
    g = pareto_front(df)
    cols = ax.collections
    assert [c.get_label() for c in cols] == ["1 PE", "2 PEs", "4 PEs", "8 PEs"]
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 4)) for c in cols}
    assert len(colours) == len(PES)  # one colour per PE count
    for c, n in zip(cols, PES):
        s = g[g["n_pe"] == n]
        np.testing.assert_allclose(sorted(c.get_offsets()[:, 0]), sorted(s["energy_pj"] / 1e6))
    assert "accuracy on 2,000 digits test images" in ax.get_ylabel() and "test accuracy" not in ax.get_ylabel()
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text() and t.get_window_extent(r).width > 0]
    assert len(ticks) >= 2 and all("^" not in t and "$" not in t for t in ticks)
    labels = ax.eie_labels
    assert len(labels) == int(g["on_front"].sum()) and [t.get_text() for t in labels] == fig.eie_front_labels
    boxes = [t.get_window_extent(r) for t in labels]
    assert all(_disjoint(a, b) for a, b in itertools.combinations(boxes, 2))
    axb = ax.get_window_extent(r)
    assert all(axb.x0 - 1 <= b.x0 and b.x1 <= axb.x1 + 1 and axb.y0 - 1 <= b.y0 and b.y1 <= axb.y1 + 1 for b in boxes)


def test_pareto_labels_do_not_overlap_when_front_points_crowd():
    """Ten front points within a hair of each other: the labels are pushed apart."""
    d = pd.DataFrame({"weight_bits": np.arange(1, 11), "n_pe": 4, "fifo_depth": 8, "energy_pj": 1e5 + np.arange(10),
                      "accuracy": 0.8 + np.arange(10) * 1e-4, "layer": "fc1", "source": "model", "error": ""})
    fig = plot(d, "pareto")
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in fig.axes[0].eie_labels]
    assert len(boxes) == 10 and all(_disjoint(a, b) for a, b in itertools.combinations(boxes, 2))
    assert "does not record how many" in fig.axes[0].get_ylabel()


def test_layers_filter(df):
    fig = plot(df, "speedup", layers="big")
    assert set(_lines(fig.axes[0])) == {"big@0.5", "linear (ideal)"}
    with pytest.raises(ConfigError, match="not in the sweep"):
        plot(df, "speedup", layers=["nope"])


def test_cli_plot_defaults_to_all_filters_layers_and_says_what_is_fixed(df, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    sweep_file = tmp_path / "s.parquet"
    df.to_parquet(sweep_file)
    assert main(["plot", str(sweep_file), "-o", str(tmp_path / "figs"), "--layers", "small",
                 "--limit-test", "500"]) == 0
    out = capsys.readouterr().out
    for k in KINDS:
        png = tmp_path / "figs" / f"{k}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "speedup.png (held fixed: fifo_depth=8, sram_width=64, weight_bits=4)" in out
    assert main(["plot", str(sweep_file), "-o", str(tmp_path / "one.png")]) == 2
    assert "--kind all (the default)" in capsys.readouterr().err
    assert main(["plot", str(sweep_file), "--kind", "fifo", "--layers", "nope", "-o", str(tmp_path / "f.png")]) == 2
    assert "not in the sweep" in capsys.readouterr().err


def test_pareto_reads_the_sample_count_from_the_rows_and_never_mixes_counts(df):
    rec = df.assign(accuracy_samples=100.0)
    fig = plot(rec, "pareto")  # no option needed: the rows say how many test images
    assert "accuracy on 100 digits test images" in fig.axes[0].get_ylabel()
    assert "every digits test image" in plot(df.assign(accuracy_samples=np.nan), "pareto").axes[0].get_ylabel()
    both = pd.concat([rec, df.assign(accuracy_samples=np.nan, accuracy=df["accuracy"] - 0.1)], ignore_index=True)
    with pytest.raises(ConfigError, match=r"^the rows hold 2 values of accuracy_samples \(100, all\): .*"
                                          r"--limit-test N\|all"):
        plot(both, "pareto")
    fig = plot(both, "pareto", accuracy_samples="all")
    g = pareto_front(df.assign(accuracy=df["accuracy"] - 0.1))
    np.testing.assert_allclose(sorted(fig.axes[0].collections[0].get_offsets()[:, 1]),
                               sorted(100 * g[g["n_pe"] == 1]["accuracy"]))
    assert fig.eie_fixed == {"accuracy_samples": "all"}
    assert "accuracy on 100 " in plot(both, "pareto", accuracy_samples=100).axes[0].get_ylabel()
    with pytest.raises(ConfigError, match=r"^accuracy_samples=50: no row has it \(the sweep has 100, all\)"):
        plot(both, "pareto", accuracy_samples=50)
    tables = pd.concat([df, df.assign(energy_table="horowitz45", energy_pj=df["energy_pj"] * 2)], ignore_index=True)
    with pytest.raises(ConfigError, match=r"2 values of energy_table \(eie45, horowitz45\).*--where energy_table=V"):
        plot(tables, "energy")
    fig = plot(tables, "energy", where={"energy_table": "horowitz45"})
    assert fig.eie_fixed["energy_table"] == "horowitz45" and "energy table horowitz45" in fig.axes[0].get_title()
