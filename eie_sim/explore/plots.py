"""Figures from a sweep's DataFrame (matplotlib, headless), after the EIE paper's Section VI.

Each plot varies one field; every other swept field is held at a reference value (the
:class:`ArchConfig` default when the sweep has it, else the middle value), and the title says
which. Kinds: ``speedup`` (Fig. 11), ``fifo`` (Fig. 8), ``padding`` (Fig. 12), ``balance``
(Fig. 13), ``sram-width`` (Fig. 9), ``energy`` (breakdown by module) and ``pareto`` (accuracy
against energy per inference).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import ArchConfig
from ..errors import ConfigError, describe

__all__ = ["KINDS", "plot", "reference_slice", "pareto_front"]

KINDS = ("speedup", "fifo", "padding", "balance", "sram-width", "energy", "pareto")
_FIELDS = tuple(asdict(ArchConfig()))
_DEFAULTS = asdict(ArchConfig())


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    if "error" in df.columns:
        df = df[df["error"].fillna("") == ""]
    if df.empty:
        raise ConfigError("the sweep has no rows without errors to plot")
    return df


def reference_slice(df: pd.DataFrame, keep: tuple[str, ...]) -> tuple[pd.DataFrame, dict]:
    """Rows where every swept config field not in ``keep`` is at its reference value; returns
    (rows, {field: reference value})."""
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
        fixed[f] = ref
        df = df[df[f] == ref]
    return df, fixed


def _need(df: pd.DataFrame, field: str, kind: str) -> list:
    vals = sorted(df[field].dropna().unique()) if field in df.columns else []
    if len(vals) < 2:
        raise ConfigError(f"plot kind {kind!r} needs at least two values of {field}; the sweep has {vals}")
    return vals


def _title(ax, text: str, fixed: dict) -> None:
    sub = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in fixed.items())
    ax.set_title(text + (f"\n({sub})" if sub else ""), fontsize=10)


def _per_layer_lines(ax, df, x, y, scale=1.0, marker="o"):
    for name, g in df.groupby("layer", sort=False):
        g = g.dropna(subset=[x, y]).sort_values(x)
        if g.empty:
            continue
        ax.plot(g[x], g[y].astype(float) * scale, marker=marker, label=name)
        ax.annotate(name, (g[x].iloc[-1], float(g[y].iloc[-1]) * scale), textcoords="offset points", xytext=(4, 0),
                    fontsize=7, va="center")


def _log2_x(ax, vals):
    ax.set_xscale("log", base=2)
    ax.set_xticks(vals)
    ax.set_xticklabels([str(int(v)) for v in vals])
    ax.minorticks_off()


def _speedup(df, fig):
    ax = fig.add_subplot(111)
    vals = _need(df, "n_pe", "speedup")
    d, fixed = reference_slice(df, ("n_pe",))
    d = d.copy()
    base = d.loc[d["n_pe"] == vals[0]].set_index("layer")["cycles"]
    d["speedup"] = d["layer"].map(base).astype(float) / d["cycles"].astype(float)
    _per_layer_lines(ax, d, "n_pe", "speedup")
    v = np.array(vals, dtype=float)
    ax.plot(v, v / v[0], "k--", lw=1, label="linear")
    _log2_x(ax, vals)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("processing elements (PEs)")
    ax.set_ylabel(f"speedup over {vals[0]} PE{'s' if vals[0] > 1 else ''} (cycles ratio)")
    _title(ax, "Scalability: speedup against PE count (EIE Fig. 11)", fixed)
    ax.legend(fontsize=7, ncol=2)


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
    ax.legend(fontsize=7, ncol=2)


def _fifo(df, fig):
    _efficiency_against(df, fig, "fifo_depth", "fifo", "activation queue (FIFO) depth, entries",
                        "Load efficiency against FIFO depth (EIE Fig. 8)")


def _padding(df, fig):
    vals = _need(df, "n_pe", "padding")
    d, fixed = reference_slice(df, ("n_pe",))
    ax1, ax2 = fig.add_subplot(121), fig.add_subplot(122)
    _per_layer_lines(ax1, d, "n_pe", "padding_pct")
    _log2_x(ax1, vals)
    ax1.set_xlabel("processing elements (PEs)")
    ax1.set_ylabel("padding entries, % of entries processed")
    tot = d.groupby("n_pe")[["entries", "padding_entries"]].sum().astype(float).reindex(vals).fillna(0.0) / 1e6
    pos = np.arange(len(vals))
    ax2.bar(pos, tot["entries"], color="tab:blue", label="real work (non-zero weights)")
    ax2.bar(pos, tot["padding_entries"], bottom=tot["entries"], color="tab:orange", label="padding zeros")
    ax2.set_xticks(pos)
    ax2.set_xticklabels([str(int(v)) for v in vals])
    ax2.set_xlabel("processing elements (PEs)")
    ax2.set_ylabel("entries, millions (all layers)")
    ax2.legend(fontsize=7)
    _title(ax1, "Padding against PE count (EIE Fig. 12)", fixed)
    ax2.set_title("Real work and padding", fontsize=10)


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
    ax.legend(l1 + l2, [l.get_label() for l in l1 + l2], fontsize=7, loc="upper center")
    _title(ax, "SRAM width: read count and read energy (EIE Fig. 9)", fixed)


def _energy(df, fig):
    ax = fig.add_subplot(111)
    d, fixed = reference_slice(df, ())
    cols = [c for c in d.columns if c.startswith("energy_module_") and c.endswith("_pj")]
    t = d.groupby("layer", sort=False)[cols].sum().astype(float) / 1e6
    t = t.loc[:, t.sum() > 0]
    bottom = np.zeros(len(t))
    pos = np.arange(len(t))
    for c in t.columns:
        ax.bar(pos, t[c], bottom=bottom, label=c[len("energy_module_"):-3])
        bottom += t[c].to_numpy()
    ax.set_xticks(pos)
    ax.set_xticklabels(t.index, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("energy per inference, uJ")
    table = d["energy_table"].iloc[0] if "energy_table" in d.columns else "?"
    _title(ax, f"Energy by module (energy table {table})", fixed)
    ax.legend(fontsize=7, ncol=2, title="module", title_fontsize=7)


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
    best = -np.inf
    front = []
    for a in g["accuracy"]:
        front.append(a > best)
        best = max(best, a)
    g["on_front"] = front
    return g


def _pareto(df, fig):
    ax = fig.add_subplot(111)
    g = pareto_front(df)
    ax.scatter(g["energy_pj"] / 1e6, 100 * g["accuracy"], s=12, c="0.6", label="design points")
    f = g[g["on_front"]]
    ax.plot(f["energy_pj"] / 1e6, 100 * f["accuracy"], "o-", color="tab:red", label="Pareto front")
    first = ("weight_bits", "index_bits", "act_bits")
    varied = [k for k in (*first, *(f for f in _FIELDS if f not in first)) if k in g.columns and g[k].nunique() > 1]
    for _, r in f.iterrows():
        ax.annotate(", ".join(f"{k}={r[k]:g}" for k in varied[:4]), (r["energy_pj"] / 1e6, 100 * r["accuracy"]),
                    textcoords="offset points", xytext=(4, -8), fontsize=6)
    ax.set_xscale("log")
    ax.set_xlabel("energy per inference, uJ (sum over the model's layers)")
    ax.set_ylabel("test accuracy, % (bit-exact golden model)")
    model = df["accuracy_model"].dropna().iloc[0] if "accuracy_model" in df.columns else "model"
    ax.set_title(f"Accuracy against energy: {model}", fontsize=10)
    ax.legend(fontsize=7)


_PLOTS = {"speedup": _speedup, "fifo": _fifo, "padding": _padding, "balance": _balance, "sram-width": _sram_width,
          "energy": _energy, "pareto": _pareto}


def plot(df: pd.DataFrame, kind: str, path=None):
    """Draw ``kind`` (one of :data:`KINDS`) from a sweep DataFrame; write a PNG to ``path``
    (atomically) when given. Returns the matplotlib Figure."""
    if kind not in _PLOTS:
        raise ConfigError(f"kind={describe(kind)}: expected one of {', '.join(KINDS)}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ConfigError(f"plots need matplotlib: pip install 'eie-sim[plot]' ({exc})") from None
    fig = Figure(figsize=(10, 4.5) if kind == "padding" else (7, 4.5), dpi=120)
    _PLOTS[kind](_ok(df) if kind != "pareto" else df, fig)
    fig.tight_layout()
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fig.savefig(tmp, format=path.suffix.lstrip(".") or "png")
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    return fig
