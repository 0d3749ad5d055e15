# Winback: two commands on a fresh machine.
#   make demo   create .venv, install, run the whole monthly cycle on generated sample data
#   make test   install test needs (incl. Debian packages), lint, type-check, run every test
#   make messages  regenerate and compile the zh-Hans catalogue after changing wording
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
PG_URL ?= postgresql://postgres@127.0.0.1:5432/winback_test

.PHONY: demo serve test lint typecheck test-sqlite test-postgres system-deps messages bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/winback demo

serve: $(STAMP_RUN)
	$(BIN)/winback serve

system-deps:
	@bash scripts/install-system-deps.sh

messages: $(STAMP_RUN)
	PYTHON=$(BIN)/python bash scripts/update-catalogue.sh

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP_DEV)
	$(BIN)/mypy src

test-sqlite: $(STAMP_DEV)
	WINBACK_DATABASE_URL= $(BIN)/pytest -p no:cacheprovider -q

test-postgres: $(STAMP_DEV)
	@if bash scripts/check-postgres.sh; then \
	  WINBACK_DATABASE_URL=$(PG_URL) $(BIN)/pytest -p no:cacheprovider -q; \
	elif [ "$${CI:-}" = "true" ]; then exit 1; fi

test: system-deps $(STAMP_DEV) lint typecheck test-sqlite test-postgres

bench: $(STAMP_DEV)
	@for b in benchmarks/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache build src/*.egg-info
