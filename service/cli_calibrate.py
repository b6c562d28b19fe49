"""`pbn calibrate`: measure the cost model on this machine and store it beside the sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.console import console


def calibrate(
    data: Annotated[Path, typer.Option(envvar="PBN_DATA", help="Store directory")] = Path("pbn-data"),
) -> None:
    """Measure run costs on this machine (3-5 min of probe runs) for admission and sweep estimates."""
    from worker import calibration

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("probe runs", total=calibration.PROBES)
        started = [0]

        def step(what: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] += 1
            bar.update(task, description=f"probe {what}")

        model = calibration.calibrate(progress=step)
    target = calibration.save(data, model)
    console.print(_table(model.to_dict()))
    console.print(f"wrote {target} (used for this host by `pbn sweep` and `pbn serve` on this store)")


def _table(fields: dict[str, float | str]) -> Table:
    table = Table("coefficient", "value", title="cost model")
    for name, value in fields.items():
        table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    return table


def register(app: typer.Typer) -> None:
    """Attach `pbn calibrate` to the app."""
    app.command("calibrate")(calibrate)
