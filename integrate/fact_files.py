"""Published fact tables written by streaming: DuckDB reads the linked Parquet files,
conforms them to the published columns (:data:`integrate.unified_dataset.TABLE_COLUMNS`),
leaves out the persons the privacy gate suppressed and sorts on every column (spilling to
disk beyond its memory limit); the sorted rows are written row group by row group with
the options of :mod:`integrate.parquet_bytes`.

The file is byte for byte what :func:`integrate.parquet_bytes.parquet_bytes` makes of
the same table held whole: the same Arrow schema, the same order (ascending, nulls last,
on every column: strings compare bytewise in both), the same row groups, each written
from one contiguous chunk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from integrate.parquet_bytes import PARQUET_WRITE_OPTIONS
from integrate.unified_dataset import TABLE_COLUMNS

__all__ = [
    "MEMORY_LIMIT",
    "FactPart",
    "PublishedFile",
    "arrow_schema",
    "conformed_column",
    "duckdb_connection",
    "empty_frame",
    "fact_query",
    "file_sha256",
    "read_conformed",
    "write_fact_table",
]

_ARROW_TYPES = {
    "string": pa.string(),
    "datetime64[us]": pa.timestamp("us"),
    "float64": pa.float64(),
    "Int64": pa.int64(),
}
#: where a zoned time is taken to before its zone is dropped (as the pandas path did)
_LOCAL_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class FactPart:
    """One linked source's contribution to a fact table."""

    source: str
    path: Path


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema a published table is written with."""
    return pa.schema([(c, _ARROW_TYPES[t]) for c, t in TABLE_COLUMNS[table].items()])


#: DuckDB's memory limit in publish (beyond it, its sorts spill to disk)
MEMORY_LIMIT = "256MB"


def duckdb_connection(memory_limit: str | None = None, temp_directory: Path | None = None):
    """A DuckDB connection for publish's queries: bounded memory (default
    :data:`MEMORY_LIMIT`), spilling to ``temp_directory``, insertion order kept, no
    statistics propagation."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit='{memory_limit or MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order=true")
    # a Parquet file's min/max leave NaN out: with them DuckDB folds isnan() to false
    con.execute("SET disabled_optimizers='statistics_propagation'")
    if temp_directory is not None:
        folder = temp_directory.as_posix().replace("'", "''")
        con.execute(f"SET temp_directory='{folder}'")
    return con


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _conformed(table: str, column: str, kind: str, available: pa.Schema) -> str:
    """The SQL expression giving ``column`` of ``table`` from a linked file's columns."""
    if column not in available.names:
        target = {"string": "VARCHAR", "datetime64[us]": "TIMESTAMP", "float64": "DOUBLE"}
        return f"CAST(NULL AS {target.get(kind, 'BIGINT')})"
    field = available.field(column).type
    ref = _quote(column)
    if kind == "string" and (pa.types.is_string(field) or pa.types.is_large_string(field)):
        return ref
    if kind == "datetime64[us]":
        if pa.types.is_timestamp(field) and field.tz is not None:
            return f"CAST(timezone({_literal(_LOCAL_ZONE)}, {ref}) AS TIMESTAMP)"
        if pa.types.is_timestamp(field) or pa.types.is_date(field):
            return f"CAST({ref} AS TIMESTAMP)"
    if kind == "float64" and (pa.types.is_floating(field) or pa.types.is_integer(field)):
        # pandas' NaN is published as null
        return f"CASE WHEN isnan(CAST({ref} AS DOUBLE)) THEN NULL ELSE CAST({ref} AS DOUBLE) END"
    if kind == "Int64" and pa.types.is_integer(field):
        return f"CAST({ref} AS BIGINT)"
    if pa.types.is_null(field):
        return _conformed(table, column, kind, pa.schema([]))
    raise TypeError(
        f"{table}.{column}: a linked column of type {field} cannot be published as {kind}"
    )


def conformed_column(table: str, column: str, schema: pa.Schema) -> str:
    """SQL of ``column`` of the published ``table`` from a linked file of ``schema``."""
    return _conformed(table, column, TABLE_COLUMNS[table][column], schema)


