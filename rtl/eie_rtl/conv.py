"""A conv layer on the PE array as its sequence of patch SpMVs (the conv mapping of
:mod:`eie_sim.contract.conv`), with the weights loaded once: the im2col is done by the host
(this driver), and so is the pooling (the RTL has no pooling unit;
:func:`eie_sim.contract.conv.pool_fixed`).

W' (C_out x C_in*kh*kw) is encoded like an fc layer. Its pointers, spmat words, initial
accumulators (bias), codebook and configuration are written (or preloaded) ONCE; then each
output position p (row-major over Ho x Wo) only loads its patch vector q_p (int64,
``patches_of`` on the quantised input map; source registers, or the activation SRAM for
patches longer than the registers), starts the array, and its outputs and counters are read
(the counters restart at every start). Every position uses the layer's bias, activation and the
formats of the whole layer (act_frac, out_frac from the golden :func:`conv_golden`), so the
weight-side writes are the same for every position (checked). Positions run one after another
in ONE simulation (Amaranth: :func:`run_conv_pysim`; Verilator + cocotb:
:func:`run_conv_cosim`); array cycles = the sum over positions.

What is compared (:func:`conv_report`): the conv outputs (C_out x positions) and the pooled
outputs bit for bit with the golden conv step; each position's cycles with the fc cycle model on
(W', q_p); the summed array cycles with the cycle model's conv step minus its conv-only cycles
(``patch_stall_cycles``: patch assembly; ``pool_cycles``: pooling), and every fc counter the RTL
has (summed over positions, per-PE ones element-wise) with the conv step's. The conv step's
conv-only counters (``fmap_reads``, ``fmap_writes``, ``pool_ops``, ``patch_stall_cycles``,
``pool_cycles``, and DRAM bytes of a feature map larger than the activation SRAMs) are work of
the host here, so the RTL has no counterpart for them. Loading weights or patches is not
counted in cycles, as in the cycle model (which starts a layer with its weights in place).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from eie_sim import ArchConfig
from eie_sim.contract.conv import conv_golden, geometry, patches_of, pool_fixed
from eie_sim.cycle.layers import encoded_for

from .driver import IMAGE_TARGETS, compare_counters, make_job, model_counters
from .params import LOAD_ACT, LOAD_SRC

__all__ = ["ConvRun", "ConvJobs", "conv_jobs", "run_conv_pysim", "run_conv_cosim", "conv_report", "sum_counters", "summary_line"]

ACT_TARGETS = (LOAD_SRC, LOAD_ACT)


@dataclass(frozen=True)
class ConvRun:
    """The RTL's conv outputs (C_out x positions, int64), pooled flat outputs, cycles per
    position, and each position's RTL counters (dicts of :func:`eie_rtl.driver.rtl_counters`)."""

    conv_fixed: np.ndarray
    output_fixed: np.ndarray
    cycles: list
    counters: list
    golden: object
    info: dict = field(default_factory=dict)


@dataclass
class ConvJobs:
    """A conv layer's load sequence: ``images`` (weight-side memory images, for preloading),
    ``writes`` (weight-side load-port writes: configuration, codebook, base table), ``all_writes``
    (every weight-side memory as load-port writes, then ``writes``: for no preload), and per
    position the patch's load-port writes (``positions``: source registers or activation SRAM)
    and its :class:`eie_rtl.driver.LayerJob` (``jobs``). ``out`` and ``acks`` as in LayerJob."""

    enc: object
    gold: object
    images: dict
    writes: list
    all_writes: list
    positions: list
    jobs: list
    out: list
    acks: list


