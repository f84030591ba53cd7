# Everything a fresh machine needs is installed by these targets: .venv (pip) and node_modules (npm ci).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: all setup test lint demo sandbox compare gas-report bench plot compile deploy console clean

all: setup

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,lint]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check l2 tests scripts
	$(BIN)/mypy

demo: setup
	$(BIN)/l2 demo

sandbox: setup
	$(BIN)/l2 sandbox $(ARGS)

compare: setup
	$(BIN)/l2 compare

gas-report: setup
	$(BIN)/l2 gas-report

bench: setup
	$(BIN)/l2 bench --json bench.json

plot: setup
	$(BIN)/l2 bench --json bench.json --plot bench.png

compile: setup
	$(BIN)/l2 compile

deploy: setup
	$(BIN)/python scripts/deploy.py $(ARGS)

console: setup
	$(BIN)/l2 console

clean:
	rm -rf $(VENV) node_modules build .hypothesis bench.json bench.png
