"""The real Airflow on this machine (``make airflow`` / ``islandbridge airflow``).

Starts Airflow 3's API server (with the UI), scheduler, DAG processor and triggerer
as child processes on the project-local ``AIRFLOW_HOME`` (SQLite under the data
folder, :func:`islandbridge.airflow_local.airflow_env`), with the demo university's
data, keys and youth-league API server, and stops them all on exit (Ctrl-C). The
scheduler starts only the runs someone triggers (no schedule: a local try-out). Login
is Airflow's simple auth manager: one user, its password generated here into an
owner-only file. Each component's output goes, masked, into an owner-only log file.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from islandbridge.airflow_local import airflow_env
from islandbridge.run_layout import DataLayout

__all__ = [
    "COMPONENTS",
    "AirflowError",
    "AirflowServer",
    "api_call",
    "free_port",
    "serve_airflow",
]

#: the Airflow 3 components a local installation runs
COMPONENTS: tuple[tuple[str, ...], ...] = (
    ("api-server",),
    ("scheduler",),
    ("dag-processor",),
    ("triggerer",),
)
USER = "steward"


class AirflowError(RuntimeError):
    """Airflow could not be started (the message says which part and where its log is)."""


@dataclass
class AirflowServer:
    """A running local Airflow: where its UI is, how to log in, its processes and logs."""

    url: str
    user: str
    password: str
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def token(self) -> str:
        """A bearer token for the REST API (``/api/v2``)."""
        body = api_call(
            self.url, "POST", "/auth/token", {"username": self.user, "password": self.password}
        )
        return str(body["access_token"])

    def dead(self) -> list[str]:
        """Components that have exited."""
        return [name for name, p in self.processes.items() if p.poll() is not None]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_call(
    url: str, method: str, path: str, body: dict | None = None, token: str | None = None
) -> dict:
    """One JSON request to the API server; raises ``urllib.error.HTTPError`` on 4xx/5xx."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode() or "{}"
    return json.loads(text)


def _password_file(home: Path) -> tuple[Path, str]:
    """The simple auth manager's password file, owner-only, with our user's password."""
    path = home / "simple_auth_manager_passwords.json.generated"
    known = {}
    if path.is_file():
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            known = {}
    if not isinstance(known, dict) or not known.get(USER):
        known = {USER: secrets.token_urlsafe(12)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(known) + "\n")
    return path, str(known[USER])


def services_env(home: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    """The environment every component gets: the project-local Airflow, one JWT secret
    for all of them, the API server's address, the simple auth manager's user, no
    schedule (only triggered runs), and ``extra`` (data folder, API variables)."""
    password_file, _ = _password_file(home)
    url = f"http://127.0.0.1:{port}"
    return {
        **os.environ,
        **extra,
        **airflow_env(home),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
    }


def _start(name: str, args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    from anonymize.log_masking import mask_stream

    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    log = os.fdopen(fd, "ab")
    child = subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped with everything it started
    )
    assert child.stdout is not None

    def pump() -> None:
        try:
            mask_stream(child.stdout, log)
        finally:
            log.close()

    threading.Thread(target=pump, name=f"airflow-{name}-log", daemon=True).start()
    return child


def _stop(processes: dict[str, subprocess.Popen], grace: float = 20.0) -> None:
    """SIGTERM every component's process group, then SIGKILL what is left after ``grace``."""
    for child in processes.values():
        if child.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in processes.values():
        with suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in processes.values():
        with suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # the group: task processes it forked too
        child.wait(timeout=10)


def _wait_healthy(server: AirflowServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.dead():
            break
        try:
            api_call(server.url, "GET", "/api/v2/monitor/health")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            time.sleep(1.0)
    dead = ", ".join(server.dead()) or "api-server (no answer)"
    raise AirflowError(f"Airflow did not start ({dead}); see the logs in {server.logs}")


@contextmanager
def serve_airflow(
    data_dir: Path,
    *,
    port: int = 8080,
    extra_env: dict[str, str] | None = None,
    timeout: float = 180.0,
    on_status: Callable[[str], None] | None = None,
) -> Iterator[AirflowServer]:
    """Run the Airflow components on ``data_dir``'s ``AIRFLOW_HOME`` while in the block;
    yields once the API server answers. Every component is stopped on exit."""
    say = on_status or (lambda _line: None)
    layout = DataLayout(data_dir)
    home = layout.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    logs = layout.logs / "airflow"
    logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    logs.chmod(0o700)
    env = services_env(home, port, {"ISLANDBRIDGE_DATA_DIR": str(data_dir), **(extra_env or {})})
    _, password = _password_file(home)
    airflow = [sys.executable, "-m", "airflow"]
    say("migrating the metadata database (SQLite)…")
    migrate = subprocess.run([*airflow, "db", "migrate"], env=env, capture_output=True, check=False)
    if migrate.returncode:
        (logs / "db-migrate.log").write_bytes(migrate.stdout + migrate.stderr)
        raise AirflowError(f"airflow db migrate failed; see {logs / 'db-migrate.log'}")
    server = AirflowServer(url=f"http://127.0.0.1:{port}", user=USER, password=password, logs=logs)
    with ExitStack() as stack:
        stack.callback(_stop, server.processes)
        for component in COMPONENTS:
            name = component[0]
            say(f"starting {name}…")
            server.processes[name] = _start(name, [*airflow, *component], env, logs / f"{name}.log")
        _wait_healthy(server, timeout)
        yield server
