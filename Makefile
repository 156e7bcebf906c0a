# Townhall: `make run` serves the demo organisation, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell sha1sum pyproject.toml | cut -c1-12)
RUN_STAMP := $(VENV)/.run-$(HASH)
TEST_STAMP := $(VENV)/.test-$(HASH)
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/townhall
XDIST ?= -n 2

.PHONY: run test install lint check-schema test-sqlite test-postgres test-browser chromium bench bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

$(RUN_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/townhall migrate
	$(BIN)/townhall demo --if-empty
	$(BIN)/townhall serve

# Debian's chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core fonts-noto-color-emoji >/dev/null; \
	fi
	@# nginx for tests/flows/test_deploy.py (deploy/nginx/townhall.conf in front of the app).
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
	  echo "Installing Debian's nginx-light for the deployment test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	fi

lint: $(TEST_STAMP)
	$(BIN)/ruff check townhall tests scripts bench conftest.py
	$(BIN)/ruff format --check townhall tests scripts bench conftest.py
	$(BIN)/lint-imports
	$(BIN)/bandit -q -c pyproject.toml -r townhall --severity-level medium --confidence-level medium
	$(BIN)/mypy townhall
	$(BIN)/townhall makemigrations --check --dry-run
	$(BIN)/townhall openapi_snapshot --check

test-sqlite: $(TEST_STAMP) chromium
	$(BIN)/pytest $(XDIST) -q

test-postgres: $(TEST_STAMP)
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest $(XDIST) -q -m "not browser"

test: lint test-sqlite test-postgres

# Benchmarks (bench/README.md): not part of `make test`. `make bench` generates the
# full dataset into var/bench/ on first use (a few minutes; the search index on its
# first run), then prints one table: feeds, writes, notifications, search, SSE delivery.
# `make bench-smoke`: the same on the smoke preset, then a 5-member load test (~2 min).
bench: $(TEST_STAMP)
	$(BIN)/python -m bench.run

bench-smoke: $(TEST_STAMP)
	$(BIN)/python -m bench.run --size smoke
	$(BIN)/python -m bench.load --size smoke --start 5 --max-members 5 --max-seconds 10

clean:
	rm -rf $(VENV) build *.egg-info
