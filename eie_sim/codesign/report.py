"""The co-design search's outputs from its rows (:mod:`.search`): Pareto fronts, their table,
the chosen design, the best compression within an accuracy loss, and the figures.

* Fronts (by :func:`eie_sim.explore.plots.pareto_mask`, the sweep's Pareto rule): accuracy
  (bit-exact, test set) against energy per inference, and against latency, over
  every candidate design that ran (all rungs, all hardware points); the reference model's
  designs are shown but not part of the fronts.
* :func:`choose_best`: with a reference, the most accurate design whose energy per inference is
  below the reference's on the same hardware point (n_pe, fifo_depth, sram_width, index_bits),
  ties to the lower energy; without one, the most accurate design (ties to lower energy). The
  accuracy it ranks by is ``accuracy_rank`` (the held-out validation images when the search
  has them, else the test set).
* :func:`best_compression`: the most compressed design within ``max_loss`` points of the dense
  network's accuracy (ties to higher accuracy, then lower energy).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..explore.plots import pareto_mask
from ..explore.style import DPI, plain_log_ticks

__all__ = ["fronts", "front_table", "choose_best", "chosen_rule", "best_compression", "design_text", "figures"]


def _ran(df: pd.DataFrame, kind: str = "candidate") -> pd.DataFrame:
    ok = df["error"].isna() if "error" in df.columns else np.ones(len(df), bool)
    return df[ok & (df["kind"] == kind)] if "kind" in df.columns else df[ok]


def fronts(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accuracy-energy front, accuracy-latency front) of the candidate designs in ``df``,
    each sorted by its cost."""
    d = _ran(df)
    fe = d[pareto_mask(d["energy_pj"], d["accuracy"])].sort_values(["energy_pj", "accuracy"], ascending=[True, False])
    fl = d[pareto_mask(d["latency_us"], d["accuracy"])].sort_values(["latency_us", "accuracy"], ascending=[True, False])
    return fe.reset_index(drop=True), fl.reset_index(drop=True)


def design_text(r) -> str:
    """One line: the software (sparsity per layer, weight and index bits, balance) | the hardware."""
    bal = f"bal{int(r['balance_pes'])}" if r.get("balance_pes", 0) else "nobal"
    return (f"sp {r['sparsity']} w{int(r['weight_bits'])} i{int(r['index_bits'])} {bal} | {int(r['n_pe'])} PE "
            f"fifo {int(r['fifo_depth'])} sram {int(r['sram_width'])}")


def _table_frame(front: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "accuracy_pct": 100 * front["accuracy"], "energy_nj": front["energy_pj"] / 1e3, "latency_us": front["latency_us"],
        "area_mm2": front["area_mm2"], "compression": front["compression"], "rung": front["rung"],
        "design": [design_text(r) for _, r in front.iterrows()]})


def front_table(front: pd.DataFrame, fmt: str = "text") -> str:
    """The front as a table: accuracy %, energy nJ per inference, latency us, area mm^2,
    compression (x), rung, design; ``fmt``: "text", "markdown" or "csv"."""
    t = _table_frame(front)
    if fmt == "csv":
        return t.to_csv(index=False, float_format="%.6g")
    cells = [[f"{r.accuracy_pct:.2f}", f"{r.energy_nj:.1f}", f"{r.latency_us:.3f}", f"{r.area_mm2:.2f}",
              f"{r.compression:.1f}x", str(int(r.rung)), r.design] for r in t.itertuples()]
    head = ["accuracy %", "energy nJ", "latency us", "area mm2", "compression", "rung", "design"]
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * 6 + "---|"]
        return "\n".join(lines + ["| " + " | ".join(x.replace("|", "\\|") for x in c) + " |" for c in cells])
    if fmt != "text":
        raise ConfigError(f"fmt={fmt!r}: expected 'text', 'markdown' or 'csv'")
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    fmt_row = lambda c: "  ".join(x.rjust(w) if i < 6 else x for i, (x, w) in enumerate(zip(c, widths)))  # noqa: E731
    return "\n".join([fmt_row(head)] + [fmt_row(c) for c in cells])


_HW = ["n_pe", "fifo_depth", "sram_width", "index_bits"]


