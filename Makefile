# fomm-tf: `make demo` animates the bundled default, `make test` runs lint + tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint format bench bench-export bench-train bench-official bench-guards \
	bench-decode \
	bench-paste \
	photo-sheet clean android-test android-jars android-assets

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,eval]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m fomm_tf.cli demo --out out

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
# Default: the bundled model (face-128); ANDROID_CHECKPOINT=path/to/vox-cpk.pth.tar (with
# ANDROID_CONFIG, default vox-256) for another trained model.
ANDROID_CONFIG ?= vox-256
ANDROID_QUANT ?= int8
ANDROID_CHECKPOINT ?=
android-assets: $(STAMP)
	$(PY) -m fomm_tf.cli export --quant $(ANDROID_QUANT) \
		$(if $(ANDROID_CHECKPOINT),--config $(ANDROID_CONFIG) --checkpoint $(ANDROID_CHECKPOINT),) \
		--android-assets android_demo/app/src/main/assets

bench: $(STAMP)
	$(PY) benchmarks/bench_inference.py

bench-export: $(STAMP)
	$(PY) benchmarks/bench_export.py

bench-train: $(STAMP)
	$(PY) benchmarks/bench_train.py

# fomm-tf against the official code side by side: OFFICIAL=path/to/first-order-model (a
# checkout you provide); torch==2.13.0 comes from the [dev] extra.
OFFICIAL ?=
bench-official: $(STAMP)
	$(PY) -m pip install -q -e '.[test,eval,dev]'
	$(PY) benchmarks/bench_official.py --official "$(OFFICIAL)"

bench-decode: $(STAMP)
	$(PY) benchmarks/bench_decode.py

bench-guards: $(STAMP)
	$(PY) benchmarks/bench_guards.py

bench-paste: $(STAMP)
	$(PY) benchmarks/bench_paste.py

photo-sheet: $(STAMP)
	$(PY) docs/make_photo_sheet.py

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .ruff_cache

# ---------------------------------------------------------------------------------------------
# Browser demo (web_demo/, docs/export-and-apps.md): LiteRT.js in the page, tested in headless
# Chromium. `make test` runs web-test too (the extra prerequisite below).
WEB := web_demo
WEB_BUILD := build/web
CHROMIUM ?= /usr/bin/chromium
WEB_HOST ?= 127.0.0.1
WEB_PORT ?= 8000
# The page's default model (web_demo/models/default/, not committed): the bundled model
# (face-128); WEB_CHECKPOINT=path (with WEB_CONFIG) for another trained one.
WEB_CONFIG ?= vox-256
WEB_QUANT ?= int8
WEB_CHECKPOINT ?=

.PHONY: web web-assets web-test web-npm web-chromium

test: web-test

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "installing node + npm (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error

web-npm: $(WEB)/node_modules/.package-lock.json

web-chromium:
	@test -x $(CHROMIUM) || { echo "installing chromium (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Model, inputs and golden vectors -> JS unit/golden checks ->
# the page in headless Chromium -> the page's frames against the Python LiteRT runner's.
web-test: $(STAMP) web-npm web-chromium
	$(PY) -m fomm_tf.apps.web prepare $(WEB_BUILD)/test
	cd $(WEB) && FOMM_GOLDEN_DIR=$(CURDIR)/$(WEB_BUILD)/test/golden node --test --test-reporter=spec test/
	cd $(WEB) && CHROMIUM=$(CHROMIUM) node tools/e2e.mjs $(CURDIR)/$(WEB_BUILD)/test
	$(PY) -m fomm_tf.apps.web compare $(WEB_BUILD)/test

web-assets: $(STAMP) web-npm
	$(PY) -m fomm_tf.cli export --quant $(WEB_QUANT) \
		$(if $(WEB_CHECKPOINT),--config $(WEB_CONFIG) --checkpoint $(WEB_CHECKPOINT),) \
		-o $(WEB)/models/default
	$(PY) -m fomm_tf.apps.web samples $(WEB)/models

web: web-npm
	@test -f $(WEB)/models/default/model_contract.json || $(MAKE) web-assets
	cd $(WEB) && node serve.mjs --host $(WEB_HOST) --port $(WEB_PORT)