def conv_jobs(layer, x, config: ArchConfig) -> ConvJobs:
    """The :class:`ConvJobs` of conv ``layer`` on the float input map ``x``: the host's im2col
    (``patches_of``) gives each position's patch; ``make_job`` on (W', patch) with the layer's
    formats gives its writes, split into weight-side (the same for every position, checked) and
    activation writes (targets LOAD_SRC, LOAD_ACT)."""
    gold = conv_golden(layer, x, config)
    enc, _ = encoded_for(layer, config)
    fmt = dict(fixed_input=True, act_frac=gold.act_format.frac, out_frac=gold.out_format.frac)
    jobs, positions = [], []
    base = None
    for patch in patches_of(layer, gold.input_fixed):
        job = make_job(enc, patch.astype(np.int64), config, source=layer, **fmt)
        weights = [w for w in job.writes if w[0] not in ACT_TARGETS]
        images = {t: w for t, w in job.images.items() if IMAGE_TARGETS[t.split("_", 1)[1]] not in ACT_TARGETS}
        if base is None:
            base = (weights, images)
        elif weights != base[0] or images != base[1]:
            raise RuntimeError("conv positions differ in their weight-side writes (formats not shared)")
        positions.append([w for w in job.load_port_writes() if w[0] in ACT_TARGETS])
        jobs.append(job)
    if base is None:
        raise ValueError(f"conv layer {layer.name!r} has no output positions")
    first = jobs[0]
    all_writes = [w for w in first.load_port_writes() if w[0] not in ACT_TARGETS]
    return ConvJobs(enc, gold, base[1], base[0], all_writes, positions, jobs, first.out, first.ack_rows)


def _conv_run(layer, cj: ConvJobs, outs: list, cycles: list, counters: list, info: dict) -> ConvRun:
    y = np.stack(outs, axis=1)
    return ConvRun(y, pool_fixed(layer, y).reshape(-1), [int(c) for c in cycles], counters, cj.gold, info)


def run_conv_pysim(layer, x, config: ArchConfig) -> ConvRun:
    """Run conv ``layer`` (a ModelLayer of kind conv) on the float input map ``x`` in the
    Amaranth simulator: one array built, the weights loaded once, then per output position its
    patch loaded, a run, its outputs and counters read (one simulation)."""
    from .pysim import build_for, run_positions

    cj = conv_jobs(layer, x, config)
    runs = run_positions(build_for(cj.enc, config), cj.all_writes, cj.positions, cj.out, cj.acks, config)
    return _conv_run(layer, cj, [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs],
                     {"engine": "amaranth", "weight_writes": len(cj.all_writes),
                      "patch_writes": sum(map(len, cj.positions))})


def run_conv_cosim(layer, x, config: ArchConfig, spec=None, build_root=None, waves: bool = False,
                   optimize: bool = False, preload: bool = True) -> ConvRun:
    """Run conv ``layer`` on the float input map ``x`` in Verilator under the cocotb bench: the
    weight-side memories preloaded from files (``preload``; else through the load port) and
    the configuration written once, then per output position its patch written through the
    load port, a run, the read-out and the counters, all in one simulation.
    ``spec``: the Verilator build (default: the smallest for W')."""
    import time

    from .driver import rtl_counters
    from .verilator import DEFAULT_BUILD_ROOT, BuildSpec, build, run_bench

    t0 = time.perf_counter()
    cj = conv_jobs(layer, x, config)
    t_jobs = time.perf_counter() - t0
    spec = spec or BuildSpec.for_layer(cj.enc, config)
    if not spec.fits(cj.enc, config):
        raise ValueError(f"conv matrix {cj.enc.shape} does not fit build {spec}")
    bdir = build(spec, build_root or DEFAULT_BUILD_ROOT, waves, optimize)
    writes = cj.writes if preload else cj.all_writes
    res, t_files, t_process = run_bench(bdir, writes, cj.images if preload else {}, cj.out, cj.acks, config,
                                        positions=cj.positions, waves=waves)
    runs = res["runs"]
    ctrs = [rtl_counters(r["pe_counters"], r["array_counters"], r["cycles"], config) for r in runs]
    info = {"engine": "verilator", "build": str(bdir), "preload": preload, "weight_writes": len(writes),
            "image_words": sum(len(w) for w in cj.images.values()) if preload else 0,
            "patch_writes": sum(map(len, cj.positions)),
            "seconds": {"jobs": t_jobs, "files": t_files, "process": t_process, "load": float(res["load_seconds"]),
                        "run": float(res["run_seconds"]), "read": float(res["read_seconds"])}}
    return _conv_run(layer, cj, [np.array(r["outputs"], dtype=np.int64) for r in runs], [r["cycles"] for r in runs],
                     ctrs, info)


