"""Figures from a sweep's DataFrame (matplotlib, headless), after the EIE paper's Section VI.

Each plot varies one field; every other swept field is held at a reference value (the
:class:`ArchConfig` default when the sweep has it, else the middle value), and the title says
which (the figure also keeps it in ``fig.eie_fixed``). Kinds: ``speedup`` (Fig. 11), ``fifo``
(Fig. 8), ``padding`` (Fig. 12), ``balance`` (Fig. 13), ``sram-width`` (Fig. 9), ``energy``
(breakdown by module) and ``pareto`` (accuracy against energy per inference).

Lines are named in a legend beside the axes (never over the data); the Pareto front's
configurations are labelled directly, pushed apart so that no two labels overlap. Axes on which a
ratio is read start at zero. The speedup figure is baselined at 1 PE when the sweep has it and
says in a caption whether the activation registers were fixed (``act_regs_per_pe`` = 64: with few
PEs a layer's rows run in several row batches, each re-broadcasting the input, so speedup is
super-linear) or sized to the layer (``act_regs_per_pe`` x PEs >= rows, the assumption of the
paper's Fig. 11: near-linear). Sweep with ``--set act_regs_per_pe=R`` (R >= a layer's rows) for
the latter.

Every figure draws a layer in the same colour and lists the layers in the order given
(:mod:`.style`: ``layers=``, the sweep's layer list, else the rows' order); figures are saved at
150 dpi with nothing clipped, and log axes are labelled in plain numbers.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..config import ArchConfig
from ..errors import ConfigError, describe
from .run_key import select_run
from .style import DPI, layer_marker, layer_order, layer_style, plain_log_ticks

if TYPE_CHECKING:  # annotations only: importing KINDS (the CLI's parser) must not import pandas
    import pandas as pd

__all__ = ["KINDS", "plot", "reference_slice", "pareto_mask", "pareto_front", "select_layers", "plain_log_ticks",
           "layer_style"]

KINDS = ("speedup", "fifo", "padding", "balance", "sram-width", "energy", "pareto")
_FIELDS = tuple(asdict(ArchConfig()))
_DEFAULTS = asdict(ArchConfig())
_SHORT = {"weight_bits": "w", "index_bits": "idx", "act_bits": "act", "n_pe": "PEs", "fifo_depth": "fifo",
          "sram_width": "sram", "ptr_bits": "ptr", "clock_mhz": "MHz", "act_regs_per_pe": "regs"}


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    if "error" in df.columns:
        df = df[df["error"].fillna("") == ""]
    if df.empty:
        raise ConfigError("the sweep has no rows without errors to plot")
    return df


def select_layers(df: pd.DataFrame, layers) -> pd.DataFrame:
    """Rows of the given layers (names as in the ``layer`` column, or a Table III name without its
    ``@scale``), in that order (kept in ``attrs["eie_layers"]`` for the figures' legends);
    refuses names the sweep does not have."""
    if not layers:
        return df
    if isinstance(layers, str):
        layers = [t.strip() for t in layers.split(",") if t.strip()]
    have = list(dict.fromkeys(df["layer"].dropna()))
    keep = set()
    for name in layers:
        hit = [h for h in have if h == name or h.partition("@")[0] == name]
        if not hit:
            raise ConfigError(f"layer {name!r} is not in the sweep (it has {', '.join(have)})")
        keep.update(hit)
    out = df[df["layer"].isin(keep)]
    out.attrs["eie_layers"] = list(layers)
    return out


def reference_slice(df: pd.DataFrame, keep: tuple[str, ...]) -> tuple[pd.DataFrame, dict]:
    """Rows where every swept config field not in ``keep`` is at its reference value; returns
    (rows, {field: reference value}). Rows of several runs (seeds, sample counts, ...; see
    :func:`.run_key.select_run`) are refused: choose one first."""
    df, _ = select_run(df)
    fixed = {}
    present = [f for f in _FIELDS if f in df.columns]
    for f in present:
        if f in keep:
            continue
        vals = sorted(df[f].dropna().unique())
        if len(vals) < 2:
            continue
        others = [g for g in present if g != f] + (["layer"] if "layer" in df.columns else [])
        if df.groupby(others, dropna=False)[f].nunique().max() < 2:
            continue  # follows from the other fields (ptr_bits widened for few PEs): not a swept axis
        ref = _DEFAULTS[f] if _DEFAULTS[f] in vals else vals[len(vals) // 2]
        fixed[f] = _plain(ref)
        df = df[df[f] == ref]
    return df, fixed


def _plain(v):
    """A NumPy scalar as the Python number it holds (messages read 4, not np.int64(4))."""
    return v.item() if hasattr(v, "item") else v


def _need(df: pd.DataFrame, field: str, kind: str) -> list:
    vals = [_plain(v) for v in sorted(df[field].dropna().unique())] if field in df.columns else []
    if len(vals) < 2:
        raise ConfigError(f"plot kind {kind!r} needs at least two values of {field}; the sweep has {vals}")
    return vals


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def _title(ax, text: str, fixed: dict) -> None:
    fixed = {**fixed, **getattr(ax.figure, "eie_run", {})}  # the run chosen (seed=, ...) is held fixed too
    sub = ", ".join(f"{k}={_fmt(v)}" for k, v in fixed.items())
    ax.set_title(text + (f"\n(held fixed: {sub})" if sub else "\n(no other field swept)"), fontsize=10)
    ax.figure.eie_fixed = dict(fixed)


def _caption(fig, text: str) -> None:
    """A caption under the axes (kept in ``fig.eie_caption``); plot() leaves room for it."""
    fig.eie_caption = text
    lines = [ln for para in text.split("\n") for ln in textwrap.wrap(para, 120)]
    fig.eie_caption_artist = fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, ha="left", va="bottom",
                                      color="0.25")
    fig.eie_caption_lines = len(lines)


def _legend_beside(ax, **kw):
    """Legend to the right of the axes: never over a line or a point."""
    handles, labels = ax.get_legend_handles_labels()
    return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     fontsize=7, frameon=False, **kw)


def _layers(fig, df) -> list:
    """The layers of ``df`` in the figure's order (:func:`.style.layer_order`, chosen by plot())."""
    have = set(df["layer"].dropna())
    return [n for n in fig.eie_layer_order if n in have] + [n for n in dict.fromkeys(df["layer"].dropna())
                                                             if n not in fig.eie_layer_order]


def _per_layer_lines(ax, df, x, y, scale=1.0):
    """One line per layer, in the figure's layer order and each in its layer's colour."""
    names = _layers(ax.figure, df)
    colours = layer_style(names)
    for name in names:
        g = df[df["layer"] == name].dropna(subset=[x, y]).sort_values(x)
        if g.empty:
            continue
        ax.plot(g[x].to_numpy(dtype=float), g[y].to_numpy(dtype=float) * scale, marker=layer_marker(name), ms=4,
                label=name, color=colours[name])


def _log2_x(ax, vals):
    ax.set_xscale("log", base=2)
    ax.set_xticks(vals)
    ax.set_xticklabels([_fmt(v) for v in vals])
    ax.minorticks_off()


def _speedup(df, fig):
    ax = fig.add_subplot(111)
    vals = _need(df, "n_pe", "speedup")
    d, fixed = reference_slice(df, ("n_pe",))
    d = d.copy()
    b = vals[0]
    base = d.loc[d["n_pe"] == b].groupby("layer")["cycles"].first()
    d = d[d["layer"].isin(base.index)]
    d["speedup"] = d["layer"].map(base).astype(float) / d["cycles"].astype(float)
    _per_layer_lines(ax, d, "n_pe", "speedup")
    v = np.array(vals, dtype=float)
    ax.plot(v, v / v[0], "k--", lw=1, label="linear (ideal)")
    _log2_x(ax, vals)
    ax.set_yscale("log", base=2)
    plain_log_ticks(ax.yaxis, base=2)
    ax.set_xlabel("processing elements (PEs)")
    over = "1 PE" if b == 1 else f"{b:g} PEs (the sweep's fewest; no 1-PE point)"
    ax.set_ylabel(f"speedup over {over}\n(cycles ratio, log scale)")
    _title(ax, f"Scalability: speedup over {'1 PE' if b == 1 else f'{b:g} PEs'} (EIE Fig. 11)", fixed)
    _legend_beside(ax)
    # which assumption the rows use: one row batch per layer (registers sized to it) or several
    if "row_batches" in d.columns:
        batched = d[d["row_batches"] > 1]
    else:
        batched = d[d["act_regs_per_pe"] * d["n_pe"] < d["rows"]]
    regs = sorted(d["act_regs_per_pe"].unique()) if "act_regs_per_pe" in d.columns else [_DEFAULTS["act_regs_per_pe"]]
    regs_s = "/".join(_fmt(r) for r in regs)
    if batched.empty:
        fig.eie_assumption = "sized"
        _caption(fig, f"Activation registers sized to the layer (act_regs_per_pe={regs_s}; act_regs_per_pe x PEs >= rows "
                      "at every point, one row batch): near-linear, as in the paper's Fig. 11.")
    else:
        fig.eie_assumption = "fixed"
        upto = batched.groupby("layer")["n_pe"].max()
        upto = upto.reindex([n for n in _layers(fig, batched) if n in upto.index])
        which = ", ".join(f"{k} at 1 PE" if n == 1 else f"{k} up to {_fmt(n)} PEs" for k, n in upto.items())
        _caption(fig, f"Activation registers fixed at act_regs_per_pe={regs_s} per PE: with few PEs a layer's rows run in "
                      f"several row batches ({which}), each re-broadcasting the whole input, so speedup is super-linear. "
                      "\nThe paper's Fig. 11 sizes the registers to the layer: sweep with --set act_regs_per_pe=R, "
                      "R x PEs >= rows (R >= rows covers 1 PE), for near-linear scaling.")


def _efficiency_against(df, fig, field, kind, xlabel, title):
    """Load efficiency (%) per layer against ``field`` (FIFO depth: Fig. 8; PE count: Fig. 13)."""
    ax = fig.add_subplot(111)
    vals = _need(df, field, kind)
    d, fixed = reference_slice(df, (field,))
    _per_layer_lines(ax, d, field, "load_efficiency", 100.0)
    _log2_x(ax, vals)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("load efficiency, % (work / (PEs x cycles))")
    ax.set_ylim(0, 105)
    _title(ax, title, fixed)
    _legend_beside(ax)


def _fifo(df, fig):
    _efficiency_against(df, fig, "fifo_depth", "fifo", "activation queue (FIFO) depth, entries",
                        "Load efficiency against FIFO depth (EIE Fig. 8)")


def _padding(df, fig):
    vals = _need(df, "n_pe", "padding")
    d, fixed = reference_slice(df, ("n_pe",))
    d = d.copy()
    # ``entries`` counts every entry processed, padding included
    d["real_entries"] = d["entries"].astype(float) - d["padding_entries"].astype(float)
    d["padding_share"] = np.where(d["entries"] > 0, d["padding_entries"] / d["entries"].where(d["entries"] > 0, 1), 0.0)
    ax1, ax2 = fig.add_subplot(121), fig.add_subplot(122)
    _per_layer_lines(ax1, d, "n_pe", "padding_share", 100.0)
    _log2_x(ax1, vals)
    ax1.set_ylim(bottom=0)
    ax1.set_xlabel("processing elements (PEs)")
    ax1.set_ylabel("padding entries, % of entries processed")
    _legend_beside(ax1)
    tot = d.groupby("n_pe")[["real_entries", "padding_entries"]].sum().astype(float).reindex(vals).fillna(0.0) / 1e6
    pos = np.arange(len(vals))
    ax2.bar(pos, tot["real_entries"], color="#b0b0b0", label="real work (non-zero weights)")
    ax2.bar(pos, tot["padding_entries"], bottom=tot["real_entries"], color="#303030", label="padding zeros")
    ax2.set_xticks(pos)
    ax2.set_xticklabels([_fmt(v) for v in vals])
    ax2.set_xlabel("processing elements (PEs)")
    ax2.set_ylabel("entries processed, millions (all layers)")
    ax2.set_ylim(0, 1.15 * float((tot["real_entries"] + tot["padding_entries"]).max() or 1.0))
    ax2.legend(fontsize=7, loc="upper right")
    _title(ax1, "Padding against PE count (EIE Fig. 12)", fixed)
    ax2.set_title("Real work (constant) and padding on top", fontsize=10)


def _balance(df, fig):
    _efficiency_against(df, fig, "n_pe", "balance", "processing elements (PEs)",
                        "Load balance against PE count (EIE Fig. 13)")


def _sram_width(df, fig):
    ax = fig.add_subplot(111)
    vals = _need(df, "sram_width", "sram-width")
    d, fixed = reference_slice(df, ("sram_width",))
    t = d.groupby("sram_width")[["spmat_sram_reads", "energy_action_spmat_sram_read_pj"]].sum().astype(float).reindex(vals)
    l1 = ax.plot(vals, t["spmat_sram_reads"] / 1e3, "o-", color="tab:blue", label="spmat SRAM reads (thousands)")
    _log2_x(ax, vals)
    ax.set_xlabel("sparse-matrix SRAM width, bits")
    ax.set_ylabel("spmat SRAM reads, thousands (all layers)", color="tab:blue")
    ax2 = ax.twinx()
    l2 = ax2.plot(vals, t["energy_action_spmat_sram_read_pj"] / 1e6, "s-", color="tab:red", label="spmat read energy (uJ)")
    ax2.set_ylabel("spmat SRAM read energy, uJ (all layers)", color="tab:red")
    ax.set_ylim(0, 1.15 * float(np.nanmax(t["spmat_sram_reads"] / 1e3) or 1.0))
    ax2.set_ylim(0, 1.15 * float(np.nanmax(t["energy_action_spmat_sram_read_pj"] / 1e6) or 1.0))
    ax.legend(l1 + l2, [l.get_label() for l in l1 + l2], fontsize=7, loc="lower center")
    _title(ax, "SRAM width: read count and read energy (EIE Fig. 9)", fixed)


def _energy(df, fig):
    ax = fig.add_subplot(111)
    d, fixed = reference_slice(df, ())
    cols = [c for c in d.columns if c.startswith("energy_module_") and c.endswith("_pj")]
    t = d.groupby("layer", sort=False)[cols].sum().astype(float) / 1e6
    t = t.reindex(_layers(fig, d)).loc[:, lambda f: f.sum() > 0]
    bottom = np.zeros(len(t))
    pos = np.arange(len(t))
    for c in t.columns:
        ax.bar(pos, t[c], bottom=bottom, label=c[len("energy_module_"):-3])
        bottom += t[c].to_numpy()
    ax.set_xticks(pos)
    ax.set_xticklabels(t.index, rotation=30, ha="right", fontsize=8)
    for lbl, colour in zip(ax.get_xticklabels(), layer_style(t.index).values()):
        lbl.set_color(colour)  # the layer's colour of the line figures
    ax.set_ylabel("energy per inference, uJ")
    table = d["energy_table"].iloc[0] if "energy_table" in d.columns else "?"
    _title(ax, f"Energy by module (energy table {table})", fixed)
    _legend_beside(ax, title="module", title_fontsize=7)


def pareto_mask(cost, value) -> np.ndarray:
    """Boolean mask of the points not dominated when minimising ``cost`` and maximising ``value``
    (no other point has at most the cost and at least the value, one of them strictly). Sorted by
    cost, then value (descending), a point is on the front when its value is above that of every
    point before it; of points with equal cost and value the first in that order stands for all.
    The one Pareto rule of the sweep's figure (:func:`pareto_front`) and the co-design search."""
    cost, value = np.asarray(cost, dtype=float), np.asarray(value, dtype=float)
    order = np.lexsort((-value, cost))
    mask = np.zeros(len(cost), dtype=bool)
    best = -np.inf
    for i in order:
        if value[i] > best:
            mask[i] = True
            best = value[i]
    return mask


def pareto_front(df: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: energy_pj summed over the model's layers (all layers when the
    sweep has no model rows), its accuracy, and ``on_front`` (no other point has both lower
    energy and higher or equal accuracy)."""
    if "accuracy" not in df.columns or df["accuracy"].isna().all():
        raise ConfigError("plot kind 'pareto' needs an accuracy column: run the sweep with a trained model (--model FILE)")
    df = _ok(df)
    if "source" in df.columns and (df["source"] == "model").any():
        df = df[df["source"] == "model"]
    keys = [f for f in _FIELDS if f in df.columns]
    agg = {"energy_pj": ("energy_pj", "sum"), "accuracy": ("accuracy", "first")}
    if "latency_us" in df.columns:
        agg["latency_us"] = ("latency_us", "sum")
    g = df.groupby(keys, as_index=False).agg(**agg)
    g = g.sort_values(["energy_pj", "accuracy"], ascending=[True, False]).reset_index(drop=True)
    g["on_front"] = pareto_mask(g["energy_pj"], g["accuracy"])
    return g


def _accuracy_label(df, samples) -> str:
    """The Pareto y label: the test images behind the accuracy, from the rows when they record it
    (``accuracy_samples``, null: every test image), else ``samples`` (files of earlier versions)."""
    import pandas as pd

    ds = df["accuracy_dataset"].dropna() if "accuracy_dataset" in df.columns else pd.Series([], dtype=object)
    ds = f"{ds.iloc[0]} " if len(ds) else ""
    rec = df.loc[df["accuracy_model"].notna(), "accuracy_samples"] if {"accuracy_samples", "accuracy_model"} <= set(
        df.columns) else pd.Series([], dtype=float)
    if len(rec):
        samples = int(rec.iloc[0]) if pd.notna(rec.iloc[0]) else None
        if samples is None:
            return f"accuracy on every {ds}test image, %\n(bit-exact golden model)"
    if samples:
        return f"accuracy on {int(samples):,} {ds}test images, %\n(bit-exact golden model)"
    return f"accuracy on the {ds}test images, % (golden model;\nthe sweep does not record how many)"


def _spread(ys: np.ndarray, gap: float, lo: float, hi: float) -> np.ndarray:
    """Positions near ``ys`` (display units), each at least ``gap`` from the next, inside [lo, hi]
    when they fit: sort, push up, then push down from the top."""
    order = np.argsort(ys, kind="stable")
    p = np.asarray(ys, dtype=float)[order].copy()
    p[0] = max(p[0], lo)
    for i in range(1, len(p)):
        p[i] = max(p[i], p[i - 1] + gap)
    if len(p) and p[-1] > hi:
        p[-1] = hi
        for i in range(len(p) - 2, -1, -1):
            p[i] = min(p[i], p[i + 1] - gap)
    out = np.empty_like(p)
    out[order] = p
    return out


def _room_on_the_left(ax, xs, widths, box) -> None:
    """Lower a log x axis's left limit so that a label ``widths[i]`` pixels wide fits left of the
    point at data x ``xs[i]`` (the front's upper-left, where no design point can be)."""
    if ax.get_xscale() != "log" or not len(xs):
        return
    lo, hi = np.log10(ax.get_xlim())
    f = (np.asarray(widths, dtype=float) + 14.0) / box.width
    u = np.log10(np.asarray(xs, dtype=float))
    ok = f < 0.6
    if not ok.any():
        return
    new_lo = float(np.min((u[ok] - f[ok] * hi) / (1 - f[ok])))
    if new_lo < lo:
        ax.set_xlim(10 ** new_lo, 10 ** hi)


def _place_labels(fig, ax, pts, texts, fontsize=6):
    """Direct labels beside the Pareto front's points (data coordinates): up and to the left of
    each point, where no dominated point can be (the x axis widened to make room), pushed apart
    vertically in display space so that no two overlap, and kept inside the axes. Run after the
    layout is final."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    arts = [ax.text(0, 0, t, fontsize=fontsize, transform=None) for t in texts]
    ext = [a.get_window_extent(renderer) for a in arts]
    pts = np.asarray(pts, dtype=float).reshape(-1, 2)
    _room_on_the_left(ax, pts[:, 0], [e.width for e in ext], box)
    disp = ax.transData.transform(pts)
    h = max(e.height for e in ext) * 1.15 if ext else 0.0
    ys = _spread(disp[:, 1] + 2.0 * h / 3, h, box.y0 + h / 2, box.y1 - h / 2)  # a little above the point
    inv = ax.transAxes.inverted()
    for a, e, (x, _), y in zip(arts, ext, disp, ys):
        tx = x - 6 - e.width
        if tx < box.x0 + 2:
            tx = x + 6
        tx = min(max(tx, box.x0 + 2), box.x1 - 2 - e.width)
        a.set_transform(ax.transAxes)
        a.set_position(inv.transform((tx, y)))
        a.set_ha("left")
        a.set_va("center")
    ax.eie_labels = arts
    return arts


def _pareto(df, fig, accuracy_samples=None):
    import matplotlib

    ax = fig.add_subplot(111)
    g = pareto_front(df)
    pes = sorted(g["n_pe"].unique()) if "n_pe" in g.columns else [None]
    cmap = matplotlib.colormaps["viridis"]
    for i, n in enumerate(pes):
        s = g if n is None else g[g["n_pe"] == n]
        color = cmap(i / max(1, len(pes) - 1) * 0.9)
        ax.scatter(s["energy_pj"] / 1e6, 100 * s["accuracy"], s=14, color=color, alpha=0.8, linewidths=0,
                   label="design points" if n is None else f"{_fmt(n)} PE{'s' if n != 1 else ''}")
    f = g[g["on_front"]]
    ax.plot(f["energy_pj"] / 1e6, 100 * f["accuracy"], "-", color="tab:red", lw=1.2, zorder=3, label="Pareto front")
    ax.plot(f["energy_pj"] / 1e6, 100 * f["accuracy"], "o", mfc="none", mec="tab:red", ms=7, zorder=3)
    first = ("weight_bits", "index_bits", "act_bits", "n_pe")
    varied = [k for k in (*first, *(f for f in _FIELDS if f not in first)) if k in f.columns and g[k].nunique() > 1]
    fig.eie_front_labels = [", ".join(f"{_SHORT.get(k, k)}={_fmt(r[k])}" for k in varied[:4]) for _, r in f.iterrows()]
    fig.eie_front_points = list(zip(f["energy_pj"] / 1e6, 100 * f["accuracy"]))
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    src = _ok(df)
    src = src[src["source"] == "model"] if "source" in src.columns and (src["source"] == "model").any() else src
    names = _layers(fig, src)
    over = ", ".join(names) if len(names) <= 4 else f"{len(names)} layers"
    ax.set_xlabel(f"energy per inference, uJ (sum over {over}; log scale)")
    ax.set_ylabel(_accuracy_label(df, accuracy_samples))
    lo, hi = 100 * g["accuracy"].min(), 100 * g["accuracy"].max()
    pad = max(0.5, 0.08 * (hi - lo))
    ax.set_ylim(lo - pad, hi + pad)
    model = df["accuracy_model"].dropna().iloc[0] if "accuracy_model" in df.columns and df["accuracy_model"].notna().any() else "model"
    ax.set_title(f"Accuracy against energy: {model} ({len(g)} configurations, {len(f)} on the front)", fontsize=10)
    fig.eie_fixed = dict(fig.eie_run)
    if fig.eie_run:
        ax.set_title(ax.get_title() + "\n(" + ", ".join(f"{k}={_fmt(v)}" for k, v in fig.eie_run.items()) + ")",
                     fontsize=10)
    _legend_beside(ax, title="PE count", title_fontsize=7)
    fig.eie_after_layout = lambda: _place_labels(fig, ax, fig.eie_front_points, fig.eie_front_labels)


_PLOTS = {"speedup": _speedup, "fifo": _fifo, "padding": _padding, "balance": _balance, "sram-width": _sram_width,
          "energy": _energy, "pareto": _pareto}


def plot(df: pd.DataFrame, kind: str, path=None, *, layers=None, accuracy_samples=None, seed=None,
         where: dict | None = None, dpi: int = DPI):
    """Draw ``kind`` (one of :data:`KINDS`) from a sweep DataFrame; write a PNG to ``path``
    (atomically) when given. ``layers``: only these layers (names or a comma-separated string).
    A file holding several runs (seeds, accuracy sample counts, energy tables, ...) is drawn for
    the one chosen by ``seed``, ``accuracy_samples`` (a count or 'all') and ``where`` ({column:
    value}), and refused, naming the column that varies, when no choice makes it one run
    (:func:`.run_key.select_run`). ``accuracy_samples`` on rows that do not record it (earlier
    versions) is only the Pareto label. Returns the matplotlib Figure (displayed inline in
    Jupyter), with ``eie_fixed`` (the fields held fixed, the chosen run's among them) and, where
    there is one, ``eie_caption``; ``eie_layer_order`` and ``eie_layer_colours`` are the layers'
    order and colours (:mod:`.style`). The PNG is written at ``dpi`` (150), cropped to what is drawn."""
    if kind not in _PLOTS:
        raise ConfigError(f"kind={describe(kind)}: expected one of {', '.join(KINDS)}")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ConfigError(f"plots need matplotlib: pip install 'eie-sim[plot]' ({exc})") from None
    if layers:
        df = select_layers(df, layers)
    order = layer_order(df, layers)
    df, run = select_run(df, seed=seed, accuracy_samples=accuracy_samples, where=where)
    fig = Figure(figsize=(10, 4.5) if kind == "padding" else (7.5, 4.5), dpi=dpi)
    FigureCanvasAgg(fig)
    fig.eie_fixed, fig.eie_caption, fig.eie_caption_lines, fig.eie_run = {}, "", 0, run
    fig.eie_layer_order, fig.eie_layer_colours = order, layer_style(order)
    if kind == "pareto":
        _pareto(df, fig, accuracy_samples)
    else:
        _PLOTS[kind](_ok(df), fig)
    if fig.eie_caption_lines:
        fig.set_figheight(fig.get_figheight() + 0.14 * fig.eie_caption_lines)
    bottom = (0.14 * fig.eie_caption_lines + 0.08) / fig.get_figheight() if fig.eie_caption_lines else 0
    fig.tight_layout(rect=(0, bottom, 1, 1))
    after = getattr(fig, "eie_after_layout", None)
    if after is not None:
        after()
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=fig.dpi, bbox_inches="tight", pad_inches=0.1)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    return fig
