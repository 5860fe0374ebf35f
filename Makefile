PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The workflow sandbox re-imports the workflow modules for every new workflow: with
# PYTHONDONTWRITEBYTECODE set (as on these machines and in the image), that means compiling
# them each time, unless their bytecode is there to read.
COMPILED := workflows models activities api bench

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m compileall -q $(COMPILED)
	$(BIN)/aftersales dev

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m compileall -q $(COMPILED)
	$(BIN)/python -m bench.lifecycle
	$(BIN)/python -m bench.worktime

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
	find $(COMPILED) -name __pycache__ -type d -prune -exec rm -rf {} +
