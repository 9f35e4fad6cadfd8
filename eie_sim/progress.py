"""Progress bars for whatever takes more than a couple of seconds, in one style (tqdm, on stderr).

A bar shows only on a terminal (``disable=None``: tqdm turns itself off when the stream is not a
TTY), so logs, pipes and the tests' captured stderr get none; ``enabled=False`` (``--quiet``)
turns it off on a terminal too. tqdm is imported on first use, so commands
that never show a bar do not pay for it.

* :func:`progress`: a bar over an iterable or ``total`` steps;
* :class:`spinner`: for one long call with no steps to count (a Verilator build, a Yosys run,
  training): the elapsed seconds and a stage (a string, or a function polled twice a second),
  kept moving by a thread;
* :func:`between_bars`: print a line of one's own while bars are showing (the bars are cleared
  for it and redrawn under it);
* :func:`set_quiet`: every bar and spinner off for the rest of the process (the command line's
  ``--quiet``, so that bars deep in a library call honour it too).
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

__all__ = ["progress", "spinner", "between_bars", "set_quiet"]

_QUIET = False


def set_quiet(quiet: bool = True) -> None:
    """Turn every bar and spinner of this process off (``quiet``) or back to the terminal rule."""
    global _QUIET
    _QUIET = bool(quiet)


def progress(iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it", enabled: bool = True,
             initial: int = 0, leave: bool = False, stream=None, bar_format: str | None = None):
    """A tqdm bar over ``iterable`` (or ``total`` steps for manual ``update``), on ``stream``
    (default stderr); a no-op bar when disabled or when the stream is not a terminal.
    ``bar_format``: tqdm's, for a line of another shape (:class:`spinner`)."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave,
                file=stream if stream is not None else sys.stderr, dynamic_ncols=True,
                disable=None if enabled and not _QUIET else True, mininterval=0.2, bar_format=bar_format)


class spinner:
    """A context manager: a line (:func:`progress`, so on a terminal only) of ``desc``, the stage
    and the elapsed seconds ("Yosys synthesis, stage 1/2: ..., 12 s"), redrawn every
    ``interval`` s by a daemon thread while the block runs, cleared after it (also on an
    exception).

    ``stage``: a string, or a function returning one (polled at each redraw: a build's stage
    read from its log); assigning ``sp.stage = "..."`` inside the block shows the new stage at
    once. Disabled (not a terminal, or ``enabled=False``) there is no thread and no output."""

    def __init__(self, desc: str, stage="", *, enabled: bool = True, stream=None, interval: float = 0.5):
        self.desc, self._stage, self.enabled, self.stream, self.interval = desc, stage, enabled, stream, interval
        self.bar = self.thread = self._stop = None
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()

    @property
    def stage(self) -> str:
        """The stage text now (the function's answer when ``stage`` is a function)."""
        return self._stage() if callable(self._stage) else str(self._stage)

    @stage.setter
    def stage(self, value) -> None:
        self._stage = value
        self._show()

    def _show(self) -> None:
        """Redraw the bar with the current stage and elapsed seconds (nothing when disabled)."""
        if self.bar is None or self.bar.disable:
            return
        with self._lock:
            text, secs = self.stage, time.perf_counter() - self._t0
            self.bar.set_postfix_str(f"{text}, {secs:.0f} s" if text else f"{secs:.0f} s", refresh=False)
            self.bar.refresh()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self._show()

    def __enter__(self):
        self._t0 = time.perf_counter()
        self.bar = progress(total=None, desc=self.desc, unit="s", leave=False, enabled=self.enabled,
                            stream=self.stream, bar_format="{desc}{postfix}")  # postfix: ", stage, N s"
        if self.bar.disable:
            return self
        self._show()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._tick, name=f"spinner: {self.desc}", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> bool:
        if self._stop is not None:
            self._stop.set()
            self.thread.join()
        self.bar.close()
        return False


@contextmanager
def between_bars(stream=None):
    """For a block that prints to ``stream`` (default stderr) while bars may be showing: the bars
    on that stream (and, for stdout and stderr, on the other: one terminal) are cleared for the
    block and redrawn after it, so a log line does not land in the middle of a bar."""
    from tqdm import tqdm

    with tqdm.external_write_mode(file=stream if stream is not None else sys.stderr):
        yield
