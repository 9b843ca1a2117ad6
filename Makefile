# Two commands for everyone: `make lab` (study or teach) and `make test` (everything CI runs).
# Both create .venv on first use and install the package against binder/requirements.txt.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888

.PHONY: lab test lint system-deps clean-venv

$(STAMP): binder/requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s). Set PYTHON=python3.11." % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r binder/requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e . -c binder/requirements.txt
	@touch $(STAMP)

lab: $(STAMP)
	@$(BIN)/python -m clientprotection.lab --port $(PORT)

system-deps:
	@bash scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -p no:cacheprovider

clean-venv:
	rm -rf $(VENV)
