"""Python client of the pbn-sweep REST API: submit a sweep, watch it, fetch its results.

Errors are typed: `ApiError` (the server refused), `DefinitionError` (a definition file or value that cannot
be sent, naming the field and, for parse errors, the line), `NonFiniteValueError` (NaN or infinity).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import httpx

from service.inputs import NonFiniteError, normalize_numbers
from worker.status import FINAL_STATES

if TYPE_CHECKING:
    import pandas as pd


class ClientError(Exception):
    """Base of the errors this client raises on purpose."""


class ApiError(ClientError):
    """The server refused a request; `status_code` and `detail` are the server's answer."""

    def __init__(self, status_code: int, detail: Any) -> None:
        self.status_code = status_code
        self.detail = detail
        super().__init__(f"HTTP {status_code}: {format_detail(detail)}")


class DefinitionError(ClientError, ValueError):
    """A definition that cannot be sent: `field` names where; `line` is the file line (1-based) if known."""

    def __init__(self, field: str, message: str, line: int | None = None) -> None:
        self.field, self.line = field, line
        super().__init__(message)


class NonFiniteValueError(DefinitionError):
    """A NaN or infinite value in a definition (JSON cannot carry it; no parameter accepts it)."""

    def __init__(self, field: str, value: Any) -> None:
        self.value = value
        super().__init__(field, f"{field}={value!r}: must be finite")


def format_detail(detail: Any) -> str:
    """Turn FastAPI's `detail` (a string or a list of {loc, msg}) into one readable line."""
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(x) for x in item.get("loc", []) if x != "body")
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", "")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def _parse_file(path: Path) -> Any:
    """YAML or JSON text of a definition file; parse errors name the file and the line."""
    import yaml

    try:
        text = path.read_text()
    except OSError as exc:
        raise DefinitionError("file", f"{path}: {exc.strerror or exc}") from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}"
            raise DefinitionError("file", message, exc.lineno) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f"line {line}: " if line is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError("file", f"{path}: {where}not valid YAML: {problem}", line) from None


def load_definition(definition: dict[str, Any] | str | Path) -> dict[str, Any]:
    """A sweep definition from a dict or a YAML/JSON file: `1e3` read as a number, NaN/inf refused."""
    if isinstance(definition, dict):
        data: Any = definition
    else:
        path = Path(definition)
        data = _parse_file(path)
        if not isinstance(data, dict):
            raise DefinitionError(
                "definition", f"{path}: expected a mapping (a sweep definition), got {type(data).__name__}"
            )
    try:
        return {k: v if k == "name" else normalize_numbers(v, str(k)) for k, v in data.items()}
    except NonFiniteError as exc:
        raise NonFiniteValueError(exc.field, exc.value) from None


