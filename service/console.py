"""Rich consoles of the `pbn` commands: tables keep their columns when output goes to a log or a pipe."""

from __future__ import annotations

from rich.console import Console

PIPE_WIDTH = 160
"""Width used when stdout is not a terminal (rich would fall back to 80 columns and cut the tables)."""


def make_console() -> Console:
    """A stdout console, wide enough for summary tables in logs and pipes."""
    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)


console = make_console()
err_console = Console(stderr=True)
