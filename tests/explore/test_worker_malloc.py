"""The Dask worker's malloc setting (:func:`eie_sim.explore.worker.tune_malloc`): Dask's nanny
starts workers with MALLOC_TRIM_THRESHOLD_=65536, which fixes glibc's mmap threshold at 128 KiB,
so every large allocation is mmap'd and unmapped on free and faults its pages in again on each use.

Observed deterministically, through glibc's own bookkeeping rather than page faults or timing: in
a fresh process, ``mallinfo2().hblks`` (chunks served by mmap) goes up by one while an 8 MiB
block is held if and only if glibc mmaps it. The first such block is mmap'd under glibc's
default dynamic threshold (128 KiB); freeing it raises that threshold, so the second is not. With
the Dask setting the threshold stays at 128 KiB and both are; after the tuning (32 MiB) neither is."""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc"
                                or tuple(map(int, platform.libc_ver()[1].split(".")[:2])) < (2, 33),
                                reason="glibc >= 2.33 (mallinfo2) only")

PROBE = """
import ctypes, sys
from eie_sim.explore.worker import tune_malloc
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
tuned = tune_malloc() if sys.argv[1] == "tune" else None
again = tune_malloc() if sys.argv[1] == "tune" else None
mapped = []
for _ in range(2):
    before = libc.mallinfo2().hblks
    p = libc.malloc(8 << 20)
    mapped.append(libc.mallinfo2().hblks - before)
    libc.free(p)
print(tuned, again, *mapped)
"""


def _probe(mode: str, **env) -> tuple[str, str, int, int]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    e.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env=e, capture_output=True, text=True, check=True)
    tuned, again, first, second = out.stdout.split()
    return tuned, again, int(first), int(second)


def test_dask_trim_threshold_makes_large_blocks_mmapped_and_tuning_undoes_it():
    assert _probe("none")[2:] == (1, 0)  # glibc's dynamic threshold: only the first 8 MiB block is mmap'd
    assert _probe("none", MALLOC_TRIM_THRESHOLD_="65536")[2:] == (1, 1)  # fixed at 128 KiB: every one is
    assert _probe("tune", MALLOC_TRIM_THRESHOLD_="65536") == ("True", "False", 0, 0)  # once per process; heap


def test_a_threshold_the_user_chose_is_kept():
    assert _probe("tune") == ("False", "False", 1, 0)  # no Dask setting: nothing to undo
    assert _probe("tune", MALLOC_TRIM_THRESHOLD_="65536", MALLOC_MMAP_THRESHOLD_="131072") == ("False", "False", 1, 1)
