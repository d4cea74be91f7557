# Two entry points (see README): `make run` and `make test`.
# Both create or refresh the local virtual environment .venv from pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

# The main job: verify every claim at standard fidelity and write the theory-vs-simulation
# report into reports/out/ (FIDELITY=quick for the fast version).
FIDELITY ?= standard
run: $(STAMP)
	$(VENV)/bin/dnn-moments report --fidelity $(FIDELITY) --out reports/out

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/run_benchmarks.py
	$(PY) bench/bench_conv.py

clean:
	rm -rf $(VENV) results .pytest_cache