def sum_counters(counters: list) -> dict:
    """Counters of :func:`eie_rtl.driver.rtl_counters` summed over runs (per-PE lists element-wise)."""
    out: dict = {}
    for c in counters:
        for k, v in c.items():
            if k == "per_pe":
                pp = out.setdefault("per_pe", {})
                for name, arr in v.items():
                    pp[name] = [a + b for a, b in zip(pp[name], arr)] if name in pp else list(arr)
            else:
                out[k] = out.get(k, 0) + int(v)
    return out


def conv_report(layer, x, config: ArchConfig, run: ConvRun) -> dict:
    """Compare ``run`` with the golden conv step and the cycle model (module docstring):
    outputs_match (conv and pooled outputs), first_mismatch, positions, cycles_rtl (summed),
    cycles_model (the conv step's array cycles: its cycles minus patch_stall_cycles and
    pool_cycles), cycles_layer_model (the conv step's cycles), cycles_per_position_match (each
    position against the fc model on (W', q_p)), counters_rtl (summed), counters_model (the conv
    step's, same keys), counters_match and counters_differ."""
    from eie_sim import simulate
    from eie_sim.cycle.simulator import simulate_layer

    gold = run.golden
    g = geometry(layer)
    ref = gold.conv_fixed.reshape(run.conv_fixed.shape)
    bad = np.argwhere(run.conv_fixed != ref)
    first = None
    if bad.size:
        c, p = (int(v) for v in bad[0])
        first = {"channel": c, "position": p, "rtl": int(run.conv_fixed[c, p]), "golden": int(ref[c, p])}
    ok = not bad.size and np.array_equal(run.output_fixed, gold.output_fixed)
    fmt = dict(fixed_input=True, act_frac=gold.act_format.frac, out_frac=gold.out_format.frac)
    fc = [simulate_layer(layer, q.astype(np.int64), config, layer.name, **fmt).cycles
          for q in patches_of(layer, gold.input_fixed)]
    conv = simulate(layer, x, config)
    cc = conv.counters
    ctr_rtl, ctr_model = sum_counters(run.counters), model_counters(conv)
    differ = compare_counters(ctr_rtl, ctr_model)
    return {"layer": f"conv {g.c_in}x{g.h}x{g.w} -> {g.c_out}x{g.ho}x{g.wo}", "kernel": (g.kh, g.kw),
            "stride": tuple(g.stride), "padding": tuple(g.padding), "pool": g.pool, "positions": g.positions,
            "matrix": f"{g.c_out}x{g.patch}", "outputs_match": bool(ok), "first_mismatch": first,
            "cycles_rtl": int(sum(run.cycles)),
            "cycles_model": int(conv.cycles - cc["patch_stall_cycles"] - cc["pool_cycles"]),
            "cycles_layer_model": int(conv.cycles), "patch_stall_cycles": int(cc["patch_stall_cycles"]),
            "pool_cycles": int(cc["pool_cycles"]), "cycles_per_position_match": [int(c) for c in run.cycles] == fc,
            "counters_rtl": ctr_rtl, "counters_model": ctr_model, "counters_match": not differ,
            "counters_differ": differ, **run.info}


def summary_line(rep: dict, config: ArchConfig) -> str:
    """One line: ``cosim: outputs equal golden, RTL N cycles = model N cycles, counters equal``
    with the layer and run figures."""
    same = rep["cycles_rtl"] == rep["cycles_model"]
    return (f"{rep['layer']} (kernel {rep['kernel'][0]}x{rep['kernel'][1]}, stride {rep['stride'][0]}x"
            f"{rep['stride'][1]}, padding {rep['padding']}, pool {rep['pool']}; matrix {rep['matrix']}) on "
            f"{config.n_pe} PEs, FIFO {config.fifo_depth} ({rep['engine']}), {rep['positions']} positions, "
            f"weights loaded once: outputs {'equal' if rep['outputs_match'] else 'DIFFER from'} golden, RTL "
            f"{rep['cycles_rtl']:,} cycles {'=' if same else '!='} model {rep['cycles_model']:,} cycles "
            f"(+ {rep['patch_stall_cycles']:,} patch stall + {rep['pool_cycles']:,} pool = layer "
            f"{rep['cycles_layer_model']:,}), counters "
            + ("equal" if rep["counters_match"] else f"differ: {', '.join(rep['counters_differ'])}")
            + (f", first mismatch {rep['first_mismatch']}" if rep.get("first_mismatch") else ""))
