# One image for the API, the Dask scheduler and the Dask workers (see docker-compose.yml, docs/service.md).
FROM python:3.11-slim

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
COPY sim ./sim
COPY worker ./worker
COPY service ./service
RUN pip install . && pbn --help >/dev/null

USER pbn
WORKDIR /home/pbn
# Fill the Numba cache once at build time (recompiled only if the host CPU differs from the build's).
RUN python -c "from worker.cluster import warm_up_here; print('numba warm-up:', warm_up_here())"
VOLUME ["/data"]
EXPOSE 8000 8786 8787
# The API by default; compose overrides the command for the scheduler and the workers.
CMD ["pbn", "serve", "--host", "0.0.0.0", "--port", "8000", "--data", "/data"]
