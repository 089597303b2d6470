# The developer entry points. A newcomer needs two: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock 2>/dev/null | sha1sum | cut -c1-12)

# Tests always run on PostgreSQL and Redis (never SQLite or an eager Celery).
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/iamreview
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14
TEST_CACHE_URL ?= redis://127.0.0.1:6379/15
PYTEST_WORKERS ?= 2

.PHONY: install demo demo-sso test lint bench audit clean

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e ".[dev]"
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

## demo: a populated local install on http://127.0.0.1:8000 with a real worker and beat
demo: $(STAMP)
	@scripts/demo.sh

## demo-sso: the demo with a local OpenID Connect provider; its people sign in through "single sign-on"
demo-sso: $(STAMP)
	@IAMREVIEW_DEMO_SSO=oidc scripts/demo.sh

## test: the whole suite against PostgreSQL and Redis (started or installed when missing)
test: $(STAMP)
	@scripts/ensure-services.sh
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CACHE_URL=$(TEST_CACHE_URL) \
		$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## lint: ruff, formatting, Django's checks and missing migrations
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/bandit -q -c pyproject.toml -r core accounts findings notify iamreview api policy fakeaws
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

## audit: known vulnerabilities in the pinned dependencies (needs PyPI's vulnerability data; --strict fails if a package could not be checked)
audit: $(STAMP)
	$(VENV)/bin/pip-audit -r requirements.lock --strict --progress-spinner off

bench: $(STAMP)
	$(PY) -m pip install -q -c requirements.lock -e ".[dev,bench]"
	$(PY) benchmarks/analyze.py

clean:
	rm -rf $(VENV) var staticfiles
