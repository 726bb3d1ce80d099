# Two commands on a fresh machine: `make run` (the main study, laptop preset) and `make test`.
# Each creates .venv and installs the project with the tested pins first, once.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STUDY ?= hyperlstm_ptb
PRESET ?= quick
PYTEST_ARGS ?=

# The shared datasets beside a checkout, unless HNET_DATA_DIR is already set.
ifneq ($(wildcard ../shared/data),)
export HNET_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: setup run test lint typecheck docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e ".[dev]" -c constraints.txt
	touch $@

run: $(STAMP)
	$(PY) -m studies.run $(STUDY) --preset $(PRESET)

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

typecheck: $(STAMP)
	$(PY) -m mypy hnet_core studies analysis

# The API reference, from the docstrings (Google style); any pdoc warning fails the build.
docs: $(STAMP)
	$(PY) -W error -m pdoc --docformat google hnet_core studies analysis -o build/api

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
