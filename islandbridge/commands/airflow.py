"""`islandbridge airflow` (``make airflow``): the real Airflow UI on the demo university."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from islandbridge.commands.options import DataDir

__all__ = ["airflow_command"]


def _on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt  # stopped like Ctrl-C: every component is stopped too


def airflow_command(
    port: Annotated[int, typer.Option(help="port of the Airflow UI / API server")] = 8080,
    members: Annotated[int, typer.Option(help="members of the demo university")] = 5000,
    seed: Annotated[int, typer.Option(help="random seed of the demo university")] = 20260630,
    data_dir: DataDir = Path("data"),
) -> None:
    """Run the real Airflow (API server + UI, scheduler, DAG processor, triggerer) on
    SQLite under the data folder, with the demo university's data, keys and youth-league
    API; prints the URL and login; Ctrl-C stops everything. Runs start when you trigger
    them (no schedule)."""
    from islandbridge.airflow_server import AirflowError, serve_airflow
    from islandbridge.demo import demo_api, ensure_demo_secrets, ensure_university

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    signal.signal(signal.SIGTERM, _on_sigterm)

    def say(line: str) -> None:
        typer.echo(line, err=True)

    try:
        say(f"demo university: {members} members (seed {seed}) in {data_dir / 'university'}")
        ensure_university(data_dir, members=members, seed=seed)
        ensure_demo_secrets(data_dir)
        with (
            demo_api(data_dir) as api_env,
            serve_airflow(data_dir, port=port, extra_env=api_env, on_status=say) as server,
        ):
            typer.echo(f"Airflow UI: {server.url}")
            typer.echo(f"login: {server.user} / {server.password}")
            typer.echo(
                "trigger campus_integration (▶) in the UI; the run report lands in "
                f"{data_dir / 'reports'}; Ctrl-C stops everything"
            )
            while True:
                time.sleep(1.0)
                dead = server.dead()
                if dead:
                    say(f"error: Airflow {', '.join(dead)} stopped; see {server.logs}")
                    raise typer.Exit(1)
    except AirflowError as exc:
        say(f"error: {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        say("stopping Airflow…")
    say("Airflow stopped")
