"""Distributed: campus_integration on CeleryExecutor (Redis broker, PostgreSQL metadata DB).

Starts ``airflow api-server``, ``scheduler``, ``dag-processor`` and two ``celery worker``s
as subprocesses on 127.0.0.1, unpauses the DAG (which starts its daily run) on a small
university, waits for success, and checks that the mapped extract tasks ran on the Celery
workers, that each source's landing Asset got one event, and that the analyst's DAG
ran on the publication. Beside it, two small universities of a universities folder
(tests/e2e/tenants.py) run their own ``<id>.campus_integration`` on their own queue,
each served by a worker running as the university's own OS account; neither account
can read the other's restricted zones or keys.
Skips where PostgreSQL or Redis is unreachable (fails under
ISLANDBRIDGE_REQUIRE_SERVICES=1). Every process and the throwaway database are
removed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.e2e import tenants as universities

pytestmark = [pytest.mark.services, pytest.mark.airflow, pytest.mark.xdist_group("celery")]

MEMBERS, SEED = 400, 17
#: a database number of our own on the shared Redis (another number where two runs of this
#: test share one Redis: each flushes its database and would take the other's tasks)
REDIS_DB = int(os.environ.get("ISLANDBRIDGE_TEST_REDIS_DB", "13"))
TIMEOUT = 8 * 60
DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
#: split the branch sign-ins into 2 partitions (by files); the other sources stay whole
PARTITIONS = "partitions: {max_bytes: 4000, max_parts: 2}\n"
SPLIT, PARTS = "branch_signins", 2


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def metadata_db(pg_url: str) -> Iterator[str]:
    """A throwaway PostgreSQL database for Airflow's metadata; dropped afterwards."""
    import psycopg

    server = urlparse(pg_url.replace("postgresql+psycopg", "postgresql"))
    admin = server._replace(path="/postgres").geturl()
    name = f"ib_airflow_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server._replace(scheme="postgresql+psycopg", path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def university(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A small university, its secrets and a served youth-league API; the islandbridge env."""
    from islandbridge.config import default_config_path
    from islandbridge.demo import ensure_demo_secrets, ensure_university
    from islandbridge.synth.volunteer_api import serve_volunteer_api

    data = tmp_path / "data"
    ensure_university(data, members=MEMBERS, seed=SEED)
    ensure_demo_secrets(data)
    config_dir = tmp_path / "config"
    shutil.copytree(default_config_path().parent, config_dir)
    privacy = config_dir / "privacy.yaml"  # the privacy gate is not under test at this size
    privacy.write_text(
        privacy.read_text("utf-8")
        .replace("max_suppression_rate: 0.05", "max_suppression_rate: 0.5")
        .replace("max_singled_out: 0.5", "max_singled_out: 1.0")
    )
    # the branch sign-ins (many small files) are above this: split into partitions
    main = config_dir / "islandbridge.yaml"
    text = main.read_text("utf-8")
    assert "\nsources:\n" in text
    main.write_text(text.replace("\nsources:\n", f"\n{PARTITIONS}sources:\n", 1), "utf-8")
    token = secrets.token_urlsafe(16)
    records = data / "university" / "sources" / "volunteer_records.json"
    with serve_volunteer_api(records, token=token) as api:
        yield {
            "ISLANDBRIDGE_DATA_DIR": str(data),
            "ISLANDBRIDGE_CONFIG": str(config_dir / "islandbridge.yaml"),
            "ISLANDBRIDGE_VOLUNTEER_API_URL": f"{api.url}/api/v1/records",
            "ISLANDBRIDGE_VOLUNTEER_API_TOKEN": token,
        }


UNIVERSITIES, UNIVERSITY_MEMBERS = ("alpha", "beta"), 60


@pytest.fixture
def side_by_side() -> Iterator[list[universities.Tenant]]:
    """Two small universities in a universities folder, each owned by its own OS account."""
    with universities.side_by_side(UNIVERSITIES, members=UNIVERSITY_MEMBERS) as tenants:
        yield tenants


def _airflow_env(home: Path, db_url: str, redis_url: str, port: int) -> dict[str, str]:
    broker = urlparse(redis_url)._replace(path=f"/{REDIS_DB}").geturl()
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": db_url.replace("+psycopg", "+psycopg_async"),
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + db_url.replace("+psycopg", ""),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
        "GX_ANALYTICS_ENABLED": "False",
        "TQDM_DISABLE": "1",
    }


