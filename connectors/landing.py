"""Extraction into the landing zone, with provenance.

One extraction writes the landed rows (the department's own columns as text, plus
``record_key`` and the reader's row problems, ``__problems``) and their provenance —
inputs with SHA-256, size, encoding, rows, signature verdict and spreadsheet findings
(hidden sheets and rows, merged ranges), and for incremental SQL sources the watermark
reached (committed only after the run publishes) — to the paths the caller names (the
run contract owns the names). A refused input (bad or missing signature) is read by
the reader that would have read it, counted and written to a quarantine file. A
third-party error while landing is reduced to its type (it may quote a value). Files
are written to a temporary name and renamed, so a crash never leaves a half-written
landing. The landing zone is restricted: owner-only folder and files.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from connectors.base import (
    READER_PROBLEMS,
    Connector,
    ExtractContext,
    InputFile,
    RawChunk,
    SourceError,
    reduced_error,
)
from connectors.files import FileConnector
from connectors.http import HttpConnector
from connectors.mapping import check_contract
from connectors.partitions import SourcePart
from connectors.specs import SourceConfig
from connectors.sql import SqlConnector

__all__ = [
    "CONNECTORS",
    "Landing",
    "connector_for",
    "extract_to_landing",
    "restricted_dir",
]

log = logging.getLogger(__name__)

CONNECTORS: dict[str, type[Connector]] = {
    c.name: c for c in (FileConnector, SqlConnector, HttpConnector)
}


def connector_for(
    source: SourceConfig, context: ExtractContext, part: SourcePart | None = None
) -> Connector:
    """The registered connector for ``source.connector`` (reading only ``part`` when given);
    unknown names list the known ones."""
    try:
        cls = CONNECTORS[source.connector]
    except KeyError:
        raise KeyError(
            f"unknown connector {source.connector!r}; known: {sorted(CONNECTORS)}"
        ) from None
    return cls(source, context, part)


def restricted_dir(path: Path) -> Path:
    """Create (or tighten) a restricted-zone folder: owner-only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


@dataclass
class Landing:
    source: str
    department: str
    entity: str
    path: str
    rows: int
    inputs: list[InputFile] = field(default_factory=list)
    extracted_at: str = ""
    #: incremental sources: ``{column, kind, value, previous}`` reached by this extraction
    #: (not yet committed; see :func:`connectors.watermarks.commit_watermarks`)
    watermark: dict | None = None

    @property
    def rejected(self) -> list[InputFile]:
        return [i for i in self.inputs if i.rejected_reason]

    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["inputs"] = [i.to_json() for i in self.inputs]
        out["watermark"] = copy.deepcopy(self.watermark)
        return out

    @classmethod
    def from_json(cls, data: dict) -> Landing:
        data = dict(data)
        data["inputs"] = [InputFile(**i) for i in data["inputs"]]
        return cls(**data)


def _refused_frames(
    connector: Connector, info: InputFile, columns: list[str]
) -> list[pd.DataFrame]:
    """A refused input's records, read by its reader, for the quarantine (counted in
    ``info.rows``); none, and ``rows_unknown``, when its reader cannot read it."""
    try:
        frames = [
            frame.reindex(columns=columns).astype("string").assign(reasons=info.rejected_reason)
            for frame in connector.records_of(info.location)
        ]
    except SourceError as exc:
        info.rows, info.rows_unknown = 0, True
        log.warning(
            "source %s: refused input %s: its records cannot be read (%s)",
            connector.source.name,
            info.location,
            exc.problem,
        )
        return []
    info.rows = sum(len(f) for f in frames)
    return frames


def _write_refused(path: Path, frames: list[pd.DataFrame], schema: pa.Schema) -> None:
    restricted_dir(path.parent)
    full = schema.append(pa.field("reasons", pa.string()))
    table = (
        pa.Table.from_pandas(
            pd.concat(frames, ignore_index=True), schema=full, preserve_index=False
        )
        if frames
        else full.empty_table()
    )
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.chmod(0o600)
    tmp.replace(path)


#: landed rows are written in row groups of about this many rows (a source of many small
#: files would otherwise land as many tiny row groups)
_LANDING_ROWS = 65_536


