"""What a user sees while a Verilator model builds or Yosys synthesises a PE and when it fails:
a spinner with the stage on a terminal (nothing in logs), and the tool's own error lines."""

from __future__ import annotations

import io
import sys
import threading

import pytest

pytest.importorskip("amaranth")

from eie_rtl.verilator import _build_spinner, _build_stage  # noqa: E402

pytestmark = pytest.mark.rtl


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tail, stage", [
    ("", "verilating"),
    ("- V e r i l a t i o n   R e p o r t: Verilator 5.0\n", "verilating"),
    ("g++ -Os -I. -c -o Vtop__ALL.o Vtop__ALL.cpp\n", "compiling the C++ model"),
    ("ccache g++ -c verilated.cpp\n", "compiling the C++ model"),
])
def test_the_stage_comes_from_the_logs_last_line(tmp_path, tail, stage):
    log = tmp_path / "build.log"
    log.write_text("%Warning-WIDTH: ...\n" + tail)
    assert _build_stage(log) == stage
    assert _build_stage(tmp_path / "missing.log") == "starting"


def test_no_spinner_in_a_log(tmp_path, monkeypatch):
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with _build_spinner(tmp_path / "build.log"):
        pass
    assert pipe.getvalue() == ""


def test_a_spinner_on_a_terminal(tmp_path, monkeypatch):
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    with _build_spinner(tmp_path / "build.log") as sp:
        assert sp.thread.is_alive()
    assert "Verilator build" in tty.getvalue() and not sp.thread.is_alive()


def _fake_yosys(seen, stream):
    """A stand-in for area._yosys: records what the terminal showed when each run started and
    writes the netlist that run writes (one empty module, ``eie_pe``)."""
    import json

    def run(script, cwd):
        seen.append((script.split(";")[0], stream.getvalue() if stream else ""))
        netlist = {"modules": {"eie_pe": {"cells": {}}}}
        (cwd / ("design.json" if "write_json design.json" in script else "gates.json")).write_text(json.dumps(netlist))

    return run


def test_yosys_synthesis_shows_a_spinner_with_its_stage_on_a_terminal(monkeypatch):
    from eie_rtl import PEParams, area

    tty, seen = FakeTTY(), []
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(area, "_yosys", _fake_yosys(seen, tty))
    r = area.synth_pe(PEParams(weight_bits=3, index_bits=2, act_bits=4, acc_bits=12, max_rows=4, max_src=4, max_cols=8))
    assert r["total"]["gates"] == 0  # the fake netlist
    (run1, shown1), (run2, shown2) = seen
    assert run1.startswith("read_rtlil design.il") and run2.startswith("read_rtlil stage1.il")
    assert "Yosys synthesis" in shown1 and f"3-bit weights, {area.STAGE_NAMES[1]}" in shown1
    assert area.STAGE_NAMES[2] not in shown1 and f"3-bit weights, {area.STAGE_NAMES[2]}" in shown2
    assert not [t for t in threading.enumerate() if t.name.startswith("spinner")]  # the spinner stopped


def test_no_yosys_spinner_in_a_log(monkeypatch):
    from eie_rtl import area

    pipe, seen = io.StringIO(), []
    monkeypatch.setattr(sys, "stderr", pipe)
    monkeypatch.setattr(area, "_yosys", _fake_yosys(seen, None))
    from amaranth import Module, Signal
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    class Reg(wiring.Component):
        def __init__(self):
            super().__init__({"d": In(2), "q": Out(2)})

        def elaborate(self, platform):
            m = Module()
            r = Signal(2)
            m.d.sync += r.eq(self.d)
            m.d.comb += self.q.eq(r)
            return m

    area.synth_design(Reg(), "eie_pe", label="a label")
    assert len(seen) == 2 and pipe.getvalue() == ""
