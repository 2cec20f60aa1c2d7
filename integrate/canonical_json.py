"""Canonical JSON: one byte sequence per value, so hashes and signatures are stable."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["canonical_json_bytes", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars, dates, paths and sets into plain JSON values (recursively)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    return value


def canonical_json_bytes(value: Any, *, indent: int | None = 2) -> bytes:
    """UTF-8 JSON with sorted keys and fixed separators, newline-terminated."""
    text = json.dumps(
        to_jsonable(value),
        sort_keys=True,
        ensure_ascii=False,
        indent=indent,
        separators=(",", ": ") if indent is not None else (",", ":"),
        allow_nan=False,
    )
    return text.encode("utf-8") + b"\n"
