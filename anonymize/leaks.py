"""Leak scan: look for raw identifiers of a run in its published files, reports and logs.

Two kinds of finding:

- ``exact``: an exact value of a direct identifier of the run (every ID number, name,
  mobile, student/staff number the run saw), found anywhere in a file;
- ``pattern``: something shaped like a resident ID number (with a valid GB 11643 check
  character) or a mainland mobile number, whoever it belongs to.

Findings name the file, the line or column and the field, never the value found.
Parquet files are read column by column (their strings are compressed on disk);
every other file is scanned as text (binary files too, lossily, so plain strings
in a DuckDB or SQLite file are still seen). Font files (the offline Data Docs' and
report's bundled fonts) are searched for exact values only: their glyph tables hold
digit runs shaped like mobile numbers that belong to no one.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from anonymize.errors import LeakFound
from domain import ENTITIES, FieldKind, gb11643_check_digit

__all__ = ["LeakFinding", "LeakReport", "RawIdentifiers", "scan_leaks", "scan_text"]

log = logging.getLogger(__name__)

_ALNUM = re.compile(r"[0-9A-Za-z]+")
_DIGIT_RUN = re.compile(r"\d+[Xx]?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·]+")
_ID_SHAPE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_MOBILE_SHAPE = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d{9})(?![0-9A-Za-z])")
_ASCII_WORD = re.compile(r"^[0-9A-Za-z]+$")
_CJK_WORD = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·]+$")
MIN_ASCII_LEN = 6
MIN_CJK_LEN = 2


class RawIdentifiers:
    """The raw direct-identifier values of a run, by field: the needles of the scan."""

    def __init__(self) -> None:
        self._ascii: dict[str, str] = {}
        self._cjk: dict[str, str] = {}
        self._other: dict[str, str] = {}
        self.skipped_short = 0

    def __len__(self) -> int:
        return len(self._ascii) + len(self._cjk) + len(self._other)

    def __repr__(self) -> str:
        return f"RawIdentifiers({len(self)} values)"

    def add(self, values: Iterable[object], field: str) -> None:
        for v in values:
            if v is None or v is pd.NA or (isinstance(v, float) and v != v):
                continue
            s = str(v).strip()
            if _ASCII_WORD.match(s):
                if len(s) >= MIN_ASCII_LEN:
                    self._ascii[s.upper()] = field
                else:
                    self.skipped_short += 1
            elif _CJK_WORD.match(s):
                if len(s) >= MIN_CJK_LEN:
                    self._cjk[s] = field
                else:
                    self.skipped_short += 1
            elif len(s) >= (MIN_CJK_LEN if _CJK.search(s) else MIN_ASCII_LEN):
                self._other[s] = field
            else:
                self.skipped_short += 1

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> RawIdentifiers:
        """Every direct-identifier column of canonical frames (entity name → frame)."""
        raw = cls()
        for ent_name, frame in frames.items():
            ent = ENTITIES[ent_name]
            for f in ent.fields:
                if f.kind == FieldKind.DIRECT_IDENTIFIER and f.name in frame.columns:
                    raw.add(frame[f.name].dropna().unique().tolist(), f.name)
        return raw

    def occurs_in(self, text: str) -> bool:
        """Whether any raw value occurs in ``text``: one pass over its *distinct* words and
        runs of Chinese characters (a large file of repeated markup costs little)."""
        ascii_, cjk = self._ascii, self._cjk
        if ascii_:
            for run in {r.upper() for r in _ALNUM.findall(text)}:
                if run in ascii_:
                    return True
                if len(run) > MIN_ASCII_LEN and any(
                    d != run and d in ascii_ for d in _DIGIT_RUN.findall(run)
                ):
                    return True
        if cjk:
            lengths = sorted({len(k) for k in cjk})
            for run in set(_CJK.findall(text)):
                for n in lengths:
                    if any(run[i : i + n] in cjk for i in range(len(run) - n + 1)):
                        return True
        return any(needle in text for needle in self._other)

    def find(self, text: str) -> Iterator[str]:
        """The fields of every raw value that occurs in ``text``."""
        ascii_, cjk = self._ascii, self._cjk
        if ascii_:
            for m in _ALNUM.finditer(text):
                run = m.group().upper()
                if run in ascii_:
                    yield ascii_[run]
                    continue
                if len(run) > MIN_ASCII_LEN:
                    for d in _DIGIT_RUN.finditer(run):
                        if d.group() != run and d.group() in ascii_:
                            yield ascii_[d.group()]
        if cjk:
            lengths = sorted({len(k) for k in cjk})
            for m in _CJK.finditer(text):
                run = m.group()
                for n in lengths:
                    for i in range(len(run) - n + 1):
                        hit = cjk.get(run[i : i + n])
                        if hit is not None:
                            yield hit
        for needle, fld in self._other.items():
            if needle in text:
                yield fld


def _pattern_hits(text: str) -> Iterator[str]:
    for m in _ID_SHAPE.finditer(text):
        s = m.group(1).upper()
        if gb11643_check_digit(s[:17]) == s[17]:
            yield "id_number"
    for _ in _MOBILE_SHAPE.finditer(text):
        yield "mobile"


@dataclass(frozen=True, slots=True)
class LeakFinding:
    path: str
    where: str  # "line 12" or "column name"
    kind: str  # "exact" or "pattern"
    field: str  # the identifier field (exact) or shape (pattern)
    count: int

    def __str__(self) -> str:
        return f"{self.path} ({self.where}): {self.count} × {self.kind} {self.field}"


@dataclass(slots=True)
class LeakReport:
    findings: list[LeakFinding] = field(default_factory=list)
    files_scanned: int = 0
    values_known: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def total(self) -> int:
        return sum(f.count for f in self.findings)

    def raise_if_found(self) -> None:
        if self.findings:
            files = len({f.path for f in self.findings})
            raise LeakFound(
                f"leak scan: {self.total} raw identifier(s) in {files} file(s): "
                + "; ".join(str(f) for f in self.findings[:20])
            )


def scan_text(text: str, raw: RawIdentifiers, *, patterns: bool = True) -> Counter[tuple[str, str]]:
    """(kind, field) → count of findings in one text."""
    hits: Counter[tuple[str, str]] = Counter(("exact", f) for f in raw.find(text))
    if patterns:
        hits.update(("pattern", f) for f in _pattern_hits(text))
    return hits


#: files searched for exact values only (see the module doc)
_NO_PATTERNS = frozenset({".ttf", ".otf", ".woff", ".woff2", ".eot"})


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for p in paths:
        p = Path(p)
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.is_file())
        elif p.is_file():
            yield p


def _scan_parquet(path: Path, raw: RawIdentifiers, patterns: bool) -> list[LeakFinding]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    findings = []
    for name in table.column_names:
        col = table.column(name)
        if (
            pa.types.is_string(col.type)
            or pa.types.is_large_string(col.type)
            or pa.types.is_integer(col.type)
            or pa.types.is_dictionary(col.type)
        ):
            values = col.cast(pa.string()) if not pa.types.is_dictionary(col.type) else col
            text = "\n".join(str(v) for v in values.to_pylist() if v is not None)
            for (kind, fld), n in scan_text(text, raw, patterns=patterns).items():
                findings.append(LeakFinding(str(path), f"column {name}", kind, fld, n))
    return findings


def _scan_text_file(path: Path, raw: RawIdentifiers, patterns: bool) -> list[LeakFinding]:
    findings: list[LeakFinding] = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    if not raw.occurs_in(text) and not (patterns and next(_pattern_hits(text), None)):
        return findings  # the common case, in one pass; lines are located only on a find
    for lineno, line in enumerate(text.splitlines(), start=1):
        for (kind, fld), n in scan_text(line, raw, patterns=patterns).items():
            findings.append(LeakFinding(str(path), f"line {lineno}", kind, fld, n))
    return findings


def scan_leaks(paths: Iterable[Path], raw: RawIdentifiers, *, patterns: bool = True) -> LeakReport:
    """Scan files (and directories, recursively) for raw identifiers; see the module doc."""
    report = LeakReport(values_known=len(raw))
    for path in _files(paths):
        report.files_scanned += 1
        if path.suffix == ".parquet":
            report.findings.extend(_scan_parquet(path, raw, patterns))
        else:
            shapes = patterns and path.suffix.lower() not in _NO_PATTERNS
            report.findings.extend(_scan_text_file(path, raw, shapes))
    log.info(
        "leak scan: %d files, %d known raw values: %d finding(s)",
        report.files_scanned,
        len(raw),
        report.total,
    )
    return report