class Client:
    """Talks to one pbn-sweep server; `token` is sent as `Authorization: Bearer`."""

    def __init__(self, url: str = "http://127.0.0.1:8000", token: str | None = None, timeout: float = 120.0):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; raise ApiError on any 4xx/5xx with the server's explanation."""
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except (ValueError, AttributeError):
                detail = response.text
            raise ApiError(response.status_code, detail)
        return response

    def submit(self, definition: dict[str, Any] | str | Path) -> Sweep:
        """Submit a sweep (a dict or a YAML/JSON file) and return its handle."""
        created = self.request("POST", "/sweeps", json=load_definition(definition)).json()
        return Sweep(self, created["id"], created)

    def sweep(self, sweep_id: str) -> Sweep:
        """Handle of an existing sweep."""
        return Sweep(self, sweep_id, {})

    def sweeps(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """A page of the caller's sweeps: {data: [...], count}."""
        return self.request("GET", "/sweeps", params={"limit": limit, "offset": offset}).json()

    def cluster(self) -> dict[str, Any]:
        return self.request("GET", "/cluster").json()

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/health").json()


class Sweep:
    """One submitted sweep on the server."""

    def __init__(self, client: Client, sweep_id: str, created: dict[str, Any]) -> None:
        self.client = client
        self.id = sweep_id
        self.created = created

    def __repr__(self) -> str:
        return f"Sweep({self.id!r})"

    def status(self) -> dict[str, Any]:
        """Counts by status, progress, ETA and errors (GET /sweeps/{id})."""
        return self.client.request("GET", f"/sweeps/{self.id}").json()

    def wait(
        self, progress: bool = True, poll_s: float = 1.0, timeout: float | None = None
    ) -> dict[str, Any]:
        """Block until the sweep finishes; show a progress bar when `progress`. Returns the final status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not progress:
            return self._poll(poll_s, deadline, lambda s: None)
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        first = self.status()
        columns = (
            BarColumn(bar_width=None),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, expand=True) as bar:
            task = bar.add_task(self.id, total=first["n_runs"], counts=first["state"])

            def show(s: dict[str, Any]) -> None:
                done = s["n_runs"] - s["counts"].get("pending", 0) - s["counts"].get("running", 0)
                counts = " ".join(f"{k} {v}" for k, v in s["counts"].items() if v and k != "pending")
                text = counts or s["state"]
                if s["state"] not in ("running", "done"):
                    text = f"{s['state']} {counts}".strip()
                bar.update(task, total=s["n_runs"], completed=done, counts=text)

            return self._poll(poll_s, deadline, show, first)

    def _poll(
        self, poll_s: float, deadline: float | None, show: Any, first: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        status = first
        while True:
            status = status or self.status()
            show(status)
            if status["state"] in FINAL_STATES:
                return status
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"sweep {self.id} still {status['state']} ({status['progress']:.0%})")
            time.sleep(poll_s)
            status = None

    def cancel(self, purge: bool = False) -> dict[str, Any]:
        """Cancel pending runs (finished ones stay); `purge` also deletes the stored data."""
        return self.client.request("DELETE", f"/sweeps/{self.id}", params={"purge": purge}).json()

    def results(self, **filters: Any) -> pd.DataFrame:
        """The summary table (one row per run), optionally filtered by parameter values: `N=1000`, or a
        list for any of several values, `cx=[0.0, 0.1]`."""
        import pandas as pd

        params: list[tuple[str, str]] = [("format", "csv")]
        for key, value in filters.items():
            values = value if isinstance(value, list | tuple | set) else [value]
            params.extend((key, str(v)) for v in values)
        text = self.client.request("GET", f"/sweeps/{self.id}/results", params=params).text
        return pd.read_csv(io.StringIO(text))

    def run(self, index: int) -> dict[str, Any]:
        """One run: parameters, summary and time series."""
        return self.client.request("GET", f"/sweeps/{self.id}/runs/{index}").json()

    def dataset(self, direct: bool | None = None, lazy: bool = True) -> Any:
        """The sweep as the labelled xarray.Dataset of `worker.results.open_sweep` (grid axes, time series,
        weight samples, currents). Direct (default when this machine sees the server's store_path): from
        the files; otherwise over HTTP from `GET /sweeps/{id}/zarr/...` with this client's token, reading
        only the chunks used (`lazy`: result arrays stay dask arrays until used)."""
        store = self.status().get("store_path")
        if direct is None:
            direct = bool(store) and Path(cast(str, store)).exists()
        if direct:
            from worker.results import open_sweep

            if not store or not Path(store).exists():
                raise ValueError(
                    f"direct=True: the server's store_path {store!r} is not reachable from this machine; "
                    "use direct=False to read over HTTP"
                )
            return open_sweep(str(Path(store).parent.parent), self.id)
        http = self.client.http
        return open_remote(self.client.url, self.id, http.headers.get("authorization"), lazy=lazy)


def open_remote(url: str, sweep_id: str, authorization: str | None = None, lazy: bool = True) -> Any:
    """Open a sweep's store over HTTP (fsspec + aiohttp) and label it like `open_sweep`."""
    import xarray as xr
    from zarr.storage import FsspecStore

    from worker.results import label_sweep

    headers = {"Authorization": authorization} if authorization else {}
    store = FsspecStore.from_url(
        f"{url.rstrip('/')}/sweeps/{sweep_id}/zarr", storage_options={"headers": headers}, read_only=True
    )
    raw = xr.open_zarr(store, consolidated=True, chunks={} if lazy else None)
    return label_sweep(raw, dict(raw.attrs), lazy=lazy)
