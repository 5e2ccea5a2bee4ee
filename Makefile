# `make demo` and `make test` each set everything up from nothing but the repo and PyPI.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser demo test test-fast bench clean

setup: $(STAMP)

# The CPU torch wheel goes in first: a bare `torch` requirement would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/featureship demo

# The console's browser tests drive Debian's chromium: installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

bench: setup
	$(PY) benchmarks/text_classification.py
	$(PY) benchmarks/recommendation.py
	$(PY) benchmarks/image_tabular.py
	$(PY) benchmarks/answer_retrieval.py
	$(PY) benchmarks/explain.py
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/drift.py
	$(PY) benchmarks/export.py
	$(PY) benchmarks/pii.py
	$(PY) benchmarks/privacy.py
	$(PY) benchmarks/scale.py

clean:
	rm -rf $(VENV) featureship-demo .pytest_cache