def fact_query(table: str, parts: Sequence[FactPart], kept: str | None) -> str:
    """SQL for the rows of ``table``: each part's rows conformed, its source named, those
    of persons not in the relation ``kept`` (column ``person_key``) left out, in the
    published order (every column ascending, nulls last)."""
    columns = TABLE_COLUMNS[table]
    selects = []
    for part in parts:
        schema = pq.read_schema(part.path)
        exprs = [
            _literal(part.source) + " AS source"
            if c == "source"
            else f"{_conformed(table, c, k, schema)} AS {_quote(c)}"
            for c, k in columns.items()
        ]
        where = ""
        if kept is not None and "person_key" in schema.names:
            where = f" WHERE {_quote('person_key')} IN (SELECT person_key FROM {kept})"
        path = _literal(part.path.as_posix())
        selects.append(f"SELECT {', '.join(exprs)} FROM read_parquet({path}){where}")
    order = ", ".join(f"{_quote(c)} ASC NULLS LAST" for c in columns)
    return f"SELECT * FROM ({' UNION ALL '.join(selects)}) ORDER BY {order}"


def _row_groups(batches: Iterator[pa.RecordBatch], schema: pa.Schema, size: int):
    """The batches regrouped into contiguous tables of exactly ``size`` rows (the last
    one shorter), cast to ``schema``."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        batch = batch.cast(schema) if batch.schema != schema else batch
        while batch.num_rows:
            take = min(size - held, batch.num_rows)
            pending.append(batch.slice(0, take))
            held += take
            batch = batch.slice(take)
            if held == size:
                yield pa.Table.from_batches(pending, schema).combine_chunks()
                pending, held = [], 0
    if held or not pending:
        yield pa.Table.from_batches(pending, schema).combine_chunks()


def write_fact_table(
    con,
    table: str,
    parts: Sequence[FactPart],
    path: Path,
    *,
    kept: str | None = None,
    batch_rows: int = 100_000,
) -> int:
    """Write ``table`` from its linked ``parts`` to ``path`` (see the module); its rows.

    ``kept``: the name of a relation on ``con`` with the ``person_key`` of every person
    published (None: no one left out)."""
    schema = arrow_schema(table)
    size = int(PARQUET_WRITE_OPTIONS["row_group_size"])  # type: ignore[call-overload]
    options = {k: v for k, v in PARQUET_WRITE_OPTIONS.items() if k != "row_group_size"}
    reader = con.sql(fact_query(table, parts, kept)).to_arrow_reader(batch_rows)
    rows = 0
    with pq.ParquetWriter(path, schema, **options) as writer:  # type: ignore[arg-type]
        for group in _row_groups(iter(reader), schema, size):
            if group.num_rows or not rows:
                writer.write_table(group, row_group_size=size)
            rows += group.num_rows
    return rows


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class PublishedFile:
    """A published table already written as its byte-stable Parquet file."""

    path: Path
    rows: int

    @property
    def schema(self) -> pa.Schema:
        return pq.read_schema(self.path).remove_metadata()

    def frame(self) -> pd.DataFrame:
        """The whole table as a frame (for a target that needs it, e.g. PostgreSQL)."""
        table = pq.read_table(self.path)
        return table.to_pandas().astype(_dtypes(self.schema.names, self.path.stem))

    def counted(self) -> pa.Table:
        """The columns the row accounting counts rows by (``source``, dictionary-encoded)."""
        return pq.read_table(self.path, columns=["source"], read_dictionary=["source"])


def _dtypes(columns: Sequence[str], table: str) -> dict[str, str]:
    spec = TABLE_COLUMNS.get(table, {})
    return {c: spec[c] for c in columns if c in spec}


def empty_frame(table: str) -> pd.DataFrame:
    """An empty frame with ``table``'s published columns and dtypes."""
    return pd.DataFrame(
        {c: pd.Series(dtype=t) for c, t in TABLE_COLUMNS[table].items()}  # type: ignore[call-overload]
    )


def read_conformed(
    con, table: str, parts: Sequence[FactPart], columns: Sequence[str], kept: str | None
) -> pd.DataFrame:
    """``columns`` of ``table``'s rows as conformed for publication, in the order of the
    parts and of each part's file (not the published order), as a frame with the
    published dtypes: what derived tables and the attack are computed from."""
    spec = TABLE_COLUMNS[table]
    frames = []
    for part in parts:
        schema = pq.read_schema(part.path)
        exprs = [
            _literal(part.source) if c == "source" else _conformed(table, c, spec[c], schema)
            for c in columns
        ]
        select = ", ".join(f"{e} AS {_quote(c)}" for e, c in zip(exprs, columns, strict=True))
        where = ""
        if kept is not None and "person_key" in schema.names:
            where = f" WHERE {_quote('person_key')} IN (SELECT person_key FROM {kept})"
        path = _literal(part.path.as_posix())
        arrow = con.sql(f"SELECT {select} FROM read_parquet({path}){where}").to_arrow_table()
        frames.append(arrow.to_pandas())
    if not frames:
        return empty_frame(table)[list(columns)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.astype(_dtypes(columns, table))
