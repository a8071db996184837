# CaseEngine. `make run` serves the demo firm on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint format bench load mutate clean scim-check

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("CaseEngine needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

$(VENV)/.installed-mutate: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[mutate]'
	touch $(VENV)/.installed $(VENV)/.installed-test $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(VENV)/.installed $@

# The background worker (large transfers) runs beside the server and stops with it.
run: $(VENV)/.installed
	DEBUG=true $(BIN)/python manage.py migrate --noinput
	DEBUG=true $(BIN)/python manage.py migrate --noinput --database progress
	DEBUG=true $(BIN)/python manage.py seed_demo
	DEBUG=true $(BIN)/python manage.py ensure_admin
	@echo "Serving CaseEngine on http://$(HOST):$(PORT)/ (sign in with the administrator above)"
	DEBUG=true $(BIN)/python manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	DEBUG=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The outside SCIM 2.0 conformance suite (scim2-tester) against a live server; the
# checks CaseEngine does not support are listed, with why, in the test itself.
scim-check: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests/integrations/test_scim_conformance.py -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every hot path at the reference scale on PostgreSQL (not part of `make test`): one table of
# median / p95 server time and query count per row, saved to bench-results/. The databases
# are built on the first run and reused (BENCH_ARGS="--only transfers,pages --rounds 5").
bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# gunicorn on a fresh PostgreSQL database under staff browsing and concurrent transfers,
# driven by locust without its web UI, then integrity checks of the data.
LOAD_ARGS ?= --run-time 60s --server-workers 4
load: $(VENV)/.installed-bench
	mkdir -p bench-results
	$(BIN)/locust -f benchmarks/locustfile.py --headless --only-summary --stop-timeout 60 \
		--loglevel WARNING --json-file bench-results/load-locust $(LOAD_ARGS)

# Mutation testing (not part of `make test` or CI): mutmut plants one small bug at a time in
# the modules that carry the rules ([tool.mutmut] in pyproject.toml) and runs the tests that
# call the changed function; then mutation/score.py prints killed / mutants per module.
# On SQLite, whatever DATABASE_URL says. One module: make mutate MUTANTS='users.services.*'
# MUTATE_CHILDREN mutants run side by side, each on its own test database (mutation/plugin.py).
MUTANTS ?=
MUTATE_CHILDREN ?= 2
mutate: $(VENV)/.installed-mutate
	rm -f mutants/test-mutate*
	env -u DATABASE_URL MUTATE_CHILDREN=$(MUTATE_CHILDREN) \
		$(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) $(MUTANTS)
	$(BIN)/python mutation/score.py

clean:
	rm -rf $(VENV) mutants db.sqlite3 db.sqlite3-* db-progress.sqlite3* staticfiles .pytest_cache
