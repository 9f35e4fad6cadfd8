"""An SRAM of the PE: ``amaranth.lib.memory.Memory`` for the Amaranth simulator and synthesis,
or an instance of the behavioural macro ``eie_sram.sv`` for Verilator builds, whose contents a
bench preloads from ``<TAG>.hex`` files (``+EIE_PRELOAD=<dir>``) instead of writing them word by
word through the load port. Both have the same ports and the same timing:

* ``r0``, ``r1``: asynchronous reads (the data of the address presented in the same cycle);
* ``rs``: a synchronous read with enable (data in the next cycle, held while ``rs_en`` is low);
* ``w``: one write port (visible to reads from the next cycle on).
"""

from __future__ import annotations

from pathlib import Path

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["SRAM", "MACRO_SOURCE", "MACRO_NAME"]

MACRO_NAME = "eie_sram"
MACRO_SOURCE = Path(__file__).resolve().parent / "eie_sram.sv"


def _abits(depth: int) -> int:
    return max(1, (depth - 1).bit_length())


class SRAM(wiring.Component):
    """``depth`` words of ``width`` bits. ``comb_reads`` (0, 1 or 2) asynchronous read ports,
    ``sync_read`` a synchronous one; ``macro`` picks the Verilog macro (with file preload under
    the name ``tag``) instead of an Amaranth memory."""

    def __init__(self, width: int, depth: int, *, comb_reads: int = 1, sync_read: bool = False, macro: bool = False,
                 tag: str = "mem", shape=None):
        for name, value, lo in (("width", width, 1), ("depth", depth, 1), ("comb_reads", comb_reads, 0)):
            if not isinstance(value, int) or value < lo or (name == "comb_reads" and value > 2):
                raise ValueError(f"SRAM {name}={value!r}: expected an integer >= {lo}" + (" and <= 2" if name == "comb_reads" else ""))
        self.width, self.depth, self.comb_reads, self.sync_read = width, depth, comb_reads, sync_read
        self.macro, self.tag = macro, tag
        self.abits = _abits(depth)
        data = shape if shape is not None else unsigned(width)
        ports = {"w_en": In(1), "w_addr": In(self.abits), "w_data": In(data)}
        for i in range(comb_reads):
            ports[f"r{i}_addr"] = In(self.abits)
            ports[f"r{i}_data"] = Out(data)
        if sync_read:
            ports.update(rs_en=In(1), rs_addr=In(self.abits), rs_data=Out(data))
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        if self.macro:
            self._macro(m)
        else:
            self._memory(m)
        return m

    def _memory(self, m: Module) -> None:
        m.submodules.mem = mem = Memory(shape=unsigned(self.width), depth=self.depth, init=[])
        wr = mem.write_port()
        m.d.comb += [wr.en.eq(self.w_en), wr.addr.eq(self.w_addr), wr.data.eq(self.w_data)]
        for i in range(self.comb_reads):
            rd = mem.read_port(domain="comb")
            m.d.comb += [rd.addr.eq(getattr(self, f"r{i}_addr")), getattr(self, f"r{i}_data").eq(rd.data)]
        if self.sync_read:
            rd = mem.read_port(transparent_for=())
            m.d.comb += [rd.en.eq(self.rs_en), rd.addr.eq(self.rs_addr), self.rs_data.eq(rd.data)]

    def _macro(self, m: Module) -> None:
        zero_a = Const(0, self.abits)
        r = [(getattr(self, f"r{i}_addr"), Signal(self.width, name=f"r{i}_raw")) if i < self.comb_reads
             else (zero_a, Signal(self.width, name=f"r{i}_unused")) for i in range(2)]
        rs = Signal(self.width)
        m.submodules.macro = Instance(
            MACRO_NAME,
            p_WIDTH=self.width, p_DEPTH=self.depth, p_ABITS=self.abits, p_TAG=self.tag,
            i_clk=ClockSignal(),
            i_r0_addr=r[0][0], o_r0_data=r[0][1], i_r1_addr=r[1][0], o_r1_data=r[1][1],
            i_rs_en=self.rs_en if self.sync_read else Const(0, 1),
            i_rs_addr=self.rs_addr if self.sync_read else zero_a, o_rs_data=rs,
            i_w_en=self.w_en, i_w_addr=self.w_addr, i_w_data=self.w_data,
        )
        for i in range(self.comb_reads):
            m.d.comb += getattr(self, f"r{i}_data").eq(r[i][1])
        if self.sync_read:
            m.d.comb += self.rs_data.eq(rs)
