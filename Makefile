# The two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export GRIDLINK_PORT ?= 8000
# Folders with a package.json whose packages the tests use; `npm ci` runs in each (one list).
NODE_PACKAGES := tests/interop web

.PHONY: run test lint format clean node-packages lock
LOCK_FLAGS := --quiet --generate-hashes --no-emit-index-url --no-emit-trusted-host --strip-extras --allow-unsafe

RUN_LOCK := requirements/runtime.lock
TEST_LOCK := requirements/test.lock

# Exact versions with hashes from the lock first (when there is one); then the project itself,
# whose pip install only adds what pyproject.toml gained since the lock was made (`make lock`).
$(VENV)/.run-installed: pyproject.toml $(wildcard $(RUN_LOCK))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if [ -f $(RUN_LOCK) ]; then $(BIN)/python -m pip install --quiet --require-hashes -r $(RUN_LOCK); fi
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(wildcard $(TEST_LOCK))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if [ -f $(TEST_LOCK) ]; then $(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK); fi
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.run-installed

# Regenerate both locks from pyproject.toml (newest versions within its bounds).
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile $(LOCK_FLAGS) --upgrade -o $(RUN_LOCK) pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --upgrade --extra test -o $(TEST_LOCK) pyproject.toml

run: $(VENV)/.run-installed
	$(BIN)/gridlink migrate
	$(BIN)/gridlink demo --no-migrate --if-empty
	$(BIN)/gridlink serve

# npm ci in each Node package folder when its lock changed; without Node.js the tests that
# need it are skipped, saying what to install.
node-packages:
	@if command -v npm >/dev/null 2>&1; then \
	  for dir in $(NODE_PACKAGES); do \
	    if [ ! -f $$dir/node_modules/.package-lock.json ] || \
	       [ $$dir/package-lock.json -nt $$dir/node_modules/.package-lock.json ]; then \
	      (cd $$dir && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	    fi; \
	  done; \
	else \
	  echo "Node.js and npm not found: the Node and browser interop tests will be skipped" \
	    "(install Node.js 20 and npm, e.g. apt-get install -y nodejs npm)"; \
	fi

test: $(VENV)/.test-installed node-packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/vulture
	$(BIN)/python -m pytest $(PYTEST_ARGS)

format: $(VENV)/.test-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis $(addsuffix /node_modules,$(NODE_PACKAGES))
