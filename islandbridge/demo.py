"""``islandbridge demo``: the demo university end to end through Airflow; and
:func:`run_pipeline`, which ``islandbridge run`` uses for any university.

``demo`` generates the synthetic university (unless the same one is already there),
creates the demo's secrets (owner-only files under the data folder) and its trust store
(the synthetic departments' public keys, beside the data folder), serves the youth
league's API on 127.0.0.1 (:func:`demo_api`: the demo alone does), runs
``campus_integration`` with ``dag.test()`` and returns the run summary.
:func:`run_pipeline` needs only the configuration: it runs the checks first
(:mod:`islandbridge.checks`) and starts nothing of the demo.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from islandbridge.airflow_local import run_dag
from islandbridge.progress import interactive, run_progress_line
from islandbridge.run_layout import DataLayout
from islandbridge.secrets import ensure_signing_key

__all__ = [
    "DemoError",
    "demo_api",
    "ensure_demo_secrets",
    "ensure_demo_trust_store",
    "ensure_university",
    "run_demo",
    "run_pipeline",
]

log = logging.getLogger(__name__)
#: at most one progress line this often when the output is not a terminal
PROGRESS_EVERY_S = 5.0


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
        # another university: its exports start their own sequences (and keys)
        shutil.rmtree(DataLayout(data_dir).export_sequences, ignore_errors=True)
    generate_university(out, members=members, seed=seed, progress=interactive())
    return out


def ensure_demo_secrets(data_dir: Path, config: Path | None = None) -> None:
    """The demo's keyring and signing key (generated once, owner-only, never in the repo)
    and its trust store (:func:`ensure_demo_trust_store`)."""
    from anonymize import init_keyring_file

    secret_dir = data_dir / "secrets"
    secret_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret_dir.chmod(0o700)
    keyring = secret_dir / "keyring.json"
    if not keyring.exists():
        init_keyring_file(keyring)
    ensure_signing_key(secret_dir / "service_signing.key")
    ensure_demo_trust_store(data_dir, config)


def ensure_demo_trust_store(data_dir: Path, config: Path | None = None) -> Path | None:
    """Register the synthetic departments' public keys (``university/department_keys/
    signers.json``) as the installation's trust store — exactly those keys, each bound to
    its department, source and branch — where the configuration keeps it (a file outside
    the data folder). Nothing is written when there is no generated university yet or the
    trust store is not a file; returns the trust store's path."""
    from connectors.signatures import load_public_key
    from connectors.trust_store import replace_trusted_keys, trust_entry
    from islandbridge.context import RunContext
    from islandbridge.synth.signing import SIGNERS_FILE
    from islandbridge.trust import trust_store_path

    key_dir = data_dir / "university" / "department_keys"
    signers = key_dir / SIGNERS_FILE
    ctx = RunContext(data_dir.resolve(), config, "demo", datetime.now(UTC).date())
    path = trust_store_path(ctx)
    if path is None or not signers.is_file():
        return None
    keys = [
        trust_entry(
            s["name"],
            load_public_key(key_dir / s["public_key"]),
            department=s["department"],
            sources=s["sources"],
            branch=s["branch"],
        )
        for s in json.loads(signers.read_text(encoding="utf-8"))
    ]
    replace_trusted_keys(path, keys)
    return path


@contextmanager
def demo_api(data_dir: Path) -> Iterator[dict[str, str]]:
    """Serve the demo university's youth-league API on 127.0.0.1 while in the block;
    yields the environment variables its configuration names (URL and bearer token)."""
    from islandbridge.synth.volunteer_api import served_volunteer_api

    with served_volunteer_api(data_dir / "university") as env:
        yield env


def run_pipeline(
    data_dir: Path,
    config: Path | None,
    *,
    run_id: str,
    sources: list[str] | None = None,
    allow_shrink: bool = False,
    extra_env: dict[str, str] | None = None,
    dag_id: str = "campus_integration",
    on_progress: Callable[[str], None] | None = None,
) -> dict:
    """Run ``dag_id`` (``campus_integration``, or ``department_intake`` for dropped
    ``sources``) through Airflow on an existing installation; the summary.

    The checks run first, on the environment the run will have (this process's plus
    ``extra_env``): a problem of the configuration, a secret or (``campus_integration``)
    a source that no retry can fix raises :class:`islandbridge.checks.CheckFailed`
    before anything is written; a source that cannot be reached now is a warning (its
    chain retries and, failing, is carried over). A run that ended degraded (a source
    failed, or the publication was refused) still returns its summary (``degraded`` is
    set); only a run that wrote none raises. On a terminal a status line shows the run's
    progress; elsewhere ``on_progress`` gets a line whenever it changes (CI, pipes).
    """
    from islandbridge.checks import require_checks

    layout = DataLayout(data_dir)
    log_path = layout.log(run_id)
    conf = {
        "data_dir": str(data_dir),
        "config": str(config or ""),
        "sources": sources or [],
        "allow_shrink": allow_shrink,
    }
    env = {"ISLANDBRIDGE_DATA_DIR": str(data_dir), **(extra_env or {})}
    require_checks(
        data_dir,
        config,
        env={**os.environ, **env},
        sources=sources or None,
        reach=dag_id == "campus_integration",  # intake: the drops are not installed yet
        sources_block="permanent",
    )
    with ExitStack() as stack:
        started, wall = time.monotonic(), time.time()
        show = None
        if interactive():
            from rich.console import Console

            status = stack.enter_context(Console().status(f"{dag_id}: starting…"))

            def show() -> None:
                line = run_progress_line(data_dir, wall - 1)
                status.update(f"{dag_id}: {line}")

        elif on_progress is not None:  # not a terminal: a line when progress changes
            said = {"line": "", "at": 0.0}

            def show() -> None:
                line = run_progress_line(data_dir, wall - 1)
                now = time.monotonic()
                if line != said["line"] and now - said["at"] >= PROGRESS_EVERY_S:
                    on_progress(f"{dag_id}: {line}")
                    said.update(line=line, at=now)

        code = run_dag(
            dag_id,
            conf,
            airflow_home=layout.airflow_home,
            log_path=log_path,
            extra_env=env,
            on_wait=show,
        )
    finished = [r for r in layout.finished_runs() if r.summary.stat().st_mtime >= wall - 1]
    if not finished:
        raise DemoError(f"the {dag_id} run failed (exit {code}); see {log_path}")
    summary = json.loads(finished[0].summary.read_text(encoding="utf-8"))
    summary["log"] = str(log_path)
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["dag_run_ok"] = code == 0
    return summary


def run_demo(
    *,
    members: int,
    seed: int,
    data_dir: Path,
    config: Path | None,
    on_progress: Callable[[str], None] | None = None,
) -> dict:
    """The whole demo; returns the run summary (row accounting, where the outputs are)."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_university(data_dir, members=members, seed=seed)
    ensure_demo_secrets(data_dir, config)
    run_id = "demo_" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    with demo_api(data_dir) as api_env:
        return run_pipeline(
            data_dir, config, run_id=run_id, extra_env=api_env, on_progress=on_progress
        )