def choose_best(df: pd.DataFrame) -> tuple[dict | None, dict | None, str]:
    """(chosen design's row, the reference's row on the same hardware point or None, the rule
    applied), by the rule in the module docstring; (None, None, why) when nothing qualifies."""
    d = _ran(df)
    if d.empty:
        return None, None, "no candidate design ran"
    ref = _ran(df, "reference")
    if not ref.empty:
        m = d.merge(ref[_HW + ["energy_pj"]].rename(columns={"energy_pj": "_ref_energy"}), on=_HW, how="inner")
        m = m[m["energy_pj"] < m["_ref_energy"]]
        if m.empty:
            return None, None, "no design has lower energy than the reference on the same hardware point"
        m = m.sort_values(["accuracy_rank", "energy_pj", "point_id"], ascending=[False, True, True])
        best = m.iloc[0].drop(labels="_ref_energy").to_dict()
        r = ref
        for f in _HW:
            r = r[r[f] == best[f]]
        return best, r.iloc[0].to_dict(), ("most accurate design with lower energy per inference than the reference on the "
                                           "same hardware point")
    best = d.sort_values(["accuracy_rank", "energy_pj", "point_id"], ascending=[False, True, True]).iloc[0].to_dict()
    return best, None, "most accurate design (no reference given)"


def best_compression(df: pd.DataFrame, dense_accuracy: float, max_loss: float) -> dict | None:
    """The most compressed candidate design whose accuracy is at least ``dense_accuracy`` minus
    ``max_loss`` points (ties: higher accuracy, then lower energy); None when none is."""
    d = _ran(df)
    d = d[100 * d["accuracy"] >= 100 * dense_accuracy - max_loss - 1e-9]
    if d.empty:
        return None
    return d.sort_values(["compression", "accuracy", "energy_pj", "point_id"],
                         ascending=[False, False, True, True]).iloc[0].to_dict()


def chosen_rule(df: pd.DataFrame) -> str:
    """How :func:`choose_best` picks the chosen design from ``df``, in words (the figures' caption)."""
    d = _ran(df)
    by = ("validation accuracy (held-out images, not the test accuracy plotted)"
          if "accuracy_rank" in d.columns and not np.allclose(d["accuracy_rank"], d["accuracy"], equal_nan=True)
          else "test accuracy")
    if not _ran(df, "reference").empty:
        return (f"chosen: the most accurate design by {by} whose energy per inference is below the reference "
                "model's on the same hardware point (n_pe, fifo_depth, sram_width, index_bits); ties to lower energy")
    return f"chosen: the most accurate design by {by} (no reference given); ties to lower energy"


