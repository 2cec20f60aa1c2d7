"""Owner-only directories and files for restricted zones (quarantine, department feedback)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["restricted_dir", "write_restricted"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def restricted_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only; tighten it if it already exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path.chmod(DIR_MODE)
    return path


def write_restricted(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` atomically, created 0600 (never briefly world-readable)."""
    restricted_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        temporary.chmod(FILE_MODE)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
