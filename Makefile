# Two commands matter: `make demo` and `make test`. Both set up what they need from scratch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test test-thorough lint typecheck bench synth clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The demo needs only the runtime and the embedded local AWS.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(VENV)/.runtime
	$(BIN)/tenantctl demo

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy layers/telemetry/tenant_telemetry layers/pipeline/tenant_pipeline functions tenantctl infra

test: $(VENV)/.dev node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/telemetry/tenant_telemetry layers/pipeline/tenant_pipeline functions tenantctl infra
	$(BIN)/pytest

# Thousands of generated files against the csv and json modules (a few hundred run in `make test`).
test-thorough: $(VENV)/.dev
	$(BIN)/pytest -m thorough

bench: $(VENV)/.dev
	$(BIN)/python -m bench

synth: $(VENV)/.dev node_modules/.installed
	npx cdk synth --quiet

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
