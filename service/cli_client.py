"""`pbn serve` and the client commands `pbn submit | status | results | cancel` (over HTTP)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from service.client import ApiError, Client
from service.console import console, err_console

UrlOpt = Annotated[str, typer.Option("--url", envvar="PBN_URL", help="Server URL")]
TokenOpt = Annotated[
    str | None, typer.Option("--token", envvar="PBN_TOKEN", help="API token", show_default=False)
]
DEFAULT_URL = "http://127.0.0.1:8000"
# uvloop + httptools come with uvicorn[standard] and are picked automatically; no access log by default
UVICORN_OPTIONS: dict[str, Any] = {"log_level": "info", "timeout_graceful_shutdown": 10, "access_log": False}


@contextmanager
def _client(url: str, token: str | None) -> Iterator[Client]:
    """A client whose failures become one readable line and exit code 2."""
    try:
        with Client(url, token) as client:
            yield client
    except ApiError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    except (OSError, ValueError) as exc:  # file not found, bad YAML, connection refused
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    except Exception as exc:
        if type(exc).__module__.startswith(("httpx", "yaml")):
            err_console.print(f"[red]error:[/] {type(exc).__name__}: {exc}")
            raise typer.Exit(2) from None
        raise


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
    sys.setswitchinterval(0.001)  # request latency: background threads (Dask client) yield sooner
    options = UVICORN_OPTIONS | {"access_log": settings.access_log}
    uvicorn.run(app, host=settings.host, port=settings.port, **options)


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
        table = Table("id", "name", "owner", "state", "runs", "progress", "created")
        for s in page["data"]:
            created = (s.get("created") or "")[:19]
            table.add_row(
                s["id"], s["name"], s["owner"], s["state"], str(s["n_runs"]), f"{s['progress']:.0%}", created
            )
        console.print(table)
        console.print(f"{page['count']} sweeps")


def results(
    sweep_id: Annotated[str, typer.Argument(help="Sweep id")],
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Print a sweep's summary table."""
    with _client(url, token) as client:
        table = client.sweep(sweep_id).results()
    if csv:
        sys.stdout.write(table.to_csv(index=False))
        return
    console.print(_readable(table))
    console.print(f"{len(table)} runs; all {len(table.columns)} columns with --csv")


KEY_STATS = (
    "rate_e_hz",
    "theory_rate_e_hz",
    "rate_i_hz",
    "theory_rate_i_hz",
    "j_ei",
    "j_ii",
    "corr_ee",
    "wall_s",
)


def _readable(table: Any) -> Table:
    """Index, status, swept parameters, replicate and the key statistics (the CSV has everything)."""
    columns = list(table.columns)
    swept = columns[columns.index("error") + 1 : columns.index("replicate")] if "replicate" in columns else []
    shown = ["index", "status", *swept, "replicate", *[c for c in KEY_STATS if c in columns]]
    out = Table(*shown)
    for row in table[[c for c in shown if c in columns]].itertuples(index=False):
        out.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    return out


def cancel(
    sweep_id: Annotated[str, typer.Argument(help="Sweep id")],
    purge: Annotated[bool, typer.Option("--purge", help="Also delete the stored data")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Cancel a sweep's pending runs (finished runs stay unless --purge)."""
    with _client(url, token) as client:
        answer = client.sweep(sweep_id).cancel(purge=purge)
    what = "cancelled and purged" if answer["purged"] else f"cancelled ({answer['state']})"
    console.print(f"{sweep_id}: {what}")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the `pbn` app."""
    app.command()(serve)
    app.command()(submit)
    app.command()(status)
    app.command()(results)
    app.command()(cancel)
