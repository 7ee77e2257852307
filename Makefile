# fomm-tf: `make demo` animates the bundled default, `make test` runs lint + tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint format bench bench-export bench-train bench-official bench-guards \
	bench-decode bench-gpu precision-curves \
	bench-paste \
	photo-sheet clean android-test android-jars android-assets

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,eval,train]'
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

# Twice: the plain generator, and one with the bundled model's options (warped skips,
# source blend, centred grid: three more per-source tensors).
android-test: $(STAMP) android-jars $(ANDROID_BUILD)/golden-skips
	rm -rf $(ANDROID_BUILD)/golden
	$(PY) -m fomm_tf.cli export --config tiny-64 --random-weights --quant int8 \
		-o $(ANDROID_BUILD)/model --golden $(ANDROID_BUILD)/golden
	android_demo/core/run-tests.sh $(ANDROID_BUILD)/golden $(ANDROID_BUILD)/core
	android_demo/core/run-tests.sh $(ANDROID_BUILD)/golden-skips $(ANDROID_BUILD)/core

.PHONY: $(ANDROID_BUILD)/golden-skips
$(ANDROID_BUILD)/golden-skips: $(STAMP)
	rm -rf $@ $(ANDROID_BUILD)/model-skips
	$(PY) -m fomm_tf.cli export --config tests/data/tiny-64-skips-blend.yaml --random-weights \
		--quant int8 -o $(ANDROID_BUILD)/model-skips --golden $@

# The app's assets (not committed): graphs + contract, a driving clip and a default source.
# Default: the bundled model (face-128); ANDROID_CHECKPOINT=path/to/vox-cpk.pth.tar (with
# ANDROID_CONFIG, default vox-256) for another trained model.
ANDROID_CONFIG ?= vox-256
ANDROID_QUANT ?= dynamic
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
	$(PY) -m pip install -q -e '.[test,eval,train,dev]'
	$(PY) benchmarks/bench_official.py --official "$(OFFICIAL)"

# One GPU (fails with one line without): training images/s in float32/float16/bfloat16, with
# and without XLA, at vox-256 and face-128, and one animated frame; about 5 minutes.
bench-gpu: $(STAMP)
	$(PY) -m benchmarks.bench_gpu

# float32 vs bfloat16 held-out L1 curves (tiny-64, 2000 steps, three runs; about an hour on
# two cores): docs/precision_curves.png
precision-curves: $(STAMP)
	$(PY) -m benchmarks.precision_curves --out docs

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
# dynamic (int8 weights, float activations): as fast as int8 in the page, with far more
# accuracy margin for the sharp bundled model (web_demo/README.md "Speed").
WEB_QUANT ?= dynamic
WEB_CHECKPOINT ?=

.PHONY: web web-assets web-test web-bench web-npm web-chromium

test: web-test

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "installing node + npm (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error

web-npm: $(WEB)/node_modules/.package-lock.json

web-chromium:
	@test -x $(CHROMIUM) || { echo "installing chromium (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Model, inputs, face detector, crop cases and golden vectors -> JS unit/golden/crop checks ->
# the page in headless Chromium -> the page's frames against the Python LiteRT runner's ->
# the large photo's face crop and paste-back against fomm_tf's ->
# the default model (the bundled face-128 in WEB_QUANT, exported into build/web/default,
# reused when current) in the page: its frames/s, other hosts blocked, and its frames against
# Python's. WEB_MIN_FPS=25 also fails the run below 25 model frames/s (for a quiet machine).
WEB_MIN_FPS ?=
web-test: $(STAMP) web-npm web-chromium
	$(PY) -m fomm_tf.apps.web prepare $(WEB_BUILD)/test
	cd $(WEB) && FOMM_GOLDEN_DIR=$(CURDIR)/$(WEB_BUILD)/test/golden FOMM_WEB_DIR=$(CURDIR)/$(WEB_BUILD)/test \
		node --test --test-reporter=spec test/
	$(MAKE) $(ANDROID_BUILD)/golden-skips
	cd $(WEB) && FOMM_GOLDEN_DIR=$(CURDIR)/$(ANDROID_BUILD)/golden-skips \
		node --test --test-reporter=spec test/golden.test.mjs
	cd $(WEB) && CHROMIUM=$(CHROMIUM) node tools/e2e.mjs $(CURDIR)/$(WEB_BUILD)/test
	$(PY) -m fomm_tf.apps.web compare $(WEB_BUILD)/test
	$(PY) -m fomm_tf.apps.web photo $(WEB_BUILD)/test
	CHROMIUM=$(CHROMIUM) $(PY) -m fomm_tf.apps.web bench $(WEB_BUILD)/default --web $(WEB) \
		--quants $(WEB_QUANT) --threads auto --frames 50 $(if $(WEB_MIN_FPS),--min-fps $(WEB_MIN_FPS),)

# The default model's graphs as int8, dynamic-range, fp16 and fp32 in the page (headless
# Chromium, single-threaded and threaded wasm): a table of frames/s and PSNR against Python
# LiteRT for web_demo/README.md. Run it on a quiet machine.
WEB_BENCH_THREADS ?= 0,1,2
web-bench: $(STAMP) web-npm web-chromium
	CHROMIUM=$(CHROMIUM) $(PY) -m fomm_tf.apps.web bench $(WEB_BUILD)/bench --web $(WEB) \
		--quants int8,dynamic,fp16,fp32 --threads $(WEB_BENCH_THREADS) --frames 50

web-assets: $(STAMP) web-npm
	$(PY) -m fomm_tf.apps.web assets $(WEB)/models --quant $(WEB_QUANT) \
		$(if $(WEB_CHECKPOINT),--config $(WEB_CONFIG) --checkpoint $(WEB_CHECKPOINT),)

# WEB_HTTPS=1: HTTPS with a self-signed certificate made here the first time (openssl, into
# build/web/tls/, never committed or shipped): a phone on the LAN needs a secure origin for
# its camera (make web WEB_HOST=0.0.0.0 WEB_HTTPS=1; the phone warns once, accept it).
WEB_HTTPS ?=
WEB_TLS := $(WEB_BUILD)/tls
$(WEB_TLS)/cert.pem:
	mkdir -p $(WEB_TLS)
	openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=fomm-tf web demo" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout $(WEB_TLS)/key.pem -out $(WEB_TLS)/cert.pem 2>/dev/null
	chmod 600 $(WEB_TLS)/key.pem

web: web-npm $(if $(WEB_HTTPS),$(WEB_TLS)/cert.pem,)
	@test -f $(WEB)/models/default/model_contract.json -a -f $(WEB)/models/face/detector.json \
		|| $(MAKE) web-assets
	cd $(WEB) && node serve.mjs --host $(WEB_HOST) --port $(WEB_PORT) \
		$(if $(WEB_HTTPS),--tls-cert $(CURDIR)/$(WEB_TLS)/cert.pem --tls-key $(CURDIR)/$(WEB_TLS)/key.pem,)
