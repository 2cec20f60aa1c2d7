"""Shared fixtures: service URLs (with the machine's defaults) and the skip policy.

A test that needs PostgreSQL or MariaDB asks for ``pg_url`` / ``mysql_url``. Where
the server is unreachable it is skipped, unless ``ISLANDBRIDGE_REQUIRE_SERVICES=1``
(as in CI), where that is a failure.
"""

from __future__ import annotations

import os
import socket
import tempfile
from urllib.parse import urlparse

import pytest

# Airflow reads its configuration at import: give the tests their own home, no examples.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="islandbridge-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

PG_URL = os.environ.get(
    "ISLANDBRIDGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MYSQL_URL = os.environ.get(
    "ISLANDBRIDGE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
REDIS_URL = os.environ.get("ISLANDBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def _service(url: str, default_port: int, name: str) -> str:
    if not _reachable(url, default_port):
        message = f"{name} is not reachable at {urlparse(url).hostname}:{urlparse(url).port}"
        if os.environ.get("ISLANDBRIDGE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message} and ISLANDBRIDGE_REQUIRE_SERVICES=1")
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL of the test PostgreSQL database."""
    return _service(PG_URL, 5432, "PostgreSQL")


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """SQLAlchemy URL of the test MariaDB/MySQL database."""
    return _service(MYSQL_URL, 3306, "MariaDB")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _service(REDIS_URL, 6379, "Redis")
