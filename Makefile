# Two entry points: `make demo` (the main job, offline, embedded store) and `make test` (everything).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)
	@if [ -f tests/cosmos_emulator/package.json ]; then cd tests/cosmos_emulator && npm ci --silent --no-audit --no-fund; fi

demo: $(STAMP)
	$(PY) examples/demo.py

lint: install
	$(VENV)/bin/ruff check langgraph_picoflow tests examples benchmarks scripts
	$(VENV)/bin/ruff format --check langgraph_picoflow tests examples benchmarks scripts
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest -q -p no:cacheprovider

bench: install
	$(PY) benchmarks/embedded.py

clean:
	rm -rf $(VENV) tests/cosmos_emulator/node_modules
