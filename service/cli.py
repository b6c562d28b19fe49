"""The `pbn` command line: one Typer app; each group of commands lives in its own module."""

from __future__ import annotations

import typer

from service import cli_calibrate, cli_client, cli_run, cli_sweep

app = typer.Typer(
    name="pbn",
    help="pbn-sweep: parameter sweeps of plastic balanced spiking networks (Numba + Dask + Zarr).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
for _module in (cli_run, cli_sweep, cli_client, cli_calibrate):
    _module.register(app)

if __name__ == "__main__":
    app()
