# smarketing: `make run` to try it, `make test` to check it.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

# Django 6 needs Python 3.12+. Prefer the newest interpreter we can find, including pyenv's
# versions, which are not on PATH unless selected.
define FIND_PYTHON
for c in python3.14 python3.13 python3.12 python3 \
         $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
  if $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
    command -v $$c 2>/dev/null || echo $$c; exit 0; fi; \
done; exit 1
endef

.PHONY: run test install install-dev lint migrations-check worker beat web bench clean screenshots

$(PY):
	@base=$$( $(FIND_PYTHON) ) || { echo "smarketing needs Python 3.12 or newer; none found (tried python3.14..python3.12, python3, pyenv versions)." >&2; exit 1; }; \
	echo "Creating $(VENV) with $$base ($$($$base --version))"; \
	$$base -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The embedded shape: SQLite under var/ and kombu's filesystem broker unless
# DATABASE_URL / REDIS_URL say otherwise. Ctrl-C stops web, worker and beat together.
run: install
	@mkdir -p var
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo
	@echo
	@echo "  smarketing is starting at http://127.0.0.1:8000  (Ctrl-C stops web, worker and beat)"
	@echo "  Demo logins (password: demo1234): mia (marketer), marcus (marketing manager),"
	@echo "  dana and lee (sales reps), sofia (sales manager), admin (admin)."
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" DEBUG=$${DEBUG:-1} $(BIN)/honcho start -f Procfile

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

migrations-check: install-dev
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

test: install-dev
	$(BIN)/ruff check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# The README's pictures come from the browser journeys: run them, keep three key screens.
README_SHOTS := 02-rule-builder 07-my-leads 09-sla-dashboard
screenshots: install-dev
	rm -rf var/screenshots
	$(BIN)/pytest -q -m browser tests/journeys --screenshots-to var/screenshots
	mkdir -p docs/screenshots
	for shot in $(README_SHOTS); do cp var/screenshots/$$shot.png docs/screenshots/; done

# Benchmarks (docs/benchmarks.md): PostgreSQL and Redis on 127.0.0.1, data in the
# smarketing_bench database (rebuilt only when BENCH_SCALE changes). The default 1.0 is the
# issue's 1M leads / 10M activities (hours: B4 rescores 1M leads per repeat); BENCH_SCALE=0.1
# is a quick pass. BENCH_ONLY=b4,b5 reruns some, keeping the others' last results.
$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@touch $@ $(VENV)/.installed-dev $(VENV)/.installed

bench: $(VENV)/.installed-bench
	BENCH_SCALE=$${BENCH_SCALE:-1.0} $(PY) -m bench.run

clean:
	rm -rf var/celery var/cache
