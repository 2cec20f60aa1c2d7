"""Writing run files safely: a temporary name, owner-only, then an atomic rename.

Large run files are read in record batches (:func:`parquet_batches`) and written as they
are made (:class:`ParquetSink`), so a stage's memory is bounded by one batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "ParquetSink",
    "parquet_batches",
    "read_json",
    "read_parquet",
    "write_json",
    "write_parquet",
]


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False, compression="zstd")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


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
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._tmp = path.with_name(path.name + ".tmp")
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        if self._writer is None:
            self._schema = table.schema
            self._tmp.unlink(missing_ok=True)
            self._writer = pq.ParquetWriter(self._tmp, self._schema, compression="zstd")
            self._tmp.chmod(0o600)
        if table.num_rows:
            self._writer.write_table(table)
            self.rows += table.num_rows

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
