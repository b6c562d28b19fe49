"""`pbn sweep FILE.yaml` and `pbn sweep --resume ID`: run a sweep on Dask into the store, live progress.

Imports of Dask, Zarr and pandas happen inside the functions, so `pbn --help` stays fast.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.markup import escape

from service.console import console, err_console
from worker.errors import PbnError, SweepNotFoundError, SweepValidationError

if TYPE_CHECKING:
    from distributed import Client

    from worker.runner import PlanItem, SweepProgress
    from worker.store import SweepStore
    from worker.sweep import SweepDefinition


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
    plots: Annotated[
        bool, typer.Option(help="Write the summary plots over N to <data>/plots/<sweep id>/ (sweeps over N)")
    ] = True,
) -> None:
    """Run a parameter sweep: every point on Dask, every result in the Zarr store under --data."""
    target: str | None = resume
    try:
        source = _counted(file) if file is not None and resume is None else file
        from worker.store import SweepStore

        store = SweepStore(data)
        target = _target(store, source, resume, explain, sweep_id, owner, scheduler, workers)
        if target is None:
            return
        _run(store, target, cluster or scheduler, workers, max_in_flight)
        _print_table(store, target, data / "plots" / target if plots else None)
        statuses = store.statuses(target)
    except PbnError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}{_hint(exc)}", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        _interrupted(target)
    console.print(f"store: {store.path(target)}", soft_wrap=True, highlight=False)
    console.print(f"read it with: worker.results.open_sweep({str(data)!r}, {target!r})", soft_wrap=True)
    if "failed" in statuses or "cancelled" in statuses:
        raise typer.Exit(1)


def _counted(file: Path) -> SweepDefinition:
    """The definition, refused at once if it has too many runs: before the store, Zarr or Dask are even
    imported (a 10^6-point grid is refused in well under a second)."""
    from worker.limits import SweepLimits
    from worker.sweep import check_count, load_definition

    defn = load_definition(file)
    check_count(defn, SweepLimits())
    return defn


def _target(
    store: SweepStore,
    file: Path | SweepDefinition | None,
    resume: str | None,
    explain: bool,
    sweep_id: str | None,
    owner: str | None,
    scheduler: str | None,
    workers: int | None,
) -> str | None:
    """The sweep to run: the resumed one, or one created from the file; None when only explaining."""
    if resume is not None:
        if not store.exists(resume):
            raise SweepNotFoundError(resume)
        if explain:
            _print_plan(_plan_stored(store, resume), store.runs(resume))
            return None
        return resume
    if file is None:
        raise typer.BadParameter("give a sweep file or --resume ID")
    local = None if scheduler else workers or 0
    return _create(store, file, explain, sweep_id, owner, local_workers=local)


def _interrupted(sweep_id: str | None) -> NoReturn:
    """Ctrl-C: one line and exit code 130 (the store keeps every finished run)."""
    again = f"; resume with `pbn sweep --resume {sweep_id}`" if sweep_id else ""
    err_console.print(f"interrupted{again}", highlight=False, soft_wrap=True)
    raise typer.Exit(130)


def _hint(exc: PbnError) -> str:
    """' (did you mean X?)' for an unknown parameter or definition field."""
    if not isinstance(exc, SweepValidationError) or "Extra inputs" not in exc.reason:
        return ""
    from service.inputs import did_you_mean, suggest_parameter

    if exc.point is None and "." not in exc.field:
        from worker.sweep import SweepDefinition

        return did_you_mean(exc.field, SweepDefinition.model_fields)
    return suggest_parameter(exc.field)


def plan_runs(store: SweepStore, cache_keys: list[str], *args: Any, **kwargs: Any) -> list[PlanItem]:
    """worker.runner.plan_runs, imported when needed (it imports distributed)."""
    from worker.runner import plan_runs as plan

    return plan(store, cache_keys, *args, **kwargs)


def _create(
    store: SweepStore,
    file: Path | SweepDefinition,
    explain: bool,
    sweep_id: str | None,
    owner: str | None,
    local_workers: int | None = None,
) -> str | None:
    """Load and prepare a definition (count, expand once, limits, memory); create the sweep (or explain it).
    `local_workers`: the LocalCluster's size (0: one per core), whose per-worker memory is the budget."""
    from worker import calibration
    from worker.admission import estimate_sweep
    from worker.limits import SweepLimits
    from worker.sweep import load_definition, prepare_sweep

    model, budget, threads = calibration.load(store.root), None, 0
    if local_workers is not None:
        threads = local_workers or os.cpu_count() or 1
        budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / threads  # LocalCluster's share
    runs = prepare_sweep(defn := load_definition(file), SweepLimits(), model, budget)
    if explain:
        _print_plan(plan_runs(store, [r.cache_key for r in runs], owner or _user()), runs)
        _print_estimate(estimate_sweep(runs, threads, model).to_dict())
        return None
    created = store.create_sweep(defn, runs, owner=owner or _user(), sweep_id=sweep_id)
    console.print(
        f"sweep {created}: {len(runs)} runs  (resume with: pbn sweep --resume {created})", soft_wrap=True
    )
    return created


