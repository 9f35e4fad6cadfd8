# eie-sim: `make demo` and `make test` each set up .venv (when missing or stale) first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := build/demo
FASHION_DIR := /usr/share/datasets/fashion-mnist
# root installs directly; anyone else through non-interactive sudo (never a password prompt)
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo "sudo -n")
APT    := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -y -q

.PHONY: all venv data demo test test-fast test-rtl-full bench-rtl clean

all: test

# Recreated when pyproject.toml changes or the venv is missing or broken.
$(STAMP): pyproject.toml
	@if ! $(BIN)/python -c 'import sys' >/dev/null 2>&1; then rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	@touch $(STAMP)

venv: $(STAMP)

# Fashion-MNIST from the Debian package dataset-fashion-mnist, installed when absent.
data:
	@if [ ! -f $(FASHION_DIR)/train-images-idx3-ubyte.gz ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing the Debian package dataset-fashion-mnist"; \
	    $(APT) install dataset-fashion-mnist >/dev/null 2>&1 || \
	    { $(SUDO) apt-get -q update >/dev/null 2>&1 && $(APT) install dataset-fashion-mnist >/dev/null 2>&1; } || \
	    echo "warning: could not install dataset-fashion-mnist; Fashion-MNIST tests will be skipped"; \
	  else echo "warning: no apt-get; Fashion-MNIST tests will be skipped"; fi; \
	fi

demo: $(STAMP) data
	@mkdir -p $(DEMO)
	$(BIN)/eie-sim bench
	$(BIN)/eie-sim info models/lenet300-fashion.npz
	$(BIN)/eie-sim eval models/lenet300-fashion.npz --dataset fashion-mnist --simulate 20
	$(BIN)/eie-sim sweep --pes 1,2,4,8,16,32,64 --fifo-depth 1,2,4,8,16 --sram-width 32,64,128 --weight-bits 2,3,4 \
	  --layers alex7,vgg7,ntwe --scale 0.25 --model models/lenet300-fashion.npz --limit-test 2000 \
	  --out $(DEMO)/sweep.parquet
	$(BIN)/eie-sim plot $(DEMO)/sweep.parquet --limit-test 2000 -o $(DEMO)/plots
	@# the paper's scalability study (Fig. 11): activation registers sized to the layer (1024 >= every layer's rows)
	$(BIN)/eie-sim sweep --pes 1,2,4,8,16,32,64 --set act_regs_per_pe=1024 --layers alex7,vgg7,ntwe --scale 0.25 \
	  --model models/lenet300-fashion.npz --workers 1 --out $(DEMO)/sweep-sized-registers.parquet
	$(BIN)/eie-sim plot $(DEMO)/sweep-sized-registers.parquet --kind speedup -o $(DEMO)/plots/speedup-sized-registers.png

# every test except the full-size RTL runs (slow and rtl: `make test-rtl-full`)
test: $(STAMP) data
	$(BIN)/python -m pytest -q -m "not (slow and rtl)"

test-fast: $(STAMP) data
	$(BIN)/python -m pytest -q -m "not rtl and not slow"

# full-size Table III layers on the paper's 64-PE configuration in Verilator: one build of
# about 8 minutes (cached in build/rtl), then about a minute per layer
test-rtl-full: $(STAMP)
	$(BIN)/python -m pytest -q -s -m "slow and rtl" tests/rtl

# Verilator speed and load time at 4, 16 and 64 PEs (C++ -O2 builds, cached in build/rtl)
bench-rtl: $(STAMP)
	$(BIN)/python benchmarks/bench_rtl.py

clean:
	rm -rf build .pytest_cache .hypothesis
