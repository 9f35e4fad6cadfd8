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
from ..explore.plots import pareto_mask, plain_log_ticks

__all__ = ["fronts", "front_table", "choose_best", "best_compression", "design_text", "figures"]


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


def _scatter(ax, df, ref, x: str, scale: float, xlabel: str, title: str, best: dict | None):
    import matplotlib

    d = _ran(df)
    front = d[pareto_mask(d[x], d["accuracy"])].sort_values(x)
    pes = sorted(d["n_pe"].unique())
    cmap = matplotlib.colormaps["viridis"]
    for i, n in enumerate(pes):
        s = d[d["n_pe"] == n]
        ax.scatter(s[x] / scale, 100 * s["accuracy"], s=8, alpha=0.5, linewidths=0,
                   color=cmap(i / max(1, len(pes) - 1) * 0.9), label=f"{n} PEs")
    ax.step(front[x] / scale, 100 * front["accuracy"], where="post", color="tab:red", lw=1.2, zorder=3,
            label="Pareto front")
    ax.plot(front[x] / scale, 100 * front["accuracy"], "o", mfc="none", mec="tab:red", ms=6, zorder=3)
    if not ref.empty:
        ax.scatter(ref[x] / scale, 100 * ref["accuracy"], marker="x", color="black", s=24, zorder=4,
                   label="reference model")
    if best is not None:
        ax.plot([best[x] / scale], [100 * best["accuracy"]], "*", color="tab:orange", ms=14, mec="black", zorder=5,
                label="chosen design" + (" (vs the reference on\nits hardware point)" if not ref.empty else ""))
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy, % (bit-exact golden model)")
    top = 100 * max(d["accuracy"].max(), ref["accuracy"].max() if not ref.empty else 0)
    lo = 100 * np.quantile(d["accuracy"], 0.1)
    ax.set_ylim(max(lo, top - 6) - 0.2, top + 0.3)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    ax.legend(fontsize=7, loc="lower right")


def figures(df: pd.DataFrame, folder, best: dict | None = None, label: str = "") -> list[Path]:
    """Accuracy against energy per inference and against latency, every design (coloured by PE
    count), the fronts highlighted, the reference and the chosen design marked; PNGs written
    atomically to ``folder`` (``codesign_energy.png``, ``codesign_latency.png``)."""
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
        fig = Figure(figsize=(7.5, 4.8), dpi=120)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(111)
        what = "energy" if x == "energy_pj" else "latency"
        _scatter(ax, df, ref, x, scale, xlabel, f"Co-design {label}: accuracy against {what} ({n} designs)", best)
        fig.tight_layout()
        path = folder / f"{stem}.png"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fig.savefig(tmp, format="png")
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        out.append(path)
    return out
