"""Helpers for the service tests: a real uvicorn server in a thread, and waiting on sweeps over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn

from service.app import create_app
from service.settings import Settings
from worker.status import FINAL_STATES

FINAL = FINAL_STATES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """`create_app(settings)` served by uvicorn on 127.0.0.1 in a background thread (lifespan included)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.port = free_port()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-uvicorn", daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(60)

    def http(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def wait_for(
    http: httpx.Client,
    sweep_id: str,
    until: Callable[[dict[str, Any]], bool] | None = None,
    timeout: float = 120,
) -> dict[str, Any]:
    """Poll GET /sweeps/{id} until `until(status)` (default: a final state); fail on timeout."""
    until = until or (lambda s: s["state"] in FINAL)
    deadline = time.monotonic() + timeout
    while True:
        status = http.get(f"/sweeps/{sweep_id}").raise_for_status().json()
        if until(status):
            return status
        settled = status["counts"].get("pending", 0) + status["counts"].get("running", 0) == 0
        if status["state"] in FINAL and settled:
            raise AssertionError(f"sweep {sweep_id} ended without reaching the expected state: {status}")
        if time.monotonic() > deadline:
            raise AssertionError(f"sweep {sweep_id} did not reach the expected state: {status}")
        time.sleep(0.2)


def small_sweep(
    name: str = "t", n_values: tuple[int, ...] = (100, 120), T: float = 200.0, **extra: Any
) -> dict:
    """A tiny valid sweep definition (runs take well under a second each)."""
    return {
        "name": name,
        "base": {"T": T},
        "grid": {"N": list(n_values)},
        "record": {"weights": 5, "cells": 5, "dt": 10.0},
        "analysis": {"window": 50, "rate_bin": 10},
        **extra,
    }
