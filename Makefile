# eie-sim: `make demo` and `make test` each set up .venv (when missing or stale) first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := build/demo

.PHONY: all venv demo test test-fast clean

all: test

# Recreated when pyproject.toml changes or the venv is missing or broken.
$(STAMP): pyproject.toml
	@if ! $(BIN)/python -c 'import sys' >/dev/null 2>&1; then rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@mkdir -p $(DEMO)
	$(BIN)/eie-sim bench
	$(BIN)/eie-sim example -o $(DEMO)/example.npz
	$(BIN)/eie-sim info $(DEMO)/example.npz
	$(BIN)/eie-sim run $(DEMO)/example.npz --pes 8
	$(BIN)/eie-sim golden $(DEMO)/example.npz

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not rtl and not slow"

clean:
	rm -rf build .pytest_cache .hypothesis
