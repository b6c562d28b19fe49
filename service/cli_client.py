"""`pbn serve` and the client commands `pbn submit | status | results | cancel` (over HTTP).

httpx, pandas and the server are imported inside the commands, so `pbn --help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from service.console import console, err_console

if TYPE_CHECKING:
    from service.client import Client

UrlOpt = Annotated[str, typer.Option("--url", envvar="PBN_URL", help="Server URL")]
TokenOpt = Annotated[
    str | None, typer.Option("--token", envvar="PBN_TOKEN", help="API token", show_default=False)
]
DEFAULT_URL = "http://127.0.0.1:8000"
# uvloop + httptools come with uvicorn[standard] and are picked automatically; no access log by default
UVICORN_OPTIONS: dict[str, Any] = {"log_level": "info", "timeout_graceful_shutdown": 10, "access_log": False}


@contextmanager
def _client(url: str, token: str | None) -> Iterator[Client]:
    """A client whose failures become one readable line and exit code 2 (Ctrl-C: one line, 130)."""
    import httpx

    from service.client import Client, ClientError

    try:
        with Client(url, token) as client:
            yield client
    except ClientError as exc:  # the server refused, or a definition file / value that cannot be sent
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except httpx.HTTPError as exc:
        what = f"{type(exc).__name__}: {exc}"
        err_console.print(f"[red]error:[/] cannot talk to {url}: {what}", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err_console.print("interrupted (the server keeps running the sweep)")
        raise typer.Exit(130) from None


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000)")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address; default: LocalCluster")
    ] = None,
    data: Annotated[Path | None, typer.Option(help="Store directory (default ./pbn-data)")] = None,
    cluster: Annotated[
        str | None, typer.Option(help="Cluster spec: YAML file, 'local' or tcp://host:port (PBN_CLUSTER)")
    ] = None,
) -> None:
    """Run the REST API and browser page (uvicorn)."""
    import uvicorn

    from service.app import create_app
    from service.settings import Settings, is_loopback

    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "host": host,
            "port": port,
            "scheduler": scheduler,
            "data": data,
            "cluster": cluster,
        }.items()
        if v
    }
    try:
        settings = Settings(**overrides)
        app = create_app(settings)
    except (ValueError, OSError) as exc:  # bad PBN_* value, unreadable tokens file
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if not app.state.tokens.enabled and not is_loopback(settings.host):
        err_console.print(
            f"[red]error:[/] no API tokens configured (PBN_TOKENS or PBN_TOKENS_FILE), so the server runs "
            f"single-user and binds only to loopback; --host {settings.host} refused"
        )
        raise typer.Exit(2)
    _refuse_a_second_server(settings.data)
    sys.setswitchinterval(0.001)  # request latency: background threads (Dask client) yield sooner
    options = UVICORN_OPTIONS | {"access_log": settings.access_log}
    uvicorn.run(app, host=settings.host, port=settings.port, **options)


def _refuse_a_second_server(data: Path) -> None:
    """One `pbn serve` per data directory: name the holder before uvicorn starts (the app holds the lock)."""
    from worker.store.locks import HeldError, server_lock

    try:
        server_lock(Path(data)).acquire().release()
    except HeldError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def submit(
    file: Annotated[Path, typer.Argument(help="Sweep definition (YAML or JSON)")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait with a progress bar")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Submit a sweep to the server."""
    with _client(url, token) as client:
        sweep = client.submit(file)
        info = sweep.created
        console.print(f"submitted [bold]{sweep.id}[/]: {info['n_runs']} runs, {info['n_reused']} reused")
        if wait:
            final = sweep.wait(progress=True)
            _print_status(final)


def _print_status(s: dict[str, Any]) -> None:
    counts = ", ".join(f"{k} {v}" for k, v in s["counts"].items() if v)
    eta = f", ETA {s['eta_s']:.0f} s" if s.get("eta_s") else ""
    console.print(
        f"[bold]{s['id']}[/] ({s['name']}, {s['owner']}): {s['state']} {s['progress']:.0%}{eta}; {counts}"
    )
    for err in s.get("errors", []):
        console.print(f"  run {err['index']} {err['status']}: {err['error']}")
    if s.get("dashboard_url"):
        console.print(f"  dashboard: {s['dashboard_url']}")


