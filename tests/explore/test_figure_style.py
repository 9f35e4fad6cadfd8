"""Figures that stay stable: every figure kind, drawn for different layer subsets and orders, gives
a layer the same colour, lists the layers in the order given, is saved at 150 dpi and labels its
log axes with at least four ticks when the data span two decades (hand-built rows; no cluster)."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL.Image")

from matplotlib.colors import to_hex  # noqa: E402

from eie_sim.codesign import report  # noqa: E402
from eie_sim.explore.plots import KINDS, plot, select_layers  # noqa: E402
from eie_sim.explore.style import DPI, layer_order, layer_style  # noqa: E402

PES = [1, 2, 4, 8, 16, 32, 64, 128]  # speedup and energy span more than two decades
SOURCES = {"alex7@0.1": ["alex7@0.1"], "vgg6": ["vgg6"], "m.npz": ["fc1", "fc2"]}  # sweep source -> its layers
ROWS = {"alex7@0.1": 410, "vgg6": 410, "fc1": 300, "fc2": 100}
SUBSETS = [["fc2", "alex7", "vgg6"], ["vgg6", "fc1", "alex7", "fc2"]]
LINE_KINDS = ("speedup", "fifo", "padding", "balance")


def _rows() -> pd.DataFrame:
    """Sweep-like rows of four layers (two Table III, two of a model), shuffled: the figures must
    not take their order or colours from the rows' order."""
    out = []
    for (src, layers), n, fifo, sram, wb in itertools.product(SOURCES.items(), PES, [2, 8], [32, 64], [2, 4]):
        for layer in layers:
            real, pad = 40 * ROWS[layer], 10 * n
            cyc = int(real / n * (1 + 1 / fifo)) + 7
            out.append({
                "point_id": f"{n}-{fifo}-{sram}-{wb}", "n_pe": n, "fifo_depth": fifo, "sram_width": sram,
                "weight_bits": wb, "index_bits": 4, "act_bits": 16, "ptr_bits": 17, "act_regs_per_pe": 4096,
                "source": "model" if src == "m.npz" else "table3", "source_name": src, "layer": layer,
                "rows": ROWS[layer], "cols": 100, "cycles": cyc, "entries": real + pad, "padding_entries": pad,
                "row_batches": 1, "load_efficiency": min(1.0, (real + pad) / n / cyc),
                "spmat_sram_reads": 50_000 // sram, "energy_action_spmat_sram_read_pj": 900.0 + sram,
                "energy_pj": 1e4 * n * (1 + wb / 4) + fifo, "energy_module_spmatread_pj": 5e4,
                "energy_module_arithmunit_pj": 3e4 * wb, "accuracy": 0.5 + wb / 10 + n / 1e4,
                "accuracy_model": "m.npz", "accuracy_dataset": "digits", "energy_table": "eie45",
                "run_layers": json.dumps(list(SOURCES)), "error": ""})
    return pd.DataFrame(out).sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def df():
    return _rows()


def _expand(given):
    names = [n for s in SOURCES.values() for n in s]
    return [h for g in given for h in names if h == g or h.partition("@")[0] == g]


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _layer_colours(fig, kind) -> dict:
    """{layer: colour} as drawn: the per-layer lines, the energy figure's layer tick labels, else
    the figure's own record (sram-width and pareto draw no per-layer artist)."""
    ax = fig.axes[0]
    if kind in LINE_KINDS:
        return {l.get_label(): to_hex(l.get_color()) for l in ax.get_lines() if l.get_label() in fig.eie_layer_order}
    if kind == "energy":
        return {t.get_text(): to_hex(t.get_color()) for t in ax.get_xticklabels()}
    return dict(fig.eie_layer_colours)


def _labelled_ticks(axis) -> int:
    lo, hi = sorted(axis.get_view_interval())
    return sum(1 for t, v in zip(axis.get_ticklabels(), axis.get_ticklocs()) if t.get_text() and lo <= v <= hi)


def _png_dpi(path) -> float:
    with PIL.open(path) as im:
        return float(im.info["dpi"][0])


