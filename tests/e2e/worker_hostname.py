"""Airflow's ``core.hostname_callable`` for the Celery test's workers: each worker names
itself (``IB_WORKER_HOSTNAME``), so task instances tell the two workers of one machine apart."""

from __future__ import annotations

import os
import socket

__all__ = ["hostname"]


def hostname() -> str:
    return os.environ.get("IB_WORKER_HOSTNAME") or socket.getfqdn()
