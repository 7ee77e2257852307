# fomm-tf: `make demo` animates the bundled default, `make test` runs lint + tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint format bench bench-export bench-train clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,eval]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m fomm_tf.demo --out out/demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: $(STAMP) lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_inference.py

bench-export: $(STAMP)
	$(PY) benchmarks/bench_export.py

bench-train: $(STAMP)
	$(PY) benchmarks/bench_train.py

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .ruff_cache