def status(
    sweep_id: Annotated[str | None, typer.Argument(help="Sweep id; omitted: list your sweeps")] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Show one sweep's progress, or a table of your sweeps."""
    with _client(url, token) as client:
        if sweep_id is not None:
            _print_status(client.sweep(sweep_id).status())
            return
        page = client.sweeps(limit=200)
    from service.tables import fit_table

    rows = [
        {**s, "runs": s["n_runs"], "done": f"{s['progress']:.0%}", "created": (s.get("created") or "")[:16]}
        for s in page["data"]
    ]
    fitted = fit_table(rows, ["id", "state"], ["runs", "done", "owner", "created", "name"], console.width)
    console.print(fitted.table)
    shown = f"; not shown: {', '.join(fitted.dropped)}" if fitted.dropped else ""
    console.print(f"{page['count']} sweeps{shown}")


def results(
    sweep_id: Annotated[str, typer.Argument(help="Sweep id")],
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Print a sweep's summary table, the theory beside each measured column."""
    with _client(url, token) as client:
        table = client.sweep(sweep_id).results()
    if csv:
        sys.stdout.write(table.to_csv(index=False))
        return
    from service.asymptotic_view import print_fits
    from service.summary_view import print_runs

    columns = list(table.columns)
    swept = columns[columns.index("error") + 1 : columns.index("replicate")] if "replicate" in columns else []
    rows = [{k: _plain(v) for k, v in row.items()} for row in table.to_dict("records")]
    hint = f"{len(table)} runs; all {len(columns)} columns with --csv"
    print_runs(console, rows, columns, swept, f"sweep {sweep_id}", hint)
    print_fits(console, table, swept)


def _plain(value: Any) -> Any:
    """numpy scalars of a DataFrame row as Python scalars (so the table formats them as numbers)."""
    return value.item() if hasattr(value, "item") else value


def cancel(
    sweep_id: Annotated[str, typer.Argument(help="Sweep id")],
    purge: Annotated[bool, typer.Option("--purge", help="Also delete the stored data")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Purge without asking")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Cancel a sweep's pending runs (finished runs stay unless --purge, which asks first)."""
    from service.client import FINAL_STATES

    with _client(url, token) as client:
        handle = client.sweep(sweep_id)
        before = handle.status()
        if purge and not yes:
            n = before["n_runs"]
            if not typer.confirm(f"delete sweep {sweep_id} and all stored data of its {n} runs?"):
                console.print("nothing deleted")
                raise typer.Exit(1)
        if before["state"] in FINAL_STATES and not purge:
            console.print(f"{sweep_id}: already {before['state']}, nothing to cancel")
            return
        answer = handle.cancel(purge=purge)
        after = before if answer["purged"] else _settled(handle)
    console.print(f"{sweep_id}: {cancel_words(before, after, answer['purged'])}")


def _settled(handle: Any, wait_s: float = 5.0) -> dict[str, Any]:
    """The status once the coordinator has acted on a cancel (in-flight runs stopped or finished)."""
    import time

    deadline = time.monotonic() + wait_s
    status = handle.status()
    counts = status["counts"]
    while counts.get("running", 0) + counts.get("pending", 0) and time.monotonic() < deadline:
        time.sleep(0.25)
        status = handle.status()
        counts = status["counts"]
    return status


def cancel_words(before: dict[str, Any], after: dict[str, Any], purged: bool) -> str:
    """What a cancel did, from the counts before and after it."""
    counts, was = after.get("counts", {}), before.get("counts", {})
    stopped = was.get("pending", 0) + was.get("running", 0)
    kept = sum(counts.get(k, 0) for k in ("done", "reused", "diverged"))
    if purged:
        return f"cancelled and purged: the sweep and its {before['n_runs']} runs' data are deleted"
    if not stopped:
        return f"nothing was pending; state {after['state']}"
    left = counts.get("running", 0)
    still = f"; {left} already running may still finish" if left else ""
    done = counts.get("cancelled", 0)
    return f"cancelled {done} of {stopped} unfinished runs; {kept} finished runs kept{still}"


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the `pbn` app."""
    app.command()(serve)
    app.command()(submit)
    app.command()(status)
    app.command()(results)
    app.command()(cancel)
