"""Deterministic Parquet: the same table gives the same bytes, run after run.

Rows are sorted on every column, the pandas metadata (which records the
library version and index layout) is dropped, large types are narrowed, and
the writer runs with fixed options. The file carries no timestamp; the only
environment-dependent bytes are pyarrow's ``created_by`` string, so identity
holds for one pyarrow version (recorded in the manifest).
"""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["PARQUET_WRITE_OPTIONS", "canonical_arrow_table", "parquet_bytes", "sha256_hex"]

#: The writer options every published Parquet file is written with.
PARQUET_WRITE_OPTIONS: dict[str, object] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_size": 1 << 20,
    "row_group_size": 1 << 20,
    "store_schema": True,
    "write_page_index": False,
}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _narrow(field_type: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(field_type) or pa.types.is_string_view(field_type):
        return pa.string()
    if pa.types.is_large_binary(field_type) or pa.types.is_binary_view(field_type):
        return pa.binary()
    if pa.types.is_dictionary(field_type):
        return _narrow(field_type.value_type)
    return field_type


def canonical_arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table with a fixed schema and rows sorted on all columns."""
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise ValueError(f"duplicate column names: {dupes}")
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    schema = pa.schema([pa.field(f.name, _narrow(f.type)) for f in table.schema])
    table = table.cast(schema).replace_schema_metadata(None)
    if table.num_rows > 1 and table.num_columns:
        sortable = [
            name
            for name, t in zip(table.column_names, table.schema.types, strict=True)
            if not pa.types.is_nested(t) and not pa.types.is_null(t)
        ]
        if sortable:
            order = pc.sort_indices(
                table, sort_keys=[(name, "ascending", "at_end") for name in sortable]
            )
            table = table.take(order)
    return table.combine_chunks()


def parquet_bytes(frame: pd.DataFrame) -> tuple[bytes, pa.Table]:
    """The canonical Parquet bytes of ``frame`` and the Arrow table they hold."""
    table = canonical_arrow_table(frame)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **PARQUET_WRITE_OPTIONS)  # type: ignore[arg-type]
    return buffer.getvalue(), table
