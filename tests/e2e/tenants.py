"""Universities side by side on one Airflow, each as its own OS account (for test_celery).

Each university is small (its own synthetic data, keys and a configuration of one SQL
source, its party roster), entered in a universities folder with its own Celery queue;
its data folder and trust store belong to its own OS account. ``probe_reads`` attempts
real reads as an account and reports, per path, whether the read succeeded or failed
with PermissionError.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
import yaml

#: the one source each small university keeps (renamed: its landing Asset is not the demo's);
#: one source keeps the added task processes (each imports pandas, GX, …) to 9 per university
SOURCES = {"org_members": "members"}
SITE_PACKAGES = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"


@dataclass(frozen=True)
class Tenant:
    """A university of the universities folder and the OS account its worker runs as."""

    id: str
    account: str
    data_dir: Path
    config: Path
    queue: str

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.account).pw_uid

    @property
    def gid(self) -> int:
        return pwd.getpwnam(self.account).pw_gid


def ensure_account(name: str) -> None:
    """A system account without login or home (created once; we are root)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
    grp.getgrnam(name)


def small_config(demo_config: Path, out: Path, university: str) -> Path:
    """The demo's configuration trimmed to :data:`SOURCES`, the privacy gate eased for a
    few dozen members; written with its policies into ``out``."""
    shutil.copytree(demo_config.parent, out)
    raw = yaml.safe_load(demo_config.read_text("utf-8"))
    raw["university"] = university
    raw["sources"] = [
        {**s, "name": SOURCES[s["name"]]} for s in raw["sources"] if s["name"] in SOURCES
    ]
    path = out / "islandbridge.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    quality = out / "quality.yaml"  # the trimmed university has one department
    text = quality.read_text("utf-8")
    assert "source_priority: [org_dept, hr_staff, student_affairs]" in text
    quality.write_text(text.replace("[org_dept, hr_staff, student_affairs]", "[org_dept]"))
    privacy = out / "privacy.yaml"
    privacy.write_text(
        privacy.read_text("utf-8")
        .replace("max_suppression_rate: 0.05", "max_suppression_rate: 1.0")
        .replace("max_singled_out: 0.5", "max_singled_out: 1.0")
    )
    return path


def make_tenant(root: Path, uid: str, *, members: int, seed: int) -> Tenant:
    """University ``uid`` under ``root``: data, secrets, configuration, universities entry;
    everything of its data folder and trust store owned by its account ``ib_<uid>``."""
    from islandbridge.config import default_config_path
    from islandbridge.demo import ensure_demo_secrets, ensure_university

    account = f"ib_{uid}"
    ensure_account(account)
    data = root / uid / "data"
    config = small_config(default_config_path(), root / uid / "config", f"{uid} university")
    ensure_university(data, members=members, seed=seed)
    ensure_demo_secrets(data, config)
    tenant = Tenant(uid, account, data, config, f"islandbridge_{uid}")
    entry = {"config": str(config), "data_dir": str(data), "schedule": "@daily",
             "queue": tenant.queue, "run_as": account}  # fmt: skip
    folder = root / "universities"
    folder.mkdir(exist_ok=True)
    (folder / f"{uid}.yaml").write_text(yaml.safe_dump(entry), "utf-8")
    for place in (data, Path(f"{data}.trust")):
        for path in (place, *place.rglob("*")):
            os.lchown(path, tenant.uid, tenant.gid)
    (root / uid).chmod(0o755)
    data.chmod(0o755)  # the folder is open: its restricted zones must hold on their own
    return tenant


def account_env(tenant: Tenant, env: dict[str, str]) -> dict[str, str]:
    """``env`` for a process of the tenant's account: its own home and Airflow logs; the
    project's packages through the system ``python3.11`` (the project's interpreter lives
    under /root, which other accounts cannot enter on this machine)."""
    home = tenant.data_dir.parent / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    os.chown(home, tenant.uid, tenant.gid)
    # the one dependency whose marker differs between our 3.11.7 and the system's 3.11.2
    # (redis needs async_timeout below 3.11.3, where asyncio.timeout is the same thing)
    compat = tenant.data_dir.parent / "compat"
    compat.mkdir(exist_ok=True)
    (compat / "async_timeout.py").write_text("from asyncio import timeout  # noqa: F401\n")
    paths = [env.get("PYTHONPATH", ""), str(SITE_PACKAGES / "site-packages"), str(compat)]
    out = {k: v for k, v in env.items() if not k.startswith("ISLANDBRIDGE_")}
    out.update(
        HOME=str(home),
        USER=tenant.account,
        LOGNAME=tenant.account,
        PYTHONPATH=os.pathsep.join(p for p in paths if p),
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"),
        ISLANDBRIDGE_UNIVERSITIES_DIR=env["ISLANDBRIDGE_UNIVERSITIES_DIR"],
    )
    return out


