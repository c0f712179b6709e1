# CivicPost. `make run` tries it, `make test` tests it; `make help` lists everything else.
# Needs Python 3.11+ and Node.js with npm. PostgreSQL and Redis are used when DATABASE_URL / REDIS_URL are set.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Seconds between publisher rounds in `make run` (production default: CIVICPOST_DISPATCH_INTERVAL_SECONDS).
PUBLISH_INTERVAL ?= 5
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-k publishing -x"`.
PYTEST_ARGS ?=

.PHONY: help run test lint schema check-deploy bench audit migrate seed lock clean messages catalogues

help:
	@echo "make run            install, migrate, load the demo city, serve http://$(HOST):$(PORT) and publish (Ctrl-C stops)"
	@echo "make test           install the dev dependencies and run the whole test suite"
	@echo "make lint           ruff (lint + format check), bandit, import-linter contracts and mypy"
	@echo "make check-deploy   Django's deployment checks under production-like settings"
	@echo "make bench          run the benchmarks in bench/"
	@echo "make audit          pip-audit of the locked dependencies (needs an online vulnerability database)"
	@echo "make migrate        apply database migrations"
	@echo "make seed           load the demo city (DEBUG only)"
	@echo "make schema         regenerate the API's OpenAPI schema, docs/openapi.yaml (CI fails when it is stale)"
	@echo "make messages       collect new strings into locale/es/LC_MESSAGES/*.po and list what is left to translate (needs GNU gettext)"
	@echo "make lock           re-compile requirements/*.txt from pyproject.toml (LOCK_ARGS=--upgrade to update)"
	@echo "make clean          remove .venv, node_modules and caches (keeps .env and db.sqlite3)"

# --- Installation -------------------------------------------------------------------------------------

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 or newer is needed ($(PYTHON) not found)." >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "CivicPost needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1)." >&2; \
		echo "Point make at a newer one, e.g.: make run PYTHON=python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-base: requirements/base.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/base.txt
	@touch $@

$(VENV)/.installed-dev: requirements/dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@touch $@

# USWDS and htmx come from npm (package-lock.json); Django serves them from node_modules.
node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Node.js and npm are needed for the front-end packages." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# A fresh .env with its own secrets; never overwritten once it exists.
.env: | $(VENV)/.installed-base
	@test -f .env.example
	@key=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') && \
	secret=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') && \
	sed -e "s|^CIVICPOST_ENCRYPTION_KEYS=.*|CIVICPOST_ENCRYPTION_KEYS=$$key|" \
	    -e "s|^DJANGO_SECRET_KEY=.*|DJANGO_SECRET_KEY=$$secret|" .env.example > .env.tmp && \
	chmod 600 .env.tmp && mv .env.tmp .env
	@echo "Created .env with a new DJANGO_SECRET_KEY and CIVICPOST_ENCRYPTION_KEYS (keep it; it decrypts channel credentials)."

# --- Translations ---------------------------------------------------------------------------------------
# The .po catalogues are committed; their compiled .mo files are built here (pure Python, no gettext needed)
# whenever a .po is newer, before `make run` and `make test`. See README "Translations".
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

%.mo: %.po | $(BIN)/python
	$(BIN)/python -m civicpost.catalogues compile

catalogues: $(MO_FILES)

# Adds every new translatable string of the templates, Python and JavaScript to each catalogue, marks changed
# ones fuzzy, then lists what needs a translation (exit status 1 while anything does). Needs xgettext/msgmerge
# (Debian: apt-get install gettext).
MAKEMESSAGES_FLAGS := --all --no-obsolete --ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore=tests --ignore=bench --ignore=htmlcov
messages: export DJANGO_DEBUG = true
messages: $(VENV)/.installed-base
	@command -v xgettext >/dev/null || { echo "GNU gettext is needed to collect strings (Debian: apt-get install gettext)." >&2; exit 1; }
	$(BIN)/python manage.py makemessages $(MAKEMESSAGES_FLAGS)
	$(BIN)/python manage.py makemessages -d djangojs $(MAKEMESSAGES_FLAGS) --ignore=static/vendor
	$(BIN)/python -m civicpost.catalogues report

# --- The two commands -------------------------------------------------------------------------------

