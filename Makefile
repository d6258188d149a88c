# Every target creates .venv and installs the project (with dev tools) if needed.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

WORKSPACE ?= acme

.PHONY: install run token test test-shuffled test-alone test-postgres lint format bench clean

# Installer output goes to stderr, so `TOKEN=$$(make token)` captures only the token even when
# this is the command that creates the venv.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) >&2
	@$(BIN)/python -m pip install -q --upgrade pip >&2
	@$(BIN)/python -m pip install -q -e '.[dev]' >&2
	@touch $(STAMP)

## Create .venv and install Trunkline with its dev tools (every other target does it if needed)
install: $(STAMP)
	@echo "trunkline is installed in $(VENV) ($(BIN)/trunkline)" >&2

## Start the service on 127.0.0.1:8000 with the embedded SQLite database under ./data/;
## prints "trunkline: ready on …" once it accepts requests
run: $(STAMP)
	@$(BIN)/trunkline serve

## Print a new API token for workspace $(WORKSPACE) (creating it, and migrating the database,
## if needed): works before the server is up. TOKEN=$$(make token)
token: $(STAMP)
	@$(BIN)/trunkline token create --workspace $(WORKSPACE)

## Run the test suite (SQLite by default; TRUNKLINE_TEST_DATABASE_URL selects PostgreSQL)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The suite in a shuffled order (pytest-random-order): modules shuffled, and the tests within
## each module. SEED=n replays an order (the run prints its seed); BUCKET=package or global
## mixes modules too. `make test` keeps the file order.
SEED   ?= $(shell date +%s)
BUCKET ?= module
test-shuffled: $(STAMP)
	$(BIN)/python -m pytest --random-order-bucket=$(BUCKET) --random-order-seed=$(SEED) $(PYTEST_ARGS)

## Each of a sample of tests alone, in a fresh process: N tests drawn with SEED (tests/alone.py)
N ?= 60
test-alone: $(STAMP)
	$(BIN)/python -m tests.alone --count $(N) --seed $(SEED) $(PYTEST_ARGS)

## The suite against the local PostgreSQL (database `test`)
test-postgres: $(STAMP)
	TRUNKLINE_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src/trunkline

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

## Benchmarks (never part of `make test`)
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
