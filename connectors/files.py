"""File exports: CSV/TSV, xlsx, JSON, JSON Lines, Parquet, with encoding detection.

Record keys are ``<path relative to the sources folder>:<line>`` (CSV: the
physical line where the record starts, header = its own line; JSON Lines: the
physical line; xlsx: the sheet row; JSON list and Parquet: the item number from 1).
CSV and JSON Lines are read in chunks of ``chunk_rows`` with bounded memory: a
field (CSV) or record (JSON Lines) longer than ``max_field_chars`` is an error
naming the file, row and column, found before the whole of it is held.

A small CSV file (up to 4 MiB) whose shape proves each line to be one plain record is
parsed by pyarrow instead (same frames; see ``FileConnector._csv_fast``); any other
file, and every file with something to report, is read by the exact reader.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import json
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import charset_normalizer
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors.base import (
    READER_PROBLEMS,
    Connector,
    InputFile,
    RawChunk,
    SourceError,
    reduced_error,
)
from connectors.export_manifest import ManifestCheck, check_export, is_companion
from connectors.export_sequences import ExportSequenceError
from connectors.file_names import display_name, entry_problem, name_problem
from connectors.signatures import SignatureVerdict
from connectors.specs import FileSpec

__all__ = ["FileConnector", "detect_encoding"]

log = logging.getLogger(__name__)

_ENCODING_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "utf_8": "utf-8"}
_SAMPLE_BYTES = 1 << 20  # encoding detection looks at the first MiB
_BLOCK_CHARS = 1 << 18  # text is read in blocks of this many characters
_HEADER_SEARCH_ROWS = 20
#: CSV files up to this size are tried with pyarrow first (see ``FileConnector._csv_fast``)
_FAST_CSV = True
#: held whole, in a few copies: about one chunk of rows; larger files stream (exact reader)
_FAST_CSV_MAX_BYTES = 4 << 20
#: a reader asking for fewer rows a chunk is sampling: the whole file would be wasted work
_FAST_CSV_MIN_CHUNK_ROWS = 1_000
#: a character that lets one line hold other than one plain record: quote, NUL, lone CR,
#: a byte-order mark the decoding kept
_FAST_CSV_REFUSED = ('"', "\x00", "\r", "\ufeff")
_STRING_TYPES = {
    pa.string(): pd.StringDtype("pyarrow")
}  # a header row is looked for among the first records
#: Parquet columns as pandas' nullable types (an integer column stays integer beside NULLs)
_NULLABLE = {
    **{
        getattr(pa, t)(): getattr(pd, t.capitalize().replace("Ui", "UI") + "Dtype")()
        for t in (
            "int8",
            "int16",
            "int32",
            "int64",
            "uint8",
            "uint16",
            "uint32",
            "uint64",
        )
    },
    pa.bool_(): pd.BooleanDtype(),
    pa.float32(): pd.Float32Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
}


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


def _csv_error_kind(exc: csv.Error) -> str:
    """Classify a csv module error by its fixed wording: ``too_long``, ``truncated`` or
    ``other``. Only the classification leaves this function, never the error's text."""
    words = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    if "field larger than field limit" in words:
        return "too_long"
    return "truncated" if "unexpected end of data" in words else "other"


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


class _Formula(str):
    """A formula cell's text (refused: its value is not in the file as data)."""


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_INLINE, _TEXT = f"{_MAIN_NS}is", f"{_MAIN_NS}t"


def _plain_inline_string(element: object) -> str | None:
    """The text of a cell that is one plain inline string — ``<c r=.. t="inlineStr"><is>
    <t>text</t></is></c>`` with a reference, nothing else inside — as openpyxl reads it
    (``Text.content``: the ``<t>``'s text, ``""`` when empty); None for any other cell,
    which openpyxl's own parser reads (rich text, formulas, numbers, shared strings)."""
    if element.get("t") != "inlineStr" or not element.get("r") or len(element) != 1:  # type: ignore[attr-defined]
        return None
    inline = element[0]  # type: ignore[index]
    if inline.tag != _INLINE or len(inline) != 1 or inline.attrib:
        return None
    text = inline[0]
    if text.tag != _TEXT or len(text):
        return None
    return text.text or ""


