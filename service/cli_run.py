"""`pbn run params.yaml [--set N=2000 ...] [--out run.npz]`: one simulation with a progress bar."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
import yaml
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from service.console import console, err_console

COMPARED = (
    "rate_e_hz",
    "rate_i_hz",
    "j_ee",
    "j_ei",
    "j_ie",
    "j_ii",
    "cov_ee",
    "cov_ei",
    "cov_ii",
    "corr_ee",
    "corr_ei",
    "corr_ii",
)


class ParamsError(ValueError):
    """A parameter file or --set option that cannot be used."""


def load_params(path: Path | None, sets: list[str]) -> dict[str, Any]:
    """Flat fields from a YAML file (nested `record`/`analysis` allowed) updated by key=value options."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ParamsError(f"{path}: {exc}") from None
        if not isinstance(loaded, dict | None):
            raise ParamsError(
                f"{path}: expected a mapping of parameter names to values, got {type(loaded).__name__}"
            )
        data = dict(loaded or {})
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ParamsError(f"--set {item!r}: expected NAME=VALUE")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ParamsError(f"--set {item!r}: {exc}") from None
        *parents, leaf = key.strip().split(".")
        target = data
        for name in parents:
            target = target.setdefault(name, {})
        target[leaf] = value
    return data


def _describe(exc: ValidationError) -> str:
    lines = []
    for e in exc.errors():
        field = ".".join(str(x) for x in e["loc"]) or "params"
        lines.append(f"{field}: {e['msg']} (got {e.get('input')!r})")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.5g}"
    return str(v)


def summary_table(summary: dict[str, Any]) -> Table:
    """Measured values beside the theory, then every other summary entry."""
    table = Table(title="pbn run", show_lines=False)
    table.add_column("quantity")
    table.add_column("measured", justify="right")
    table.add_column("theory", justify="right")
    for key in COMPARED:
        table.add_row(key, _fmt(summary.get(key)), _fmt(summary.get(f"theory_{key}", "")))
    for key, value in summary.items():
        if key not in COMPARED and not key.startswith("theory_"):
            table.add_row(key, _fmt(value), "")
    return table


def save_npz(path: Path, result: Any) -> None:
    """Arrays of the result plus the summary and params as JSON strings."""
    arrays: dict[str, Any] = {k: v for k, v in vars(result).items() if isinstance(v, np.ndarray)}
    np.savez_compressed(
        path,
        **arrays,
        summary=json.dumps(result.summary, default=float),
        params=result.params.model_dump_json(),
    )


def run(
    params_file: Annotated[Path | None, typer.Argument(help="YAML file of simulation parameters")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="NAME=VALUE (repeatable; record.dt=1 style)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write arrays and summary to this .npz")] = None,
) -> None:
    """Run one simulation and print its summary beside the mean-field theory."""
    from sim.params import parse_params

    try:
        params = parse_params(load_params(params_file, set_ or []))
    except ParamsError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    except ValidationError as exc:
        err_console.print(f"[red]invalid parameters:[/]\n{_describe(exc)}")
        raise typer.Exit(2) from None
    from sim.driver import simulate

    columns = (
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("run", total=1.0)
        result = simulate(params, progress=lambda f: bar.update(task, completed=f))
    console.print(summary_table(result.summary))
    if out is not None:
        save_npz(out, result)
        console.print(f"wrote {out}")
    if result.summary["status"] != "done":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach `pbn run` to the app."""
    app.command("run")(run)
