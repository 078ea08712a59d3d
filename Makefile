# Set-up and everyday commands. `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test install install-test system-deps system-deps-optional benchmarks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python system-deps
	$(BIN)/python -m pip install --quiet -e '.[test]'

# Debian packages the tests need (a browser for dashboard tests and PDF printing, fonts for
# stable SVG). Installed only when missing; needs root (or sudo).
system-deps:
	@bash .ci/system-deps

# The same, but never fails: without root or sudo it says so in one line and goes on.
system-deps-optional:
	@bash .ci/system-deps --optional

# The demo installs Chromium and fonts when it can (root or sudo); without Chromium it renders HTML and
# Excel (and builds the publication folder ./site from them) and says in one line that the PDF was skipped.
demo: install system-deps-optional
	$(BIN)/workbench demo --output demo

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

benchmarks: install-test
	$(BIN)/python benchmarks/load.py

clean:
	rm -rf demo reports site .pytest_cache .hypothesis