class _XlsxSheet:
    """One worksheet read cell by cell with openpyxl's streaming parser.

    Cells come as typed values turned into text here, never through openpyxl's own
    conversions, whose warnings and errors quote the cell's value: numbers exactly
    (``int``; a whole ``float`` below 2**53 as its digits; any other float as its
    ``repr``, which the identifier rules recognise as having lost digits); numbers in
    date-formatted cells as ISO dates in the workbook's date system (a number too large
    for a date stays a number); Excel error values and cells that cannot be parsed
    become empty with a problem (``error_cell``, ``unreadable_cell``). The same single
    pass collects the merged ranges and the hidden rows (openpyxl's read-only worksheet
    offers neither), so their cost is that of reading the sheet. Cells holding a number
    with a fraction are remembered (``fraction_cells``): a year and month typed as a
    number lose a trailing zero (``1998.10`` is the number ``1998.1``).
    """

    def __init__(self) -> None:
        self.rows: list[tuple[object, ...]] = []
        self.cell_problems: dict[tuple[int, int], str] = {}
        self.merged: list[str] = []
        self.hidden_rows: list[int] = []
        self.fraction_cells: set[tuple[int, int]] = set()

    @classmethod
    def read(cls, wb: object, ws: object, max_rows: int | None = None) -> _XlsxSheet:
        """The sheet; with ``max_rows``, only its first rows (a sample: the merged
        ranges and hidden rows, kept at the sheet's end, are then not known)."""
        from openpyxl.utils.cell import coordinate_to_tuple
        from openpyxl.utils.datetime import from_excel
        from openpyxl.worksheet._reader import WorkSheetParser

        class CellParser(WorkSheetParser):
            def parse_cell(self, element):  # type: ignore[no-untyped-def]
                try:
                    plain = _plain_inline_string(element)
                    if plain is not None:  # what openpyxl gives, without its object model
                        row, column = coordinate_to_tuple(element.get("r"))
                        self.col_counter = column
                        style = element.get("s", 0)
                        return {
                            "row": row,
                            "column": column,
                            "value": plain,
                            "data_type": "s",
                            "style_id": int(style) if style else style,
                        }
                    return super().parse_cell(element)
                except Exception as exc:  # the text may quote the value: keep its type only
                    try:
                        row, column = coordinate_to_tuple(element.get("r"))
                    except Exception:  # no (usable) reference: the next cell of the row
                        row, column = self.row_counter, self.col_counter + 1
                    self.col_counter = column
                    return {
                        "row": row,
                        "column": column,
                        "value": None,
                        "data_type": "unreadable",
                        "style_id": 0,
                        "error": type(exc).__name__,
                    }

        sheet = cls()
        date_styles = set(getattr(wb, "_date_formats", ()))
        epoch = wb.epoch  # type: ignore[attr-defined]
        grid: dict[int, dict[int, object]] = {}
        with ws._get_source() as src:  # type: ignore[attr-defined]
            parser = CellParser(
                src,
                ws._shared_strings,  # type: ignore[attr-defined]
                data_only=False,
                epoch=epoch,
                date_formats=set(),  # dates are converted below, without quoting warnings
                timedelta_formats=set(),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for row_no, cells in parser.parse():
                    if max_rows is not None and row_no > max_rows:
                        break
                    values = grid.setdefault(row_no, {})
                    for cell in cells:
                        value = sheet._value(cell, date_styles, epoch, from_excel)
                        if value is not None:
                            values[cell["column"]] = value
            if parser.merged_cells is not None:
                sheet.merged = [str(m.ref) for m in parser.merged_cells.mergeCell]
            sheet.hidden_rows = sorted(
                int(r)
                for r, attrs in parser.row_dimensions.items()
                if str(attrs.get("hidden", "0")).lower() in ("1", "true")
            )
        if grid:
            width = max((max(v) for v in grid.values() if v), default=0)
            for row_no in range(1, max(grid) + 1):
                values = grid.get(row_no, {})
                sheet.rows.append(tuple(values.get(c) for c in range(1, width + 1)))
        return sheet

    def _value(self, cell: dict, date_styles: set, epoch: object, from_excel: object) -> object:
        kind, value = cell["data_type"], cell["value"]
        where = (cell["row"], cell["column"])
        if kind == "unreadable":
            self.cell_problems[where] = "unreadable_cell"
            return None
        if kind == "e":
            self.cell_problems[where] = "error_cell"
            return None
        if kind == "f" or (isinstance(value, str) and value.startswith("=")):
            return _Formula(str(value))
        if value is None:
            return None
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, (int, float)) and cell["style_id"] in date_styles:
            try:
                stamp = from_excel(value, epoch)  # type: ignore[operator]
            except Exception:  # too large for a date (an ID number in a date cell)
                stamp = None
            if stamp is not None:
                return _iso(stamp)
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            exact = value.is_integer() and abs(value) <= 2**53
            if not value.is_integer():
                self.fraction_cells.add(where)
            return str(int(value)) if exact else repr(value)
        if hasattr(value, "isoformat"):
            return _iso(value)
        return str(value)


