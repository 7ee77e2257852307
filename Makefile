# fomm-tf: `make demo` animates the bundled default, `make test` runs lint + tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint format bench bench-export bench-train bench-guards clean \
	android-test android-jars android-assets

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
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
	$(MAKE) android-test

# android_demo/core on the JVM: a tiny int8 export writes fresh golden vectors, then javac +
# JUnit 4 (Debian's junit4 and libgoogle-gson-java, installed here when missing).
ANDROID_BUILD := build/android
JAVA_JARS := /usr/share/java/junit4.jar /usr/share/java/gson.jar /usr/share/java/hamcrest-core.jar

android-jars:
	@if ! command -v javac >/dev/null || ! ls $(JAVA_JARS) >/dev/null 2>&1; then \
		echo "installing javac, junit4 and gson (apt-get)"; \
		apt-get update -qq && apt-get install -y -qq \
			$$(command -v javac >/dev/null || echo default-jdk-headless) \
			junit4 libgoogle-gson-java; \
	fi

android-test: $(STAMP) android-jars
	rm -rf $(ANDROID_BUILD)/golden
	$(PY) -m fomm_tf.cli export --config tiny-64 --random-weights --quant int8 \
		-o $(ANDROID_BUILD)/model --golden $(ANDROID_BUILD)/golden
	android_demo/core/run-tests.sh $(ANDROID_BUILD)/golden $(ANDROID_BUILD)/core

# The app's assets (not committed): graphs + contract, a driving clip and a default source.
# ANDROID_CHECKPOINT=path/to/vox-cpk.pth.tar for a trained model; without one, random weights.
ANDROID_CONFIG ?= vox-256
ANDROID_QUANT ?= int8
ANDROID_CHECKPOINT ?=
android-assets: $(STAMP)
	$(PY) -m fomm_tf.cli export --config $(ANDROID_CONFIG) --quant $(ANDROID_QUANT) \
		$(if $(ANDROID_CHECKPOINT),--checkpoint $(ANDROID_CHECKPOINT),--random-weights) \
		--android-assets android_demo/app/src/main/assets

bench: $(STAMP)
	$(PY) benchmarks/bench_inference.py

bench-export: $(STAMP)
	$(PY) benchmarks/bench_export.py

bench-train: $(STAMP)
	$(PY) benchmarks/bench_train.py

bench-guards: $(STAMP)
	$(PY) benchmarks/bench_guards.py

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .ruff_cache
