// Behavioural model of an SRAM macro for the Verilator builds of the eie-sim PE array
// (rtl/eie_rtl/sram.py instantiates it; the Amaranth simulator uses amaranth.lib.memory instead).
//
// Ports: two asynchronous read ports (r0, r1), one synchronous read port with enable (rs: the
// data of the address presented in one cycle appears in the next and is held while rs_en is
// low) and one write port. Unused ports are tied off by the instantiating Amaranth code.
//
// Preload: when the simulation is started with +EIE_PRELOAD=<dir> and <dir>/<TAG>.hex exists,
// the memory is filled from it with $readmemh at time 0 (one word per line, hexadecimal), so a
// test bench loads a full layer without a clocked write per word.
module eie_sram #(
    parameter integer WIDTH = 8,
    parameter integer DEPTH = 16,
    parameter integer ABITS = 4,
    parameter TAG = "mem"
) (
    input  wire             clk,
    input  wire [ABITS-1:0] r0_addr,
    output wire [WIDTH-1:0] r0_data,
    input  wire [ABITS-1:0] r1_addr,
    output wire [WIDTH-1:0] r1_data,
    input  wire             rs_en,
    input  wire [ABITS-1:0] rs_addr,
    output reg  [WIDTH-1:0] rs_data,
    input  wire             w_en,
    input  wire [ABITS-1:0] w_addr,
    input  wire [WIDTH-1:0] w_data
);
  reg [WIDTH-1:0] mem[0:DEPTH-1];

  assign r0_data = (r0_addr < DEPTH) ? mem[r0_addr] : {WIDTH{1'b0}};
  assign r1_data = (r1_addr < DEPTH) ? mem[r1_addr] : {WIDTH{1'b0}};

  always @(posedge clk) begin
    if (w_en && w_addr < DEPTH) mem[w_addr] <= w_data;
    if (rs_en) rs_data <= (rs_addr < DEPTH) ? mem[rs_addr] : {WIDTH{1'b0}};
  end

  initial begin : preload
    string dir;
    string path;
    integer fd;
    integer i;
    for (i = 0; i < DEPTH; i = i + 1) mem[i] = {WIDTH{1'b0}};
    rs_data = {WIDTH{1'b0}};
    if ($value$plusargs("EIE_PRELOAD=%s", dir)) begin
      path = {dir, "/", TAG, ".hex"};
      fd = $fopen(path, "r");
      if (fd != 0) begin
        $fclose(fd);
        $readmemh(path, mem);
      end
    end
  end
endmodule