@pytest.mark.parametrize("given", SUBSETS, ids=lambda g: "-".join(g))
def test_every_kind_keeps_colour_order_and_dpi(df, given, tmp_path):
    order = _expand(given)
    want = layer_style(order)
    for kind in KINDS:
        path = tmp_path / f"{kind}.png"
        fig = plot(df, kind, path, layers=given)
        assert fig.eie_layer_order == order, kind
        assert _layer_colours(fig, kind) == {n: to_hex(want[n]) for n in order}, kind
        if kind in LINE_KINDS:
            assert _legend(fig.axes[0])[:len(order)] == order, kind
        if kind == "energy":
            assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == order
        assert fig.dpi == DPI == 150 and round(_png_dpi(path)) == 150, kind


def test_a_layer_has_one_colour_whatever_else_is_drawn(df):
    seen = {}
    for given in SUBSETS + [["fc2"], ["alex7", "fc1"]]:
        for kind in LINE_KINDS:
            for name, colour in _layer_colours(plot(df, kind, layers=given), kind).items():
                assert seen.setdefault(name, colour) == colour, (name, kind, given)
    assert len(set(seen.values())) == len(seen)  # four layers, four colours


def test_without_a_choice_the_order_is_the_sweeps_layer_list(df):
    assert layer_order(df) == ["alex7@0.1", "vgg6", "fc1", "fc2"]  # the rows are shuffled
    assert _legend(plot(df, "fifo").axes[0])[:4] == ["alex7@0.1", "vgg6", "fc1", "fc2"]
    picked = select_layers(df, "fc2,vgg6")  # as `eie-sim plot --layers` does before plot()
    assert _legend(plot(picked, "balance").axes[0])[:2] == ["fc2", "vgg6"]


def test_log_axes_label_at_least_four_ticks(df):
    speed = plot(df, "speedup")
    speed.canvas.draw()
    assert _labelled_ticks(speed.axes[0].yaxis) >= 4  # speedup 1 to 128
    par = plot(df, "pareto")
    par.canvas.draw()
    x = par.axes[0].xaxis
    lo, hi = sorted(x.get_view_interval())
    assert hi / lo >= 100 and _labelled_ticks(x) >= 4
    assert all("^" not in t.get_text() and "e+" not in t.get_text() for t in x.get_ticklabels())


def _codesign_rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"kind": "candidate", "error": None, "point_id": f"p{i}", "energy_pj": e, "latency_us": e / 1e4,
             "accuracy": 0.8 + 0.05 * np.log10(e / 2e4) + rng.normal(0, 0.01), "n_pe": n, "fifo_depth": 8,
             "sram_width": 64, "index_bits": 4}
            for i, (e, n) in enumerate(zip(np.geomspace(2e4, 5e6, 60), itertools.cycle([1, 4, 16])))]
    rows += [{"kind": "reference", "error": None, "point_id": f"r{n}", "energy_pj": 3e6, "latency_us": 300.0 / n,
              "accuracy": 0.6, "n_pe": n, "fifo_depth": 8, "sram_width": 64, "index_bits": 4} for n in (1, 4, 16)]
    d = pd.DataFrame(rows)
    return d.assign(accuracy_rank=d["accuracy"])


def test_codesign_figures_hold_what_their_legend_names(tmp_path, monkeypatch):
    d = _codesign_rows()
    best, _, _ = report.choose_best(d)
    figs = []
    monkeypatch.setattr(report, "_caption", lambda fig, text, f=report._caption: (figs.append(fig), f(fig, text)))
    paths = report.figures(d, tmp_path, best, "t")
    assert len(figs) == 2 and all(round(_png_dpi(p)) == 150 for p in paths)
    for fig, x, scale in zip(figs, ("energy_pj", "latency_us"), (1e3, 1.0)):
        ax = fig.axes[0]
        fig.canvas.draw()
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        ref = d[d["kind"] == "reference"]
        for xv, yv in [*zip(ref[x] / scale, 100 * ref["accuracy"]), (best[x] / scale, 100 * best["accuracy"])]:
            assert x0 <= xv <= x1 and y0 <= yv <= y1  # the reference and the star are on the axes
        assert fig.eie_caption.startswith("chosen: the most accurate design by test accuracy whose energy per "
                                          "inference is below the reference model's on the same hardware point")
        assert _labelled_ticks(ax.xaxis) >= 4
