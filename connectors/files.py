"""File exports: CSV/TSV, xlsx, JSON, JSON Lines, Parquet, with encoding detection.

Record keys are ``<path relative to the sources folder>:<line>`` (CSV: the
physical line where the record starts, header = its own line; JSON Lines: the
physical line; xlsx: the sheet row; JSON list and Parquet: the item number from 1).
CSV and JSON Lines are read in chunks of ``chunk_rows`` with bounded memory: a
field (CSV) or record (JSON Lines) longer than ``max_field_chars`` is an error
naming the file, row and column, found before the whole of it is held.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import charset_normalizer
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import Connector, InputFile, RawChunk, SourceError
from connectors.signatures import SignatureVerdict, load_public_key, verify_file
from connectors.specs import FileSpec

__all__ = ["FileConnector", "detect_encoding"]

log = logging.getLogger(__name__)

_ENCODING_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "utf_8": "utf-8"}
_SAMPLE_BYTES = 1 << 20  # encoding detection looks at the first MiB
_BLOCK_CHARS = 1 << 18  # text is read in blocks of this many characters
_HEADER_SEARCH_ROWS = 20
_STRING_TYPES = {
    pa.string(): pd.StringDtype("pyarrow")
}  # a header row is looked for among the first records


def detect_encoding(data: bytes) -> str:
    """Best guess of a text export's encoding (UTF-8 with/without BOM, GBK/GB18030)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3:  # a sample cut inside a character
            return "utf-8"
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    name = (best.encoding if best else "gb18030").lower()
    return _ENCODING_ALIASES.get(name, name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _LineTooLong(Exception):
    def __init__(self, line: int, partial: str) -> None:
        super().__init__(f"line {line} too long")
        self.line, self.partial = line, partial


class _NulCharacter(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(f"NUL character on line {line}")
        self.line = line


class _Lines:
    """The lines of a text stream, read in blocks: bounded memory, physical line numbers.

    Newlines are translated (``\r\n`` and ``\r`` → ``\n``) by the text stream; a line
    longer than ``cap`` characters raises :class:`_LineTooLong` before it is held whole.
    """

    def __init__(self, stream: TextIO, cap: int) -> None:
        self.stream, self.cap = stream, cap
        self.number = 0  # physical lines yielded so far
        self.last = ""

    def __iter__(self) -> Iterator[str]:
        pending = ""
        while block := self.stream.read(_BLOCK_CHARS):
            if "\x00" in block:
                text = pending + block
                raise _NulCharacter(self.number + text[: text.index("\x00")].count("\n") + 1)
            parts = (pending + block).split("\n")
            pending = parts.pop()
            for line in parts:
                self.number += 1
                if len(line) > self.cap:
                    raise _LineTooLong(self.number, line[: self.cap + 1])
                self.last = line
                yield line + "\n"
            if len(pending) > self.cap:
                raise _LineTooLong(self.number + 1, pending[: self.cap + 1])
        if pending:
            self.number += 1
            self.last = pending
            yield pending


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """Python's csv field size limit (process-wide) for the duration of one file."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _oversized_column(partial: str, sep: str, limit: int) -> int | None:
    """Index of the first field longer than ``limit`` in (the start of) a CSV line."""
    previous = csv.field_size_limit(max(len(partial) + 1, limit))
    try:
        fields = next(csv.reader([partial], delimiter=sep, strict=False), [])
    except csv.Error:
        return None
    finally:
        csv.field_size_limit(previous)
    for i, value in enumerate(fields):
        if len(value) > limit:
            return i
    return len(fields) - 1 if fields else None


def _decode_error_line(path: Path, encoding: str) -> int | None:
    """Physical line of the first byte sequence that is not valid ``encoding``."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            buffered = decoder.getstate()[0]
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return lines + (buffered + block)[: exc.start].count(b"\n") + 1
            lines += block.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines + 1
    return None


class FileConnector(Connector):
    name = "file"

    def _paths(self) -> list[Path]:
        spec = self.source.file
        assert spec is not None
        base = self.context.sources_dir
        paths = sorted(p for p in base.glob(spec.path) if p.is_file() and p.suffix != ".sig")
        if not paths:
            raise SourceError(self.source.name, f"{base}/{spec.path}", "no file matches")
        return paths

    @property
    def _spec(self) -> FileSpec:
        assert self.source.file is not None
        return self.source.file

    def read(self) -> Iterator[RawChunk]:
        for path in self._paths():
            rel = path.relative_to(self.context.sources_dir).as_posix()
            info = InputFile(location=rel, sha256=_sha256(path), size_bytes=path.stat().st_size)
            verdict = self._signature(path)
            info.signature = verdict.value
            if verdict in (SignatureVerdict.MISSING, SignatureVerdict.INVALID):
                info.rejected_reason = verdict.value
                log.warning("source %s: %s rejected: %s", self.source.name, rel, verdict.value)
                yield RawChunk(pd.DataFrame({"record_key": pd.Series([], dtype="string")}), info)
                continue
            for frame in self._read_one(path, rel, info):
                for name, how in self._spec.filename_fields.items():
                    frame[f"__file_{name}"] = path.stem if how == "stem" else path.name
                info.rows += len(frame)
                yield RawChunk(frame, info)

    def records_of(self, location: str) -> Iterator[pd.DataFrame]:
        """A file's records as its reader reads them (xlsx rows, CSV records, JSON Lines)."""
        path = self.context.sources_dir / location
        if not path.is_file():
            raise SourceError(self.source.name, location, "no such file")
        yield from self._read_one(path, location, InputFile(location=location))

    def _signature(self, path: Path) -> SignatureVerdict:
        sig = self.source.signature
        if not sig.required:
            return SignatureVerdict.NOT_REQUIRED
        if not sig.public_key:
            raise SourceError(self.source.name, str(path), "signature required but no public key")
        key = load_public_key(self.context.sources_dir / sig.public_key)
        return verify_file(key, path)

    def _read_one(self, path: Path, rel: str, info: InputFile) -> Iterator[pd.DataFrame]:
        fmt = self._spec.format
        reader = {
            "csv": self._read_csv,
            "xlsx": self._read_xlsx,
            "json": self._read_json,
            "jsonl": self._read_jsonl,
            "parquet": self._read_parquet,
        }[fmt]
        try:
            for frame in reader(path, rel, info):
                if frame.columns.duplicated().any():
                    dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
                    raise SourceError(self.source.name, rel, f"duplicate column headers {dupes}")
                yield frame
        except SourceError:
            raise
        except Exception as exc:  # any parser failure becomes a clear, located error
            raise SourceError(self.source.name, rel, f"cannot be read as {fmt}: {exc}") from None

    def _encoding(self, path: Path, info: InputFile) -> str:
        """The declared encoding, else one detected on the file's first MiB."""
        encoding = self._spec.encoding
        if not encoding:
            with path.open("rb") as fh:
                encoding = detect_encoding(fh.read(_SAMPLE_BYTES))
        encoding = _ENCODING_ALIASES.get(encoding.lower(), encoding)
        info.encoding = encoding
        return encoding

    def _not_text(self, path: Path, rel: str, encoding: str) -> SourceError:
        line = _decode_error_line(path, encoding)
        return SourceError(self.source.name, rel, f"not valid {encoding} text", row=line)

    def _text(self, path: Path, rel: str, info: InputFile) -> str:
        encoding = self._encoding(path, info)
        try:
            return path.read_bytes().decode(encoding)
        except UnicodeDecodeError:
            raise self._not_text(path, rel, encoding) from None

    def _lines(self, path: Path, rel: str, encoding: str, lines: _Lines) -> Iterator[str]:
        """``lines`` with decoding errors and over-long lines as located errors."""
        try:
            yield from lines
        except UnicodeDecodeError:
            raise self._not_text(path, rel, encoding) from None
        except _NulCharacter as exc:
            raise SourceError(
                self.source.name, rel, "NUL character: not a text export", row=exc.line
            ) from None

    def _read_csv(self, path: Path, rel: str, info: InputFile) -> Iterator[pd.DataFrame]:
        spec = self._spec
        sep = "\t" if rel.lower().endswith(".tsv") else ","
        encoding = self._encoding(path, info)
        limit = spec.max_field_chars
        self._csv_names: list[str] = []
        with (
            path.open(encoding=encoding, newline=None) as stream,
            _csv_field_limit(limit + 1),
        ):
            lines = _Lines(stream, limit)
            reader = csv.reader(self._lines(path, rel, encoding, lines), delimiter=sep, strict=True)
            records = self._csv_records(reader, lines, rel, sep)
            head: list[tuple[int, list[str]]] = []
            for record in records:  # up to the header row, so later errors can name columns
                head.append(record)
                if self._is_header(record[1]) or len(head) >= _HEADER_SEARCH_ROWS:
                    break
            if not head:
                raise SourceError(self.source.name, rel, "empty file (no header)")
            header_idx = self._header_index([row for _, row in head], rel)
            names = [
                c.strip().lstrip("\ufeff") or f"_col{i}" for i, c in enumerate(head[header_idx][1])
            ]
            dupes = sorted({c for c in names if names.count(c) > 1})
            if dupes:
                raise SourceError(self.source.name, rel, f"duplicate column headers {dupes}")
            self._csv_names = names
            width = len(names)
            lines.cap = limit * width + 3 * width  # a whole line of fields at their limit
            starts: list[int] = []
            rows: list[list[str]] = []
            emitted = False
            for start, row in itertools.chain(head[header_idx + 1 :], records):
                if len(row) != width:
                    raise SourceError(
                        self.source.name,
                        rel,
                        f"malformed CSV: wrong number of fields ({len(row)}, header has {width})",
                        row=start,
                    )
                starts.append(start)
                rows.append(row)
                if len(rows) >= spec.chunk_rows:
                    yield _csv_frame(rel, names, starts, rows)
                    starts, rows, emitted = [], [], True
            if rows or not emitted:
                yield _csv_frame(rel, names, starts, rows)

    def _csv_records(
        self, reader: Iterator[list[str]], lines: _Lines, rel: str, sep: str
    ) -> Iterator[tuple[int, list[str]]]:
        """(first physical line, fields) of each non-blank record; CSV faults located."""
        limit = self._spec.max_field_chars
        done = 0  # physical lines consumed by complete records
        while True:
            start = done + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except _LineTooLong as exc:
                column = _oversized_column(exc.partial, sep, limit)
                raise self._too_long(rel, exc.line, column, limit) from None
            except csv.Error as exc:
                text = str(exc)
                if "field larger than field limit" in text:
                    column = _oversized_column(lines.last, sep, limit)
                    raise self._too_long(rel, start, column, limit) from None
                if "unexpected end of data" in text:
                    problem = "truncated file: ends inside a quoted field"
                else:
                    problem = f"malformed CSV: {text}"
                raise SourceError(self.source.name, rel, problem, row=start) from None
            done = lines.number
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            yield start, row

    def _too_long(self, rel: str, row: int, column: int | None, limit: int) -> SourceError:
        names = self._csv_names
        name = ""
        if column is not None:
            name = names[column] if column < len(names) else f"#{column + 1}"
        return SourceError(
            self.source.name,
            rel,
            f"field longer than {limit:,} characters (max_field_chars)",
            row=row,
            column=name,
        )

    def _is_header(self, row: list[str]) -> bool:
        marker = self._spec.header_marker
        return not marker or any(c.strip() == marker for c in row)

    def _header_index(self, rows: list[list[object]], rel: str) -> int:
        marker = self._spec.header_marker
        if not marker:
            return 0
        for i, row in enumerate(rows):
            if any(str(c).strip() == marker for c in row if c is not None):
                return i
        raise SourceError(self.source.name, rel, f"no header row with column {marker!r}")

    def _read_xlsx(self, path: Path, rel: str, info: InputFile) -> Iterator[pd.DataFrame]:
        import openpyxl

        info.encoding = "xlsx"
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
        try:
            sheet_name = self.source.file.sheet  # type: ignore[union-attr]
            if sheet_name and sheet_name not in wb.sheetnames:
                raise SourceError(self.source.name, rel, f"no sheet {sheet_name!r}")
            ws = wb[sheet_name] if sheet_name else wb.worksheets[0]
            rows = list(ws.iter_rows(values_only=True))
        finally:
            wb.close()
        if not rows:
            raise SourceError(self.source.name, rel, "empty workbook")
        header_idx = self._header_index([list(r) for r in rows[:_HEADER_SEARCH_ROWS]], rel)
        header = [
            str(c).strip() if c is not None else f"_col{i}" for i, c in enumerate(rows[header_idx])
        ]
        body = rows[header_idx + 1 :]
        for offset, row in enumerate(body):
            for col, value in zip(header, row, strict=False):
                if isinstance(value, str) and value.startswith("="):
                    raise SourceError(
                        self.source.name,
                        rel,
                        "formula cell",
                        row=header_idx + offset + 2,
                        column=col,
                    )
        frame = pd.DataFrame(body, columns=header, dtype=object)
        frame = frame.dropna(how="all")
        keys = [f"{rel}:{header_idx + 2 + i}" for i in frame.index]
        frame = frame.reset_index(drop=True)
        frame.insert(0, "record_key", keys)
        yield frame

    def _read_json(self, path: Path, rel: str, info: InputFile) -> Iterator[pd.DataFrame]:
        text = self._text(path, rel, info)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError(
                self.source.name, rel, f"invalid JSON: {exc.msg}", row=exc.lineno
            ) from None
        if (
            isinstance(data, dict)
            and len(data) == 1
            and isinstance(next(iter(data.values())), list)
        ):
            data = next(iter(data.values()))
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise SourceError(self.source.name, rel, "expected a JSON list of objects")
        frame = pd.DataFrame.from_records(data)
        frame.insert(0, "record_key", [f"{rel}:{i + 1}" for i in range(len(frame))])
        yield frame

    def _read_jsonl(self, path: Path, rel: str, info: InputFile) -> Iterator[pd.DataFrame]:
        spec = self._spec
        encoding = self._encoding(path, info)
        mapped = list(self.source.columns)
        seen: set[str] = set()
        records: list[dict] = []
        keys: list[str] = []
        with path.open(encoding=encoding, newline=None) as stream:
            lines = _Lines(stream, spec.max_field_chars)
            text_lines = self._lines(path, rel, encoding, lines)
            while True:
                try:
                    line = next(text_lines)
                except StopIteration:
                    break
                except _LineTooLong as exc:
                    raise SourceError(
                        self.source.name,
                        rel,
                        f"record longer than {spec.max_field_chars:,} characters (max_field_chars)",
                        row=exc.line,
                    ) from None
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SourceError(
                        self.source.name, rel, f"invalid JSON: {exc.msg}", row=lines.number
                    ) from None
                if not isinstance(obj, dict):
                    raise SourceError(
                        self.source.name, rel, "expected a JSON object", row=lines.number
                    )
                seen.update(obj)
                records.append(obj)
                keys.append(f"{rel}:{lines.number}")
                if len(records) >= spec.chunk_rows:
                    yield _jsonl_frame(records, keys, mapped)
                    records, keys = [], []
        if not seen:
            raise SourceError(self.source.name, rel, "empty file (no records)")
        missing = [c for c in mapped if c not in seen]
        if missing:  # checked on the whole file: a chunk may lack a key that others have
            raise SourceError(self.source.name, rel, "required column missing", column=missing[0])
        if records:
            yield _jsonl_frame(records, keys, mapped)

    def _read_parquet(self, path: Path, rel: str, info: InputFile) -> Iterator[pd.DataFrame]:
        info.encoding = "parquet"
        frame = pd.read_parquet(path)
        frame.insert(0, "record_key", [f"{rel}:{i + 1}" for i in range(len(frame))])
        yield frame


def _csv_frame(
    rel: str, names: list[str], starts: list[int], rows: list[list[str]]
) -> pd.DataFrame:
    """A chunk of CSV rows as text columns (Arrow-backed); empty fields are null."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    keys = pc.binary_join_element_wise(rel, pc.cast(pa.array(starts, pa.int64()), pa.string()), ":")
    arrays = [keys]
    for values in columns:
        text = pa.array(values, pa.string())
        arrays.append(pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text))
    table = pa.Table.from_arrays(arrays, names=["record_key", *names])
    return table.to_pandas(types_mapper=_STRING_TYPES.get)


def _jsonl_frame(records: list[dict], keys: list[str], mapped: list[str]) -> pd.DataFrame:
    """A chunk of JSON Lines records; a mapped key absent from every record here is null."""
    frame = pd.DataFrame.from_records(records)
    for column in mapped:
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame.insert(0, "record_key", keys)
    return frame
