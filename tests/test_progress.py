"""Progress bars: one style (tqdm, eie_sim.progress) on a terminal, nothing in logs and pipes."""

from __future__ import annotations

import io
import sys

from eie_sim.progress import progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_shows_on_a_terminal_only():
    tty, pipe = FakeTTY(), io.StringIO()
    assert list(progress(range(5), desc="bench", unit="layer", leave=True, stream=tty)) == list(range(5))
    assert "bench" in tty.getvalue() and "5/5" in tty.getvalue()
    assert list(progress(range(5), desc="bench", stream=pipe)) == list(range(5))
    assert pipe.getvalue() == ""
    quiet = FakeTTY()
    list(progress(range(5), desc="bench", enabled=False, stream=quiet))
    assert quiet.getvalue() == ""


def test_training_shows_a_batch_bar_then_one_line_per_epoch(monkeypatch):
    from eie_sim.train.compress import Progress

    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    bar = Progress("dense", True)
    for b in range(1, 41):
        bar.batch(1, 2, b, 40, 0.5, 0.8)
    bar.epoch(1, 2, 0.5, 0.8, 0.75, 1.0)
    out = tty.getvalue()
    assert "dense epoch 1/2" in out and "40/40" in out and "loss 0.5000 acc 0.8000" in out
    assert out.endswith("dense epoch 1/2 loss 0.5000 train acc 0.8000 test acc 0.7500 (1.0 s)\n")


def test_sweep_progress_is_a_bar_on_a_terminal_and_lines_in_a_log():
    from eie_sim.cli.sweep import _Progress

    tty, log = FakeTTY(), io.StringIO()
    for stream in (tty, log):
        p = _Progress(stream=stream)
        p(3, 10, 0.0)  # a resume: 3 points already in the file
        p(6, 10, 1.0)
        p(10, 10, 2.0)
    assert "resuming: 3 of 10 points already done" in tty.getvalue() and "sweep" in tty.getvalue()
    assert "10/10" in tty.getvalue()
    lines = log.getvalue().splitlines()
    assert lines[0] == "resuming: 3 of 10 points already done"
    assert lines[-1].startswith("10/10 points, ") and "ETA 0 s" in lines[-1]


def test_a_spinner_shows_its_stage_on_a_terminal_and_stops():
    from eie_sim.progress import spinner

    tty = FakeTTY()
    with spinner("Yosys synthesis", "stage 1", stream=tty, interval=60) as sp:
        assert sp.thread.is_alive() and "Yosys synthesis" in tty.getvalue() and "stage 1" in tty.getvalue()
        sp.stage = "stage 2"  # shown at once, not at the next tick
        assert "stage 2" in tty.getvalue()
    assert not sp.thread.is_alive() and sp.bar.disable  # closed (tqdm marks a closed bar disabled)
    polled = []
    with spinner("build", lambda: polled.append(1) or "linking", stream=FakeTTY(), interval=60) as sp:
        assert sp.stage == "linking"  # a function: asked each time
    assert polled


def test_a_spinner_is_silent_off_a_terminal_and_when_disabled():
    from eie_sim.progress import spinner

    pipe, quiet = io.StringIO(), FakeTTY()
    for kw in ({"stream": pipe}, {"stream": quiet, "enabled": False}):
        with spinner("build", "stage", **kw) as sp:
            sp.stage = "other"
        assert sp.thread is None
    assert pipe.getvalue() == quiet.getvalue() == ""


def test_a_spinner_closes_on_an_exception():
    from eie_sim.progress import spinner

    try:
        with spinner("build", stream=FakeTTY(), interval=60) as sp:
            raise KeyError("x")
    except KeyError:
        pass
    assert not sp.thread.is_alive() and sp.bar.disable


def test_lines_between_bars_do_not_land_inside_one(monkeypatch):
    from eie_sim.progress import between_bars

    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    bar = progress(total=3, desc="rung 0", stream=tty)
    bar.update(1)
    with between_bars():
        start = len(tty.getvalue())
        print("a log line", file=sys.stderr)
    after = tty.getvalue()
    bar.close()
    assert after[start:].startswith("a log line\n")  # the bar was cleared before the line
    assert "rung 0" in after[start + len("a log line\n"):]  # and redrawn under it


def test_quiet_turns_every_bar_off_for_one_command_only(monkeypatch, capsys):
    """--quiet reaches bars the command line does not draw itself (set_quiet), and the next
    command in the same process draws bars again."""
    from eie_sim.cli import main
    from eie_sim.progress import set_quiet, spinner

    seen = []

    def fake_bench(args):  # stands in for a command whose bar is deep in a library call
        tty = FakeTTY()
        list(progress(range(3), desc="deep", stream=tty))
        with spinner("tool", "stage 1", stream=tty):
            pass
        seen.append(tty.getvalue())
        return 0

    import eie_sim.cli.simulate as sim

    monkeypatch.setattr(sim, "_cmd_bench", fake_bench)
    assert main(["bench", "--quiet"]) == 0
    assert main(["bench"]) == 0
    assert seen[0] == "" and "deep" in seen[1] and "tool" in seen[1]
    set_quiet(True)
    tty = FakeTTY()
    list(progress(range(3), desc="x", stream=tty))
    set_quiet(False)
    assert tty.getvalue() == ""