def account_python() -> str:
    """A Python 3.11 every account may run (the system's), with the same ABI as ours."""
    return shutil.which(f"python{sys.version_info[0]}.{sys.version_info[1]}", path="/usr/bin") or ""


_PROBE = """
import json, sys
out = {}
for path in json.loads(sys.argv[1]):
    try:
        with open(path, "rb") as f:
            f.read(1)
        out[path] = "read"
    except PermissionError:
        out[path] = "PermissionError"
    except OSError as exc:
        out[path] = type(exc).__name__
print(json.dumps(out))
"""


def probe_reads(tenant: Tenant, paths: list[Path], env: dict[str, str]) -> dict[str, str]:
    """As ``tenant``'s account, open and read a byte of each path; path → ``read`` or the
    error's type (``PermissionError`` where the account may not)."""
    done = subprocess.run(
        [account_python(), "-c", _PROBE, json.dumps([str(p) for p in paths])],
        env=account_env(tenant, env),
        user=tenant.uid,
        group=tenant.gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def restricted_files(tenant: Tenant) -> list[Path]:
    """Files of the tenant's restricted zones after a run: its keys and signing key, its
    vault, its trust store, and what its runs landed and quarantined."""
    data = tenant.data_dir
    secrets = data / "secrets"
    files = [
        secrets / "keyring.json",
        secrets / "service_signing.key",
        data / "vault" / "vault.sqlite",
        Path(f"{data}.trust") / "trust_store.json",
    ]
    for zone in ("landing", "quarantine"):
        files += sorted(p for p in data.glob(f"runs/*/{zone}/**/*") if p.is_file())
    return files


@contextmanager
def side_by_side(names: tuple[str, ...], *, members: int) -> Iterator[list[Tenant]]:
    """Universities ``names`` in a fresh folder every account may traverse (pytest's own
    temporary folder is root's alone); removed afterwards."""
    if os.geteuid() != 0 or not account_python():
        message = "the universities' OS accounts need root and /usr/bin/python3.11"
        if os.environ.get("ISLANDBRIDGE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message} and ISLANDBRIDGE_REQUIRE_SERVICES=1")
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="ib_universities_"))
    root.chmod(0o755)
    try:
        yield [make_tenant(root, n, members=members, seed=20 + i) for i, n in enumerate(names)]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def universities_folder(tenants: list[Tenant]) -> Path:
    return tenants[0].data_dir.parents[1] / "universities"


def worker_as(tenant: Tenant, env: dict[str, str], log: IO[bytes]) -> subprocess.Popen:
    """A Celery worker on the tenant's queue only, as the tenant's account."""
    home = Path(account_env(tenant, env)["HOME"])
    own = {**account_env(tenant, env), "AIRFLOW_HOME": str(home / "airflow")}
    return subprocess.Popen(
        [account_python(), "-m", "airflow", "celery", "worker", "--queues", tenant.queue,
         "--celery-hostname", f"ib-{tenant.id}@%h", "--concurrency", "2",
         "--skip-serve-logs", "--pid", str(home / "worker.pid")],
        env=own,
        user=tenant.uid,
        group=tenant.gid,
        extra_groups=[],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def dag_tasks(db_url: str, dag_id: str) -> list[tuple[str, str, str]]:
    """``(task_id, state, queue)`` of the latest run of ``dag_id``."""
    import psycopg

    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql")) as con:
        return con.execute(
            "SELECT task_id, state, queue FROM task_instance WHERE dag_id = %s AND run_id ="
            " (SELECT run_id FROM dag_run WHERE dag_id = %s ORDER BY id DESC LIMIT 1)",
            (dag_id, dag_id),
        ).fetchall()
