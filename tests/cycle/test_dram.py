"""eie_sim.cycle.dram: DRAM bytes of SRAM overflow, shared by the cycle model and the RTL driver."""

import numpy as np
import pytest

from eie_sim import ArchConfig, EIEError, encode, simulate
from eie_sim.cycle.dram import dram_bytes


def test_bytes_by_hand():
    # 3 pointers x 17 bits = 51 bits -> 7 bytes; 2 words x 64 bits = 16 bytes; 5 values x 16 bits = 10 bytes
    assert dram_bytes(ArchConfig(), 3, 2, 5) == {"dram_bytes": 33, "dram_bytes_ptr": 7, "dram_bytes_spmat": 16,
                                                 "dram_bytes_act": 10}
    # the total rounds the summed bits once: 17 + 12 = 29 bits -> 4 bytes, the parts 3 + 2
    got = dram_bytes(ArchConfig(act_bits=12), 1, 0, 1)
    assert got == {"dram_bytes": 4, "dram_bytes_ptr": 3, "dram_bytes_spmat": 0, "dram_bytes_act": 2}
    assert list(got) == ["dram_bytes", "dram_bytes_ptr", "dram_bytes_spmat", "dram_bytes_act"]
    assert dram_bytes(ArchConfig(sram_width=2048), 0, np.int64(3), 0)["dram_bytes_spmat"] == 3 * 256
    assert all(type(v) is int for v in dram_bytes(ArchConfig(), np.int64(1), np.int64(1), np.int64(1)).values())


@pytest.mark.parametrize("args, match", [((-1, 0, 0), "ptr_reads=-1: expected an integer count >= 0"),
                                         ((0, 1.5, 0), "spmat_words=1.5: expected an integer count >= 0"),
                                         ((0, 0, "3"), "act_values='3': expected an integer count >= 0")])
def test_bad_counts_refused(args, match):
    with pytest.raises(EIEError, match=match):
        dram_bytes(ArchConfig(), *args)


def test_cycle_model_pointer_overflow_by_hand():
    # One PE, 600 columns, one entry each, every activation non-zero: all 600 columns are
    # broadcast. A 1 KB pointer SRAM holds 8192 // 17 = 481 pointers; column j reads p[j] and
    # p[j+1], so columns 481..599 read two pointers from DRAM and column 480 one: 239 reads,
    # 239 x 17 = 4063 bits -> 508 bytes. Nothing else overflows.
    codes = np.ones((1, 600), dtype=np.uint8)
    enc = encode(codes, np.r_[0.0, np.ones(15)], n_pe=1)
    sim = simulate(enc, np.full(600, 0.5), ArchConfig(n_pe=1, ptr_sram_kb=1))
    c = sim.counters
    assert (c["dram_bytes"], c["dram_bytes_ptr"], c["dram_bytes_spmat"], c["dram_bytes_act"]) == (508, 508, 0, 0)
    assert c["ptr_sram_reads"] == 2 * 600 - 239


def test_rtl_driver_counts_the_same_bytes():
    driver = pytest.importorskip("eie_rtl.driver")
    cfg = ArchConfig(n_pe=2, act_bits=12)
    pe = [[0] * len(driver.PE_COUNTERS) for _ in range(2)]
    at = {n: i for i, n in enumerate(driver.PE_COUNTERS)}
    pe[0][at["ptr_dram_reads"]], pe[1][at["ptr_dram_reads"]] = 100, 139  # 239 x 17 bits = 4063 -> 508 bytes
    pe[1][at["spmat_dram_reads"]] = 3  # 3 x 64 bits = 24 bytes
    pe[0][at["act_dram_reads"]], pe[1][at["act_dram_writes"]] = 2, 1  # 3 x 12 bits = 36 -> 5 bytes
    got = driver.rtl_counters(pe, [0] * len(driver.ARRAY_COUNTERS), 0, cfg)
    # total: 4063 + 192 + 36 = 4291 bits -> 537 bytes
    assert [got[k] for k in ("dram_bytes", "dram_bytes_ptr", "dram_bytes_spmat", "dram_bytes_act")] == [537, 508, 24, 5]
