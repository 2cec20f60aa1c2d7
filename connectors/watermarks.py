"""Watermarks of incremental SQL sources, kept between runs.

Extraction reads rows whose watermark column is above the committed value and
records the new high value in the landing's provenance; it never stores it.
:func:`commit_watermarks` advances the stored values, and the pipeline calls it
only after the run has published, so a failed run is repeated in full by the next.

The store is one small JSON file per source in an owner-only folder, written to a
temporary name and renamed (atomic).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from connectors.landing import Landing

__all__ = ["Watermark", "WatermarkStore", "commit_watermarks"]

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_KINDS = ("int", "float", "decimal", "datetime", "date", "str")


@dataclass(frozen=True)
class Watermark:
    """The high value of ``column`` reached by an extraction, as text plus its kind."""

    column: str
    kind: str
    value: str

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown watermark kind {self.kind!r}; known: {list(_KINDS)}")

    @classmethod
    def of(cls, column: str, value: Any) -> Watermark:
        """The watermark for a database value (int, float, Decimal, datetime, date, text)."""
        if hasattr(value, "to_pydatetime"):  # pandas Timestamp
            value = value.to_pydatetime()
        if isinstance(value, bool):
            raise ValueError("a boolean column cannot be a watermark")
        if isinstance(value, Integral):
            return cls(column, "int", str(int(value)))
        if isinstance(value, Decimal):
            return cls(column, "decimal", str(value))
        if isinstance(value, Real):
            return cls(column, "float", repr(float(value)))
        if isinstance(value, datetime):
            return cls(column, "datetime", value.isoformat())
        if isinstance(value, date):
            return cls(column, "date", value.isoformat())
        return cls(column, "str", str(value))

    def python(self) -> Any:
        """The value to bind in ``WHERE column > :watermark``."""
        return {
            "int": int,
            "float": float,
            "decimal": Decimal,
            "datetime": datetime.fromisoformat,
            "date": date.fromisoformat,
            "str": str,
        }[self.kind](self.value)

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Watermark:
        return cls(column=data["column"], kind=data["kind"], value=data["value"])


class WatermarkStore:
    """Committed watermarks, one JSON file per source under ``folder`` (owner-only)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, source: str) -> Path:
        if not _SAFE_NAME.fullmatch(source):
            raise ValueError(f"source name {source!r} is not usable as a file name")
        return self.folder / f"{source}.json"

    def get(self, source: str) -> Watermark | None:
        """The committed watermark of ``source``, or ``None`` (extract in full)."""
        path = self._path(source)
        if not path.is_file():
            return None
        return Watermark.from_json(json.loads(path.read_text(encoding="utf-8")))

    def set(self, source: str, watermark: Watermark) -> None:
        """Store ``watermark`` for ``source`` atomically (temp file + rename), owner-only."""
        path = self._path(source)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder.chmod(0o700)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{source}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp: mode 0600
                json.dump(watermark.to_json(), fh)
                fh.flush()
                os.fsync(fh.fileno())
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def clear(self, source: str) -> None:
        """Forget ``source``'s watermark: its next extraction is a full one."""
        self._path(source).unlink(missing_ok=True)


class _Reached(Protocol):
    source: str
    watermark: dict[str, Any] | None


def commit_watermarks(store: WatermarkStore, landings: Iterable[Landing | _Reached]) -> list[str]:
    """Advance the stored watermarks to those the landings (or extraction results carrying
    ``source`` and ``watermark``) reached; call after publishing.

    Returns the names of the sources whose watermark was stored.
    """
    committed = []
    for landing in landings:
        if not landing.watermark or landing.watermark.get("value") is None:
            continue
        store.set(landing.source, Watermark.from_json(landing.watermark))
        committed.append(landing.source)
    if committed:
        log.info("watermarks committed for %s", ", ".join(committed))
    return committed
