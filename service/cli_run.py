"""Placeholder: commands are added by the module's owner."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the `pbn` app."""
