# r1harness: `make demo` runs the main job on the embedded defaults; `make test` runs the tests.
# Both create .venv on first use. torch is installed first, pinned, so pip takes the local CPU build
# instead of pulling a CUDA stack; constraints.txt holds the versions known to work together.

VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
TORCH   = torch==2.13.0
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: install demo lint test test-fast bench clean-venv

$(VENV)/.installed: pyproject.toml constraints.txt scripts/install-system-deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,ray]'
	bash scripts/install-system-deps.sh
	touch $@

install: $(VENV)/.installed

# The report goes beside the store (r1h-store-reports/tiny, ignored), not over the committed reports/tiny;
# `make demo DEMO_ARGS="--out reports/tiny"` regenerates that one.
demo: install
	$(VENV)/bin/r1h demo $(DEMO_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

test: install lint
	HF_HOME=$(CURDIR)/.cache/hf HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q $(PYTEST_ARGS)

test-fast: install
	HF_HOME=$(CURDIR)/.cache/hf HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q -m "not slow and not gpu" $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
