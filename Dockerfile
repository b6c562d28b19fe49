# One image for the API, the Dask scheduler and the Dask workers (see docker-compose.yml, docs/service.md).
# BASE_IMAGE: any image with `python` 3.11 and `pip` first on PATH installing into a writable environment (a
# venv or the official image's, not a PEP 668 "externally managed" system python), `useradd`, and a CA bundle
# pip trusts on its way to PyPI. Default: the official image; where no registry is reachable, build a local one
# (deploy/base-image.sh) and pass it: docker compose build --build-arg BASE_IMAGE=local/python:3.11-bookworm
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title=pbn-sweep

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NUMBA_CACHE_DIR=/home/pbn/.cache/numba \
    PBN_DATA=/data \
    MPLBACKEND=Agg

RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin pbn \
    && mkdir -p /data /home/pbn/.cache/numba \
    && chown -R pbn:pbn /data /home/pbn/.cache

WORKDIR /opt/pbn-sweep
COPY pyproject.toml README.md ./
# Dependencies first, in their own layer: a source change rebuilds only the layers below (seconds, not minutes).
RUN mkdir -p sim worker service && touch sim/__init__.py worker/__init__.py service/__init__.py \
    && pip install . && pip uninstall -y pbn-sweep && rm -rf sim worker service build ./*.egg-info
COPY sim ./sim
COPY worker ./worker
COPY service ./service
RUN pip install --no-deps . && pbn --help >/dev/null

USER pbn
WORKDIR /home/pbn
# Fill the Numba cache once at build time (recompiled only if the host CPU differs from the build's).
RUN python -c "from worker.cluster import warm_up_here; print('numba warm-up:', warm_up_here())"
VOLUME ["/data"]
EXPOSE 8000 8786 8787
# The API by default; compose overrides the command for the scheduler and the workers.
CMD ["pbn", "serve", "--host", "0.0.0.0", "--port", "8000", "--data", "/data"]
