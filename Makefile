# Winback: two commands on a fresh machine, and a quick loop while working.
#   make demo   create .venv, install, run the whole monthly cycle on generated sample data
#   make check  lint, import contracts, types and the fast tests (no browser, demo or large data)
#   make test   install test needs (incl. Debian packages), lint, type-check, run every test on
#               SQLite and on PostgreSQL, in parallel (PYTEST_WORKERS=auto: one per CPU)
#   make messages  regenerate and compile the zh-Hans catalogue after changing wording
#   make constraints  move constraints.txt (the exact versions installed) to the newest allowed
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
# The exact versions installed: the set the tests last passed with (decision 0060).
CONSTRAINTS := constraints.txt
PG_URL ?= postgresql://postgres@127.0.0.1:5432/winback_test
PYTEST_WORKERS ?= auto
CHECK_WORKERS ?= 2
# Each pass leaves a JUnit report here; .ci/run refuses a pass that ran no test.
REPORTS := test-artifacts/junit
PYTEST := $(BIN)/pytest -p no:cacheprovider -q

.PHONY: demo serve check test lint typecheck test-fast test-sqlite test-postgres system-deps messages bench clean fonts constraints

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e .
	@touch $@

$(STAMP_DEV): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[dev,spark]'
	@touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/winback demo

serve: $(STAMP_RUN)
	$(BIN)/winback serve

# Which Chinese font the PDF report embeds (the noto-cjk-sans-otc package installed with the
# project, WINBACK_CJK_FONT, or the machine's Noto Sans CJK), or why there is none.
fonts: $(STAMP_RUN)
	$(BIN)/python -m winback.reporting.fonts

system-deps:
	@bash scripts/install-system-deps.sh

# Newest releases pyproject.toml allows, written to constraints.txt; then run `make test`.
constraints:
	PYTHON=$(PYTHON) bash scripts/refresh-constraints.sh

messages: $(STAMP_RUN)
	PYTHON=$(BIN)/python bash scripts/update-catalogue.sh

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports

typecheck: $(STAMP_DEV)
	$(BIN)/mypy src

# The fast tier: tests marked slow or browser are left out (tests/conftest.py, --fast); the
# slowest ten are listed, and so is any unmarked test over the fast-tier budget.
test-fast: $(STAMP_DEV)
	WINBACK_DATABASE_URL= $(PYTEST) -n $(CHECK_WORKERS) --fast --durations=10

check: $(STAMP_DEV)
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory lint typecheck test-fast && \
	echo "make check: passed in $$(( $$(date +%s) - start )) s"

# Every test, one pytest-xdist worker per CPU; each worker has its own test database
# (pytest-django appends _gw0, _gw1, ... to the name) and its own temporary directories.
# Default (load) scheduling: with --dist loadfile/loadscope schemathesis' per-operation cases
# (tests/web/api/test_schemathesis.py) report 2 tests instead of 24.
test-sqlite: $(STAMP_DEV)
	@mkdir -p $(REPORTS); rm -f $(REPORTS)/sqlite.xml
	WINBACK_DATABASE_URL= $(PYTEST) -n $(PYTEST_WORKERS) --durations=10 \
	  --junitxml=$(REPORTS)/sqlite.xml

test-postgres: $(STAMP_DEV)
	@mkdir -p $(REPORTS); rm -f $(REPORTS)/postgres.xml
	@if bash scripts/check-postgres.sh; then \
	  WINBACK_DATABASE_URL=$(PG_URL) $(PYTEST) -n $(PYTEST_WORKERS) --durations=10 \
	    --junitxml=$(REPORTS)/postgres.xml; \
	elif [ "$${CI:-}" = "true" ]; then exit 1; fi

test: system-deps $(STAMP_DEV) lint typecheck test-sqlite test-postgres

bench: $(STAMP_DEV)
	@for b in benchmarks/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache build src/*.egg-info
