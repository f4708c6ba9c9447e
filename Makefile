# Developer entry points. `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo serve test lint typecheck schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## Start Parley on a fresh embedded database with demo accounts.
	$(BIN)/parley demo --data-dir parley-demo-data

serve: $(STAMP)
	$(BIN)/parley serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck  ## The whole suite, as CI runs it.
	$(BIN)/pytest

schema: $(STAMP)  ## Regenerate the committed JSON Schema of the WebSocket protocol.
	$(BIN)/parley schema --output docs/protocol.schema.json

bench: $(STAMP)
	$(BIN)/python bench/messages.py

clean:
	rm -rf $(VENV) parley-data parley-demo-data .pytest_cache .mypy_cache .ruff_cache
