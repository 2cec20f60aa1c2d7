"""Writing run files safely: a temporary name, owner-only, then an atomic rename.

Large run files are read in record batches and written as they are made, so a stage's
memory is bounded by one batch: the per-source stages use :func:`parquet_batches` and
:class:`ParquetSink`, the run-wide stages :func:`iter_parquet` (row positions as index,
a projection in the file's order); both write through :class:`ParquetSink`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "ParquetSink",
    "empty_frame",
    "iter_parquet",
    "parquet_batches",
    "parquet_columns",
    "read_json",
    "read_parquet",
    "write_json",
    "write_parquet",
]

#: rows per batch when a stage streams a source
BATCH_ROWS = 500_000


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False, compression="zstd")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def read_parquet(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The file (``columns`` only, when given) as a frame."""
    return pd.read_parquet(path, columns=None if columns is None else list(columns))


def parquet_batches(
    path: Path, rows: int, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """``path``'s rows as frames of at most ``rows`` rows each (the dtypes
    :func:`read_parquet` gives); one empty frame for a file without rows."""
    if rows < 1:
        raise ValueError(f"batch size must be at least 1 row, not {rows}")
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)
    empty = True
    for batch in parquet.iter_batches(batch_size=rows, columns=columns):
        empty = False
        yield pa.Table.from_batches([batch], schema=schema).to_pandas()
    if empty:
        yield schema.empty_table().to_pandas()


class ParquetSink:
    """One Parquet file written frame by frame: to a temporary name (owner-only), renamed
    into place on :meth:`close`; removed instead if the ``with`` block fails.

    The first frame written (empty or not) fixes the schema; later frames are converted
    to it. A sink that was given no frame at all writes nothing and leaves no file.
    ``types``: the input's schema, whose type a column takes where the first frame has
    only missing values (no type to infer).
    """

    def __init__(self, path: Path, types: pa.Schema | None = None) -> None:
        self.path = path
        self.rows = 0
        self._types = types
        self._tmp = path.with_name(path.name + ".tmp")
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        if self._writer is None:
            table = table.cast(self._typed(table.schema))
            self._schema = table.schema
            self._tmp.unlink(missing_ok=True)
            self._writer = pq.ParquetWriter(self._tmp, self._schema, compression="zstd")
            self._tmp.chmod(0o600)
        if table.num_rows:
            self._writer.write_table(table)
            self.rows += table.num_rows

    def _typed(self, schema: pa.Schema) -> pa.Schema:
        if self._types is None:
            return schema
        for i, f in enumerate(schema):
            if pa.types.is_null(f.type) and f.name in self._types.names:
                schema = schema.set(i, f.with_type(self._types.field(f.name).type))
        return schema

    def close(self) -> Path:
        if self._writer is None:
            raise RuntimeError(f"{self.path.name}: nothing was written, not even a schema")
        self._writer.close()
        self._tmp.replace(self.path)
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def write_json(data: dict, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def parquet_columns(path: Path) -> list[str]:
    """The column names of a Parquet file, from its footer."""
    return list(pq.read_schema(path).names)


def _to_pandas(table: pa.Table, start: int) -> pd.DataFrame:
    from pandas.io._util import arrow_table_to_pandas  # what pd.read_parquet converts with

    frame = arrow_table_to_pandas(table)
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame


def empty_frame(path: Path) -> pd.DataFrame:
    """The file's columns, no rows, with the dtypes :func:`read_parquet` gives them."""
    return _to_pandas(pq.read_schema(path).empty_table(), 0)


def iter_parquet(
    path: Path, columns: Sequence[str] | None = None, *, batch_rows: int | None = None
) -> Iterator[pd.DataFrame]:
    """The file as frames of at most ``batch_rows`` (default :data:`BATCH_ROWS`) rows
    (``columns`` only, in the file's order), as :func:`read_parquet` would give them:
    concatenated, they equal the whole file read at once (row positions as index). A
    file without rows yields one empty frame with its columns."""
    file = pq.ParquetFile(path)
    names = file.schema_arrow.names
    wanted = None if columns is None else [c for c in names if c in set(columns)]
    start = 0
    try:
        size = batch_rows or BATCH_ROWS
        for batch in file.iter_batches(batch_size=size, columns=wanted):
            frame = _to_pandas(pa.Table.from_batches([batch]), start)
            start += len(frame)
            yield frame
        if start == 0:
            yield _to_pandas(file.schema_arrow.empty_table().select(wanted or names), 0)
    finally:
        file.close()
