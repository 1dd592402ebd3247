# Wharf — `make run` to try it, `make test` to set up everything and run the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# System packages the suite drives for real: registry clients, PostgreSQL, the reference registry.
APT_PACKAGES := skopeo podman uidmap postgresql docker-registry wrk chromium containerd

.PHONY: run test lint unit system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.dev-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/wharf serve

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else \
	    echo "!! missing system packages (run make test as root to install them): $$missing"; \
	  fi; \
	fi

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: system-deps $(VENV)/.dev-deps lint
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

# The benchmark also needs nginx (the ceiling: static files) and the profiler and the other ASGI server it compares.
bench: APT_PACKAGES += nginx
bench: system-deps $(VENV)/.dev-deps
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) wharf-data .pytest_cache .mypy_cache .ruff_cache
