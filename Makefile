# The two commands a new user needs: `make run` and `make test` (see README).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PEYVAND_HOME ?= .peyvand
# Built embedding models are shared by the demo home and the test suite.
export PEYVAND_MODEL_CACHE ?= $(CURDIR)/.cache/models

.PHONY: setup models run test lint bench system-deps

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

FONTS := api/web/static/fonts/Vazirmatn-Regular.woff2

# The Persian web font comes from the npm package `vazirmatn`, never from a remote URL.
$(FONTS): api/web/package.json api/web/package-lock.json
	cd api/web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent fonts

# axe-core (npm, a dev dependency) is injected by the browser tests' accessibility check.
AXE := api/web/node_modules/axe-core/axe.min.js
$(AXE): api/web/package.json api/web/package-lock.json
	cd api/web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent fonts

# Debian's Chromium drives the browser tests (Playwright uses it; it downloads no browser).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

setup: $(VENV)/.installed $(FONTS)

models: setup
	$(BIN)/peyvand --home $(PEYVAND_HOME) models build-default

# The demo home is built once (minutes: it embeds the history and trains the rankers);
# later runs serve it straight away. `rm -r .peyvand` starts afresh.
run: models
	@test -f $(PEYVAND_HOME)/demo_accounts.json || $(BIN)/peyvand --home $(PEYVAND_HOME) demo
	$(BIN)/peyvand --home $(PEYVAND_HOME) serve

test: models system-deps $(AXE)
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check recommender training api data tests benchmarks
	$(BIN)/mypy
