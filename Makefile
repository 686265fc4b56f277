# Two commands for a newcomer: `make run` (service on SQLite with the seed catalogue) and
# `make test` (the test suite). Both bootstrap .venv from nothing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run test test-all lint format openapi bench fuzz load compare-goals clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/indicator-service serve --migrate --seed catalog --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

test-all: install
	$(BIN)/pytest -m "" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy indicator_service tests
	$(BIN)/lint-imports
	$(BIN)/indicator-service openapi --check

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

openapi: install
	$(BIN)/indicator-service openapi

bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# A longer schemathesis pass (every operation with a key and without, the evaluator's scoring
# pass, schemathesis's coverage phase in each, stateful workflows).
FUZZ_EXAMPLES ?= 300
fuzz: install
	INDICATOR_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) INDICATOR_FUZZ_FULL_COVERAGE=1 $(BIN)/pytest tests/test_api_schema.py tests/scoring/test_fuzz_scoring.py tests/auth/test_fuzz_with_keys.py tests/hardening/test_stateful.py $(PYTEST_ARGS)

# HTTP figures on 1 and 2 uvicorn workers (docs/performance.md). LOAD_DATABASE_URL: an empty
# database (PostgreSQL recommended); default a temporary SQLite file.
LOAD_DATABASE_URL ?=
LOAD_ARGS ?= --seconds 5 --clients 8
load: install
	$(BIN)/python bench/bench_load.py $(if $(LOAD_DATABASE_URL),--database-url $(LOAD_DATABASE_URL)) $(LOAD_ARGS)

# Issue #21's goal figures of BASE (a commit) and this checkout, alternated (PostgreSQL).
ROUNDS ?= 2
compare-goals: install
	bench/compare_goals.sh $(BASE) $(ROUNDS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis indicator.db*
