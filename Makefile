PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test browser lint format openapi migrate worker bench clean

# Quiet: a first `make run` shows Hourline's few lines, not the installer's.
$(BIN)/python:
	@echo "installing into $(VENV) (once)..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	@$(BIN)/pip install --quiet --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## start API, worker, embedded PostgreSQL, Redis and mail sink (PORT=8000)
	@$(BIN)/hourline serve --port $(PORT)

# A demo agency in the running `make run` (or in the embedded services, started for it).
# `make demo ARGS=--reset` deletes the demo team and makes it anew.
demo: $(STAMP)
	@$(BIN)/hourline demo $(ARGS)

test: $(STAMP) browser  ## run the test suite against real PostgreSQL and Redis
	$(BIN)/pytest $(PYTEST_ARGS)

# Debian's chromium, for the pay page's browser test (tests/test_pay_page_browser.py):
# installed with apt when missing (as root, or with sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y chromium || { $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }; }

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
