"""One big source split into partitions that separate tasks (and workers) extract.

A partition is one of: a group of a file source's files (consecutive in the order the
source reads them), a range of the row groups of a source's single Parquet file, or a
range ``[low, high)`` of a SQL source's key column (the first partition also holds the
rows whose key is NULL, the last has no upper bound). Read one after another in index
order, a source's partitions give exactly the rows of the whole source, in its order, so
a per-source combine step can reproduce the unpartitioned result.

The bounds of key ranges are key values and go into the run's plan (Airflow's XCom): a
table whose key column is a mapped field (which may be personal data, e.g. a student
number) is not split by keys. What else is not split (the note says why): a source below
its thresholds, an incremental SQL source (its watermark is one value for the whole
source), a single spreadsheet, CSV or JSON file (their rows are only known by reading
them), an HTTP API.
"""

from __future__ import annotations

import hashlib
import logging
import math
from itertools import accumulate, pairwise
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import ExtractContext, SourceError
from connectors.specs import PartitionSettings, SourceConfig

__all__ = ["SourcePart", "files_digest", "key_range_clause", "plan_partitions"]

log = logging.getLogger(__name__)


class SourcePart(BaseModel):
    """One partition of a source: which of its inputs one task extracts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    index: int = Field(ge=0)
    count: int = Field(ge=2)
    kind: Literal["files", "row_groups", "keys"]
    #: files: the locations this partition reads; row_groups: the one file
    files: list[str] = Field(default_factory=list)
    #: files: digest of every location the plan saw (a file added or gone is refused)
    planned_files: str = ""
    #: row_groups: ``[start, stop)``
    row_groups: list[int] = Field(default_factory=list)
    #: keys: ``[key_low, key_high)``; None: unbounded (the first also takes NULL keys)
    key_low: int | str | None = None
    key_high: int | str | None = None

    @property
    def label(self) -> str:
        """The partition's task label, ``source#index``."""
        return f"{self.source}#{self.index}"


def files_digest(locations: list[str]) -> str:
    """A digest of a file source's locations, in reading order."""
    return hashlib.sha256("\n".join(locations).encode("utf-8")).hexdigest()


def _count(size: int, limit: int | None) -> int:
    return math.ceil(size / limit) if limit else 1


def _file_groups(sizes: list[int], n: int) -> list[tuple[int, int]]:
    """``n`` runs of consecutive files of about equal bytes, each at least one file
    (``n`` ≤ the number of files)."""
    cumulative = list(accumulate(max(size, 1) for size in sizes))
    total = cumulative[-1]
    bounds = [0]
    for g in range(1, n):
        cut = next(k + 1 for k, c in enumerate(cumulative) if c * n >= total * g)
        bounds.append(min(max(cut, bounds[-1] + 1), len(sizes) - (n - g)))
    bounds.append(len(sizes))
    return list(pairwise(bounds))


def _file_parts(
    source: SourceConfig, context: ExtractContext, settings: PartitionSettings
) -> tuple[list[SourcePart], str]:
    import pyarrow.parquet as pq

    from connectors.files import FileConnector

    found = FileConnector(source, context).locations()
    locations = [loc for loc, _, _ in found]
    sizes = [size for _, size, _ in found]
    digest = files_digest(locations)
    n = min(settings.max_parts, _count(sum(sizes), settings.max_bytes))
    assert source.file is not None
    if len(found) == 1 and source.file.format == "parquet" and source.signature.required:
        return [], "a signed file is read whole (its manifest counts all its rows)"
    if len(found) == 1 and source.file.format == "parquet":
        path = found[0][2]
        meta = pq.ParquetFile(path).metadata
        n = max(n, _count(meta.num_rows, settings.max_rows))
        n = min(n, settings.max_parts, meta.num_row_groups)
        if n < 2:
            return [], "below its thresholds (or one row group)"
        cuts = [round(meta.num_row_groups * g / n) for g in range(n + 1)]
        return [
            SourcePart(
                source=source.name,
                index=i,
                count=n,
                kind="row_groups",
                files=locations,
                planned_files=digest,
                row_groups=[cuts[i], cuts[i + 1]],
            )
            for i in range(n)
        ], f"{n} ranges of row groups"
    if len(found) == 1:
        return [], f"a single {source.file.format} file is read whole"
    n = min(n, len(found))
    if n < 2:
        return [], "below its thresholds"
    groups = _file_groups(sizes, n)
    return [
        SourcePart(
            source=source.name,
            index=i,
            count=len(groups),
            kind="files",
            files=locations[a:b],
            planned_files=digest,
        )
        for i, (a, b) in enumerate(groups)
    ], f"{len(groups)} groups of files"


