# Two entry points (see README): `make run` and `make test`.
# Both create or refresh the local virtual environment .venv from pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml examples/schoenholz_propagation/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	# the worked extension example (docs/extending.md), tested by tests/test_extension_example.py
	$(PY) -m pip install --quiet -e examples/schoenholz_propagation
	touch $(STAMP)

# The main job: verify every claim at standard fidelity and write the theory-vs-simulation
# report into reports/out/ (FIDELITY=quick for the fast version).
# CLAIMS: this project's three papers (L, S, Y); the worked extension example P, installed
# for the tests, is checked by `make test` (add it with CLAIMS=L,S,Y,P).
FIDELITY ?= standard
CLAIMS ?= L,S,Y
run: $(STAMP)
	$(VENV)/bin/dnn-moments report --fidelity $(FIDELITY) --claims $(CLAIMS) --out reports/out

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/run_benchmarks.py
	$(PY) bench/bench_conv.py

clean:
	rm -rf $(VENV) results .pytest_cache
