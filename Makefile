# Tin Cậy — the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
FLASK     := $(VENV)/bin/flask --app wsgi
STAMP     := $(VENV)/.installed
INSTANCE  ?= instance
export TINCAY_INSTANCE_PATH ?= $(abspath $(INSTANCE))

# Find Python >= 3.12: python3.13, python3.12, then any pyenv version, else a clear message.
find_python = $(shell \
  for c in python3.13 python3.12 python3; do \
    p=$$(command -v $$c 2>/dev/null) || continue; \
    $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo $$p; exit 0; }; \
  done; \
  if command -v pyenv >/dev/null 2>&1; then \
    for v in $$(pyenv versions --bare 2>/dev/null | sort -rV); do \
      p="$$(pyenv root)/versions/$$v/bin/python3"; \
      [ -x "$$p" ] && $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo $$p; exit 0; }; \
    done; \
  fi)

.PHONY: help install run test test-fast test-postgres messages security bench clean system-tools

help:
	@echo "make run    start Tin Cậy on http://127.0.0.1:5000 (SQLite, keys and demo data in ./$(INSTANCE))"
	@echo "make test   install and run the whole test suite, every tier, in parallel (SQLite)"
	@echo "make test-fast   the everyday suite: without the browser, national and slow tiers"
	@echo "make test-postgres   the whole suite on PostgreSQL (TEST_DATABASE_URL, one database per worker)"
	@echo "make security / make bench   static checks and SQL-injection scan / benchmarks"

$(PY):
	@PYTHON="$(find_python)"; \
	if [ -z "$$PYTHON" ]; then \
	  echo "Tin Cậy needs Python 3.12 or newer and none was found."; \
	  echo "Install one, e.g. 'apt-get install python3.12 python3.12-venv' or 'pyenv install 3.12', then run make again."; \
	  exit 1; \
	fi; \
	echo "Using $$PYTHON ($$($$PYTHON --version))"; \
	$$PYTHON -m venv $(VENV)

$(STAMP): $(PY) setup.cfg pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) messages node_modules/.installed system-tools

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# Browser tests drive Debian's Chromium; PDF checks render pages with poppler. Installed when missing and
# we are root (a developer's machine or CI); otherwise say what to install.
SYSTEM_TOOLS := /usr/bin/chromium:chromium /usr/bin/pdftoppm:poppler-utils
system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do [ -x "$${pair%%:*}" ] || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "Please install:$$missing (Debian packages) for the browser and PDF tests."; exit 1; fi; \
	fi

messages: $(STAMP)
	@for d in casework/translations casework/cases/translations casework/stats/translations casework/offline/translations referral/translations livelihood/translations; do \
	  if [ -d $$d ]; then $(VENV)/bin/pybabel compile -d $$d >/dev/null 2>&1 || exit 1; fi; \
	done

$(INSTANCE)/keys/.created: | $(STAMP)
	$(FLASK) keys init
	@touch $@

run: install $(INSTANCE)/keys/.created
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

# One worker per core (pytest-xdist). A file's tests stay on one worker (loadfile): the module fixtures that
# start servers or build a release run once. Tiers are markers (pyproject.toml): browser, national,
# postgres, slow; make test runs them all, make test-fast leaves out browser, national and slow.
# --no-loadscope-reorder: files go out in the order tests/conftest.py gives (long files first); by default
# xdist sorts them by their number of tests and ran the one-test national file last, alone.
PYTEST := $(PY) -m pytest -p no:cacheprovider -n $${PYTEST_WORKERS:-auto} --dist loadfile --no-loadscope-reorder

test: install
	$(PYTEST) $(PYTEST_ARGS)

test-fast: install
	$(PYTEST) -m "not browser and not national and not slow" $(PYTEST_ARGS)

# Each worker creates its own database next to TEST_DATABASE_URL's (…/test_gw0, …/test_gw1) from the
# server's postgres maintenance database, and drops it at the end.
test-postgres: install
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(PYTEST) $(PYTEST_ARGS)

# The SQL-injection scan drives Debian's sqlmap; installed when missing and we are root.
security: install
	@if [ ! -x /usr/bin/sqlmap ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing: sqlmap"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlmap; \
	  else echo "Please install sqlmap (Debian package) for make security."; exit 1; fi; \
	fi
	bash tools/security.sh

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) build *.egg-info
