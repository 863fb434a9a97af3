# prefect-sdk: every target does its own setup; a fresh clone needs only `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
SPEC_URL ?=
# The previous supported server line, in an environment of its own (the server only): the
# real-server tests run against it too (`make test-compat`).
COMPAT_PREFECT := 3.8.8
COMPAT_VENV := .venv-compat
COMPAT_STAMP := $(COMPAT_VENV)/.installed
# The tests that talk to a real server (the rest do not depend on its version).
COMPAT_TESTS := tests/core tests/resources tests/test_server_fixture.py tests/test_generated_endpoints.py

.PHONY: install generate check-generated spec test test-compat test-postgres test-scaleout lint demo bench clean soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==0.13.9"

# Reinstall when the project's dependency files change.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(UV) pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

$(COMPAT_STAMP): scripts/compat/constraints.txt | $(BIN)/python
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(UV) pip install --quiet --python $(COMPAT_VENV)/bin/python -r scripts/compat/constraints.txt
	touch $(COMPAT_STAMP)

# Refresh openapi.json from the pinned Prefect server package, or from a live server with SPEC_URL=...
spec: $(STAMP)
	$(BIN)/python scripts/refresh_spec.py $(if $(SPEC_URL),--url $(SPEC_URL))

generate: $(STAMP)
	$(BIN)/python scripts/generate.py

check-generated: $(STAMP)
	$(BIN)/python scripts/generate.py --check

lint: $(STAMP)
	$(BIN)/ruff check overlay scripts tests bench examples
	$(BIN)/ruff format --check overlay scripts tests bench examples
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/python -m pytest

test-compat: $(STAMP) $(COMPAT_STAMP)
	PREFECT_SDK_TEST_SERVER_PREFECT=$(abspath $(COMPAT_VENV))/bin/prefect \
	PREFECT_SDK_TEST_SERVER_VERSION=$(COMPAT_PREFECT) $(BIN)/python -m pytest $(COMPAT_TESTS)

test-postgres: $(STAMP)
	PREFECT_SDK_TEST_DATABASE_URL=$$(bash scripts/postgres.sh start) $(BIN)/python -m pytest -m postgres

# The tests marked `scaleout`: their fixture starts PostgreSQL, Redis, two API processes, the
# services process and HAProxy with scripts/scaleout.sh (installing Debian's packages if needed)
# and stops them all at the end; -s shows what they measured (calls, kills, retries, waits).
test-scaleout: $(STAMP)
	$(BIN)/python -m pytest -m scaleout -s tests/scaleout

# The reliability tests (tests/reliability, PostgreSQL ones excepted) SOAK_RUNS times in a row,
# each in a pytest of its own, then the generated-property tests once under the `soak`
# Hypothesis profile: a line per run, the failing test ids, "N runs, F failures"; fails if any did.
SOAK_RUNS ?= 20
soak: $(STAMP)
	$(BIN)/python scripts/soak.py --runs $(SOAK_RUNS)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(COMPAT_VENV) .pytest_cache .mypy_cache .ruff_cache
