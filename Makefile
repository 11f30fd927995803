# The kit's two commands:  `make lab` (start the lessons)  and  `make test` (run every test).
# Both create .venv on first use and install requirements.txt into it; nothing else is needed
# but Python 3.11+ and access to PyPI.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBVAL  := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: lab test venv lint unit notebooks browser-deps bench clean

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

test: $(STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest $(NBVAL) notebooks

venv: $(STAMP)

# Re-install whenever requirements.txt or pyproject.toml changes.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

unit: $(STAMP)
	$(BIN)/python -m pytest tests

notebooks: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL) notebooks

# The browser tests drive Debian's Chromium (Playwright's own browser download does not work offline).
# Installed when we are root on a Debian-like machine; elsewhere the browser tests say how to get it.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: chromium not found; browser tests will be skipped (install Debian's 'chromium' package)"; fi

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_sse.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
