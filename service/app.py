"""The FastAPI app factory; its lifespan owns the one Dask client and the sweep registry."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.fastpath import StatusFastPath
from service.api.routes import asymptotics, cluster, health, pages, results, session, submit, sweeps, zarr
from service.auth import load_tokens
from service.cluster_watch import ClusterWatch
from service.errors import install_exception_handlers
from service.local_guard import LocalOnly
from service.metrics import ServiceMetrics
from service.read_limits import ReadLimits
from service.registry import Registry
from service.sessions import SessionBook
from service.settings import Settings, get_settings, is_loopback
from service.store_watch import StoreWatch
from worker.cluster import WarmUpPlugin, dashboard_link, import_backend, make_client
from worker.cluster_spec import load_cluster_spec
from worker.store import SweepStore
from worker.store.locks import server_lock
from worker.store.provenance import package_version

log = logging.getLogger("pbn.service")
STATIC = Path(__file__).parent / "static"


class BodySizeLimit:
    """Pure ASGI middleware: answer 413 to a request body larger than `max_bytes`, whether declared by
    Content-Length or streamed (a chunked body is read here, up to the limit, then replayed to the app)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(send: Send, max_bytes: int) -> None:
    body = (
        b'{"detail":[{"loc":["body"],"msg":"request body larger than %d bytes","type":"too_large"}]}'
        % max_bytes
    )
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start: Dask client, store, registry (resuming unfinished sweeps). Stop: leave runs resumable."""
    settings: Settings = app.state.settings
    if not app.state.tokens.enabled and not is_loopback(settings.host):
        raise RuntimeError(
            f"no API tokens configured: single-user mode binds only to loopback, not host={settings.host!r}"
        )
    lock = server_lock(Path(settings.data)).acquire()  # one server per data directory (HeldError names it)
    try:
        spec = app.state.cluster_spec
        client = await run_in_threadpool(make_client, settings.scheduler, settings.n_workers, spec=spec)
        registry = Registry(settings, SweepStore(settings.data), client, app.state.metrics)
        app.state.registry = registry
        watch = ClusterWatch(  # scheduler loss: degraded, then reconnect or a new client (cluster_watch.py)
            registry,
            lambda: make_client(settings.scheduler, settings.n_workers, spec=spec),
            on_reconnect=lambda c: c.register_plugin(WarmUpPlugin()),
        ).start()
        app.state.cluster_watch = watch
        app.state.dashboard = await run_in_threadpool(dashboard_link, client)
        app.state.metrics.watch(registry.entries)
        resumed = await run_in_threadpool(registry.load)
        store_watch = StoreWatch(registry).start()  # sweeps `pbn sweep` writes here appear within seconds
        log.info(
            "pbn serve: data=%s scheduler=%s resumed=%s", settings.data, client.scheduler.address, resumed
        )
        try:
            yield
        finally:
            await run_in_threadpool(store_watch.stop)
            await run_in_threadpool(registry.shutdown)
            await run_in_threadpool(watch.stop)
            await run_in_threadpool(_close_client, registry.client)  # the watch may have replaced it
    finally:
        lock.release()


def _close_client(client: object) -> None:
    """An embedded LocalCluster is shut down with its workers (no "still alive, killing" warnings); an
    external scheduler is only disconnected."""
    if getattr(client, "cluster", None) is not None:
        client.shutdown()  # type: ignore[attr-defined]
    else:
        client.close()  # type: ignore[attr-defined]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (default: from PBN_* environment); tokens are read here (fail fast)."""
    settings = settings or get_settings()
    app = FastAPIOffline(  # /docs: Swagger UI served from the package, no CDN (/redoc: routes/pages.py)
        redoc_url=None,
        title="pbn-sweep",
        version=package_version(),
        summary="Parameter sweeps of plastic balanced spiking networks on Dask, stored in Zarr.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.cluster_spec = load_cluster_spec(settings.cluster) if settings.cluster else None
    import_backend(app.state.cluster_spec)  # in the main thread (dask-jobqueue sets a signal handler)
    app.state.tokens = load_tokens(settings)
    app.state.sessions = SessionBook()
    app.state.reads = ReadLimits(
        settings.user_max_concurrent_reads, settings.read_cache_bytes, settings.max_concurrent_reads
    )
    app.state.metrics = ServiceMetrics()
    install_exception_handlers(app)
    for module in (submit, sweeps, results, asymptotics, zarr, cluster, health, session, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(StatusFastPath)  # status polls skip routing and dependency solving
    app.add_middleware(LocalOnly, enabled=not app.state.tokens.enabled)  # outermost: single-user mode
    return app
