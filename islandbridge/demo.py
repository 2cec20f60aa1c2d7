"""``islandbridge demo``: the demo university end to end through Airflow.

Generates the synthetic university (unless the same one is already there),
creates the demo's secrets (owner-only files under the data folder), serves the
youth league's API on 127.0.0.1, runs ``campus_integration`` with ``dag.test()``
and returns the run summary.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from islandbridge.airflow_local import run_dag
from islandbridge.progress import interactive, run_progress_line
from islandbridge.secrets import ensure_signing_key

__all__ = ["DemoError", "ensure_university", "run_demo", "run_pipeline"]

log = logging.getLogger(__name__)


class DemoError(RuntimeError):
    pass


def ensure_university(data_dir: Path, *, members: int, seed: int) -> Path:
    """Generate ``data_dir/university`` unless one of this size and seed is there already."""
    from islandbridge.synth import generate_university

    out = data_dir / "university"
    manifest = out / "manifest.json"
    if manifest.is_file():
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if meta.get("members") == members and meta.get("seed") == seed:
            return out
        shutil.rmtree(out)
    generate_university(out, members=members, seed=seed, progress=interactive())
    return out


def ensure_demo_secrets(data_dir: Path) -> None:
    """The demo's keyring and signing key; generated once, owner-only, never in the repo."""
    from anonymize import init_keyring_file

    secret_dir = data_dir / "secrets"
    secret_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret_dir.chmod(0o700)
    keyring = secret_dir / "keyring.json"
    if not keyring.exists():
        init_keyring_file(keyring)
    ensure_signing_key(secret_dir / "service_signing.key")


def run_pipeline(
    data_dir: Path, config: Path | None, *, run_id: str, sources: list[str] | None = None
) -> dict:
    """Run ``campus_integration`` through Airflow on an existing university; the summary."""
    from islandbridge.synth.volunteer_api import serve_volunteer_api

    token = secrets.token_urlsafe(24)
    log_path = data_dir / "logs" / f"{run_id}.log"
    conf = {"data_dir": str(data_dir), "config": str(config or ""), "sources": sources or []}
    with ExitStack() as stack:
        api = stack.enter_context(
            serve_volunteer_api(
                data_dir / "university" / "sources" / "volunteer_records.json", token=token
            )
        )
        env = {
            "ISLANDBRIDGE_VOLUNTEER_API_URL": f"{api.url}/api/v1/records",
            "ISLANDBRIDGE_VOLUNTEER_API_TOKEN": token,
            "ISLANDBRIDGE_DATA_DIR": str(data_dir),
            "ISLANDBRIDGE_RUN_ID": run_id,
        }
        started, wall = time.monotonic(), time.time()
        show = None
        if interactive():
            from rich.console import Console

            status = stack.enter_context(Console().status("campus_integration: starting…"))

            def show() -> None:
                line = run_progress_line(data_dir / "runs", wall - 1)
                status.update(f"campus_integration: {line}")

        code = run_dag(
            "campus_integration",
            conf,
            airflow_home=data_dir / "airflow",
            log_path=log_path,
            extra_env=env,
            on_wait=show,
        )
    summary_path = _latest_summary(data_dir)
    if code != 0 or summary_path is None:
        raise DemoError(f"the campus_integration run failed (exit {code}); see {log_path}")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["log"] = str(log_path)
    summary["seconds"] = round(time.monotonic() - started, 1)
    return summary


def _latest_summary(data_dir: Path) -> Path | None:
    found = sorted((data_dir / "runs").glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def run_demo(*, members: int, seed: int, data_dir: Path, config: Path | None) -> dict:
    """The whole demo; returns the run summary (row accounting, where the outputs are)."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_university(data_dir, members=members, seed=seed)
    ensure_demo_secrets(data_dir)
    run_id = "demo_" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    return run_pipeline(data_dir, config, run_id=run_id)