def _run(
    store: SweepStore, sweep_id: str, scheduler: str | None, workers: int | None, limit: int | None
) -> None:
    """Reuse what the store holds; if runs are left, start or connect the cluster and run them."""
    from worker.status import FINISHED

    reused = _reuse_stored(store, sweep_id)
    statuses = store.statuses(sweep_id)
    if all(s in FINISHED for s in statuses):
        why = f"{reused} reused from the store, " if reused else ""
        console.print(f"every run has a result ({why}{len(statuses)} in all); no cluster started")
        return
    try:
        client = _start_client(scheduler, workers)
    except (OSError, TimeoutError) as exc:
        err_console.print(f"[red]error:[/] cannot reach the Dask scheduler {scheduler or ''}: {exc}")
        err_console.print(f"the sweep is stored; run it later with `pbn sweep --resume {sweep_id}`")
        raise typer.Exit(2) from None
    quiet = False
    try:
        from worker.cluster import warm_up
        from worker.runner import SweepRunner

        warm_up(client)
        runner = SweepRunner(client, store)
        with _ProgressBar(len(statuses), sum(s in FINISHED for s in statuses)) as bar:
            runner.run(sweep_id, progress=bar.update, max_in_flight=limit)
    except KeyboardInterrupt:
        quiet = True
        raise
    finally:
        _close_client(client, owned=True, quiet=quiet)  # only a cluster we started is shut down


def _reuse_stored(store: SweepStore, sweep_id: str) -> int:
    """Copy runs whose cache key is stored (done by the same owner) into this sweep, before any cluster
    exists; under the sweep's coordinator lock, as the runner does."""
    from worker.runner import plan_stored
    from worker.store.locks import sweep_lock

    reused = 0
    with sweep_lock(store.root, sweep_id):
        for item in plan_stored(store, sweep_id):
            if item.action == "reuse" and item.source is not None:
                reused += bool(store.reuse_run(sweep_id, item.index, item.source))
    return reused


def _start_client(target: str | None, workers: int | None) -> Client:
    """A client for the cluster spec or scheduler address `target` (default: $PBN_SCHEDULER, else a
    LocalCluster); a LocalCluster's worker processes start with SIGINT ignored, so Ctrl-C reaches only us."""
    from worker.cluster import make_client
    from worker.cluster_spec import LocalSpec, load_cluster_spec

    spec = load_cluster_spec(target) if target else None
    if spec is None and os.environ.get("PBN_SCHEDULER"):
        return make_client(None, n_workers=workers)
    if spec is not None and not isinstance(spec, LocalSpec):
        return make_client(n_workers=workers, spec=spec)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the spawned worker processes
    try:
        return make_client(n_workers=workers, spec=spec)
    finally:
        signal.signal(signal.SIGINT, previous)


