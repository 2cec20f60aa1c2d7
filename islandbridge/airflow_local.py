"""Run a DAG of ours through Airflow in-process (``dag.test()``), on a local SQLite metadata DB.

Used by ``islandbridge demo`` / ``islandbridge run`` and the end-to-end tests: a
project-local ``AIRFLOW_HOME`` under the data folder, no server needed. The run
happens in a child process so Airflow's own logging goes to a log file and the
terminal shows only our progress. The log file and its folder are owner-only, and
everything the child prints passes through :func:`anonymize.log_masking.mask_stream`
on its way there; Airflow's own task-log folders and files are made owner-only too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    pass

__all__ = ["DAGS_FOLDER", "airflow_env", "load_dag", "run_dag"]

DAGS_FOLDER = Path(__file__).resolve().parent.parent / "dags"


def airflow_env(airflow_home: Path) -> dict[str, str]:
    """Environment for a project-local Airflow: SQLite metadata DB, our DAGs, no examples."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
        "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS": "0o700",
        "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS": "0o600",
        "GX_ANALYTICS_ENABLED": "False",
        "TQDM_DISABLE": "1",
    }


def load_dag(dag_id: str):
    """Parse ``dags/<dag_id>.py`` (a university's ``<id>.<kind>``: ``dags/universities.py``)
    with Airflow's DagBag and return the DAG; import errors raise (of the universities
    file: only when the DAG is not there — another university's refusal is not ours)."""
    from airflow.dag_processing.dagbag import DagBag

    path = DAGS_FOLDER / f"{dag_id}.py"
    if not path.is_file():
        path = DAGS_FOLDER / "universities.py"
    bag = DagBag(dag_folder=str(path))
    dag = bag.dags.get(dag_id)
    if bag.import_errors and (dag is None or path.stem == dag_id):
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    if dag is None:
        raise KeyError(f"no DAG {dag_id!r} in {DAGS_FOLDER}")
    return dag


def run_dag(
    dag_id: str,
    conf: dict,
    *,
    airflow_home: Path,
    log_path: Path,
    extra_env: dict[str, str],
    on_wait: Callable[[], None] | None = None,
) -> int:
    """Run ``dag_id`` once with ``conf`` in a child process; returns its exit code (0 = success).

    ``on_wait`` is called about once a second while the run goes on (progress display).
    """
    from anonymize.log_masking import mask_stream

    env = {**os.environ, **extra_env, **airflow_env(airflow_home)}
    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path.parent.chmod(0o700)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "ab") as log:
        if not (airflow_home / "airflow.db").exists():
            code = _run_masked(
                [sys.executable, "-m", "airflow", "db", "migrate"], env, log, mask_stream
            )
            if code:
                return code
        child = subprocess.Popen(
            [sys.executable, "-m", "islandbridge.airflow_local", dag_id, json.dumps(conf)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert child.stdout is not None
        pump = threading.Thread(target=mask_stream, args=(child.stdout, log), daemon=True)
        pump.start()
        while True:
            try:
                code = child.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                if on_wait:
                    on_wait()
        pump.join(timeout=30)  # a grandchild may hold the pipe open; do not wait for it
        return code


def _run_masked(
    args: list[str], env: dict[str, str], log: BinaryIO, mask: Callable[..., int]
) -> int:
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    mask(child.stdout, log)
    return child.wait()


def _main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dag_id")
    parser.add_argument("conf", help="run configuration (JSON)")
    args = parser.parse_args()
    dag = load_dag(args.dag_id)
    from anonymize.log_masking import install_log_masking

    install_log_masking()  # in-process handlers too (the output is masked again on its way)
    dag_run = dag.test(run_conf=json.loads(args.conf))
    state = str(getattr(dag_run, "state", "failed"))
    return 0 if state.endswith("success") else 1


if __name__ == "__main__":
    sys.exit(_main())
