# The two commands of the quick start: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?=
# pytest workers (pytest-xdist): each has its own database (a SQLite file or a PostgreSQL schema); whole files
# stay on one worker, so a module's browser server and demo are made once
TEST_WORKERS ?= 2

.PHONY: demo test lint typecheck pytest bench clean audit

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

## demo: install, create ./emhana.db, migrate, seed 10,000 synthetic people, serve on 127.0.0.1:8000
demo: $(VENV)/.installed
	$(BIN)/emhana demo

## test: install dev tools, then ruff, mypy and the whole pytest suite (browser tests need Debian chromium)
test: $(VENV)/.dev
	@test -x /usr/bin/chromium || echo "NOTE: /usr/bin/chromium (Debian package chromium) is missing: the browser tests will be skipped. Install it with: apt-get install chromium"
	$(BIN)/ruff format --check emhana tests examples
	$(BIN)/ruff check emhana tests examples
	$(BIN)/mypy emhana tests
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(VENV)/.dev
	$(BIN)/ruff format --check emhana tests examples
	$(BIN)/ruff check emhana tests examples
	$(BIN)/lint-imports

typecheck: $(VENV)/.dev
	$(BIN)/mypy emhana tests

## audit: pip-audit of the installed packages; fails on a known vulnerability (see .ci/audit)
audit: $(VENV)/.dev
	BIN=$(BIN) .ci/audit

## bench: load and near-search benchmarks on PostgreSQL (`emhana bench --help` lists all; see benchmarks/RESULTS.md)
bench: $(VENV)/.dev
	$(BIN)/emhana bench load --population 1000000 --database-url $(or $(PG_TEST_URL),postgresql+psycopg://postgres@127.0.0.1:5432/test)
	$(BIN)/emhana bench near --database-url $(or $(PG_TEST_URL),postgresql+psycopg://postgres@127.0.0.1:5432/test)

clean:
	rm -rf $(VENV) emhana.db emhana.db-wal emhana.db-shm
