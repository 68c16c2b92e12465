# The two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export GRIDLINK_PORT ?= 8000

LOCK_FLAGS := --quiet --generate-hashes --no-emit-index-url --no-emit-trusted-host --strip-extras --allow-unsafe

.PHONY: run test lint format clean lock

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

test: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

format: $(VENV)/.test-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
