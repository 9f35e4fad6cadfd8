import dataclasses

import pytest

from eie_sim import ArchConfig, ConfigError, EIEError


def test_defaults_are_the_eie_chip():
    c = ArchConfig()
    assert (c.n_pe, c.fifo_depth, c.sram_width, c.weight_bits, c.index_bits, c.act_bits) == (64, 8, 64, 4, 4, 16)
    assert (c.ptr_bits, c.clock_mhz, c.spmat_sram_kb, c.ptr_sram_kb, c.act_regs_per_pe, c.act_sram_kb) == (17, 800.0, 128, 32, 64, 2)
    assert c.entries_per_word == 8
    assert c.spmat_capacity_entries == 131072  # 128 KB of 8-bit entries
    # the last entry of a full SRAM is at 131071, which needs 17 bits (the paper's 16 hold 65535)
    assert c.spmat_capacity_entries.bit_length() == 18 and (c.spmat_capacity_entries - 1).bit_length() == 17


def test_frozen_and_replace():
    c = ArchConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.n_pe = 3
    d = dataclasses.replace(c, n_pe=4, fifo_depth=1)
    assert (d.n_pe, d.fifo_depth) == (4, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_pe": 0}, "n_pe=0: expected an integer in 1..65536"),
        ({"n_pe": 2.0}, "n_pe=2.0: expected an integer"),
        ({"n_pe": True}, "n_pe=True"),
        ({"fifo_depth": 0}, "fifo_depth=0"),
        ({"weight_bits": 0}, "weight_bits=0"),
        ({"weight_bits": 9}, "weight_bits=9"),
        ({"index_bits": 9}, "index_bits=9"),
        ({"act_bits": 1}, "act_bits=1"),
        ({"acc_bits": 20}, "acc_bits=20: expected an integer in 32..62"),
        ({"sram_width": 7}, "sram_width=7: expected an integer in 8..4096"),
        ({"clock_mhz": 0}, "clock_mhz=0"),
        ({"clock_mhz": float("nan")}, "clock_mhz=nan"),
        ({"clock_mhz": "fast"}, "clock_mhz='fast'"),
        ({"spmat_sram_kb": -1}, "spmat_sram_kb=-1"),
        ({"ptr_bits": 0}, "ptr_bits=0"),
    ],
)
def test_bad_values_are_named(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ArchConfig(**kwargs)
    assert issubclass(ConfigError, EIEError)
