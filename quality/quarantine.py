"""Quarantined rows, as Parquet in the restricted quarantine zone."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from quality.restricted_files import restricted_dir, write_restricted

__all__ = ["write_quarantine"]

logger = logging.getLogger(__name__)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def write_quarantine(quarantined: pd.DataFrame, zone: Path, *, run_id: str, name: str) -> Path:
    """Write ``quarantined`` (rows + ``reasons``) to ``zone/<run_id>/<name>.parquet``.

    The zone and run directories are created 0700 and the file 0600. ``name`` says which
    stage quarantined the rows (e.g. ``member``, ``member.duplicates``, ``attendance.signins``).
    Every row must carry at least one reason code.
    """
    for label, value in (("run_id", run_id), ("name", name)):
        if not _SAFE_NAME.match(value):
            raise ValueError(f"{label} may hold only letters, digits, '_', '-', '.'")
    if "reasons" not in quarantined.columns:
        raise ValueError("quarantined rows need a 'reasons' column")
    if (quarantined["reasons"].fillna("") == "").any():
        raise ValueError("every quarantined row needs a reason code")
    restricted_dir(Path(zone))
    path = Path(zone) / run_id / f"{name}.parquet"
    write_restricted(path, lambda handle: quarantined.to_parquet(handle, index=False))
    logger.info("quarantine: %d rows written to %s", len(quarantined), path)
    return path
