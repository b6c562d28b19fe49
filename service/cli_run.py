"""`pbn run params.yaml [--set N=2000 ...] [--out run.npz]`: one simulation with a progress bar.

numpy, yaml, pydantic and the simulator are imported inside the command, so `pbn --help` stays fast.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from service.console import console, err_console
from service.inputs import NonFiniteError, normalize_numbers, suggest_parameter
from service.units import measured_with_theory, unit_of

if TYPE_CHECKING:
    from pydantic import ValidationError
    from rich.table import Table


class ParamsError(ValueError):
    """A parameter file or --set option that cannot be used."""


def load_params(path: Path | None, sets: list[str]) -> dict[str, Any]:
    """Flat fields from a YAML file (nested `record`/`analysis` allowed) updated by key=value options.

    `1e3` is a number (YAML 1.1 would keep it a string); NaN and infinities are refused naming the field.
    """
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise ParamsError(f"{path}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ParamsError(f"{path}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
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
    try:
        return normalize_numbers(data)
    except NonFiniteError as exc:
        raise ParamsError(str(exc)) from None


def describe(exc: ValidationError) -> str:
    """One line per pydantic error: field, message, the value given, and a did-you-mean for typos."""
    lines = []
    for e in exc.errors():
        field = ".".join(str(x) for x in e["loc"]) or "params"
        hint = suggest_parameter(field) if e["type"] == "extra_forbidden" else ""
        msg = str(e["msg"]).removeprefix("Value error, ")
        lines.append(f"{field}: {msg} (got {e.get('input')!r}){hint}")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.5g}"
    return str(v)


def summary_table(summary: dict[str, Any]) -> Table:
    """Measured values beside the theory (with units), then every other summary entry."""
    from rich.table import Table

    table = Table(title="pbn run", title_justify="left")
    table.add_column("quantity", overflow="fold")
    table.add_column("unit", overflow="fold")
    table.add_column("measured", justify="right", overflow="fold")
    table.add_column("finite-N", justify="right", overflow="fold")
    table.add_column("N → ∞", justify="right", overflow="fold")
    compared = measured_with_theory()
    for key in compared:
        finite, infinite = summary.get(f"theory_finite_{key}"), summary.get(f"theory_{key}")
        table.add_row(key, unit_of(key), _fmt(summary.get(key)), _fmt(finite), _fmt(infinite))
    for key, value in summary.items():
        if key not in compared and not key.startswith("theory_"):
            table.add_row(key, unit_of(key), _fmt(value), "", "")
    for key in ("theory_stable", "theory_tau_w_s"):
        if key in summary:
            table.add_row(key, unit_of(key), "", "", _fmt(summary[key]))
    return table


def run_notes(summary: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """Why the run stopped early, and why statistics are NaN, in words."""
    from service.explain import convergence_note, divergence_words, window_note

    notes = []
    if summary.get("status") == "diverged":
        notes.append(f"diverged: {divergence_words(summary, params.get('rate_max_hz'))}")
    notes.extend(note for note in (window_note(summary, params), convergence_note(summary, params)) if note)
    return notes


def save_npz(path: Path, result: Any) -> None:
    """Arrays of the result plus the summary and params as JSON strings."""
    import numpy as np

    arrays: dict[str, Any] = {k: v for k, v in vars(result).items() if isinstance(v, np.ndarray)}
    np.savez_compressed(
        path,
        **arrays,
        summary=json.dumps(result.summary, default=float),
        params=result.params.model_dump_json(),
    )


def _parse(params_file: Path | None, sets: list[str]) -> Any:
    """Validated SimParams, or one readable error and exit code 2."""
    from pydantic import ValidationError

    from sim.params import parse_params

    try:
        return parse_params(load_params(params_file, sets))
    except ParamsError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
    except ValidationError as exc:
        err_console.print(f"[red]invalid parameters:[/]\n{escape(describe(exc))}", highlight=False)
    raise typer.Exit(2)


def run(
    params_file: Annotated[Path | None, typer.Argument(help="YAML file of simulation parameters")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="NAME=VALUE (repeatable; record.dt=1 style)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write arrays and summary to this .npz")] = None,
) -> None:
    """Run one simulation and print its summary beside the mean-field theory."""
    params = _parse(params_file, set_ or [])
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from sim.driver import simulate

    columns = (
        TextColumn("simulating"),
        BarColumn(bar_width=None),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=err_console, transient=True, expand=True) as bar:
            task = bar.add_task("run", total=1.0)
            result = simulate(params, progress=lambda f: bar.update(task, completed=f))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(130) from None
    console.print(summary_table(result.summary))
    for note in run_notes(result.summary, params.model_dump()):
        console.print(note, markup=False, highlight=False)
    if out is not None:
        save_npz(out, result)
        console.print(f"wrote {out}")
    if result.summary["status"] != "done":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach `pbn run` to the app."""
    app.command("run")(run)
