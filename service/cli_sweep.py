"""`pbn sweep FILE.yaml` and `pbn sweep --resume ID`: run a sweep on Dask into the store, live progress."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.console import console, err_console
from worker.errors import PbnError, SweepNotFoundError
from worker.runner import PlanItem, SweepProgress, SweepRunner, plan_runs
from worker.store import SweepStore

TABLE_COLUMNS = ("rate_e_hz", "rate_i_hz", "corr_ee", "j_ee", "j_ei", "wall_s")
"""Summary scalars shown in the printed table (the full table is in the store / summary_table)."""


def sweep(
    file: Annotated[
        Path | None, typer.Argument(help="Sweep definition (YAML or JSON)", show_default=False)
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Finish the unfinished runs of sweep ID")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(envvar="PBN_SCHEDULER", help="Dask scheduler address; default: LocalCluster")
    ] = None,
    data: Annotated[Path, typer.Option(envvar="PBN_DATA", help="Store directory")] = Path("pbn-data"),
    cluster: Annotated[
        str | None,
        typer.Option(envvar="PBN_CLUSTER", help="Cluster spec: YAML file, 'local' or tcp://host:port"),
    ] = None,
    explain: Annotated[
        bool, typer.Option(help="Say per run whether it will run or be reused, then exit")
    ] = False,
    max_in_flight: Annotated[int | None, typer.Option(min=1, help="Tasks kept in the scheduler")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="LocalCluster workers (default: one per core)")
    ] = None,
    sweep_id: Annotated[
        str | None, typer.Option("--id", help="Sweep id to create (default: generated)")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Owner recorded in the store (default: $USER)")] = None,
) -> None:
    """Run a parameter sweep: every point on Dask, every result in the Zarr store under --data."""
    try:
        store = SweepStore(data)
        target: str | None
        if resume is not None:
            target = resume
            if not store.exists(target):
                raise SweepNotFoundError(target)
            if explain:
                _print_plan(_plan_stored(store, target), store.runs(target))
                return
        elif file is not None:
            target = _create(store, file, explain, sweep_id, owner)
            if target is None:
                return
        else:
            raise typer.BadParameter("give a sweep file or --resume ID")
        final = _run(store, target, cluster or scheduler, workers, max_in_flight)
    except PbnError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    _print_table(store, target)
    console.print(f"store: {store.path(target)}  (worker.results.open_sweep({str(data)!r}, {target!r}))")
    if final.failed or final.cancelled:
        raise typer.Exit(1)


def _create(
    store: SweepStore, file: Path, explain: bool, sweep_id: str | None, owner: str | None
) -> str | None:
    """Load, validate and limit-check a definition; create the sweep (or only explain it)."""
    from worker.sweep import SweepLimits, check_limits, expand_sweep, load_definition

    defn = load_definition(file)
    runs = expand_sweep(defn)
    check_limits(runs, SweepLimits.from_env())
    if explain:
        _print_plan(plan_runs(store, [r.cache_key for r in runs]), runs)
        return None
    created = store.create_sweep(defn, runs, owner=owner or _user(), sweep_id=sweep_id)
    console.print(
        f"sweep {created}: {len(runs)} runs  (resume with: pbn sweep --resume {created})", soft_wrap=True
    )
    return created


def _run(store: SweepStore, sweep_id: str, scheduler: str | None, workers: int | None, limit: int | None):
    """Start or connect the cluster, warm it up, run with a live progress bar."""
    from worker.cluster import make_client, warm_up
    from worker.cluster_spec import load_cluster_spec
    from worker.runner import progress_from_store
    from worker.store import FINISHED

    if all(s in FINISHED for s in store.statuses(sweep_id)):
        console.print(f"sweep {sweep_id}: every run already has a result; nothing to run")
        return progress_from_store(store, sweep_id)
    try:
        spec = load_cluster_spec(scheduler) if scheduler else None
        client = make_client(n_workers=workers, spec=spec)
    except (OSError, TimeoutError) as exc:
        err_console.print(f"[red]error:[/] cannot reach the Dask scheduler {scheduler or ''}: {exc}")
        err_console.print(f"the sweep is stored; run it later with `pbn sweep --resume {sweep_id}`")
        raise typer.Exit(2) from None
    try:
        warm_up(client)
        runner = SweepRunner(client, store)
        with _ProgressBar(sweep_id) as bar:
            try:
                return runner.run(sweep_id, progress=bar.update, max_in_flight=limit)
            except KeyboardInterrupt:
                err_console.print(f"interrupted: resume with `pbn sweep --resume {sweep_id}`")
                raise typer.Exit(130) from None
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


class _ProgressBar:
    """A rich progress bar fed by SweepProgress callbacks."""

    def __init__(self, sweep_id: str) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=console,
        )
        self.task = self.progress.add_task(sweep_id, total=None, counts="", eta="-")

    def __enter__(self) -> _ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def update(self, p: SweepProgress) -> None:
        counts = f"done {p.done} run {p.running} fail {p.failed} reused {p.reused} div {p.diverged}"
        eta = "-" if p.eta_s is None else f"{p.eta_s:.0f}s"
        done = p.finished + p.failed + p.cancelled
        self.progress.update(self.task, total=p.total, completed=done, counts=counts, eta=eta)


def _plan_stored(store: SweepStore, sweep_id: str) -> list[PlanItem]:
    keys = store.attrs(sweep_id)["expansion"]["cache_keys"]
    return plan_runs(store, keys, store.statuses(sweep_id), exclude=sweep_id)


def _print_plan(items: list[PlanItem], runs: list[Any] | None = None) -> None:
    """One line per run: what will happen and why."""
    table = Table("run", "point", "replicate", "action", "reason")
    for item in items:
        run = runs[item.index] if runs else None
        point = ", ".join(f"{k}={v}" for k, v in run.point.items()) if run else ""
        table.add_row(str(item.index), point, str(run.replicate) if run else "", item.action, item.reason)
    console.print(table)
    counts = {a: sum(i.action == a for i in items) for a in ("run", "reuse", "skip")}
    console.print(
        f"{counts['run']} to run, {counts['reuse']} reused from the store, {counts['skip']} already finished"
    )


def _print_table(store: SweepStore, sweep_id: str, max_rows: int = 200) -> None:
    """The summary table: status, swept values, replicate and a few headline scalars per run."""
    from worker.results import summary_table

    frame = summary_table(store, sweep_id)
    swept = [k for axis in store.attrs(sweep_id)["axes"] for k in axis["keys"]]
    columns = ["index", "status", *swept, "replicate", *[c for c in TABLE_COLUMNS if c in frame.columns]]
    table = Table(*columns, title=f"sweep {sweep_id}")
    for row in frame[columns].head(max_rows).itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    console.print(table)
    if len(frame) > max_rows:
        console.print(f"... {len(frame) - max_rows} more rows (use summary_table() for all)")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return os.environ.get("USER", "anonymous")


def register(app: typer.Typer) -> None:
    """Attach `pbn sweep` to the `pbn` app."""
    app.command("sweep")(sweep)
