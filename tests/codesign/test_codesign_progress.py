"""What a user sees while a co-design search runs: on a terminal a bar per rung (candidates
trained, hardware points simulated) and a spinner while the dense network trains, with the
progress lines printed between the bars; in a log only the lines; with --quiet nothing."""

import io
import sys

import pytest

from eie_sim.cli import main
from eie_sim.codesign import CodesignSpace, SearchSettings, codesign

pytest.importorskip("sklearn")
pytest.importorskip("pyarrow")

# the smallest search: one candidate, one rung, two hardware points, every task in this process
SPACE = CodesignSpace(sparsity=((0.5,),), weight_bits=(3,), balance=(False,), n_pe=(2, 4), fifo_depth=(2,),
                      sram_width=(32,), index_bits=(4,))
SEARCH = SearchSettings(candidates=1, epochs=(1,), dense_epochs=1, simulate_images=1)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def _search(tmp_path, **kw):
    return codesign("mlp:8", "digits", out=tmp_path / "cd.parquet", space=SPACE, search=SEARCH,
                    scheduler="synchronous", **kw)


def _say_to_stderr(lines):
    def say(text):
        lines.append(text)
        print(text, file=sys.stderr)

    return say


def test_a_bar_per_rung_on_a_terminal_with_the_lines_between(tmp_path, monkeypatch):
    tty, lines = FakeTTY(), []
    monkeypatch.setattr(sys, "stderr", tty)
    res = _search(tmp_path, progress=_say_to_stderr(lines))
    assert res.rungs[0]["trained"] == 1
    out = tty.getvalue()
    assert "codesign: dense network" in out and "1 epochs" in out
    assert "codesign rung 0" in out and "1/1" in out and "2/2 hardware points" in out
    # each progress line is a line of its own: at most a bar cleared (\r ... \r) before it
    shown = [ln.rsplit("\r", 1)[-1] for ln in out.split("\n")]
    assert lines and all(text in shown for text in lines)


def test_only_the_lines_in_a_log(tmp_path, monkeypatch):
    pipe, lines = io.StringIO(), []
    monkeypatch.setattr(sys, "stderr", pipe)
    _search(tmp_path, progress=_say_to_stderr(lines))
    assert len(lines) >= 3 and pipe.getvalue() == "".join(f"{text}\n" for text in lines)


def test_quiet_shows_no_bar_on_a_terminal(tmp_path, monkeypatch):
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    args = ["codesign", "mlp:8", "--dataset", "digits", "--out", str(tmp_path / "cd.parquet"), "--sparsity", "0.5",
            "--weight-bits", "3", "--balance", "off", "--pes", "2,4", "--fifo-depth", "2", "--sram-width", "32",
            "--index-bits", "4", "--candidates", "1", "--rung-epochs", "1", "--dense-epochs", "1", "--simulate", "1",
            "--synchronous", "--quiet", "--json", "--figures", str(tmp_path / "figs")]
    assert main(args) == 0
    assert tty.getvalue() == ""
