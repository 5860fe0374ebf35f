PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every install gets the versions pinned (with hashes) in the lock files: requirements.lock for
# what the product runs on (the Docker image), requirements-dev.lock adds the tools of the tests
# at the same versions. `make lock` rewrites both from pyproject.toml, keeping the pins it can;
# `make lock LOCK_ARGS=--upgrade` moves every pin to the newest release,
# `LOCK_ARGS='--upgrade-package NAME'` one of them.
RUNTIME_LOCK := requirements.lock
LOCK := requirements-dev.lock
PIP_TOOLS := pip-tools==7.6.2
LOCK_ARGS ?=

# The workflow sandbox re-imports the workflow modules for every new workflow: with
# PYTHONDONTWRITEBYTECODE set (as on these machines and in the image), that means compiling
# them each time, unless their bytecode is there to read.
COMPILED := workflows models activities api core bench

.PHONY: run test lint bench lock clean

# pip itself is pinned in the lock too. `pip check` fails on a runtime dependency that
# pyproject.toml names and the lock lacks: then run `make lock`.
$(STAMP): pyproject.toml $(RUNTIME_LOCK) $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m compileall -q $(COMPILED)
	$(BIN)/aftersales dev

# The script starts a throwaway PostgreSQL if none answers at AFTERSALES_TEST_POSTGRES_URL and
# installs Chromium if it can, or stops at once saying what is missing.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/test_prerequisites.py -- $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python -m compileall -q $(COMPILED)
	$(BIN)/python -m bench.lifecycle
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.worktime
	$(BIN)/python -m bench.kpis
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.ticket_list

# Needs only a venv (made if missing) and the package index, not the installed lock.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet '$(PIP_TOOLS)'
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) \
		--output-file $(RUNTIME_LOCK) pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links --extra dev \
		--constraint $(RUNTIME_LOCK) --output-file $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
	find $(COMPILED) -name __pycache__ -type d -prune -exec rm -rf {} +
