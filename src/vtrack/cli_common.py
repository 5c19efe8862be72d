"""What every `vtrack` command module shares: settings from options, and how a command fails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from vtrack.settings import Settings

err = Console(stderr=True)

DataDir = Annotated[Path | None, typer.Option(help="Data directory (default $VTRACK_DATA_DIR or ./data)")]


def settings_for(data_dir: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment and vtrack.toml, with the options that were given on top."""
    values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def fail(message: str) -> typer.Exit:
    # Escaped: messages carry user input (names, paths) that rich would otherwise read as markup.
    # soft_wrap: one message per line, not cut at 80 columns when stderr is a pipe or a log file.
    err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code=1)