def _airflow(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"airflow {' '.join(args)}: {done.stderr[-3000:]}"
    return done.stdout


def _start(stack: ExitStack, env: dict[str, str], logs: Path, name: str, *args: str):
    log = stack.enter_context((logs / f"{name}.log").open("wb"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with everything it forked
    )
    stack.callback(_stop, proc)
    _STARTED[name] = proc
    return proc


_STARTED: dict[str, subprocess.Popen] = {}


def _all_alive(logs: Path) -> None:
    for name, proc in _STARTED.items():
        tail = (logs / f"{name}.log").read_text("utf-8", errors="replace")[-3000:]
        assert proc.poll() is None, f"airflow {name} exited ({proc.returncode}): {tail}"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _named_worker(n: int) -> dict[str, str]:
    """A worker's environment: its task instances carry the hostname ``ib-worker-<n>``."""
    here = str(Path(__file__).resolve().parent)
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), here) if p)
    return {
        "PYTHONPATH": path,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "worker_hostname.hostname",
        "IB_WORKER_HOSTNAME": f"ib-worker-{n}",
    }


def _task_instances(db_url: str, run_id: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql")) as con:
        return con.execute(
            "SELECT task_id, map_index, state, queue, external_executor_id, rendered_map_index,"
            " hostname"
            " FROM task_instance WHERE dag_id = 'campus_integration' AND run_id = %s",
            (run_id,),
        ).fetchall()


def _asset_events(db_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql")) as con:
        rows = con.execute(
            "SELECT a.name, count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id"
            " GROUP BY a.name"
        ).fetchall()
    return dict(rows)


def _latest_run(db_url: str, dag_id: str) -> tuple[str, str] | None:
    import psycopg

    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql")) as con:
        row = con.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = %s ORDER BY id DESC LIMIT 1",
            (dag_id,),
        ).fetchone()
    return (row[0], row[1]) if row else None


def test_campus_integration_runs_on_celery_workers(
    metadata_db, redis_url, university, side_by_side, tmp_path
):
    import redis

    from islandbridge.assets import configured_sources

    port = _free_port()
    env = {
        **os.environ,
        **university,
        **_airflow_env(tmp_path / "airflow", metadata_db, redis_url, port),
        "ISLANDBRIDGE_UNIVERSITIES_DIR": str(universities.universities_folder(side_by_side)),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    broker = redis.Redis.from_url(env["AIRFLOW__CELERY__BROKER_URL"])
    broker.flushdb()
    _airflow(env, "db", "migrate", timeout=300)
    _STARTED.clear()
    with ExitStack() as stack:
        stack.callback(broker.flushdb)
        _start(stack, env, logs, "api-server", "api-server", "--port", str(port))
        _start(stack, env, logs, "dag-processor", "dag-processor")
        _start(stack, env, logs, "scheduler", "scheduler")
        for n in (1, 2):
            _start(
                stack, {**env, **_named_worker(n)}, logs, f"worker{n}", "celery", "worker",
                "--celery-hostname", f"ib-worker-{n}@%h", "--concurrency", "2",
            )  # fmt: skip
        for tenant in side_by_side:  # on its queue only, as its own OS account
            log = stack.enter_context((logs / f"worker-{tenant.id}.log").open("wb"))
            _STARTED[f"worker-{tenant.id}"] = proc = universities.worker_as(tenant, env, log)
            stack.callback(_stop, proc)
        deadline = time.monotonic() + TIMEOUT
        while "campus_integration" not in _airflow(env, "dags", "list", "-o", "plain"):
            assert time.monotonic() < deadline, "the DAG was never parsed"
            _all_alive(logs)
            time.sleep(3)
        # unpausing starts the daily run (catchup=False: the latest interval); the analyst's
        # DAG is scheduled on the published dataset. Data folder and config: from the env.
        _airflow(env, "dags", "unpause", "analyst_refresh")
        _airflow(env, "dags", "unpause", "campus_integration")
        for tenant in side_by_side:
            _airflow(env, "dags", "unpause", f"{tenant.id}.campus_integration")
        state = None
        while state not in ("success", "failed"):
            assert time.monotonic() < deadline, f"run still {state} after {TIMEOUT} s"
            time.sleep(5)
            _all_alive(logs)
            run_id, state = _latest_run(metadata_db, "campus_integration") or (None, None)
        analyst = None
        while state == "success" and analyst not in ("success", "failed"):
            assert time.monotonic() < deadline, f"analyst run still {analyst}"
            time.sleep(3)
            analyst = (_latest_run(metadata_db, "analyst_refresh") or (None, None))[1]
        tenant_runs = {}
        for tenant in side_by_side:
            dag_id = f"{tenant.id}.campus_integration"
            while tenant_runs.get(dag_id) not in ("success", "failed"):
                assert time.monotonic() < deadline, f"{dag_id} still {tenant_runs.get(dag_id)}"
                tenant_runs[dag_id] = (_latest_run(metadata_db, dag_id) or (None, None))[1]
                time.sleep(2)
        instances = _task_instances(metadata_db, run_id)
        events = _asset_events(metadata_db)
    worker_logs = "".join(
        (logs / f"worker{n}.log").read_text("utf-8", errors="replace") for n in (1, 2)
    )
    assert state == "success", [t for t in instances if t[2] != "success"]
    extracts = [t for t in instances if t[0] == "one_source.extract"]
    # mapped: one per source, and one per partition of the split source
    labels = {t[5] for t in extracts}
    parts = {f"{SPLIT}#{i}" for i in range(PARTS)}
    assert labels == (set(configured_sources()) - {SPLIT}) | parts
    assert len(extracts) == 7 + PARTS and all(t[1] >= 0 for t in extracts)
    assert all(t[2] == "success" for t in instances)
    # executed through Celery: each carries its Celery task id, and the workers ran every one
    assert all(t[4] for t in extracts)
    ran = re.findall(
        r"Executing workload.*?task_id='one_source\.extract'.*?map_index=(\d+)", worker_logs
    )
    assert {int(i) for i in ran} == set(range(7 + PARTS))
    # the split source's partitions ran on the Celery workers, then were combined once
    # Celery hands a ready task to whichever worker has a free slot: on a loaded machine one
    # worker (2 slots) may take both partitions, so the partitions are checked to run on the
    # workers and the run to use both of them, not each partition to go to another worker
    hosts = {t[6] for t in instances if t[5] in parts}
    assert hosts and hosts <= {"ib-worker-1", "ib-worker-2"}, hosts
    assert {t[6] for t in instances if t[0] == "one_source.extract"} == {
        "ib-worker-1",
        "ib-worker-2",
    }
    assert [t[5] for t in instances if t[0] == "combine"] == [SPLIT]
    assert analyst == "success"  # scheduled on the published dataset's Asset
    # one landing event per extracted source (through the alias), one for the publication
    landing = {n.removeprefix("landing_"): c for n, c in events.items() if n.startswith("landing_")}
    tenant_sources = set(universities.SOURCES.values())  # one event per university each
    assert {s: landing.pop(s, 0) for s in tenant_sources} == dict.fromkeys(tenant_sources, 2)
    assert landing == dict.fromkeys(configured_sources(), 1)
    assert events.get("published_dataset") == 1
    summary = json.loads(
        next((Path(university["ISLANDBRIDGE_DATA_DIR"]) / "runs").glob("*/summary.json")).read_text(
            "utf-8"
        )
    )
    assert summary["balanced"] is True
    _check_universities_side_by_side(metadata_db, side_by_side, tenant_runs, events, logs, env)


def _check_universities_side_by_side(db_url, tenants, runs, events, logs: Path, env) -> None:
    """Each university's run succeeded on its own queue, on its own worker, as its own
    account, and published on its own Asset; neither account can read the other's
    restricted zones or keys."""
    assert set(runs.values()) == {"success"}, runs
    for tenant in tenants:
        assert events.get(f"{tenant.id}.published_dataset") == 1, events
        dag_id = f"{tenant.id}.campus_integration"
        tasks = universities.dag_tasks(db_url, dag_id)
        # nothing of theirs is split: combine, mapped over no source, is the one skipped
        assert [t for t, state, _ in tasks if state == "skipped"] == ["combine"], tasks
        ran_tasks = [(state, queue) for t, state, queue in tasks if t != "combine"]
        assert ran_tasks and set(ran_tasks) == {("success", tenant.queue)}, tasks
        worker_log = (logs / f"worker-{tenant.id}.log").read_text("utf-8", errors="replace")
        ran = set(re.findall(r"Executing workload.*?dag_id='([^']+)'", worker_log))
        assert ran == {dag_id}, ran  # its worker ran its tasks, and only its
        run_dir = next((tenant.data_dir / "runs").iterdir())
        assert run_dir.stat().st_uid == tenant.uid  # written by its account
    alpha, beta = tenants
    for reader, owner in ((alpha, beta), (beta, alpha)):
        targets = universities.restricted_files(owner)
        assert any("landing" in p.parts for p in targets), targets
        assert any("quarantine" in p.parts for p in targets), targets
        own = universities.probe_reads(owner, targets, env)
        assert set(own.values()) == {"read"}, own  # the owner's account reads them
        other = universities.probe_reads(reader, targets, env)
        assert set(other.values()) == {"PermissionError"}, other
    # known-bad control: a key copied where the other may read it is caught as readable
    leak = beta.data_dir / "published" / "leaked_keyring.json"
    shutil.copyfile(beta.data_dir / "secrets" / "keyring.json", leak)
    leak.chmod(0o644)
    for folder in (beta.data_dir, leak.parent):
        folder.chmod(0o755)
    probed = universities.probe_reads(
        alpha, [leak, beta.data_dir / "secrets" / "keyring.json"], env
    )
    assert probed == {
        str(leak): "read",
        str(beta.data_dir / "secrets" / "keyring.json"): "PermissionError",
    }
