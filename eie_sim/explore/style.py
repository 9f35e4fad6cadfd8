"""One look for every figure: a fixed colour per layer, the layers' order, the dpi and log-axis ticks.

* :func:`layer_style`: a layer's colour never depends on which other layers a figure draws or
  on the order of the rows. EIE Table III layers (:data:`eie_sim.cycle.suite.NAMES`) and the
  conv suite (:data:`eie_sim.cycle.conv_suite.CONV_NAMES`) take fixed colours by their index in
  those tuples (a ``@scale`` suffix is ignored); any other layer (a model's ``fc1``, ``fc2``,
  ...) takes one by a stable hash of its name, its trailing number added so that ``fc1``,
  ``fc2``, ``fc3`` get neighbouring, different colours (:func:`layer_marker`: square markers).
* :func:`layer_order`: the order layers are drawn and listed: the one given (``layers=``, or
  kept by :func:`eie_sim.explore.plots.select_layers`), else the sweep's own layer list
  (``run_layers``, a model's layers in model order), else the order of the rows.
* :data:`DPI`: figures are saved at 150 dpi.
* :func:`plain_log_ticks`: a log axis labelled in plain numbers, with at least four labelled
  ticks when the range allows.
"""

from __future__ import annotations

import json
import re
import zlib

import numpy as np

from ..cycle.conv_suite import CONV_NAMES
from ..cycle.suite import NAMES

__all__ = ["DPI", "layer_style", "layer_colour", "layer_marker", "layer_order", "plain_log_ticks", "plain_number"]

DPI = 150

#: Table III, by index in NAMES: matplotlib's tab10 without its grey (kept for reference lines)
SUITE_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
#: the conv suite, by index in CONV_NAMES: tab20b, hues first, then shades (neighbours differ in hue)
CONV_PALETTE = ("#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#5254a3", "#8ca252", "#bd9e39", "#ad494a",
                "#a55194", "#6b6ecf", "#b5cf6b", "#e7ba52", "#d6616b", "#ce6dbd", "#9c9ede", "#cedb9c", "#e7cb94")
#: any other layer, by a stable hash of its name: dark or vivid colours unlike tab10's (such layers
#: are also drawn with square markers)
OTHER_PALETTE = ("#000075", "#800000", "#469990", "#f032e6", "#505050", "#00c49a")


def layer_colour(name: str) -> str:
    """The colour of the layer ``name`` (module docstring): the same in every figure."""
    base = str(name).partition("@")[0]
    if base in NAMES:
        return SUITE_PALETTE[NAMES.index(base) % len(SUITE_PALETTE)]
    if base in CONV_NAMES:
        return CONV_PALETTE[CONV_NAMES.index(base) % len(CONV_PALETTE)]
    m = re.fullmatch(r"(.*?)(\d+)", base)
    stem, num = (m.group(1), int(m.group(2))) if m else (base, 0)
    return OTHER_PALETTE[(zlib.crc32(stem.encode()) + num) % len(OTHER_PALETTE)]


def layer_marker(name: str) -> str:
    """The line marker of the layer ``name``: circles for the suites' layers, squares otherwise."""
    return "o" if str(name).partition("@")[0] in NAMES + CONV_NAMES else "s"


def layer_style(names) -> dict:
    """{layer name: colour} for ``names``, in their order; a layer's colour depends on its name
    only, never on the other names or their order."""
    return {n: layer_colour(n) for n in names}


def _expand(given, have: list) -> list:
    """Layer names of ``have`` in the order of ``given`` (names, or Table III names without
    their ``@scale``)."""
    out = []
    for g in given:
        out += [h for h in have if (h == g or h.partition("@")[0] == g) and h not in out]
    return out


def _run_layers(df) -> list:
    """Source names of the sweep's layer list, as given to the sweep (``run_layers``); [] if none."""
    if "run_layers" not in df.columns:
        return []
    vals = df["run_layers"].dropna()
    try:
        return list(json.loads(vals.iloc[0])) if len(vals) and isinstance(vals.iloc[0], str) else []
    except ValueError:
        return []


def layer_order(df, given=None) -> list:
    """The layers of ``df`` (its ``layer`` column) in the order they are drawn (module docstring)."""
    have = list(dict.fromkeys(df["layer"].dropna()))
    given = given or df.attrs.get("eie_layers")
    if isinstance(given, str):
        given = [t.strip() for t in given.split(",") if t.strip()]
    order = _expand(given, have) if given else []
    sources = _run_layers(df)
    if sources and "source_name" in df.columns:
        src_of = dict(zip(df["layer"], df["source_name"]))
        rank = {s: i for i, s in enumerate(sources)}
        order += sorted((h for h in have if h not in order), key=lambda h: rank.get(src_of.get(h), len(rank)))
    return order + [h for h in have if h not in order]


def _crowded(ticks, vmin: float, vmax: float) -> bool:
    """Whether two neighbouring ``ticks`` are closer than a twelfth of the view (log scale):
    their labels would run together."""
    gaps = np.diff(np.log(np.asarray(ticks, dtype=float)))
    return bool(len(gaps)) and float(gaps.min()) < np.log(vmax / vmin) / 12


def _plain_log_locator(base: float):
    """A matplotlib Locator for a log axis: powers of ``base``, then 1-2-5 (base 2: 1-1.5) steps,
    then 1-2-3-5, then all integer multiples, then evenly spaced round numbers: the first that
    puts four to twelve ticks in the view, none crowding its neighbour."""
    from matplotlib.ticker import Locator, LogLocator, MaxNLocator

    tries = [(1.0,), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0), tuple(float(k) for k in range(1, 10))] if base == 10 \
        else [(1.0,), (1.0, 1.5), (1.0, 1.25, 1.5, 1.75)]

    class PlainLogLocator(Locator):
        def __call__(self):
            return self.tick_values(*self.axis.get_view_interval())

        def tick_values(self, vmin, vmax):
            vmin, vmax = sorted((max(vmin, 1e-300), max(vmax, 1e-300)))
            inside = lambda t: t[(t >= vmin * (1 - 1e-9)) & (t <= vmax * (1 + 1e-9)) & (t > 0)]  # noqa: E731
            for subs in tries:
                t = inside(LogLocator(base=base, subs=subs, numticks=60).tick_values(vmin, vmax))
                if 4 <= len(t) <= 12 and not _crowded(t, vmin, vmax):
                    return t
            return inside(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(vmin, vmax))

    return PlainLogLocator()


def plain_number(v: float) -> str:
    """A tick value in plain notation: ``0.05``, ``1.5``, ``2000`` (never ``2e+03``)."""
    t = f"{v:.3g}"
    return f"{v:.0f}" if "e+" in t else t


def plain_log_ticks(axis, base=10) -> None:
    """Label the log ``axis`` (an XAxis or YAxis) in plain numbers (``0.5``, ``20``; never
    ``10^x``), with at least four labelled ticks when its view holds four round numbers; the
    ticks follow the limits however they change later."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(_plain_log_locator(base))
    axis.set_major_formatter(FuncFormatter(lambda v, _: plain_number(v)))
    axis.set_minor_locator(LogLocator(base=base, subs="auto"))
    axis.set_minor_formatter(NullFormatter())
