"""Writing run files safely: a temporary name, owner-only, then an atomic rename."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

__all__ = ["read_json", "read_parquet", "write_json", "write_parquet"]


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False, compression="zstd")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def write_json(data: dict, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