class _Pending:
    """Landed tables held until about :data:`_LANDING_ROWS` rows, then written as one."""

    def __init__(self, writer: pq.ParquetWriter) -> None:
        self.writer, self.tables, self.rows = writer, [], 0

    def add(self, table: pa.Table) -> None:
        self.tables.append(table)
        self.rows += table.num_rows
        if self.rows >= _LANDING_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.tables:
            self.writer.write_table(pa.concat_tables(self.tables))
        self.tables, self.rows = [], 0


def _landed(chunk: RawChunk, source: SourceConfig, schema: pa.Schema) -> pa.Table:
    """A chunk's columns of ``schema`` as text (a column it lacks is null), its columns
    checked against the source's contract first."""
    where = chunk.input.location
    try:
        if chunk.table is not None:
            table = chunk.table
            check_contract(table.column_names, source, where)
            present = set(table.column_names)
            if all(table.schema.field(c).type == pa.string() for c in present & set(schema.names)):
                return pa.Table.from_arrays(
                    [
                        table.column(f.name) if f.name in present else pa.nulls(len(table), f.type)
                        for f in schema
                    ],
                    schema=schema,
                )
        check_contract(list(chunk.frame.columns), source, where)
        frame = chunk.frame.reindex(columns=schema.names).astype("string")
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    except SourceError:
        raise
    except Exception as exc:  # pyarrow's text quotes the value it cannot convert
        raise reduced_error(source.name, where, "cannot be landed", exc) from None


def _watermark(source: SourceConfig, context: ExtractContext, connector: Connector) -> dict | None:
    column = source.sql.watermark_column if source.sql else None
    if not column:
        return None
    store = context.watermarks
    previous = store.get(source.name) if store is not None else None
    reached = connector.watermark
    return {
        "column": column,
        "kind": reached.kind if reached else None,
        "value": reached.value if reached else None,
        "previous": previous.value if previous and previous.column == column else None,
    }


def extract_to_landing(
    source: SourceConfig,
    context: ExtractContext,
    target: Path,
    provenance: Path,
    refused: Path | None = None,
    part: SourcePart | None = None,
) -> Landing:
    """Read every input of ``source`` and land its rows in ``target`` (Parquet) and their
    provenance in ``provenance`` (JSON); returns the provenance record.

    The records of an input refused whole (bad or missing signature) are read by the
    reader that would have read it and written, with their reason, to ``refused`` (a
    quarantine file; always written when given, empty when nothing was refused). With
    ``part``, only that partition of the source is read (:mod:`connectors.partitions`).
    """
    restricted_dir(target.parent)
    restricted_dir(provenance.parent)
    tmp = target.with_suffix(".parquet.tmp")
    keep = ["record_key", *source.columns]
    if source.file:
        keep += [f"__file_{f}" for f in source.file.filename_fields]
    keep.append(READER_PROBLEMS)
    schema = pa.schema([(c, pa.string()) for c in keep])
    inputs: dict[str, InputFile] = {}
    rows = 0
    refused_frames: list[pd.DataFrame] = []
    connector = connector_for(source, context, part)
    writer = pq.ParquetWriter(tmp, schema, compression="zstd")
    pending = _Pending(writer)
    try:
        for chunk in connector.read():
            inputs[chunk.input.location] = chunk.input
            if chunk.input.rejected_reason:
                refused_frames += _refused_frames(connector, chunk.input, keep)
                continue
            table = _landed(chunk, source, schema)
            pending.add(table)
            rows += table.num_rows
        pending.flush()
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    tmp.chmod(0o600)
    landing = Landing(
        source=source.name,
        department=source.department,
        entity=source.entity,
        path=str(target),
        rows=rows,
        inputs=list(inputs.values()),
        extracted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        watermark=_watermark(source, context, connector),
    )
    prov_tmp = provenance.with_suffix(".json.tmp")
    prov_tmp.write_text(
        json.dumps(landing.to_json(), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    prov_tmp.chmod(0o600)
    if refused is not None:
        _write_refused(refused, refused_frames, schema)
    tmp.replace(target)
    prov_tmp.replace(provenance)
    log.info("source %s: landed %d rows from %d inputs", source.name, rows, len(inputs))
    return landing
