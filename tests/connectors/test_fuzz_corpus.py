"""The bad-input corpus: every case ends in a clear error naming where, or a whole-file
quarantine (landing with 0 rows and the input rejected) — never a crash, never a partial
landing."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors import ExtractContext, SourceError, extract_to_landing, sign_export
from connectors.trust_store import MappingTrustStore, trust_entry

HEADER = "人员编号,姓名,缴费金额,缴费日期\n"
ROW = "S1,张三,¥1.00,2026/3/1\n"
CSV = {"path": "dues.csv", "format": "csv"}
JSONL = {
    "entity": "study",
    "file": {"path": "learn.jsonl", "format": "jsonl"},
    "columns": {"mobile": "mobile", "minutes": "minutes"},
}
XLSX = {
    "entity": "member",
    "file": {"path": "hr.xlsx", "format": "xlsx"},
    "columns": {"工号": "staff_no", "姓名": "name"},
}


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_KEY = Ed25519PrivateKey.generate()
_TRUST = MappingTrustStore(
    [trust_entry("finance", _KEY.public_key(), department="finance", sources=["demo_source"])]
)


def _signed(d: Path, data: bytes, tamper: bool = False, drop_sig: bool = False) -> dict:
    (d / "dues.csv").write_bytes(data)
    manifest = sign_export(
        _KEY,
        d / "dues.csv",
        department="finance",
        source="demo_source",
        rows=data.count(b"\n") - 1,
        exported_at=datetime(2026, 6, 30, tzinfo=UTC),
        sequence=1,
    )
    if tamper:
        changed = bytearray(data)
        changed[-3] ^= 0x01
        (d / "dues.csv").write_bytes(bytes(changed))
    if drop_sig:
        manifest.unlink()
    return {"file": CSV, "signature": {"required": True}}


def _file(name: str, data: bytes, **source) -> Callable[[Path], dict]:
    def make(d: Path) -> dict:
        (d / name).write_bytes(data)
        return source or {"file": CSV}

    return make


def _truncated_xlsx(d: Path) -> dict:
    data = _xlsx_bytes([["工号", "姓名"], ["T1", "王五"]])
    (d / "hr.xlsx").write_bytes(data[: len(data) // 2])
    return XLSX


def _zip_of_junk(d: Path) -> dict:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<not-a-workbook")
    (d / "hr.xlsx").write_bytes(buf.getvalue())
    return XLSX


def _huge_field(d: Path) -> dict:
    with (d / "dues.csv").open("w", encoding="utf-8") as fh:
        fh.write(HEADER + ROW + "S2,")
        fh.write("张" * (50 * 2**20 // 3))  # 50 MB of UTF-8 in one field
        fh.write(",¥1.00,2026/3/1\n")
    return {"file": CSV}


def _error_after_first_chunks(d: Path) -> dict:
    (d / "dues.csv").write_text(HEADER + ROW * 5 + "S9,李四\n", encoding="utf-8")
    return {"file": {**CSV, "chunk_rows": 2}}


_good_jsonl = json.dumps({"mobile": "13812341234", "minutes": 5})

# case → (make the input, expected outcome, text the message must contain)
CORPUS: dict[str, tuple[Callable[[Path], dict], str, str]] = {
    "empty_file": (_file("dues.csv", b""), "error", "dues.csv: empty file"),
    "header_only": (_file("dues.csv", HEADER.encode()), "empty", ""),
    "csv_cut_mid_quoted_field": (
        _file("dues.csv", (HEADER + ROW + 'S2,"李').encode()), "error",
        "dues.csv, row 3: truncated file",
    ),
    "csv_cut_mid_row": (
        _file("dues.csv", (HEADER + ROW + "S2,李四").encode()), "error",
        "dues.csv, row 3: malformed CSV",
    ),
    "jsonl_cut_mid_object": (
        _file("learn.jsonl", f'{_good_jsonl}\n{{"mobile": "1381'.encode(), **JSONL), "error",
        "learn.jsonl, row 2: invalid JSON",
    ),
    "xlsx_truncated_zip": (_truncated_xlsx, "error", "hr.xlsx: cannot be read as xlsx"),
    "xlsx_zip_without_workbook": (_zip_of_junk, "error", "hr.xlsx: cannot be read as xlsx"),
    "ragged_rows": (
        _file("dues.csv", (HEADER + ROW + "S2,a,b,c,d\n").encode()), "error",
        "dues.csv, row 3: malformed CSV",
    ),
    "wrong_declared_encoding": (
        _file("dues.csv", (HEADER + "S1,张三,1.00,2026/3/1\n").encode("gbk"),
              file={**CSV, "encoding": "utf-8"}),
        "error", "dues.csv, row 1: not valid utf-8",
    ),
    "binary_junk": (_file("dues.csv", bytes(range(256)) * 50), "error", "dues.csv"),
    "nul_bytes": (
        _file("dues.csv", (HEADER + ROW + "S1,\x00\x00,1,2\n").encode()), "error",
        "dues.csv, row 3: NUL character",
    ),
    "huge_single_field": (_huge_field, "error", "dues.csv, row 3, column '姓名': field longer"),
    "duplicate_headers": (
        _file("dues.csv", "人员编号,姓名,姓名,缴费金额,缴费日期\n".encode()), "error",
        "dues.csv: duplicate column headers",
    ),
    "formula_cell": (
        lambda d: _file("hr.xlsx", _xlsx_bytes([["工号", "姓名"], ["T1", "=1+1"]]), **XLSX)(d),
        "error", "hr.xlsx, row 2, column '姓名': formula cell",
    ),
    "unexpected_column": (
        _file("dues.csv", (HEADER.strip() + ",备注\n" + ROW.strip() + ",x\n").encode()),
        "error", "dues.csv, column '备注': unexpected column",
    ),
    "error_after_chunks_landed": (_error_after_first_chunks, "error", "dues.csv, row 7"),
    "tampered_signed_export": (
        lambda d: _signed(d, (HEADER + ROW).encode(), tamper=True), "rejected",
        "signature_invalid",
    ),
    "missing_signature": (
        lambda d: _signed(d, (HEADER + ROW).encode(), drop_sig=True), "rejected",
        "signature_missing",
    ),
    "sql_server_down": (
        lambda d: {"connector": "sql", "file": None, "entity": "member",
                   "sql": {"url": "postgresql+psycopg://u:pw@127.0.0.1:1/x", "table": "t",
                           "key_column": "id"},
                   "columns": {"xm": "name"}},
        "error", "table t: database error",
    ),
    "sqlite_file_is_junk": (
        lambda d: (d / "dept.sqlite").write_bytes(b"junk" * 100) and {
            "connector": "sql", "file": None, "entity": "member",
            "sql": {"url": f"sqlite:///{d}/dept.sqlite", "table": "t", "key_column": "id"},
            "columns": {"xm": "name"}},
        "error", "table t: database error",
    ),
}  # fmt: skip


class _Html(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        code, body, ctype = self.server.reply
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def bad_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _assert_no_partial_landing(landing_dir: Path) -> None:
    leftovers = sorted(p.name for p in landing_dir.iterdir()) if landing_dir.exists() else []
    assert leftovers == [], f"partial landing left: {leftovers}"


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_bad_input_is_a_clear_error_or_a_whole_file_quarantine(case, make_source, tmp_path):
    make, outcome, message = CORPUS[case]
    sources = tmp_path / "sources"
    sources.mkdir()
    source = make_source(**make(sources))
    ctx = ExtractContext(sources_dir=sources, trust_store=_TRUST)
    landing_dir = tmp_path / "landing"
    if outcome == "error":
        with pytest.raises(SourceError) as err:
            extract_to_landing(
                source, ctx, landing_dir / "rows.parquet", landing_dir / "provenance.json"
            )
        assert message in str(err.value)
        assert "pw@" not in str(err.value)
        _assert_no_partial_landing(landing_dir)
        return
    landing = extract_to_landing(
        source, ctx, landing_dir / "rows.parquet", landing_dir / "provenance.json"
    )
    assert landing.rows == 0 and pd.read_parquet(landing.path).empty
    if outcome == "rejected":
        assert [i.rejected_reason for i in landing.rejected] == [message]
        assert landing.rejected[0].location == "dues.csv"
    else:
        assert landing.rejected == []


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ((200, b"<html>login</html>", "text/html"), "page 1: response is not JSON"),
        ((500, b"{}", "application/json"), "page 1: HTTP 500 after 1 retries"),
        ((200, b'{"items": "nope"}', "application/json"), "no list of objects in 'items'"),
    ],
)
def test_bad_api_is_a_clear_error_without_partial_landing(
    reply, message, bad_api, make_source, tmp_path
):
    bad_api.reply = reply
    source = make_source(
        connector="http", file=None, entity="volunteer", columns={"xm": "name"},
        http={"url": f"http://127.0.0.1:{bad_api.server_port}/r", "key_field": "id",
              "key_prefix": "v", "retries": 1},
    )  # fmt: skip
    with pytest.raises(SourceError, match=message):
        extract_to_landing(
            source,
            ExtractContext(sources_dir=tmp_path),
            tmp_path / "landing" / "rows.parquet",
            tmp_path / "landing" / "provenance.json",
        )
    _assert_no_partial_landing(tmp_path / "landing")
