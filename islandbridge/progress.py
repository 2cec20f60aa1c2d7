"""Progress on a terminal, silence elsewhere (CI, Airflow logs, pipes)."""

from __future__ import annotations

import os
import sys

__all__ = ["interactive"]


def interactive() -> bool:
    """True when a person watches a terminal: stdout is a TTY and we are not in CI."""
    return (
        sys.stdout.isatty()
        and not os.environ.get("CI")
        and not os.environ.get("AIRFLOW_CTX_DAG_ID")
    )