def _qualifies(df: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Which ``rows`` are within :func:`choose_best`'s budget (all, without a reference)."""
    ref = _ran(df, "reference")
    if ref.empty:
        return np.ones(len(rows), bool)
    m = rows[_HW + ["energy_pj"]].merge(ref[_HW + ["energy_pj"]].rename(columns={"energy_pj": "_r"}), on=_HW,
                                        how="left")
    return (m["energy_pj"] < m["_r"]).to_numpy()


def _why_off_front(df: pd.DataFrame, x: str, best: dict, front: pd.DataFrame) -> str:
    """'' when ``best`` is on the figure's front, else why not (for the caption): the front's
    designs that dominate it there are over the budget, or were ranked lower on validation
    images, or tie it in accuracy at a higher energy."""
    dom = front[(front[x] <= best[x]) & (front["accuracy"] >= best["accuracy"])]
    dom = dom[~(np.isclose(dom[x], best[x]) & np.isclose(dom["accuracy"], best["accuracy"]))]
    if dom.empty:
        return ""
    ok = _qualifies(df, dom)
    if not ok.any():
        why = ("every design of this front that dominates it has an energy per inference not below the reference's "
               "on its hardware point (over the budget)")
    elif "accuracy_rank" in dom.columns and (dom.loc[ok, "accuracy_rank"] < best.get("accuracy_rank", np.inf)).all():
        why = ("the designs of this front that dominate it within the budget score lower on the validation images "
               "the choice ranks by")
    else:
        why = "it ties them in accuracy and has the lower energy, the tie-break (not latency)"
    return f"The chosen design is off this front: {why}."


def _scatter(ax, df, ref, x: str, scale: float, xlabel: str, title: str, best: dict | None) -> str:
    """Draw one co-design figure on ``ax``; returns its caption (how the star was chosen)."""
    import matplotlib

    d = _ran(df)
    front = d[pareto_mask(d[x], d["accuracy"])].sort_values(x)
    pes = sorted(d["n_pe"].unique())
    cmap = matplotlib.colormaps["viridis"]
    for i, n in enumerate(pes):
        s = d[d["n_pe"] == n]
        ax.scatter(s[x] / scale, 100 * s["accuracy"], s=8, alpha=0.5, linewidths=0,
                   color=cmap(i / max(1, len(pes) - 1) * 0.9), label=f"{n} PE{'s' if n != 1 else ''}")
    ax.step(front[x] / scale, 100 * front["accuracy"], where="post", color="tab:red", lw=1.2, zorder=3,
            label="Pareto front")
    ax.plot(front[x] / scale, 100 * front["accuracy"], "o", mfc="none", mec="tab:red", ms=6, zorder=3)
    if not ref.empty:
        ax.scatter(ref[x] / scale, 100 * ref["accuracy"], marker="x", color="black", s=24, zorder=4,
                   label="reference model")
    caption = ""
    if best is not None:
        ax.plot([best[x] / scale], [100 * best["accuracy"]], "*", color="tab:orange", ms=14, mec="black", zorder=5,
                label="chosen design (rule below)")
        caption = chosen_rule(df) + ". " + _why_off_front(df, x, best, front)
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy, %\n(bit-exact golden model)")
    _limits(ax, d, ref, x, scale, best)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    return caption.strip()


def _limits(ax, d, ref, x: str, scale: float, best: dict | None) -> None:
    """Axis limits holding the designs' upper accuracies, every reference point and the chosen
    design (nothing in the legend is off the axes)."""
    marked = [ref] if not ref.empty else []
    if best is not None:
        marked.append(pd.DataFrame([best]))
    m = pd.concat(marked, ignore_index=True) if marked else d.iloc[0:0]
    top = 100 * max(d["accuracy"].max(), m["accuracy"].max() if len(m) else 0)
    lo = max(100 * np.quantile(d["accuracy"], 0.1), top - 6)
    if len(m):
        lo = min(lo, 100 * m["accuracy"].min())
    ax.set_ylim(lo - 0.2 - 0.03 * (top - lo), top + 0.3 + 0.03 * (top - lo))
    xs = pd.concat([d[x], m[x]]) / scale if len(m) else d[x] / scale
    span = np.log10(xs.max() / xs.min()) if xs.min() > 0 else 0
    pad = 10 ** (0.04 * max(span, 0.1))
    ax.set_xlim(xs.min() / pad, xs.max() * pad)


def _caption(fig, text: str) -> None:
    """``text`` wrapped under the axes (kept in ``fig.eie_caption``), the layout leaving room."""
    import textwrap

    fig.eie_caption = text
    lines = textwrap.wrap(text, 130) if text else []
    if lines:
        fig.set_figheight(fig.get_figheight() + 0.14 * len(lines))
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, ha="left", va="bottom", color="0.25")
    fig.tight_layout(rect=(0, (0.14 * len(lines) + 0.08) / fig.get_figheight() if lines else 0, 1, 1))


def figures(df: pd.DataFrame, folder, best: dict | None = None, label: str = "") -> list[Path]:
    """Accuracy against energy per inference and against latency, every design (coloured by PE
    count), the fronts highlighted, the reference and the chosen design marked and on the axes, a
    caption saying how the design was chosen (:func:`chosen_rule`) and, when it is off a front,
    why; PNGs (150 dpi) written atomically to ``folder`` (``codesign_energy.png``,
    ``codesign_latency.png``)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ConfigError(f"figures need matplotlib: pip install 'eie-sim[plot]' ({exc})") from None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ref = _ran(df, "reference")
    n = len(_ran(df))
    out = []
    for x, scale, xlabel, stem in (("energy_pj", 1e3, "energy per inference, nJ (log scale)", "codesign_energy"),
                                   ("latency_us", 1.0, "latency per inference, us (log scale)", "codesign_latency")):
        fig = Figure(figsize=(8.5, 5.0), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(111)
        what = "energy" if x == "energy_pj" else "latency"
        caption = _scatter(ax, df, ref, x, scale, xlabel, f"Co-design {label}: accuracy against {what} ({n} designs)",
                           best)
        _caption(fig, caption)
        path = folder / f"{stem}.png"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fig.savefig(tmp, format="png", dpi=fig.dpi, bbox_inches="tight", pad_inches=0.1)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        out.append(path)
    return out
