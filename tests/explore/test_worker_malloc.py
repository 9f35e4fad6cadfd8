"""The Dask worker's malloc setting (:func:`eie_sim.explore.worker._tune_malloc`): Dask's nanny
starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc mmap and unmap every
allocation above 128 KiB, so each large array faults its pages in again. Measured here by the
page faults of allocating, touching and freeing an 8 MiB array many times, in fresh processes."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")

PROBE = """
import resource, sys
import numpy as np
from eie_sim.explore.worker import _tune_malloc
tuned = _tune_malloc() if sys.argv[1] == "tune" else None
again = _tune_malloc() if sys.argv[1] == "tune" else None
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):  # let the heap grow once
    a = np.ones(1 << 20); del a
f0 = faults()
for _ in range(100):
    a = np.ones(1 << 20)  # 8 MiB, written: every page touched
    del a
print(tuned, again, faults() - f0)
"""


def _probe(mode: str, **env) -> tuple[str, str, int]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    e.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env=e, capture_output=True, text=True, check=True)
    tuned, again, faults = out.stdout.split()
    return tuned, again, int(faults)


def test_dask_trim_threshold_makes_every_large_array_fault_and_tuning_undoes_it():
    _, _, plain = _probe("none")
    _, _, dask_env = _probe("none", MALLOC_TRIM_THRESHOLD_="65536")
    tuned, again, fixed = _probe("tune", MALLOC_TRIM_THRESHOLD_="65536")
    assert dask_env >= 100 * 64  # every one of the 100 arrays faulted its pages in again (8 MiB each)
    assert plain < 100 and fixed < 100  # the heap is reused: the pages stay mapped
    assert (tuned, again) == ("True", "False")  # changed once per process


def test_a_threshold_the_user_chose_is_kept():
    assert _probe("tune")[:2] == ("False", "False")  # no Dask setting: nothing to undo
    tuned, _, faults = _probe("tune", MALLOC_TRIM_THRESHOLD_="65536", MALLOC_MMAP_THRESHOLD_="131072")
    assert tuned == "False" and faults >= 100 * 64