def _close_client(client: Client, owned: bool, quiet: bool) -> None:
    """Shut down a cluster we started (workers exit cleanly, no 'still alive, killing'); else disconnect."""
    if quiet:  # after Ctrl-C: cancelled tasks and closing comms are expected, not news
        quiet_logging()
        if owned:
            with contextlib.suppress(Exception):
                client.run(quiet_logging)  # the worker processes print their own warnings
    try:
        if owned and getattr(client, "cluster", None) is not None:
            client.shutdown()
        else:
            client.close()
    except Exception as exc:  # the results are stored; a failing shutdown must not hide them
        if not quiet:
            err_console.print(f"warning: closing the Dask client: {type(exc).__name__}: {exc}")


def quiet_logging() -> None:
    """Only critical messages from Dask and its event loop in this process (main or worker)."""
    import logging

    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class _ProgressBar:
    """A progress line fed by SweepProgress callbacks that fits 80 columns (counts only when non-zero)."""

    def __init__(self, total: int, finished: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            BarColumn(bar_width=None),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            console=console,
            expand=True,
        )
        counts = f"done {finished}" if finished else "starting"
        self.task = self.progress.add_task("sweep", total=total, completed=finished, counts=counts, eta="")

    def __enter__(self) -> _ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def update(self, p: SweepProgress) -> None:
        fields = progress_fields(p)
        done = p.finished + p.failed + p.cancelled
        counts, eta = fields["counts"], fields["eta"]
        self.progress.update(self.task, total=p.total, completed=done, counts=counts, eta=eta)


def progress_fields(p: SweepProgress) -> dict[str, str]:
    """Short counts ('done 5 run 2 reused 1') and 'ETA 12s' for the progress line."""
    parts = (
        ("done", p.done),
        ("run", p.running),
        ("reused", p.reused),
        ("div", p.diverged),
        ("fail", p.failed),
        ("cancel", p.cancelled),
    )
    counts = " ".join(f"{name} {n}" for name, n in parts if n) or "pending"
    eta = "" if p.eta_s is None else f"ETA {_duration(p.eta_s)}"
    return {"counts": counts, "eta": eta}


def _duration(seconds: float) -> str:
    """12s, 3m05s, 2h04m."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _plan_stored(store: SweepStore, sweep_id: str) -> list[PlanItem]:
    from worker.runner import plan_stored

    return plan_stored(store, sweep_id)


def _print_plan(items: list[PlanItem], runs: list[Any] | None = None) -> None:
    """One line per run: what will happen and why."""
    from rich.table import Table

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


def _print_estimate(est: dict[str, Any]) -> None:
    seconds = est["expected_wall_s"]
    wall = "unknown (no workers yet)" if seconds is None else f"{seconds:.0f} s"
    console.print(
        f"estimated: {est['core_hours']:.3g} core-hours, "
        f"peak {est['peak_memory_gb_per_run']:.2f} GB per run, wall {wall} on {est['threads']} threads "
        f"(cost model: {est['model']})",
        soft_wrap=True,
    )


def _print_table(store: SweepStore, sweep_id: str, plot_dir: Path | None) -> None:
    """The summary table with theory beside the measurements, then notes on diverged, failed, NaN runs;
    for a sweep over N also the fits s∞ + a/√N and (into `plot_dir`) the summary plots."""
    from service.asymptotic_view import print_fits, write_plots
    from service.summary_view import print_runs
    from worker.results import summary_table

    frame = summary_table(store, sweep_id)
    swept = [k for axis in store.attrs(sweep_id)["axes"] for k in axis["keys"]]
    runs: list[Any] = []

    def params_of(index: int) -> dict[str, Any]:
        if not runs:
            runs.extend(store.runs(sweep_id))
        return runs[index].params.model_dump()

    rows = frame.to_dict("records")
    hint = "all columns: worker.results.summary_table(data, sweep_id)"
    print_runs(console, rows, list(frame.columns), swept, f"sweep {sweep_id}", hint, params_of)
    print_fits(console, frame, swept)
    if plot_dir is not None and (written := write_plots(frame, swept, plot_dir)):
        console.print(f"plots: {plot_dir}/{{{','.join(p.stem for p in written)}}}.png", soft_wrap=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return os.environ.get("USER", "anonymous")


def register(app: typer.Typer) -> None:
    """Attach `pbn sweep` to the `pbn` app."""
    app.command("sweep")(sweep)
