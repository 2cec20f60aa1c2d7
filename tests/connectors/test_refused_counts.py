"""A refused export is counted in records by the reader that would have read it."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from connectors import extract_to_landing


def _tamper(path):
    """Change one amount after signing (the file stays well-formed)."""
    text = path.read_text("utf-8")
    path.write_text(text.replace(",1,", ",7,", 1), encoding="utf-8")


def _land(source, ctx, folder):
    landing = extract_to_landing(
        source, ctx, folder / "rows.parquet", folder / "provenance.json", folder / "refused.parquet"
    )
    refused = pd.read_parquet(folder / "refused.parquet")  # the refused records, quarantined
    assert len(refused) == sum(i.rows for i in landing.rejected)
    assert set(refused["reasons"]) <= {i.rejected_reason for i in landing.rejected}
    return landing


def _signed(sources_dir, make_source, name, spec, signer, rows):
    signer.sign(sources_dir / name, rows=rows)
    return make_source(**spec, signature={"required": True})


def test_refused_xlsx_counts_its_sheet_rows_not_newline_bytes(
    make_source, sources_dir, ctx, tmp_path, signer
):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名册"
    ws.append(["某某大学教职工名册"])  # a title row above the header
    ws.append(["工号", "姓名"])
    for i in range(670):
        ws.append([f"T{i:04d}", "王五"])
    wb.save(sources_dir / "hr.xlsx")
    spec = {
        "entity": "member",
        "file": {"path": "hr.xlsx", "format": "xlsx", "sheet": "名册", "header_marker": "工号"},
        "columns": {"工号": "staff_no", "姓名": "name"},
    }
    source = _signed(sources_dir, make_source, "hr.xlsx", spec, signer, 670)
    (sources_dir / "hr.xlsx").write_bytes((sources_dir / "hr.xlsx").read_bytes() + b"\n")
    landing = _land(source, ctx, tmp_path / "l")
    assert landing.rows == 0
    [refused] = landing.rejected
    assert refused.rejected_reason == "signature_invalid"
    assert refused.rows == 670 and not refused.rows_unknown


def test_refused_jsonl_counts_every_record(make_source, sources_dir, ctx, tmp_path, signer):
    lines = [json.dumps({"mobile": f"1390000{i:04d}", "course_id": "C1"}) for i in range(25)]
    (sources_dir / "learn.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = {
        "entity": "study",
        "file": {"path": "learn.jsonl", "format": "jsonl"},
        "columns": {"mobile": "mobile", "course_id": "course_id"},
    }
    source = _signed(sources_dir, make_source, "learn.jsonl", spec, signer, 25)
    text = (sources_dir / "learn.jsonl").read_text("utf-8")
    (sources_dir / "learn.jsonl").write_text(text.replace("C1", "C2", 1), encoding="utf-8")
    [refused] = _land(source, ctx, tmp_path / "l").rejected
    assert refused.rows == 25


@pytest.mark.parametrize("quoted_newlines", [0, 3])
def test_refused_csv_counts_records_not_lines(
    make_source, sources_dir, ctx, tmp_path, quoted_newlines, signer
):
    rows = [f'S{i},"张{chr(10) if i < quoted_newlines else ""}三",1,2026/3/1' for i in range(9)]
    (sources_dir / "dues.csv").write_text(
        "人员编号,姓名,缴费金额,缴费日期\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    source = _signed(sources_dir, make_source, "dues.csv", {}, signer, 9)
    _tamper(sources_dir / "dues.csv")
    [refused] = _land(source, ctx, tmp_path / "l").rejected
    assert refused.rows == 9


def test_refused_file_that_cannot_be_read_is_marked_uncounted(
    make_source, sources_dir, ctx, tmp_path, signer
):
    (sources_dir / "dues.csv").write_text("人员编号,姓名,缴费金额,缴费日期\nS1,张三,1,2026/3/1\n")
    source = _signed(sources_dir, make_source, "dues.csv", {}, signer, 1)
    (sources_dir / "dues.csv").write_bytes(b"\x00\x01 not a csv at all")
    [refused] = _land(source, ctx, tmp_path / "l").rejected
    assert refused.rows == 0 and refused.rows_unknown
