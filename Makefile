# The two commands of the README: `make demo` and `make test`. Nothing else is needed first
# but python3 (3.11+) and make; the browser tests use Debian's chromium (see DEVELOPERS.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CKSUM  := $(shell cksum pyproject.toml | cut -d' ' -f1)
# One install stamp per set of extras: `make demo` installs only what the demo needs, and a
# later `make test` still installs the test tool chain.
STAMP      := $(VENV)/.installed-$(CKSUM)
DEMO_STAMP := $(VENV)/.installed-demo-$(CKSUM)
# A venv is healthy when its python runs and has pip. A first run interrupted by Ctrl-C while
# `python -m venv` ran ensurepip, or while pip replaced itself, leaves one that has neither:
# it is rebuilt (the `venv` step) and everything is installed into it again.
VENV_OK := $(shell $(BIN)/python -c 'import pip' >/dev/null 2>&1 && echo yes)

# `make check` is the fast lane (lint, import contracts, types, fast tests on two workers);
# `make test` is the full run CI uses.
.PHONY: check test lint typecheck pytest run demo fmt bench clean system-packages venv FORCE

venv:
	@if ! $(BIN)/python -c 'import pip' >/dev/null 2>&1; then \
		if [ -e $(VENV) ]; then echo "$(VENV) is incomplete (no pip): creating it again"; fi; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); \
	fi

ifneq ($(VENV_OK),yes)
# The stamps inside a broken venv say nothing about what is installed: install again.
$(STAMP) $(DEMO_STAMP): FORCE
endif

$(STAMP): pyproject.toml | venv
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# The demo needs the gateway and its runtime dependencies, not the test tool chain; after a
# `make test` everything it needs is already there.
$(DEMO_STAMP): pyproject.toml | venv
	@if [ ! -f $(STAMP) ]; then $(BIN)/python -m pip install --quiet -e .; fi
	@rm -f $(VENV)/.installed-demo-*
	@touch $@

FORCE:

test: $(STAMP) system-packages lint typecheck pytest

check: $(STAMP) lint typecheck
	$(BIN)/pytest -n 2 -m "not slow and not browser" $(PYTEST_ARGS)

system-packages:
	@./.ci/system-packages --if-root

lint: $(STAMP)
	$(BIN)/ruff check gateway portal_demo tests bench examples
	$(BIN)/ruff format --check gateway portal_demo tests bench examples
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest --cov=gateway --cov-report=term:skip-covered $(PYTEST_ARGS)

run: $(STAMP)
	$(BIN)/portal-gateway run --config config/gateway.yaml

# `python -m` from the checkout: the demo portal is importable from here only (it is not in
# the wheel), and its process, started by the gateway, inherits this directory.
demo: $(DEMO_STAMP)
	$(BIN)/python -m gateway demo

fmt: $(STAMP)
	$(BIN)/ruff format gateway portal_demo tests bench examples
	$(BIN)/ruff check --fix gateway portal_demo tests bench examples

bench: $(STAMP) system-packages
	$(BIN)/python bench/proxy_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .mypy_cache .ruff_cache .coverage .demo-data
