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