#: a year and month typed as a number whose month may have lost its trailing zero
_NUMBER_MONTH = re.compile(r"[12][0-9]{3}\.1")


def _is_date_field(entity_name: str, field_name: str | None) -> bool:
    from domain import ENTITIES

    ent = ENTITIES.get(entity_name)
    if ent is None or field_name is None or field_name not in ent.field_names:
        return False
    return ent.field(field_name).dtype == "date"


def _iso(stamp: object) -> str:
    """``YYYY-MM-DD`` for a midnight datetime or a date, else ``YYYY-MM-DD HH:MM:SS``."""
    if hasattr(stamp, "hour") and (stamp.hour, stamp.minute, stamp.second) != (0, 0, 0):  # type: ignore[attr-defined]
        return stamp.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[attr-defined]
    return stamp.strftime("%Y-%m-%d")  # type: ignore[attr-defined]


class FileConnector(Connector):
    """Files in the sources folder matching the source's path (a glob).

    Every match must be a regular file with a plain name (:mod:`connectors.file_names`):
    a symbolic link, a hard link or a name with control characters, undecodable bytes,
    encoded separators or a leading dot is refused, never read, and the other files go
    on. A source whose exports must be signed reads a file only when its signed manifest
    checks out against the trust store and is newer than the last accepted
    (:mod:`connectors.export_manifest`, :mod:`connectors.export_sequences`); after
    reading, the number of records must be the signed one.
    """

    name = "file"
    #: a probe's sample: read only this many rows after the header search (workbooks);
    #: None (extraction) reads everything
    sample_rows: int | None = None

    def _paths(self) -> list[tuple[Path, str | None]]:
        """Every match of the source's glob (companions left out) with its problem."""
        spec = self._spec
        base = self.context.sources_dir
        found = []
        for path in sorted(base.glob(spec.path)):
            if is_companion(path.name) or (path.is_dir() and not path.is_symlink()):
                continue
            problem = entry_problem(path) or name_problem(path.name, pattern=spec.name_pattern)
            found.append((path, problem))
        if not found:
            raise SourceError(self.source.name, f"{base}/{spec.path}", "no file matches")
        return found if self.part is None else self._part_paths(found)

    def _part_paths(self, found: list[tuple[Path, str | None]]) -> list[tuple[Path, str | None]]:
        """The files of this partition; refused when the source's files are no longer the
        ones the partitions were planned from (a file added or gone would be lost)."""
        from connectors.partitions import files_digest

        assert self.part is not None
        locations = [self._location(path) for path, _ in found]
        if files_digest(locations) != self.part.planned_files:
            raise SourceError(
                self.source.name,
                f"partition {self.part.index + 1} of {self.part.count}",
                f"its files changed since the run was planned ({len(found)} now); run again",
            )
        wanted = set(self.part.files)
        return [pair for pair, loc in zip(found, locations, strict=True) if loc in wanted]

    def locations(self) -> list[tuple[str, int, Path]]:
        """Every file of the source (location, size, path), in reading order."""
        return [
            (self._location(path), path.stat().st_size if problem is None else 0, path)
            for path, problem in self._paths()
        ]

    @property
    def _spec(self) -> FileSpec:
        assert self.source.file is not None
        return self.source.file

    def _location(self, path: Path) -> str:
        rel = path.relative_to(self.context.sources_dir)
        return (rel.parent / display_name(rel.name)).as_posix()

    def read(self) -> Iterator[RawChunk]:
        empty = pd.DataFrame({"record_key": pd.Series([], dtype="string")})
        for path, rel, info, check in self._checked(self._paths()):
            if info.rejected_reason:
                yield RawChunk(empty, info)
                continue
            for chunk in self._read_chunks(path, rel, info):
                info.rows += chunk.rows
                yield chunk
            if (
                check is not None
                and check.manifest is not None
                and info.rows != check.manifest.rows
            ):
                raise SourceError(
                    self.source.name,
                    rel,
                    f"{info.rows} records read, but its signed manifest says "
                    f"{check.manifest.rows}: the export or its row count is wrong",
                )

    def records_of(self, location: str) -> Iterator[pd.DataFrame]:
        """A file's records as its reader reads them (xlsx rows, CSV records, JSON Lines);
        never a link's target or a file whose name is refused."""
        path = self.context.sources_dir / location
        problem = entry_problem(path) if path.exists() or path.is_symlink() else "no such file"
        problem = problem or name_problem(path.name, pattern=self._spec.name_pattern)
        if problem is not None:
            raise SourceError(self.source.name, location, f"not read ({problem})")
        yield from self._read_one(path, location, InputFile(location=location))

    def _checked(
        self, paths: list[tuple[Path, str | None]]
    ) -> list[tuple[Path, str, InputFile, ManifestCheck | None]]:
        """Each file's provenance and signature verdict, before any file is read; a refused
        file has its ``rejected_reason`` set (and is logged). The valid manifests are
        recorded as accepted together (:meth:`ExportSequenceStore.accept_many`): one read
        and one write of the record of accepted exports for the whole source."""
        out: list[tuple[Path, str, InputFile, ManifestCheck | None]] = []
        for path, problem in paths:
            rel = self._location(path)
            if problem is not None:
                info = InputFile(location=rel, rejected_reason=problem, signature="not_checked")
                log.warning("source %s: a file refused unread: %s", self.source.name, problem)
                out.append((path, rel, info, None))
                continue
            info = InputFile(location=rel, sha256=_sha256(path), size_bytes=path.stat().st_size)
            out.append((path, rel, info, self._signature(path)))
        self._accept_sequences(out)
        for _, rel, info, check in out:
            if check is None:
                continue
            info.signature = check.verdict.value
            if check.verdict.refused:
                info.rejected_reason = check.verdict.value
                log.warning(
                    "source %s: %s refused: %s (%s)",
                    self.source.name,
                    rel,
                    check.verdict.value,
                    check.detail,
                )
        return out

    def _accept_sequences(
        self, checked: list[tuple[Path, str, InputFile, ManifestCheck | None]]
    ) -> None:
        """Record the valid manifests as accepted, in reading order; a manifest not newer
        than the last accepted export of its file turns its verdict into ``replayed``."""
        sequences = self.context.export_sequences
        if sequences is None:
            return
        valid = [
            i
            for i, (_, _, _, check) in enumerate(checked)
            if check is not None and check.ok and check.manifest is not None
        ]
        if not valid:
            return
        manifests = [checked[i][3].manifest for i in valid]  # type: ignore[union-attr]
        try:
            replays = sequences.accept_many(self.source.name, manifests)  # type: ignore[arg-type]
        except ExportSequenceError as exc:
            raise SourceError(self.source.name, checked[valid[0]][0].name, exc.problem) from None
        for i, replayed in zip(valid, replays, strict=True):
            if replayed is not None:
                path, rel, info, check = checked[i]
                checked[i] = (
                    path,
                    rel,
                    info,
                    ManifestCheck(SignatureVerdict.REPLAYED, check.manifest, replayed),  # type: ignore[union-attr]
                )

    def _signature(self, path: Path) -> ManifestCheck:
        """The verdict on ``path``'s signed manifest (its sequence not yet recorded)."""
        if not self.source.signature.required:
            return ManifestCheck(SignatureVerdict.NOT_REQUIRED)
        trust = self.context.trust_store
        if trust is None:
            raise SourceError(
                self.source.name, path.name, "signature required but no trust store configured"
            )
        return check_export(
            path,
            source=self.source.name,
            department=self.source.department,
            trust=trust,
            branch=self.source.signed_branch(path.name),
        )

    def _read_chunks(self, path: Path, rel: str, info: InputFile) -> Iterator[RawChunk]:
        """``path``'s rows with the file-name columns: a plain CSV file as the Arrow
        tables of the fast reader (no pandas frame made), anything else as frames."""
        named = {
            f"__file_{name}": path.stem if how == "stem" else path.name
            for name, how in self._spec.filename_fields.items()
        }
        fast = None
        if self._spec.format == "csv" and _FAST_CSV:
            try:
                fast = self._csv_fast(path, rel, info)
            except Exception as exc:  # where and its type, never its text
                raise reduced_error(self.source.name, rel, "cannot be read as csv", exc) from None
        if fast is None:
            for frame in self._read_one(path, rel, info, exact=self._spec.format == "csv"):
                for column, value in named.items():
                    frame[column] = value
                yield RawChunk(frame, info)
            return
        for table in fast:
            for column, value in named.items():
                table = table.append_column(column, pa.array([value] * table.num_rows, pa.string()))
            yield RawChunk(None, info, table=table)

    def _read_one(
        self, path: Path, rel: str, info: InputFile, *, exact: bool = False
    ) -> Iterator[pd.DataFrame]:
        """``path``'s rows as frames (``exact``: a CSV file by the exact reader only, the
        fast one having declined it)."""
        fmt = self._spec.format
        reader = {
            "csv": self._csv_exact if exact else self._read_csv,
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
        except Exception as exc:  # any parser failure: where and its type, never its text
            raise reduced_error(self.source.name, rel, f"cannot be read as {fmt}", exc) from None

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
        fast = self._csv_fast(path, rel, info) if _FAST_CSV else None
        if fast is not None:
            for table in fast:
                yield table.to_pandas(types_mapper=_STRING_TYPES.get)
            return
        yield from self._csv_exact(path, rel, info)

    def _csv_fast(self, path: Path, rel: str, info: InputFile) -> list[pa.Table] | None:
        """The frames :meth:`_csv_exact` would give, as Arrow tables of string columns
        (empty fields null) parsed by pyarrow — or None when the
        file's shape does not let this be shown, and the exact reader must read it.

        Only a plain file qualifies: decodes whole in its encoding; no quote, NUL, lone
        CR or BOM character; the header on its first line (within ``max_field_chars``),
        its names distinct, at least two columns; no blank line; every line with the
        header's number of fields (pyarrow refuses otherwise), every field within
        ``max_field_chars``. Then each line is one record, split at the separator, so
        records start on consecutive physical lines. Anything else — including every
        error the exact reader would report with its line — goes to the exact reader.
        """
        import pyarrow.csv as pacsv

        spec = self._spec
        if spec.chunk_rows < _FAST_CSV_MIN_CHUNK_ROWS:
            return None  # a sample (a probe's first rows): streaming stops sooner
        if path.stat().st_size > _FAST_CSV_MAX_BYTES:
            return None
        encoding = self._encoding(path, info)
        try:
            text = path.read_bytes().decode(encoding)
        except UnicodeDecodeError:
            return None
        text = text.replace("\r\n", "\n")
        if any(c in text for c in _FAST_CSV_REFUSED):
            return None
        end = text.find("\n")
        header_line = text if end < 0 else text[:end]
        body = "" if end < 0 else text[end + 1 :]
        sep = "\t" if rel.lower().endswith(".tsv") else ","
        fields = header_line.split(sep)
        limit = spec.max_field_chars
        if len(header_line) > limit or len(fields) < 2 or not self._is_header(fields):
            return None
        if body.startswith("\n") or "\n\n" in body:
            return None
        names = [c.strip() or f"_col{i}" for i, c in enumerate(fields)]
        if len(set(names)) != len(names):
            return None
        width = len(names)
        positional = [f"f{i}" for i in range(width)]
        try:
            data = body.encode("utf-8")
        except UnicodeError:  # a lone surrogate some codecs decode to
            return None
        try:
            table = pacsv.read_csv(
                pa.py_buffer(data),
                read_options=pacsv.ReadOptions(
                    column_names=positional, block_size=1 << 24, use_threads=False
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=sep, quote_char=False, escape_char=False, newlines_in_values=False
                ),
                convert_options=pacsv.ConvertOptions(  # an empty field is null, as below
                    column_types=dict.fromkeys(positional, pa.string()),
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # a ragged row, say: the exact reader names its line
        # a field is no longer than its line: only a file with a line over the limit is measured
        if len(body) > limit and max(map(len, body.split("\n"))) > limit:
            for column in table.columns:
                longest = pc.max(pc.utf8_length(column)).as_py()
                if longest is not None and longest > limit:
                    return None
        self._csv_names = names
        frames = []
        n = table.num_rows
        for start in range(0, max(n, 1), spec.chunk_rows):
            part = table.slice(start, spec.chunk_rows)
            lines = pa.array(range(start + 2, start + 2 + part.num_rows), pa.int64())
            keys = pc.binary_join_element_wise(rel, pc.cast(lines, pa.string()), ":")
            arrays = [keys, *(column.combine_chunks() for column in part.columns)]
            frames.append(pa.Table.from_arrays(arrays, names=["record_key", *names]))
        return frames

    def _csv_exact(self, path: Path, rel: str, info: InputFile) -> Iterator[pd.DataFrame]:
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
                kind = _csv_error_kind(exc)
                if kind == "too_long":
                    column = _oversized_column(lines.last, sep, limit)
                    raise self._too_long(rel, start, column, limit) from None
                if kind == "truncated":
                    problem = "truncated file: ends inside a quoted field"
                else:  # the error's type only: its text may quote the line
                    problem = f"malformed CSV ({type(exc).__name__})"
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
        """The sheet's cells by type, merged ranges and hidden rows handled (see ``_XlsxSheet``)."""
        import openpyxl

        info.encoding = "xlsx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's warnings may quote a cell's value
            wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
        try:
            sheet_name = self._spec.sheet
            if sheet_name and sheet_name not in wb.sheetnames:
                raise SourceError(self.source.name, rel, f"no sheet {sheet_name!r}")
            info.hidden_sheets = [ws.title for ws in wb.worksheets if ws.sheet_state != "visible"]
            visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
            ws = wb[sheet_name] if sheet_name else (visible or wb.worksheets)[0]
            if info.hidden_sheets:
                log.warning(
                    "source %s: %s has %d hidden sheet(s) %s; %s read",
                    self.source.name,
                    rel,
                    len(info.hidden_sheets),
                    info.hidden_sheets,
                    "the hidden sheet is" if ws.title in info.hidden_sheets else "not",
                )
            limit = None if self.sample_rows is None else _HEADER_SEARCH_ROWS + self.sample_rows
            sheet = _XlsxSheet.read(wb, ws, limit)
        finally:
            wb.close()
        if not sheet.rows:
            raise SourceError(self.source.name, rel, "empty workbook")
        yield self._xlsx_frame(sheet, rel, info)

    def _xlsx_frame(self, sheet: _XlsxSheet, rel: str, info: InputFile) -> pd.DataFrame:
        rows = sheet.rows
        header_idx = self._header_index([list(r) for r in rows[:_HEADER_SEARCH_ROWS]], rel)
        header_row = header_idx + 1  # sheet row numbers are 1-based
        header = [
            str(c).strip() if c is not None else f"_col{i}" for i, c in enumerate(rows[header_idx])
        ]
        width = len(header)
        body = [list(r[:width]) + [None] * (width - len(r)) for r in rows[header_idx + 1 :]]
        problems: list[list[str]] = [[] for _ in body]
        mapped = {i for i, name in enumerate(header) if name in self.source.columns}
        for (row, col), problem in sorted(sheet.cell_problems.items()):
            if row > header_row and col - 1 < width:
                problems[row - header_row - 1].append(f"{header[col - 1]}:{problem}")
        for offset, values in enumerate(body):
            for col, value in enumerate(values):
                if isinstance(value, _Formula):
                    raise SourceError(
                        self.source.name,
                        rel,
                        "formula cell",
                        row=header_row + offset + 1,
                        column=header[col],
                    )
        self._merged(sheet, header, header_row, mapped, body, problems, info)
        self._number_months(sheet, header, header_row, body, problems)
        for row in sheet.hidden_rows:
            offset = row - header_row - 1
            if 0 <= offset < len(body) and any(v is not None for v in body[offset]):
                problems[offset].append("hidden_row")
                info.hidden_rows += 1
        if info.hidden_rows:
            log.warning(
                "source %s: %s: %d hidden data rows quarantined (hidden_row)",
                self.source.name,
                rel,
                info.hidden_rows,
            )
        frame = pd.DataFrame(body, columns=header, dtype=object)
        frame[READER_PROBLEMS] = [";".join(p) or None for p in problems]
        keep = frame[header].notna().any(axis=1)
        keys = [f"{rel}:{header_row + 1 + i}" for i in frame.index[keep]]
        frame = frame[keep].reset_index(drop=True)
        frame.insert(0, "record_key", keys)
        return frame

    def _number_months(
        self,
        sheet: _XlsxSheet,
        header: list[str],
        header_row: int,
        body: list[list[object]],
        problems: list[list[str]],
    ) -> None:
        """A date column's number cell ``YYYY.1`` is refused (``ambiguous_month``): typed as
        a number, ``1998.10`` (October) became ``1998.1``, which also reads as January."""
        dates = {
            i
            for i, name in enumerate(header)
            if _is_date_field(self.source.entity, self.source.columns.get(name))
        }
        for row, col in sheet.fraction_cells:
            offset, index = row - header_row - 1, col - 1
            if (
                index in dates
                and 0 <= offset < len(body)
                and _NUMBER_MONTH.fullmatch(str(body[offset][index]))
            ):
                problems[offset].append(f"{header[index]}:ambiguous_month")
                body[offset][index] = None  # never read as January

    def _merged(
        self,
        sheet: _XlsxSheet,
        header: list[str],
        header_row: int,
        mapped: set[int],
        body: list[list[object]],
        problems: list[list[str]],
        info: InputFile,
    ) -> None:
        """Merged ranges over mapped data cells: fill every cell, or quarantine every row."""
        from openpyxl.utils.cell import range_boundaries

        for ref in sheet.merged:
            min_col, min_row, max_col, max_row = range_boundaries(ref)
            columns = [c - 1 for c in range(min_col, max_col + 1) if c - 1 in mapped]
            if max_row <= header_row or not columns:
                continue  # a title or header merge, or no mapped column: not data
            info.merged_ranges.append(ref)
            first = max(min_row, header_row + 1) - header_row - 1
            last = min(max_row - header_row - 1, len(body) - 1)
            if self._spec.merged_cells == "fill_down" and min_row > header_row:
                top = body[min_row - header_row - 1][min_col - 1]
                for offset in range(first, last + 1):
                    for col in range(min_col - 1, min(max_col, len(header))):
                        body[offset][col] = top
                continue
            for offset in range(first, last + 1):
                problems[offset].extend(f"{header[c]}:merged_cell[{ref}]" for c in columns)
        if info.merged_ranges:
            log.warning(
                "source %s: %d merged range(s) over data cells (%s): %s",
                self.source.name,
                len(info.merged_ranges),
                self._spec.merged_cells,
                ", ".join(info.merged_ranges),
            )

    def _read_json(self, path: Path, rel: str, info: InputFile) -> Iterator[pd.DataFrame]:
        text = self._text(path, rel, info)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError(
                self.source.name, rel, f"invalid JSON ({type(exc).__name__})", row=exc.lineno
            ) from None
        if (
            isinstance(data, dict)
            and len(data) == 1
            and isinstance(next(iter(data.values())), list)
        ):
            data = next(iter(data.values()))
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise SourceError(self.source.name, rel, "expected a JSON list of objects")
        frame = pd.DataFrame(data, dtype=object)  # object: an int ID never becomes a float
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
                        self.source.name,
                        rel,
                        f"invalid JSON ({type(exc).__name__})",
                        row=lines.number,
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
        first = 0
        if self.part is not None and self.part.kind == "row_groups":
            start, stop = self.part.row_groups
            parquet = pq.ParquetFile(path)
            first = sum(parquet.metadata.row_group(i).num_rows for i in range(start))
            table = parquet.read_row_groups(range(start, stop))
        else:
            table = pq.read_table(path)
        frame = table.to_pandas(types_mapper=_NULLABLE.get)  # ints stay ints
        frame.insert(0, "record_key", [f"{rel}:{first + i + 1}" for i in range(len(frame))])
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
    frame = pd.DataFrame(records, dtype=object)  # object: an int ID never becomes a float
    for column in mapped:
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame.insert(0, "record_key", keys)
    return frame
