# Thin targets: each creates the virtual environment it needs, then calls scripts/ or pytest.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: venv demo test bench invoke lint build-lambda build-image clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	@touch $@

## demo: mirror the local fake upstream into ./mirror twice (the second run downloads nothing)
demo: $(STAMP)
	$(PY) scripts/demo.py --dest ./mirror

## test: the whole offline test suite (real terraform against moto when terraform and a provider mirror
## are present; otherwise those tests skip and the summary says what is missing), one worker per core
## (at most 4; the terraform tests share one worker); `$(PY) -m pytest tests/unit` runs a part in one process
test: $(STAMP) $(CHECKOV_STAMP)
	CHECKOV_BIN=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov $(PY) -m pytest -n auto --maxprocesses 4 --dist loadgroup

## bench: throughput, memory and plan-time figures into docs/benchmarks.md
bench: $(STAMP)
	$(PY) scripts/bench.py --out docs/benchmarks.md

## invoke: the whole AWS flow on this machine (moto server + fake upstream)
invoke: $(STAMP)
	$(PY) scripts/invoke_local.py --with-local-services

## lint: style and formatting (ruff), layering contracts (import-linter) and types (mypy)
lint: $(STAMP)
	$(VENV)/bin/ruff check shared lambda ecs scripts tests fakes
	$(VENV)/bin/ruff format --check shared lambda ecs scripts tests fakes
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

build-lambda:
	scripts/build_lambda.sh

build-image:
	scripts/build_image.sh

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build dist mirror
