"""Bit-identity check of the generated layers and the simulator's results across two checkouts.

``save DIR`` writes, with ``np.save`` only (nothing pickled), every array this checkout produces
for a fixed set of cases: the gamma multipliers of the suite generator, every Table III layer
(``eie_sim.cycle.suite.NAMES``; several seeds and scales, default and other row / column CVs),
every conv-suite layer, and the :func:`simulate` results (cycles, every counter, per-PE arrays,
outputs, saturation counts) of suite, conv and model-file layers on several configurations, the
energy report of ``alex8``, the Huffman kernels, and the text of a few ``eie-sim run`` commands.
``compare DIR`` computes the same arrays in this checkout and compares them with the saved ones
byte for byte (dtype, shape and bytes); it prints one line per difference and exits 1 if any.

Run ``save`` with PYTHONPATH set to the checkout before a change and ``compare`` with it set to
the checkout after. Usage: python benchmarks/check_bit_identity.py {save,compare} DIR [--quick]
(``--quick``: no full-scale layers).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import io
import sys
from pathlib import Path

import numpy as np

#: the checkout of the eie_sim this interpreter imports (PYTHONPATH first): its models/ are the model files
ROOT = Path(importlib.util.find_spec("eie_sim").origin).resolve().parents[1]


def _arr(value) -> np.ndarray:
    """``value`` as an array that np.save writes without pickling (text as UTF-8 bytes)."""
    if isinstance(value, str):
        return np.frombuffer(value.encode(), dtype=np.uint8)
    a = np.asarray(value)
    if a.dtype == object:
        raise TypeError(f"object array: {value!r}")
    return a


def _sim_arrays(prefix: str, res) -> dict:
    out = {f"{prefix}.cycles": res.cycles, f"{prefix}.output": res.output, f"{prefix}.output_fixed": res.output_fixed,
           f"{prefix}.out_format": [res.out_format.bits, res.out_format.frac], f"{prefix}.entries": res.entries,
           f"{prefix}.padding_entries": res.padding_entries, f"{prefix}.acc_saturated": res.acc_saturated,
           f"{prefix}.counter_names": ",".join(res.counters), f"{prefix}.counters": [res.counters[k] for k in res.counters],
           f"{prefix}.notes": "\n".join(res.notes), f"{prefix}.shape": list(res.shape),
           f"{prefix}.saturation": [getattr(res.saturation, p) for p in
                                    ("inputs", "weights", "bias", "acc", "outputs", "gates", "state", "hidden")]}
    for col, a in res.per_pe_arrays.items():
        out[f"{prefix}.per_pe.{col}"] = a
    for i, sub in enumerate(res.layers):
        out.update(_sim_arrays(f"{prefix}.layer{i}", sub))
    return out


def cases(quick: bool):
    """(name, array) pairs, generated lazily in a fixed order."""
    from eie_sim.config import ArchConfig
    from eie_sim.cycle import conv_suite, suite

    # the gamma multipliers
    for seed in (0, 3):
        for index in (0, 2, 3, 100, 105):
            for stream in (1, 2):
                for n in (1, 1000, 25088):
                    for cv in (0.0, 0.01, 0.08, 0.13, 0.25, 0.6, 1.5, 4.0):
                        yield f"mult.{seed}.{index}.{stream}.{n}.{cv}", suite.multipliers(seed, index, stream, n, cv)

    # Table III layers
    cvs = [None, (0.0, 0.0), (0.6, 0.6), (0.3, 0.0), (0.0, 1.2), (4.0, 4.0)]
    plan = [(seed, 0.05, cv) for seed in (0, 1, 5) for cv in cvs]
    plan += [(seed, 0.25, cv) for seed in (0, 1) for cv in (None, (0.6, 0.6))]
    if not quick:
        plan.append((0, 1.0, None))
    for seed, scale, cv in plan:
        for name in suite.NAMES:
            kw = {} if cv is None else dict(row_cv=cv[0], col_cv=cv[1])
            b = suite.get(name, seed=seed, scale=scale, **kw)
            key = f"suite.{name}.{seed}.{scale}.{cv}"
            yield f"{key}.codes", b.codes
            yield f"{key}.codebook", b.codebook
            yield f"{key}.activations", b.activations

    # conv suite
    cplan = [(seed, 0.25, cv) for seed in (0, 1) for cv in (None, (0.0, 0.0), (0.6, 0.6), (2.0, 3.0))]
    for seed, scale, cv in cplan:
        for name in conv_suite.CONV_NAMES:
            kw = {} if cv is None else dict(row_cv=cv[0], col_cv=cv[1])
            b = conv_suite.get_conv(name, seed=seed, scale=scale, **kw)
            key = f"conv.{name}.{seed}.{scale}.{cv}"
            yield f"{key}.codes", b.layer.codes
            yield f"{key}.codebook", b.layer.codebook
            yield f"{key}.activations", b.activations
    if not quick:
        for name in ("alex-conv3", "alex-conv4", "alex-conv5", "vgg-conv5_1"):
            b = conv_suite.get_conv(name)
            yield f"conv.{name}.full.codes", b.layer.codes
            yield f"conv.{name}.full.activations", b.activations

    # simulations
    from eie_sim.cli.common import simulate_widening
    from eie_sim.cycle.simulator import simulate

    configs = {"default": ArchConfig(), "pe16f2": ArchConfig(n_pe=16, fifo_depth=2),
               "pe4small": ArchConfig(n_pe=4, fifo_depth=1, spmat_sram_kb=8, ptr_sram_kb=1, act_sram_kb=1,
                                      act_regs_per_pe=16),
               "pe8w8": ArchConfig(n_pe=8, weight_bits=8, sram_width=32)}
    sim_plan = [("alex8", 1.0, "default")] if not quick else []
    sim_plan += [(name, 0.1, c) for name in suite.NAMES for c in configs]
    for name, scale, cname in sim_plan:
        b = suite.get(name, scale=scale)
        cfg = configs[cname]
        from eie_sim.cli.simulate import _shared_at
        res, used = simulate_widening(_shared_at(b, cfg.weight_bits), b.activations, cfg, False, name)
        yield from _named(_sim_arrays(f"sim.{name}.{scale}.{cname}", res))
        yield f"sim.{name}.{scale}.{cname}.ptr_bits", used.ptr_bits
    for name in conv_suite.CONV_NAMES[:5] + ("vgg-conv5_1",):
        b = conv_suite.get_conv(name, scale=0.25)
        for cname in ("default", "pe16f2"):
            res = simulate(b.layer, b.activations, configs[cname])
            yield from _named(_sim_arrays(f"simconv.{name}.{cname}", res))
    rng = np.random.default_rng(12345)
    for model in sorted((ROOT / "models").glob("*.npz")):
        from eie_sim.contract.model import load_model, one_code_width
        m, _ = one_code_width(load_model(model))
        first = m.layers[0]
        if first.spec.sequence:
            x = rng.random((4, m.n_inputs))
        else:
            x = rng.random(m.n_inputs) * (rng.random(m.n_inputs) < 0.6)
        for cname in ("default", "pe16f2"):
            cfg = dataclasses.replace(configs[cname], weight_bits=first.weight_bits, index_bits=first.index_bits)
            res, _ = simulate_widening(m, x, cfg, False, model.stem)
            yield from _named(_sim_arrays(f"simmodel.{model.stem}.{cname}", res))

    # energy report of alex8 (floats)
    from eie_sim.cost.presets import get_table
    from eie_sim.cost.report import energy_report
    b = suite.get("alex8", scale=0.5 if quick else 1.0)
    res = simulate((b.codes, b.codebook), b.activations, ArchConfig())
    rep = energy_report(res, get_table("eie45"))
    yield "energy.alex8.total", rep.energy_pj
    yield "energy.alex8.by_module", [rep.by_module[k] for k in sorted(rep.by_module)]
    yield "energy.alex8.by_level", [rep.by_level[k] for k in sorted(rep.by_level)]

    # Huffman kernels
    from eie_sim.train.huffman import huffman_code
    stream = np.random.default_rng(7).integers(0, 16, size=20000)
    code = huffman_code(stream)
    bits, n = code.encode(stream)
    yield "huffman.bits", bits
    yield "huffman.n", n
    yield "huffman.decoded", code.decode(bits, n)

    # the command line's text
    from eie_sim.cli import main
    for argv in (["run", "alex8"], ["run", "vgg7", "--scale", "0.2", "--pes", "16"],
                 ["run", "alex6", "--scale", "0.1", "--row-cv", "0.6", "--col-cv", "0.6"],
                 ["run", str(ROOT / "models" / "lenet300-fashion.npz"), "--pes", "8"]):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            code_ = main(argv)
        yield f"cli.{'_'.join(Path(a).name for a in argv)}", f"{code_}\n{buf.getvalue()}"


def _named(d: dict):
    yield from d.items()


def _fname(name: str) -> str:
    return name.replace("/", "_").replace(" ", "") + ".npy"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("save", "compare"))
    ap.add_argument("dir", type=Path)
    ap.add_argument("--quick", action="store_true", help="no full-scale layers")
    args = ap.parse_args()
    import eie_sim
    print(f"eie_sim from {Path(eie_sim.__file__).parent}", file=sys.stderr)
    args.dir.mkdir(parents=True, exist_ok=True)
    n = bad = 0
    seen = set()
    for name, value in cases(args.quick):
        a = _arr(value)
        if name in seen:
            raise SystemExit(f"duplicate case name {name}")
        seen.add(name)
        path = args.dir / _fname(name)
        n += 1
        if args.mode == "save":
            np.save(path, a, allow_pickle=False)
            continue
        if not path.is_file():
            print(f"MISSING {name}")
            bad += 1
            continue
        ref = np.load(path, allow_pickle=False)
        if ref.dtype != a.dtype or ref.shape != a.shape or ref.tobytes() != a.tobytes():
            print(f"DIFFERS {name}: saved {ref.dtype}{ref.shape}, now {a.dtype}{a.shape}")
            bad += 1
    if args.mode == "compare":
        saved = {p.name for p in args.dir.glob("*.npy")}
        extra = saved - {_fname(s) for s in seen}
        for e in sorted(extra):
            print(f"NOT PRODUCED NOW {e}")
        bad += len(extra)
        print(f"{n} arrays compared, {bad} differences")
    else:
        print(f"{n} arrays saved to {args.dir}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