run: export DJANGO_DEBUG = true
# The demo approvers and admins would otherwise be sent to MFA set-up before anything else.
run: export CIVICPOST_REQUIRE_MFA ?= false
# The demo's post deleted on the Sandbox is noticed at a first reading 2 minutes after publishing (analytics)
# and recorded as deleted by the archive's next capture, within a minute or two of `make run` starting.
run: export CIVICPOST_METRICS_AGES ?= 2m,1h,24h,7d,30d
run: export CIVICPOST_METRICS_INTERVAL_SECONDS ?= 60
run: export CIVICPOST_ARCHIVE_CAPTURE_SECONDS ?= 60
run: $(VENV)/.installed-base node_modules/.package-lock.json .env catalogues
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py send_weekly_reports
	$(BIN)/python manage.py run_embedded $(HOST):$(PORT) --interval $(PUBLISH_INTERVAL)

test: $(VENV)/.installed-dev node_modules/.package-lock.json catalogues
	@test -x /usr/bin/chromium || echo "note: /usr/bin/chromium is missing, so the browser tests cannot run (Debian: apt-get install chromium)." >&2
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# --- Quality ----------------------------------------------------------------------------------------

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet -c pyproject.toml -r . -ll
	$(BIN)/lint-imports
# `python -m` puts the project root on sys.path: the django-stubs plugin imports tests.settings.
	$(BIN)/python -m mypy

# Production-like settings (HTTPS, HSTS, secure cookies, a real secret key): every warning fails.
# The committed OpenAPI schema of /api/v1/; tests/api/test_schema.py fails when the code no longer matches it.
schema: $(VENV)/.installed-base
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml
	@echo "Wrote docs/openapi.yaml"

check-deploy: $(VENV)/.installed-base node_modules/.package-lock.json
	DJANGO_DEBUG=false \
	DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	CIVICPOST_ENCRYPTION_KEYS="$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
	DJANGO_ALLOWED_HOSTS=civicpost.example.gov \
	CIVICPOST_SITE_URL=https://civicpost.example.gov \
	DJANGO_CSRF_TRUSTED_ORIGINS=https://civicpost.example.gov \
	DJANGO_SECURE_COOKIES=true \
	DJANGO_SECURE_SSL_REDIRECT=true \
	DJANGO_SECURE_HSTS_SECONDS=31536000 \
	DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS=true \
	DJANGO_SECURE_HSTS_PRELOAD=true \
	DJANGO_BEHIND_PROXY=true \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

# Every bench/*.py that is not a helper (_*.py); each prints its own figures. BENCH_ARGS go to each.
bench: $(VENV)/.installed-dev
	@mkdir -p bench/results
	@set -o pipefail; found=0; for f in bench/[!_]*.py; do \
		[ -e "$$f" ] || continue; found=1; \
		echo "== $$f"; PYTHONPATH=. $(BIN)/python "$$f" $(BENCH_ARGS) || exit 1; \
	done 2>&1 | tee bench/results/latest.txt; [ $${PIPESTATUS[0]} = 0 ]

# Checks the locked versions against PyPI's advisory data. Needs an online vulnerability database:
# offline it cannot check anything, which --strict turns into a failure instead of a silent pass.
audit: $(VENV)/.installed-dev
	$(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r requirements/base.txt

# --- Database and demo data ---------------------------------------------------------------------------

migrate: $(VENV)/.installed-base
	$(BIN)/python manage.py migrate

seed: export DJANGO_DEBUG = true
seed: migrate
	$(BIN)/python manage.py seed_demo

# --- Maintenance --------------------------------------------------------------------------------------

LOCK_FLAGS := --quiet --strip-extras --allow-unsafe --no-emit-find-links --no-emit-index-url --no-emit-trusted-host $(LOCK_ARGS)
lock: $(VENV)/.installed-dev
	$(BIN)/pip-compile $(LOCK_FLAGS) -o requirements/base.txt pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra dev -o requirements/dev.txt pyproject.toml

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .ruff_cache .mypy_cache .import_linter_cache test-results htmlcov .coverage
	find . -name __pycache__ -type d -prune -not -path "./node_modules/*" -exec rm -rf {} +
