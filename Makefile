# Multi-objective recommendation, hands-on.
#
#   make lab         set up .venv (first time: a few minutes), then open JupyterLab on notebooks/
#   make test        set up, then lint and run every test and every notebook (what CI runs), then the
#                    same TensorFlow-free tests at the lowest allowed versions (make test-compat: about
#                    8 more minutes; its .venv-compat installs in about a minute, once). COMPAT=0 skips it.
#
# Helpers: make notebooks (re-execute every notebook in place), make bench (time and memory
# of every notebook, written to bench/ and README.md), make site (the website, build/site/html),
# make test-compat (only the lowest allowed versions), make lint, make clean, make distclean.
# Another Python: PYTHON=python3.12 make test (the .venv is rebuilt when its version differs).

PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
KERNEL_NAME := mor-course
KERNEL_DISPLAY := Multi-objective recsys course
STAMP := $(VENV)/.course-installed
PYTEST_ARGS ?=
COMPAT ?= 1

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.PHONY: help setup kernel lab test unit lint lib notebooks bench site test-compat student instructor clean distclean

help:
	@sed -n '3,12p' Makefile | sed 's/^# \{0,1\}//'

# The set-up every target shares. Idempotent and fast when nothing changed:
# - (re)create .venv when it is missing or its Python version differs from $(PYTHON)'s;
# - install the pinned stack and course_lib (editable) only when requirements.txt or
#   pyproject.toml changed since the last successful install (a stamp holds their hash).
setup:
	@want=$$($(PYTHON) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])') || \
		{ echo "error: cannot run PYTHON=$(PYTHON); install Python 3.10 to 3.13 or set PYTHON=..." >&2; exit 1; }; \
	have=$$($(VPY) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo none); \
	if [ "$$want" != "$$have" ]; then \
		if [ "$$have" != none ]; then echo "$(VENV) has Python $$have, $(PYTHON) is $$want: rebuilding $(VENV)"; fi; \
		rm -rf $(VENV); \
		echo "creating $(VENV) with $(PYTHON) ($$want)"; \
		$(PYTHON) -m venv $(VENV); \
	fi; \
	hash=$$($(VPY) -c 'import hashlib; print(hashlib.sha256(open("requirements.txt", "rb").read() + open("pyproject.toml", "rb").read()).hexdigest())'); \
	if [ -f $(STAMP) ] && [ "$$(cat $(STAMP))" = "$$hash" ]; then \
		echo "set-up up to date ($(VENV), Python $$want)"; \
	else \
		start=$$(date +%s); \
		echo "installing the pinned stack into $(VENV) (a few minutes the first time) ..."; \
		$(VPY) -m pip install --quiet --disable-pip-version-check -r requirements.txt; \
		PYTHONWARNINGS=ignore $(VPY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .; \
		echo "$$hash" > $(STAMP); \
		echo "installed in $$(( $$(date +%s) - start )) s"; \
	fi

# A named kernel inside .venv, so JupyterLab's launcher shows the course's environment.
kernel: setup
	@$(VPY) -m ipykernel install --sys-prefix --name $(KERNEL_NAME) --display-name "$(KERNEL_DISPLAY)" >/dev/null
	@echo "kernel '$(KERNEL_DISPLAY)' ($(KERNEL_NAME)) registered in $(VENV)"

# --allow-root only when you are root (containers, WSL set-ups): Jupyter refuses root otherwise.
lab: kernel
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

lint: setup
	$(VENV)/bin/ruff check course_lib tests tools notebooks

# Unit tests first (fast; the site build among them), then every notebook in order through nbval:
# each must run without error, and cells tagged nbval-check-output must reproduce their stored
# output. Then the browser test (after the notebooks, which built the artifacts 04 reads; skipped
# without Chromium, a failure under CI=true). Last, the lowest allowed versions (test-compat, below;
# after the main run, which builds the artifacts that only TensorFlow can rebuild). COMPAT=0 skips
# that last step on a learner's machine; under CI=true it always runs.
# Exit status 5 (nothing collected) is a failure too: there are always tests to run.
test: setup
	@$(MAKE) --no-print-directory lint
	@rc=0; $(VPY) -m pytest --nbval-lax --nbval-current-env --durations=15 --ignore=tests/test_browser.py $(PYTEST_ARGS) tests notebooks || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; \
	exit $$rc
	$(VPY) -m pytest -rs $(PYTEST_ARGS) tests/test_browser.py
	@if [ "$(COMPAT)" = 0 ] && [ "$${CI:-}" != true ]; then \
		echo "COMPAT=0: the lowest allowed versions were not checked (make test-compat)"; \
	else $(VPY) tools/compat.py; fi

# The lowest versions pyproject.toml allows (TensorFlow left out), in a second venv (.venv-compat):
# the unit tests and the TensorFlow-free notebooks (about 7 minutes). Installed with uv (pip-installed
# into .venv-compat from PyPI; about a minute), and reinstalled only when the floors change.
test-compat: setup
	$(VPY) tools/compat.py

# The website, offline, from the committed notebooks (not re-executed): build/site/html/index.html.
site: setup
	$(VPY) tools/site.py

# Only the unit tests (seconds to a minute), for quick feedback while editing course_lib.
unit: setup
	$(VPY) -m pytest --ignore=tests/test_browser.py --ignore=tests/test_site.py $(PYTEST_ARGS) tests

# Copy the notebook cells marked '#@save <module>' into course_lib/<module>.py (d2l's pattern).
lib: setup
	$(VPY) tools/export.py

# Re-execute every notebook in order (NB=notebooks/05_pso_tuning.ipynb for one), after `make lib`.
NB ?= notebooks/
notebooks: lib
	$(VPY) tools/execute.py $(NB)

bench: setup
	$(VPY) tools/bench.py

# Learner notebooks without solutions (editions/student/), and the instructor guide (docs/instructor_guide.md).
student: setup
	$(VPY) tools/editions.py student

instructor: setup
	$(VPY) tools/editions.py instructor

# Caches only; keeps .venv and artifacts/ (trained models, candidates, predictions).
clean:
	rm -rf .pytest_cache .ruff_cache build bench/*.tmp test-output
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
	find . -path ./$(VENV) -prune -o -name .ipynb_checkpoints -type d -print0 | xargs -0 rm -rf

# Everything clean removes, plus the virtual environment and artifacts/ (the notebooks rebuild them).
distclean: clean
	rm -rf $(VENV) .venv-compat artifacts *.egg-info
