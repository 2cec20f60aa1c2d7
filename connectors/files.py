"""File exports: CSV/TSV, xlsx, JSON, JSON Lines, Parquet, with encoding detection.

Record keys are ``<path relative to the sources folder>:<line>`` (CSV: the
physical line, header = its own line; xlsx: the sheet row; JSON list: the item
number from 1).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import charset_normalizer
import pandas as pd

from connectors.base import Connector, InputFile, RawChunk, SourceError
from connectors.signatures import SignatureVerdict, load_public_key, verify_file

__all__ = ["FileConnector", "detect_encoding"]

log = logging.getLogger(__name__)

_ENCODING_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "utf_8": "utf-8"}


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


def _first_ragged_line(lines: list[str], header_idx: int, width: int, sep: str) -> int | None:
    """Physical line number of the first row whose field count differs from the header's."""
    reader = csv.reader(lines[header_idx + 1 :], delimiter=sep)
    for row in reader:
        if row and len(row) != width:
            return header_idx + 1 + reader.line_num
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
            frame = self._read_one(path, rel, info)
            for name, how in (self.source.file.filename_fields or {}).items():  # type: ignore[union-attr]
                frame[f"__file_{name}"] = path.stem if how == "stem" else path.name
            info.rows = len(frame)
            yield RawChunk(frame, info)

    def _signature(self, path: Path) -> SignatureVerdict:
        sig = self.source.signature
        if not sig.required:
            return SignatureVerdict.NOT_REQUIRED
        if not sig.public_key:
            raise SourceError(self.source.name, str(path), "signature required but no public key")
        key = load_public_key(self.context.sources_dir / sig.public_key)
        return verify_file(key, path)

    def _read_one(self, path: Path, rel: str, info: InputFile) -> pd.DataFrame:
        fmt = self.source.file.format  # type: ignore[union-attr]
        reader = {
            "csv": self._read_csv,
            "xlsx": self._read_xlsx,
            "json": self._read_json,
            "jsonl": self._read_jsonl,
            "parquet": self._read_parquet,
        }[fmt]
        try:
            frame = reader(path, rel, info)
        except SourceError:
            raise
        except Exception as exc:  # any parser failure becomes a clear, located error
            raise SourceError(self.source.name, rel, f"cannot be read as {fmt}: {exc}") from None
        if frame.columns.duplicated().any():
            dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
            raise SourceError(self.source.name, rel, f"duplicate column headers {dupes}")
        return frame

    def _text(self, path: Path, rel: str, info: InputFile) -> str:
        data = path.read_bytes()
        declared = self.source.file.encoding  # type: ignore[union-attr]
        encoding = declared or detect_encoding(data)
        encoding = _ENCODING_ALIASES.get(encoding.lower(), encoding)
        info.encoding = encoding
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise SourceError(
                self.source.name, rel, f"not valid {encoding} text", row=line
            ) from None

    def _read_csv(self, path: Path, rel: str, info: InputFile) -> pd.DataFrame:
        text = self._text(path, rel, info)
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            raise SourceError(self.source.name, rel, "empty file (no header)")
        sep = "\t" if rel.endswith(".tsv") else ","
        head = list(csv.reader(lines[:20], delimiter=sep))
        header_idx = self._header_index(head)
        names = [c.strip() for c in head[header_idx]]
        dupes = sorted({c for c in names if names.count(c) > 1})
        if dupes:
            raise SourceError(self.source.name, rel, f"duplicate column headers {dupes}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(
                    io.StringIO(text),
                    sep=sep,
                    skiprows=header_idx,
                    dtype="string",
                    keep_default_na=False,
                    na_values=[""],
                    on_bad_lines="error",
                    index_col=False,
                    engine="c",
                )
        except (pd.errors.ParserError, pd.errors.ParserWarning):
            line = _first_ragged_line(lines, header_idx, len(names), sep)
            raise SourceError(
                self.source.name, rel, "malformed CSV: wrong number of fields", row=line
            ) from None
        frame.columns = [str(c).strip() for c in frame.columns]
        first_line = header_idx + 2
        frame.insert(0, "record_key", [f"{rel}:{first_line + i}" for i in range(len(frame))])
        return frame

    def _header_index(self, rows: list[list[object]]) -> int:
        marker = self.source.file.header_marker  # type: ignore[union-attr]
        if not marker:
            return 0
        for i, row in enumerate(rows):
            if any(str(c).strip() == marker for c in row if c is not None):
                return i
        raise SourceError(self.source.name, "header", f"no header row with column {marker!r}")

    def _read_xlsx(self, path: Path, rel: str, info: InputFile) -> pd.DataFrame:
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
        header_idx = self._header_index([list(r) for r in rows[:20]])
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
        return frame

    def _read_json(self, path: Path, rel: str, info: InputFile) -> pd.DataFrame:
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
        return frame

    def _read_jsonl(self, path: Path, rel: str, info: InputFile) -> pd.DataFrame:
        text = self._text(path, rel, info)
        records, keys = [], []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceError(
                    self.source.name, rel, f"invalid JSON: {exc.msg}", row=lineno
                ) from None
            if not isinstance(obj, dict):
                raise SourceError(self.source.name, rel, "expected a JSON object", row=lineno)
            records.append(obj)
            keys.append(f"{rel}:{lineno}")
        frame = pd.DataFrame.from_records(records)
        frame.insert(0, "record_key", keys)
        return frame

    def _read_parquet(self, path: Path, rel: str, info: InputFile) -> pd.DataFrame:
        info.encoding = "parquet"
        frame = pd.read_parquet(path)
        frame.insert(0, "record_key", [f"{rel}:{i + 1}" for i in range(len(frame))])
        return frame
