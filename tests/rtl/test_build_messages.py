"""What a user sees while a Verilator model builds and when it fails: a spinner with the stage
on a terminal (nothing in logs), and the tool's own error lines."""

from __future__ import annotations

import io
import sys

import pytest

pytest.importorskip("amaranth")

from eie_rtl.verilator import _build_spinner, _build_stage  # noqa: E402

pytestmark = pytest.mark.rtl


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
    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    with _build_spinner(tmp_path / "build.log") as sp:
        assert sp.thread.is_alive()
    assert "Verilator build" in tty.getvalue() and not sp.thread.is_alive()
