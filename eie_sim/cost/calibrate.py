"""Write ``eie45_activity.json``: the activity the ``eie45`` preset is calibrated on.

``python -m eie_sim.cost.calibrate`` generates the nine Table III layers with the suite's
default generator (seed 0, full size), simulates each on the EIE configuration
(:data:`~eie_sim.cost.energy.REFERENCE`, 64 PEs) and stores every layer's cycles and counters,
with the generator's parameters, so that the preset needs no simulation to load and the tests
can check the file against a fresh run (:func:`measure_activity`).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from ..cycle import suite
from ..cycle.kernels import lnzd_nodes
from ..cycle.simulator import simulate
from .energy import REFERENCE
from .presets import ACTIVITY_PATH

__all__ = ["measure_activity", "write_activity"]


def _generator_defaults() -> dict:
    params = inspect.signature(suite.get).parameters
    return {k: p.default for k, p in params.items() if k not in ("name",)}


def measure_activity(seed: int = 0) -> dict:
    """{generator, config, layers: {name: {n_pe, lnzd_nodes, cycles, counters}}} of the suite."""
    gen = dict(_generator_defaults(), seed=seed, scale=1.0)
    layers = {}
    for name in suite.NAMES:
        b = suite.get(name, **gen)
        sim = simulate((b.codes, b.codebook), b.activations, REFERENCE)
        layers[name] = {"n_pe": REFERENCE.n_pe, "lnzd_nodes": lnzd_nodes(REFERENCE.n_pe), "cycles": int(sim.cycles),
                        "counters": {k: int(v) for k, v in sim.counters.items()}}
    return {"generator": gen, "config": asdict(REFERENCE), "layers": layers}


def write_activity(path: Path = ACTIVITY_PATH, seed: int = 0) -> dict:
    """Measure and write atomically (temporary file, then rename)."""
    act = measure_activity(seed)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(act, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return act


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ACTIVITY_PATH)
    args = ap.parse_args(argv)
    act = write_activity(args.out)
    print(f"wrote {args.out}: {len(act['layers'])} layers, generator {act['generator']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
