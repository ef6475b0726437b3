# The two commands of the README: `make demo` and `make test`. Nothing else is needed first
# but python3 (3.11+) and make; the browser tests use Debian's chromium (see DEVELOPERS.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# `make check` is the fast lane (lint, import contracts, types, fast tests on two workers);
# `make test` is the full run CI uses.
.PHONY: check test lint typecheck pytest run demo fmt bench clean system-packages

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

test: $(STAMP) system-packages lint typecheck pytest

check: $(STAMP) lint typecheck
	$(BIN)/pytest -n 2 -m "not slow and not browser" $(PYTEST_ARGS)

system-packages:
	@./.ci/system-packages --if-root

lint: $(STAMP)
	$(BIN)/ruff check gateway portal_demo tests bench
	$(BIN)/ruff format --check gateway portal_demo tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest --cov=gateway --cov-report=term:skip-covered $(PYTEST_ARGS)

run: $(STAMP)
	$(BIN)/portal-gateway run --config config/gateway.yaml

demo: $(STAMP)
	$(BIN)/portal-gateway demo

fmt: $(STAMP)
	$(BIN)/ruff format gateway portal_demo tests bench
	$(BIN)/ruff check --fix gateway portal_demo tests bench

bench: $(STAMP) system-packages
	$(BIN)/python bench/proxy_bench.py

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .mypy_cache .ruff_cache .coverage .demo-data
