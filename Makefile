# radflow — the two commands: `make run` and `make test`.
SHELL := /bin/bash
# The first candidate that really runs 3.12: a pyenv shim named python3.12 can exist and still fail.
PYTHON_312 := $(shell for c in $$(command -v python3.12 2>/dev/null) $$(ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV); do \
  "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1 && { echo "$$c"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export RADFLOW_DATA_DIR ?= ./var

.PHONY: run test test-long lint bench venv sysdeps clean demo

$(STAMP): pyproject.toml
	@test -n "$(PYTHON_312)" || { echo "Python 3.12 not found (python3.12 on PATH or ~/.pyenv/versions/3.12*)"; exit 1; }
	test -x $(PY) || $(PYTHON_312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -c "import radflow.bootstrap, ortools.sat.python.cp_model, medspacy, pynetdicom, fhir.resources.R4B"  # import smoke test
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the integration and browser tests use (dcmtk's findscu, Orthanc as the PACS,
# Chromium for Playwright, pango for WeasyPrint's PDFs). Installed only where missing.
SYSDEPS := dcmtk orthanc chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0
sysdeps:
	@missing=""; for p in $(SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null \
	  || { $$SUDO apt-get update -q >/dev/null && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
	fi

run: $(STAMP)
	$(VENV)/bin/radflow db upgrade
	$(VENV)/bin/radflow demo
	@echo "starting worker and server (Ctrl-C stops both)"
	@$(VENV)/bin/radflow worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/radflow serve

test: $(STAMP) sysdeps
	$(PY) -m pytest -q -n 2

test-long: $(STAMP) sysdeps
	RADFLOW_LONG=1 $(PY) -m pytest -q -n 2 -m "slow or not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

# wrk is the FHIR benchmark's load generator; only the benchmarks need it.
bench: $(STAMP) sysdeps
	@dpkg -s wrk >/dev/null 2>&1 || { SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
