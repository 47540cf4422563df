# Two commands a newcomer needs: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export ODREC_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)

.PHONY: venv demo test lint bench

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) convert/to_tflite.py

lint: venv
	$(PY) -m ruff check .

test: venv lint
	$(PY) -m pytest