def key_range_clause(column: str, part: SourcePart) -> tuple[str, dict[str, Any]]:
    """The SQL condition (on the quoted ``column``) and parameters of a key partition."""
    conditions, params = [], {}
    if part.key_low is not None:
        conditions.append(f"{column} >= :ib_key_low")
        params["ib_key_low"] = part.key_low
    if part.key_high is not None:
        upper = f"{column} < :ib_key_high"
        conditions.append(f"({upper} OR {column} IS NULL)" if part.index == 0 else upper)
        params["ib_key_high"] = part.key_high
    return " AND ".join(conditions) or "1 = 1", params


def _sql_parts(
    source: SourceConfig, context: ExtractContext, settings: PartitionSettings
) -> tuple[list[SourcePart], str]:
    from connectors.sql import SqlConnector

    spec = source.sql
    assert spec is not None
    if spec.watermark_column:
        return [], "an incremental source is read whole (one watermark)"
    if not settings.max_rows:
        return [], "no max_rows for a SQL source"
    if spec.key_column in source.columns:  # its values would be written into the plan
        return [], "its key column is a mapped field (it may be personal data)"
    connector = SqlConnector(source, context)
    url, _ = connector._url()
    engine = sa.create_engine(url)
    try:
        base, _, _ = connector._statement(engine.dialect)
        key = "src." + engine.dialect.identifier_preparer.quote(spec.key_column)
        inner = f"({base.text}) src"
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT COUNT(*) FROM {inner}")).scalar_one()
            n = min(settings.max_parts, _count(rows, settings.max_rows))
            keyed = conn.execute(
                sa.text(f"SELECT COUNT({key}) FROM {inner}")  # rows with a key
            ).scalar_one()
            bounds: list[Any] = []
            for g in range(1, n):
                offset = keyed * g // n
                value = conn.execute(
                    sa.text(
                        f"SELECT {key} FROM {inner} WHERE {key} IS NOT NULL "
                        f"ORDER BY {key} LIMIT 1 OFFSET {int(offset)}"
                    )
                ).scalar()
                if value is not None and (not bounds or value > bounds[-1]):
                    bounds.append(value)
    except sa.exc.SQLAlchemyError as exc:
        problem = type(exc.orig).__name__ if getattr(exc, "orig", None) else type(exc).__name__
        raise SourceError(source.name, "partition plan", f"database error ({problem})") from None
    finally:
        engine.dispose()
    if any(isinstance(b, bool) or not isinstance(b, int | str) for b in bounds):
        return [], "its key column is neither integer nor text"
    if not bounds:
        return [], "below its thresholds"
    edges: list[Any] = [None, *bounds, None]
    return [
        SourcePart(
            source=source.name,
            index=i,
            count=len(bounds) + 1,
            kind="keys",
            key_low=edges[i],
            key_high=edges[i + 1],
        )
        for i in range(len(bounds) + 1)
    ], f"{len(bounds) + 1} ranges of {spec.key_column}"


def plan_partitions(
    source: SourceConfig, context: ExtractContext, settings: PartitionSettings
) -> tuple[list[SourcePart], str]:
    """The partitions of ``source`` (none: read whole) and a note saying why."""
    if not (settings.max_rows or settings.max_bytes):
        return [], "no thresholds"
    if source.connector == "file":
        parts, note = _file_parts(source, context, settings)
    elif source.connector == "sql":
        parts, note = _sql_parts(source, context, settings)
    else:
        return [], f"a {source.connector} source is read whole"
    log.info("source %s: %s", source.name, note)
    return parts, note
