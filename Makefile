# Two commands for a newcomer: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := requirements/constraints.txt
TEST_HOME := $(CURDIR)/.test-home
PG_SOCKET_URL := postgresql:///infogerance?host=/var/run/postgresql
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install install-test chromium lint typecheck importlint pytest pytest-sqlite pytest-postgres lock messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"

$(VENV)/.installed: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(PIP) install --quiet -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --quiet -c $(CONSTRAINTS) -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make demo: the platform on SQLite in ./var (or $INFOGERANCE_HOME) with demo data.
demo: install
	$(BIN)/infogerance demo --serve

## make test: lint, types, layering, the suite on SQLite and, when reachable, PostgreSQL.
test: install-test chromium lint typecheck importlint pytest

# System tools the suite needs: Debian's chromium (browser tests), GNU gettext (the
# translation checks), restic (the oracle of the backup engine's repositories) and Pango
# with a font (WeasyPrint's PDF reports). Installed when missing and when we are root;
# otherwise those tests skip, except under CI=true, where they fail.
chromium:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v xgettext >/dev/null 2>&1 || missing="$$missing gettext"; \
	command -v restic >/dev/null 2>&1 || missing="$$missing restic"; \
	ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing:$$missing (not root): those tests will be skipped (CI fails instead)."; fi; \
	fi

lint:
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs

typecheck:
	$(BIN)/mypy

importlint:
	$(BIN)/lint-imports

pytest: pytest-sqlite pytest-postgres

pytest-sqlite:
	rm -rf $(TEST_HOME) && mkdir -p $(TEST_HOME)
	INFOGERANCE_HOME=$(TEST_HOME) INFOGERANCE_DATABASE_URL= $(BIN)/pytest -q

# PostgreSQL: INFOGERANCE_TEST_DATABASE_URL, else the local socket when a server answers there.
pytest-postgres:
	@url="$${INFOGERANCE_TEST_DATABASE_URL:-}"; \
	if [ -z "$$url" ] && command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h /var/run/postgresql; then \
	  url="$(PG_SOCKET_URL)"; fi; \
	if [ -z "$$url" ]; then \
	  if [ "$${CI:-}" = "true" ]; then echo "CI: no PostgreSQL reachable, failing." >&2; exit 1; fi; \
	  echo "No PostgreSQL reachable: the PostgreSQL run is skipped."; exit 0; fi; \
	echo "PostgreSQL run"; \
	rm -rf $(TEST_HOME)-pg && mkdir -p $(TEST_HOME)-pg && \
	INFOGERANCE_HOME=$(TEST_HOME)-pg INFOGERANCE_DATABASE_URL="$$url" $(BIN)/pytest -q -m "not browser"

## make lock: refresh the constraints file from a fresh resolution.
lock:
	rm -rf /tmp/infogerance-lock && $(PYTHON) -m venv /tmp/infogerance-lock
	/tmp/infogerance-lock/bin/pip install --quiet --upgrade pip
	/tmp/infogerance-lock/bin/pip install --quiet -e '.[test]'
	/tmp/infogerance-lock/bin/pip freeze --exclude-editable | grep -vi '^infogerance' > $(CONSTRAINTS)

## make messages: extract and compile translations (needs GNU gettext).
messages: install
	cd src/infogerance && INFOGERANCE_HOME=$(TEST_HOME) ../../$(BIN)/django-admin makemessages -l fr --no-obsolete --settings=infogerance.settings --ignore='*/tests/*' --ignore='*/migrations/*'
	cd src/infogerance && INFOGERANCE_HOME=$(TEST_HOME) ../../$(BIN)/django-admin compilemessages --settings=infogerance.settings

clean:
	rm -rf $(VENV) $(TEST_HOME) $(TEST_HOME)-pg

## make openapi: write the API and contract-format schemas that tests compare (after a deliberate change).
openapi: install
	INFOGERANCE_HOME=$(TEST_HOME) $(BIN)/python -c "import json, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'infogerance.settings'); django.setup(); from infogerance.api import api; print(json.dumps(api.get_openapi_schema(), indent=2, sort_keys=True, ensure_ascii=False))" > docs/api/openapi.json
	INFOGERANCE_HOME=$(TEST_HOME) $(BIN)/infogerance contract schema > docs/contract.schema.json
