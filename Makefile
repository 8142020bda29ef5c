PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format openapi migrate worker bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## start API, worker, embedded PostgreSQL, Redis and mail sink
	$(BIN)/hourline serve

test: $(STAMP)  ## run the test suite against real PostgreSQL and Redis
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app tests migrations
	$(BIN)/ruff format --check app tests

format: $(STAMP)
	$(BIN)/ruff format app tests
	$(BIN)/ruff check --fix app tests

openapi: $(STAMP)
	$(BIN)/hourline openapi

migrate: $(STAMP)
	$(BIN)/hourline migrate

worker: $(STAMP)
	$(BIN)/hourline worker

clean:
	rm -rf $(VENV) .pytest_cache
