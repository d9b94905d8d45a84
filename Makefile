# maskforge developer entry points. `make demo` and `make test` work from a clean clone with
# nothing but Python 3.11 and pip: uv is bootstrapped into .uv/ when it is not on PATH.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.uv/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
SHARED_FACES := ../shared/faces/lfw-dev
INPUT ?= $(if $(wildcard $(SHARED_FACES)),$(SHARED_FACES),)
OUTPUT ?= demo-out
PYTEST_ARGS ?=

.PHONY: demo test lint bench clean-venv

$(CURDIR)/.uv/bin/uv:
	$(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet uv

# --compile-bytecode: modules load from .pyc in every process (each Ray actor imports torch, dlib,
# pyarrow...), also where PYTHONDONTWRITEBYTECODE keeps Python from caching them itself.
$(BIN)/maskforge: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra dev --compile-bytecode
	@touch $@

demo: $(BIN)/maskforge
	@if [ -z "$(INPUT)" ]; then \
	  echo "make demo: no input faces: $(SHARED_FACES) is absent. Run: make demo INPUT=/path/to/identity-folders" >&2; \
	  exit 2; \
	elif [ ! -d "$(INPUT)" ]; then \
	  echo "make demo: INPUT=$(INPUT) is not a folder. Run: make demo INPUT=/path/to/identity-folders" >&2; \
	  exit 2; fi
	$(BIN)/maskforge run recipes/demo.toml --input "$(INPUT)" --output "$(OUTPUT)"

# Layers and types first (seconds), then the tests: contracts in pyproject.toml ([tool.importlinter],
# [tool.mypy]).
test: $(BIN)/maskforge
	$(BIN)/lint-imports
	$(BIN)/mypy maskforge
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(BIN)/maskforge
	$(BIN)/ruff check .

bench: $(BIN)/maskforge
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-venv:
	rm -rf $(VENV) .uv
