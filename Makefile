# The two commands: `make run` (embedded demo) and `make test` (the whole suite).
# Everything else here serves them or the people who operate mailflow.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint format migrate demo bench install clean-var

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Local settings for the embedded default (DEBUG on, SQLite and a filesystem broker under var/).
.env:
	@printf '# Local settings for `make run`; production sets these in its own environment.\nDEBUG=1\n' > .env

migrate: $(STAMP) .env
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	@echo ""
	@echo "  mailflow is starting at http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "  $$(cat var/demo-login.txt 2>/dev/null | awk '{print "login: " $$1 " / password: " $$2}')"
	@echo "  web + Celery worker + beat run below; Ctrl-C stops them all."
	@echo ""
	PATH="$(abspath $(BIN)):$$PATH" HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean-var:
	rm -rf var
