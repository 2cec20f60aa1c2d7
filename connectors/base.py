"""The source abstraction: read a department's system in chunks of raw rows.

A connector yields :class:`RawChunk` objects: department columns as strings plus
``record_key`` (where the row came from), and describes each physical input it
read as an :class:`InputFile` for provenance. Problems with the input raise
:class:`SourceError` naming the source, file (or table/URL), row and field.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from connectors.specs import SourceConfig

if TYPE_CHECKING:
    from connectors.export_sequences import ExportSequenceStore
    from connectors.partitions import SourcePart
    from connectors.trust_store import TrustStore
    from connectors.watermarks import Watermark, WatermarkStore

__all__ = [
    "READER_PROBLEMS",
    "Connector",
    "ExtractContext",
    "InputFile",
    "RawChunk",
    "SourceError",
    "reduced_error",
]

#: Raw column a reader may add: ``;``-joined problems it found in a row, either
#: ``<department column>:<problem>`` (a cell) or a row-level reason code. The
#: standardiser turns them into ``parse_errors`` so the quality gate quarantines the row.
READER_PROBLEMS = "__problems"

#: Arrow strings as pandas' Arrow-backed string dtype (what the CSV readers' frames hold)
_STRING_TYPES = {pa.string(): pd.StringDtype("pyarrow")}


class SourceError(RuntimeError):
    """An input that cannot be read. The message names where, never a personal value.

    ``transient``: the system could not be reached (a network or database outage) and a
    later attempt may succeed; every other problem is in the data or the configuration
    and retrying cannot fix it.
    """

    def __init__(
        self,
        source: str,
        where: str,
        problem: str,
        *,
        row: int | None = None,
        column: str = "",
        transient: bool = False,
    ) -> None:
        parts = [f"source {source!r}", where]
        if row is not None:
            parts.append(f"row {row}")
        if column:
            parts.append(f"column {column!r}")
        super().__init__(f"{', '.join(parts)}: {problem}")
        self.source, self.where, self.row, self.column, self.problem = (
            source,
            where,
            row,
            column,
            problem,
        )
        self.transient = transient


def reduced_error(
    source: str,
    where: str,
    what: str,
    exc: BaseException,
    *,
    row: int | None = None,
    column: str = "",
) -> SourceError:
    """A third-party reader's exception reduced to where it happened and its type.

    The exception's text is dropped: parsers quote the value they choke on (an ID
    number in a date-formatted cell, a field of a CSV line), and that text would reach
    the run log. Raise the result ``from None`` so the original is not chained either.
    """
    return SourceError(source, where, f"{what} ({type(exc).__name__})", row=row, column=column)


@dataclass
class InputFile:
    """Provenance of one physical input (a file, a table or query, an API).

    Spreadsheets also record what was not plain data: ``hidden_sheets`` (names of the
    workbook's hidden sheets), ``hidden_rows`` (hidden data rows, each quarantined as
    ``hidden_row``) and ``merged_ranges`` (merged ranges over mapped data cells).
    """

    location: str
    sha256: str = ""
    size_bytes: int = 0
    encoding: str = ""
    rows: int = 0
    signature: str = "not_required"
    rejected_reason: str = ""
    #: a refused input whose records its reader could not count (``rows`` is then 0)
    rows_unknown: bool = False
    hidden_sheets: list[str] = field(default_factory=list)
    hidden_rows: int = 0
    merged_ranges: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """Its fields as JSON (what ``dataclasses.asdict`` gives, without its deep copy:
        a source of thousands of files has thousands of inputs)."""
        return {
            name: list(value) if isinstance(value, list) else value
            for name, value in vars(self).items()
        }


class RawChunk:
    """A chunk of raw rows of one input: department columns (strings or native values)
    and ``record_key``, as a pandas ``frame`` or, from a columnar reader, an Arrow
    ``table`` of string columns (empty fields null) whose frame is made when first asked
    for (the landing writes the table as it is)."""

    def __init__(
        self, frame: pd.DataFrame | None, input: InputFile, *, table: pa.Table | None = None
    ) -> None:
        if frame is None and table is None:
            raise ValueError("a chunk needs a frame or a table")
        self._frame, self.input, self.table = frame, input, table

    @property
    def frame(self) -> pd.DataFrame:
        """The rows as a pandas frame (Arrow-backed strings for a table's columns)."""
        if self._frame is None:
            assert self.table is not None
            self._frame = self.table.to_pandas(types_mapper=_STRING_TYPES.get)
        return self._frame

    @property
    def rows(self) -> int:
        """The number of rows (without making a frame)."""
        return self.table.num_rows if self.table is not None else len(self.frame)

    def __repr__(self) -> str:
        return f"RawChunk({self.input.location!r}, rows={self.rows})"


@dataclass
class ExtractContext:
    """What a connector needs to know about the run.

    ``resolve_connection`` turns an Airflow connection id into a URL (with its
    secret); when ``None``, :func:`connectors.connections.airflow_connection_url`
    is used (``AIRFLOW_CONN_<ID>`` in ``env`` first, then Airflow's own lookup).
    ``watermarks`` holds the committed watermarks of incremental SQL sources;
    without it they are extracted in full. ``trust_store`` holds the keys that may sign
    exports (a source requiring signatures fails closed without it);
    ``export_sequences`` the last accepted export per source and file (replays refused).
    """

    sources_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    resolve_connection: Callable[[str], str] | None = None
    watermarks: WatermarkStore | None = None
    trust_store: TrustStore | None = None
    export_sequences: ExportSequenceStore | None = None


class Connector(ABC):
    """Reads one kind of system. Concrete connectors are small and registered by name."""

    name: str = ""

    def __init__(
        self, source: SourceConfig, context: ExtractContext, part: SourcePart | None = None
    ) -> None:
        self.source = source
        self.context = context
        #: read only this partition of the source (:mod:`connectors.partitions`)
        self.part = part
        #: the high watermark reached by :meth:`read` (incremental sources), not yet committed
        self.watermark: Watermark | None = None

    @abstractmethod
    def read(self) -> Iterator[RawChunk]:
        """Yield raw rows in chunks; inputs that fail a check are yielded with no rows."""

    def records_of(self, location: str) -> Iterator[pd.DataFrame]:
        """The records of one input, read as :meth:`read` reads them (a refused input is
        landed in quarantine this way). Raises :class:`SourceError` when it cannot be read;
        connectors whose inputs are never refused need not implement it."""
        raise SourceError(self.source.name, location, "this connector cannot re-read an input")
