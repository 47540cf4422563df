# Two commands a newcomer needs: `make demo` (the main job) and `make test` (the test suite).
# Both set themselves up: missing Debian packages via scripts/install_system_deps.sh, Python packages into .venv.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export ODREC_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)

.PHONY: venv demo test test-python test-slow test-jvm test-web lint system-deps

$(VENV)/.installed: requirements.txt
	bash scripts/install_system_deps.sh python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

venv: $(VENV)/.installed

system-deps:
	bash scripts/install_system_deps.sh

demo: venv
	PYTHONPATH=$(CURDIR) $(PY) convert/to_tflite.py

lint: venv
	$(PY) -m ruff check .

# Everything CI runs (.ci/run calls exactly this): lint, the whole Python suite (the run guard fails it when a
# collected test does not run and tests/not_run.toml does not say why), the JVM logic
# module of android_demo, and web_demo's unit and browser tests. The demos' tests read the committed model assets.
test: lint test-python test-jvm test-web

test-python: venv
	$(PY) -m pytest --require-all-run -n auto --dist loadfile --durations=25

# The long checks alone (clusters, SIGKILL-and-resume, the tflite-runtime virtualenv); `make test` runs them too.
test-slow: venv
	$(PY) -m pytest -m slow

test-jvm:
	bash scripts/install_system_deps.sh jvm
	bash android_demo/build_logic.sh

test-web:
	bash scripts/install_system_deps.sh web
	cd web_demo && npm ci --no-audit --no-fund && npm test
