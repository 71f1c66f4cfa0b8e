# The two commands a new user needs: `make run` and `make test` (see README).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PEYVAND_HOME ?= .peyvand
# Built embedding models are shared by the demo home and the test suite.
export PEYVAND_MODEL_CACHE ?= $(CURDIR)/.cache/models

.PHONY: setup models run test lint bench

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

models: setup
	$(BIN)/peyvand --home $(PEYVAND_HOME) models build-default

run: models
	$(BIN)/peyvand --home $(PEYVAND_HOME) demo

test: models
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check recommender training api data tests benchmarks
	$(BIN)/mypy
