"""The one pointer-width widening rule (eie_sim.explore.worker.widen_ptr_bits) of the CLI, the
sweep and the co-design search."""

import pytest

from eie_sim import ArchConfig, PointerOverflowError, suite, encode
from eie_sim.explore.worker import widen_ptr_bits


def _runner(needs):
    """run(bits) that overflows while bits < the next need in ``needs``; the widths it ran at."""
    seen = []

    def run(bits):
        seen.append(bits)
        for n in needs:
            if bits < n:
                raise PointerOverflowError(f"need {n}", n)
        return f"ok at {bits}"

    return run, seen


def test_widens_once_to_what_is_needed_and_reports_it():
    run, seen = _runner([20])
    calls = []
    assert widen_ptr_bits(run, 17, on_widen=lambda old, new: calls.append((old, new))) == ("ok at 20", 20)
    assert seen == [17, 20] and calls == [(17, 20)]
    assert widen_ptr_bits(_runner([])[0], 17) == ("ok at 17", 17)


def test_fixed_width_and_exhausted_widenings_raise():
    with pytest.raises(PointerOverflowError):
        widen_ptr_bits(_runner([20])[0], 17, fixed=True)
    run, seen = _runner([18, 19, 20])
    with pytest.raises(PointerOverflowError):
        widen_ptr_bits(run, 17)  # one widening: the second run's overflow is raised
    assert seen == [17, 18]
    run, seen = _runner([18, 19, 20])
    assert widen_ptr_bits(run, 17, widenings=3) == ("ok at 20", 20)


def test_a_real_layer_on_one_pe_gets_the_pointers_it_needs():
    b = suite.get("alex7", scale=0.5)
    res, bits = widen_ptr_bits(lambda w: encode(b.codes, b.codebook, n_pe=1, ptr_bits=w), 8)
    assert bits > 8 and res.ptr_bits_needed == bits and ArchConfig(ptr_bits=bits).ptr_bits == bits
