"""Who is calling: the name the vault checks roles against and writes into its audit.

Outside Airflow it is the operating-system account the process runs as (effective
uid → account name), never an environment variable: ``LOGNAME``, ``USER`` and
``USERNAME`` are set by whoever starts the process and prove nothing. Inside an
Airflow task it is the user who triggered the DAG run, as Airflow recorded it,
prefixed ``airflow:`` (Airflow's users and the machine's accounts are different
namespaces); a scheduled run, with no triggering user, is ``airflow:(scheduled)``.
"""

from __future__ import annotations

import logging
import os
import pwd
import sys

__all__ = ["IdentityError", "airflow_triggering_user", "current_user", "os_account"]

log = logging.getLogger(__name__)

AIRFLOW_PREFIX = "airflow:"
SCHEDULED = AIRFLOW_PREFIX + "(scheduled)"


class IdentityError(RuntimeError):
    """The caller's identity cannot be established."""


def os_account() -> str:
    """The name of the account of the process's effective uid."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        raise IdentityError(f"uid {uid} has no account name on this machine") from None


def airflow_triggering_user() -> str | None:
    """Inside a running Airflow task: ``airflow:<triggering user>`` (or
    ``airflow:(scheduled)``); outside one: None.

    Airflow is consulted only if its task runtime is already loaded, so the command line
    never imports Airflow to learn it is not in a task.
    """
    if "airflow.sdk" not in sys.modules:
        return None
    try:
        from airflow.sdk import get_current_context

        context = get_current_context()
    except Exception:  # no task is running in this process
        return None
    dag_run = context.get("dag_run")
    user = getattr(dag_run, "triggering_user_name", None)
    return f"{AIRFLOW_PREFIX}{user}" if user else SCHEDULED


def current_user() -> str:
    """The caller: the Airflow run's triggering user inside a task, else the OS account."""
    return airflow_triggering_user() or os_account()
