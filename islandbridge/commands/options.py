"""Options every command takes (``--data-dir``, ``--config``) and what they resolve to."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from islandbridge.context import RunContext

__all__ = ["ConfigOpt", "DataDir", "installation"]

DataDir = Annotated[Path, typer.Option("--data-dir", help="data folder of this installation")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="pipeline configuration (default: the demo's)")
]


def installation(data_dir: Path, config: Path | None) -> RunContext:
    """A context for commands that act on an installation rather than on one run."""
    return RunContext(
        data_dir=data_dir.resolve(),
        config_path=config.resolve() if config else None,
        run_id="cli",
        run_date=date.today(),  # noqa: DTZ011 - a calendar date for "as of" defaults only
    )
