"""Writing sources in their native formats, byte-for-byte reproducibly.

Every writer returns the record keys of the rows it wrote (a pyarrow string array,
in row order) so the truth tables can name each record.
"""

from __future__ import annotations

import re
import sqlite3
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from islandbridge.synth.fmt import to_str

__all__ = [
    "join_lines",
    "key_array",
    "normalise_zip",
    "write_sqlite",
    "write_xlsx",
]


def key_array(prefix: str, numbers: np.ndarray) -> pa.Array:
    """``prefix`` + each number as text (e.g. ``members:`` + member_id)."""
    return pc.binary_join_element_wise(prefix, to_str(numbers), "")


def join_lines(columns: Sequence[pa.Array], sep: str = ",") -> list[str]:
    """Rows as text lines (with trailing newline)."""
    joined = pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, sep), "\n", "")
    return joined.to_pylist()


def write_sqlite(path: Path, tables: Iterable[tuple[str, str, Sequence[Sequence]]]) -> None:
    """Create ``path`` with each (table, DDL, columns) inserted in the given row order."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        for table, ddl, columns in tables:
            con.execute(ddl)
            marks = ",".join("?" * len(columns))
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", zip(*columns, strict=True))
        con.commit()
    finally:
        con.close()


def normalise_zip(
    path: Path, when: date, transform: Callable[[str, bytes], bytes] | None = None
) -> None:
    """Rewrite a zip (xlsx) with every entry's timestamp pinned to ``when``."""
    stamp = (when.year, when.month, when.day, 0, 0, 0)
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    if transform is not None:
        entries = [(name, transform(name, data)) for name, data in entries]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, data)


_COLUMN_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")


def _xml_text(values: pa.Array) -> pa.Array:
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        values = pc.replace_substring(values, raw, escaped)
    return values


def _sheet_rows(columns: Sequence[np.ndarray], first_row: int, date_style: str) -> list[str]:
    """``<row>`` elements for the data rows: text as inline strings, dates as serials."""
    n = len(columns[0])
    row_no = to_str(np.arange(first_row, first_row + n))
    parts: list[pa.Array | str] = ['<row r="', row_no, '">']
    for i, values in enumerate(columns):
        ref = _COLUMN_LETTERS[i]
        if np.issubdtype(values.dtype, np.datetime64):
            serial = to_str((values.astype("M8[D]") - _EXCEL_EPOCH).astype(np.int64))
            parts += [f'<c r="{ref}', row_no, f'" s="{date_style}" t="n"><v>', serial, "</v></c>"]
        else:
            text = _xml_text(pa.array(values, type=pa.string()))
            parts += [f'<c r="{ref}', row_no, '" t="inlineStr"><is><t xml:space="preserve">']
            parts += [text, "</t></is></c>"]
    parts.append("</row>")
    return pc.binary_join_element_wise(*parts, "").to_pylist()


def write_xlsx(
    path: Path,
    sheet: str,
    title: str,
    header: Sequence[str],
    columns: Sequence[np.ndarray],
    when: date,
) -> None:
    """One sheet: title in row 1, row 2 empty, header in row 3, data from row 4.

    openpyxl writes the workbook around the first data row; the data rows
    themselves are generated vectorised into the sheet XML (openpyxl's per-cell
    writer is far too slow for a million rows). ``datetime64`` columns become
    Excel dates, every other column inline strings.
    """
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    stamp = datetime.combine(when, time(0, 0))
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "人事处"
    wb.properties.lastModifiedBy = "人事处"
    ws = wb.create_sheet(sheet)
    ws.append([title])
    ws.append([])
    ws.append(list(header))
    if len(columns[0]):
        ws.append([c[0].astype(object) if c.dtype.kind == "M" else c[0] for c in columns])
    # ``Workbook.save`` stamps the current time as "modified"; the writer itself does not
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    normalise_zip(path, when, lambda name, data: _fill_sheet(name, data, columns))


def _fill_sheet(name: str, data: bytes, columns: Sequence[np.ndarray]) -> bytes:
    if not name.startswith("xl/worksheets/sheet") or not len(columns[0]):
        return data
    xml = data.decode("utf-8")
    head, rest = xml.split('<row r="4">', 1)
    tail = rest[rest.index("</sheetData>") :]
    match = re.search(r'<c r="[A-Z]+4" s="(\d+)"', '<row r="4">' + rest)
    date_style = match.group(1) if match else "1"
    rows = _sheet_rows(columns, 4, date_style)
    return (head + "".join(rows) + tail).encode("utf-8")
