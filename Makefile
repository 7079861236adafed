# Charter's build, check and run commands. `make help` lists them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# Two workers: the suite runs on SQLite and PostgreSQL and starts real servers; 2 cores in CI.
PYTEST_ARGS ?= -n 2
VENV := .venv
BIN := $(VENV)/bin
# Stamps let a re-run skip pip entirely until pyproject.toml changes.
STAMP_RUNTIME := $(VENV)/.installed
STAMP_DEV := $(VENV)/.installed-dev
# ruff fails on a path that does not exist, and benchmarks/ may not exist yet.
PY_PATHS := $(wildcard src tests benchmarks)

# Only the flags the caller set reach the CLI, so its own defaults (127.0.0.1:8080) stay in one place.
SERVE_ARGS := $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT)) $(if $(WORKERS),--workers $(WORKERS))

PG_GLOB := /usr/lib/postgresql/*/bin/pg_ctl

define LINT
$(BIN)/ruff check $(PY_PATHS)
$(BIN)/ruff format --check $(PY_PATHS)
$(BIN)/mypy
endef

.PHONY: help venv venv-runtime serve test lint fmt bench clean postgres-deps oidc-deps

help:
	@echo "make venv           .venv with the package and its dev tools (re-installs when pyproject.toml changes)"
	@echo "make serve          run the server (runtime install only); HOST=, PORT=, WORKERS= pass through"
	@echo "make test           lint, type-check, then pytest (PYTEST_ARGS= pass through); needs PostgreSQL"
	@echo "make lint           ruff check, ruff format --check, mypy"
	@echo "make fmt            ruff format, ruff check --fix"
	@echo "make bench          benchmarks/run.py (BENCH_ARGS= pass through)"
	@echo "make postgres-deps  install PostgreSQL with apt-get when missing (root only)"
	@echo "make clean          remove .venv and caches (charter-data/ is kept)"

# Debian's own python3 has venv without ensurepip until python3-venv is installed.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "error: $(PYTHON) is older than 3.11; run make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); \
	  else \
	    echo "error: '$(PYTHON) -m venv' failed; install python3-venv" >&2; exit 1; \
	  fi; }

# The dev install includes the runtime one, so it stamps both and `make serve` need not repeat it.
$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $(STAMP_RUNTIME) $@

$(STAMP_RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	@touch $@

venv: $(STAMP_DEV)

venv-runtime: $(STAMP_RUNTIME)

serve: venv-runtime
	$(BIN)/charter serve $(strip $(SERVE_ARGS))

test: venv postgres-deps oidc-deps
	$(LINT)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(LINT)

fmt: venv
	$(BIN)/ruff format $(PY_PATHS)
	$(BIN)/ruff check --fix $(PY_PATHS)

bench: venv postgres-deps
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# The tests start their own throwaway server from these binaries; nothing is started here.
postgres-deps:
	@if command -v pg_ctl >/dev/null || compgen -G '$(PG_GLOB)' >/dev/null; then \
	  exit 0; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "postgres-deps: PostgreSQL not found, installing it with apt-get"; \
	  apt-get update; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; \
	  compgen -G '$(PG_GLOB)' >/dev/null \
	    || { echo "error: apt-get installed postgresql but no $(PG_GLOB) exists" >&2; exit 1; }; \
	elif [ "$(CI)" = true ]; then \
	  echo "error: PostgreSQL (initdb, pg_ctl, postgres) is missing and only root can install it;" \
	    "install the 'postgresql' package or put pg_ctl on PATH" >&2; \
	  exit 1; \
	else \
	  echo "warning: PostgreSQL (initdb, pg_ctl, postgres) is missing and only root can install it;" \
	    "tests against PostgreSQL will fail until 'postgresql' is installed or pg_ctl is on PATH" >&2; \
	fi

# The SSO tests run a real OpenID Connect provider (npm oidc-provider) with Node.
oidc-deps:
	@command -v npm >/dev/null || { echo "error: Node.js and npm are needed for the SSO tests" >&2; exit 1; }
	@[ -d tests/support/oidc/node_modules ] || npm ci --prefix tests/support/oidc --no-audit --no-fund

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist src/*.egg-info
	find $(PY_PATHS) -type d -name __pycache__ -prune -exec rm -rf {} +
