from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from connectors import SourceError, connector_for, extract_to_landing
from connectors.files import detect_encoding

HEADER = "人员编号,姓名,缴费金额,缴费日期\n"
ROWS = "S2022001,张三,￥12.50,2026/3/15\nT1001,李四,￥30.00,2026年3月16日\n"


def read_all(source, ctx) -> pd.DataFrame:
    frames = [c.frame for c in connector_for(source, ctx).read()]
    return pd.concat(frames, ignore_index=True)


def test_reads_gbk_csv_with_detected_encoding(make_source, sources_dir, ctx):
    (sources_dir / "dues.csv").write_bytes((HEADER + ROWS).encode("gbk"))
    chunk = next(connector_for(make_source(), ctx).read())
    assert chunk.input.encoding == "gb18030"
    assert list(chunk.frame["姓名"]) == ["张三", "李四"]
    assert list(chunk.frame["record_key"]) == ["dues.csv:2", "dues.csv:3"]


def test_reads_utf8_bom_csv(make_source, sources_dir, ctx):
    (sources_dir / "dues.csv").write_bytes(b"\xef\xbb\xbf" + (HEADER + ROWS).encode())
    frame = read_all(make_source(), ctx)
    assert "人员编号" in frame.columns


def test_detects_encodings():
    text = ("人员编号,姓名\n" + "张三,李四,王五,赵六\n" * 20).encode
    assert detect_encoding(text("gbk")) in {"gb18030", "gbk"}
    assert detect_encoding(text("utf-8")) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbf" + text("utf-8")) == "utf-8-sig"


def test_wrong_declared_encoding_names_file_and_line(make_source, sources_dir, ctx):
    (sources_dir / "dues.csv").write_bytes((HEADER + ROWS).encode("gbk"))
    source = make_source(file={"path": "dues.csv", "format": "csv", "encoding": "utf-8"})
    with pytest.raises(SourceError, match=r"dues\.csv.*row 1.*not valid utf-8"):
        read_all(source, ctx)


def test_empty_file_is_a_clear_error(make_source, sources_dir, ctx):
    (sources_dir / "dues.csv").write_bytes(b"")
    with pytest.raises(SourceError, match=r"dues\.csv.*empty file"):
        read_all(make_source(), ctx)


def test_header_only_file_has_no_rows(make_source, sources_dir, ctx):
    (sources_dir / "dues.csv").write_text(HEADER, encoding="utf-8")
    assert read_all(make_source(), ctx).empty


def test_ragged_rows_are_a_clear_error(make_source, sources_dir, ctx):
    (sources_dir / "dues.csv").write_text(
        HEADER + "S1,张三,¥1.00,2026/3/1,extra,more\n", encoding="utf-8"
    )
    with pytest.raises(SourceError, match=r"dues\.csv, row 2: malformed CSV"):
        read_all(make_source(), ctx)


def test_binary_junk_is_a_clear_error(make_source, sources_dir, ctx):
    (sources_dir / "dues.csv").write_bytes(bytes(range(256)) * 50)
    with pytest.raises(SourceError, match=r"dues\.csv"):
        read_all(make_source(), ctx)


def test_duplicate_headers_are_a_clear_error(make_source, sources_dir, ctx):
    (sources_dir / "dues.csv").write_text("姓名,姓名\n张三,李四\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"dues\.csv"):
        read_all(make_source(), ctx)


def test_no_matching_file_is_a_clear_error(make_source, ctx):
    with pytest.raises(SourceError, match="no file matches"):
        read_all(make_source(), ctx)


def _workbook(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名册"
    for row in rows:
        ws.append(row)
    wb.save(path)


XLSX_SOURCE = {
    "entity": "member",
    "file": {"path": "hr.xlsx", "format": "xlsx", "sheet": "名册", "header_marker": "工号"},
    "columns": {"工号": "staff_no", "姓名": "name"},
}


def test_xlsx_header_found_below_title_rows(make_source, sources_dir, ctx):
    _workbook(
        sources_dir / "hr.xlsx", [["某某大学教职工名册"], [], ["工号", "姓名"], ["T1", "王五"]]
    )
    frame = read_all(make_source(**XLSX_SOURCE), ctx)
    assert list(frame["工号"]) == ["T1"]
    assert list(frame["record_key"]) == ["hr.xlsx:4"]


def test_xlsx_formula_cell_is_refused_naming_row_and_column(make_source, sources_dir, ctx):
    _workbook(sources_dir / "hr.xlsx", [["工号", "姓名"], ["T1", '=HYPERLINK("x")']])
    with pytest.raises(SourceError, match=r"hr\.xlsx, row 2, column '姓名': formula cell"):
        read_all(make_source(**XLSX_SOURCE), ctx)


def test_xlsx_without_header_marker_is_a_clear_error(make_source, sources_dir, ctx):
    _workbook(sources_dir / "hr.xlsx", [["编号", "姓名"], ["T1", "王五"]])
    with pytest.raises(SourceError, match="no header row"):
        read_all(make_source(**XLSX_SOURCE), ctx)


JSONL_SOURCE = {
    "entity": "study",
    "file": {"path": "learn.jsonl", "format": "jsonl"},
    "columns": {"mobile": "mobile", "minutes": "minutes"},
}


def test_jsonl_invalid_line_names_the_line(make_source, sources_dir, ctx):
    good = json.dumps({"mobile": "13812341234", "minutes": 5})
    (sources_dir / "learn.jsonl").write_text(f"{good}\n{{truncated\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"learn\.jsonl, row 2: invalid JSON"):
        read_all(make_source(**JSONL_SOURCE), ctx)


def test_jsonl_keys_are_physical_lines(make_source, sources_dir, ctx):
    good = json.dumps({"mobile": "13812341234", "minutes": 5})
    (sources_dir / "learn.jsonl").write_text(f"{good}\n\n{good}\n", encoding="utf-8")
    assert list(read_all(make_source(**JSONL_SOURCE), ctx)["record_key"]) == [
        "learn.jsonl:1",
        "learn.jsonl:3",
    ]


def test_json_list_and_parquet(make_source, sources_dir, ctx):
    items = [{"mobile": "13812341234", "minutes": 5}]
    (sources_dir / "learn.json").write_text(json.dumps(items), encoding="utf-8")
    pd.DataFrame(items).to_parquet(sources_dir / "learn.parquet")
    for fmt in ("json", "parquet"):
        spec = {**JSONL_SOURCE, "file": {"path": f"learn.{fmt}", "format": fmt}}
        assert len(read_all(make_source(**spec), ctx)) == 1


def test_json_that_is_not_a_list_is_a_clear_error(make_source, sources_dir, ctx):
    (sources_dir / "learn.json").write_text('"hello"', encoding="utf-8")
    spec = {**JSONL_SOURCE, "file": {"path": "learn.json", "format": "json"}}
    with pytest.raises(SourceError, match="expected a JSON list"):
        read_all(make_source(**spec), ctx)


def _signed_source(sources_dir, make_source, signer):
    (sources_dir / "dues.csv").write_text(HEADER + ROWS, encoding="utf-8")
    signer.sign(sources_dir / "dues.csv", rows=2)
    return make_source(signature={"required": True})


def test_signed_export_is_accepted(make_source, sources_dir, ctx, tmp_path, signer):
    landing = extract_to_landing(
        _signed_source(sources_dir, make_source, signer),
        ctx,
        tmp_path / "landing" / "rows.parquet",
        tmp_path / "landing" / "provenance.json",
    )
    assert landing.rows == 2
    assert landing.inputs[0].signature == "valid"


def test_tampered_export_is_refused_whole(make_source, sources_dir, ctx, tmp_path, signer):
    source = _signed_source(sources_dir, make_source, signer)
    path = sources_dir / "dues.csv"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # one byte changed after signing
    path.write_bytes(bytes(data))
    landing = extract_to_landing(
        source, ctx, tmp_path / "landing" / "rows.parquet", tmp_path / "landing" / "provenance.json"
    )
    assert landing.rows == 0
    assert landing.rejected[0].rejected_reason == "signature_invalid"
    assert landing.rejected[0].rows == 2
    assert pd.read_parquet(landing.path).empty


def test_missing_signature_is_refused(make_source, sources_dir, ctx, tmp_path, signer):
    source = _signed_source(sources_dir, make_source, signer)
    (sources_dir / "dues.csv.manifest.json").unlink()
    landing = extract_to_landing(
        source, ctx, tmp_path / "landing" / "rows.parquet", tmp_path / "landing" / "provenance.json"
    )
    assert landing.rejected[0].rejected_reason == "signature_missing"


def _csv_source(make_source, **file):
    return make_source(file={"path": "dues.csv", "format": "csv", **file})


def test_csv_is_read_in_chunks_with_physical_line_keys(make_source, sources_dir, ctx):
    body = "".join(f"S{i},张三,¥1.00,2026/3/1\n" for i in range(1, 8))
    (sources_dir / "dues.csv").write_text(HEADER + body, encoding="utf-8")
    chunks = list(connector_for(_csv_source(make_source, chunk_rows=3), ctx).read())
    assert [len(c.frame) for c in chunks] == [3, 3, 1]
    assert chunks[-1].input.rows == 7
    keys = [k for c in chunks for k in c.frame["record_key"]]
    assert keys == [f"dues.csv:{i}" for i in range(2, 9)]


def test_csv_keys_count_blank_lines_and_multiline_fields(make_source, sources_dir, ctx):
    text = HEADER + 'S1,"张\n三",¥1.00,2026/3/1\n\nS2,李四,,2026/3/2\r\nS3,王五,¥2.00,2026/3/3\n'
    (sources_dir / "dues.csv").write_text(text, encoding="utf-8", newline="")
    frame = read_all(_csv_source(make_source, chunk_rows=1), ctx)
    assert list(frame["record_key"]) == ["dues.csv:2", "dues.csv:5", "dues.csv:6"]
    assert frame.loc[0, "姓名"] == "张\n三"
    assert frame["缴费金额"].isna().tolist() == [False, True, False]  # empty field → null


def test_csv_header_found_below_title_rows(make_source, sources_dir, ctx):
    text = "某某大学党费缴纳明细\n导出日期：2026-06-30\n" + HEADER + "S1,张三,￥1.00,2026/3/1\n"
    (sources_dir / "dues.csv").write_text(text, encoding="gbk")
    frame = read_all(_csv_source(make_source, header_marker="人员编号"), ctx)
    assert list(frame["record_key"]) == ["dues.csv:4"]


def test_tsv_is_tab_separated(make_source, sources_dir, ctx):
    (sources_dir / "dues.tsv").write_text(
        HEADER.replace(",", "\t") + "S1\t张三\t¥1.00\t2026/3/1\n", encoding="utf-8"
    )
    frame = read_all(make_source(file={"path": "dues.tsv", "format": "csv"}), ctx)
    assert frame.loc[0, "姓名"] == "张三"


def test_row_with_too_few_fields_is_a_clear_error(make_source, sources_dir, ctx):
    (sources_dir / "dues.csv").write_text(HEADER + "S1,张三,¥1.00,2026/3/1\nS2,李四\n", "utf-8")
    with pytest.raises(SourceError, match=r"dues\.csv, row 3: malformed CSV: wrong number"):
        read_all(make_source(), ctx)


def test_decoding_error_deep_in_a_large_file_names_its_line(make_source, sources_dir, ctx):
    body = "S1,张三,¥1.00,2026/3/1\n" * 60_000
    data = (HEADER + body).encode("utf-8") + b"S9,\xff\xfe,1,2026/3/1\n"
    (sources_dir / "dues.csv").write_bytes(data)
    source = _csv_source(make_source, encoding="utf-8")
    with pytest.raises(SourceError, match=r"dues\.csv, row 60002: not valid utf-8"):
        read_all(source, ctx)


def test_field_longer_than_the_limit_names_file_row_and_column(make_source, sources_dir, ctx):
    (sources_dir / "dues.csv").write_text(
        HEADER + "S1,张三,¥1.00,2026/3/1\nS2," + "长" * 50 + ",¥1.00,2026/3/1\n", "utf-8"
    )
    with pytest.raises(
        SourceError, match=r"dues\.csv, row 3, column '姓名': field longer than 20 characters"
    ):
        read_all(_csv_source(make_source, max_field_chars=20), ctx)


def test_multiline_field_longer_than_the_limit_is_refused(make_source, sources_dir, ctx):
    field = '"' + "x\n" * 30 + '"'
    (sources_dir / "dues.csv").write_text(HEADER + f"S1,{field},¥1.00,2026/3/1\n", "utf-8")
    with pytest.raises(SourceError, match=r"dues\.csv, row 2.*field longer than 20"):
        read_all(_csv_source(make_source, max_field_chars=20), ctx)


def test_50_mb_single_field_is_refused_with_bounded_memory(make_source, sources_dir, ctx):
    import tracemalloc

    with (sources_dir / "dues.csv").open("w", encoding="utf-8") as fh:
        fh.write(HEADER + "S1,张三,¥1.00,2026/3/1\nS2,")
        fh.write("x" * (50 * 2**20))
        fh.write(",¥1.00,2026/3/1\n")
    tracemalloc.start()
    try:
        with pytest.raises(SourceError, match=r"row 3, column '姓名': field longer than 1,000,000"):
            read_all(_csv_source(make_source), ctx)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20  # never the whole 50 MB field (nor the whole file) in memory


def test_large_csv_is_read_with_bounded_memory(make_source, sources_dir, ctx):
    import tracemalloc

    body = "".join(f"S{i:07d},张三,¥12.50,2026/3/15\n" for i in range(300_000))
    (sources_dir / "dues.csv").write_text(HEADER + body, encoding="utf-8")  # 17 MB as str
    tracemalloc.start()
    try:
        rows = 0
        for chunk in connector_for(_csv_source(make_source, chunk_rows=5_000), ctx).read():
            rows += len(chunk.frame)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows == 300_000
    assert peak < 10 * 2**20  # a chunk and a text block, not the whole file


def test_jsonl_is_read_in_chunks_and_a_key_absent_from_a_chunk_is_null(
    make_source, sources_dir, ctx
):
    lines = [{"mobile": "13812341234"}, {"mobile": "13812341235"}, {"minutes": 5}]
    text = "\n".join(json.dumps(x) for x in lines) + "\n"
    (sources_dir / "learn.jsonl").write_text(text, encoding="utf-8")
    spec = {**JSONL_SOURCE, "file": {"path": "learn.jsonl", "format": "jsonl", "chunk_rows": 2}}
    chunks = list(connector_for(make_source(**spec), ctx).read())
    assert [len(c.frame) for c in chunks] == [2, 1]
    assert chunks[0].frame["minutes"].isna().all()  # the key appears only in a later chunk
    assert list(chunks[1].frame["record_key"]) == ["learn.jsonl:3"]


def test_jsonl_key_absent_from_the_whole_file_is_a_missing_column(make_source, sources_dir, ctx):
    (sources_dir / "learn.jsonl").write_text('{"mobile": "13812341234"}\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"learn\.jsonl, column 'minutes': required column"):
        read_all(make_source(**JSONL_SOURCE), ctx)


def test_jsonl_keys_do_not_split_on_unicode_line_separators(make_source, sources_dir, ctx):
    obj = json.dumps({"mobile": "13812341234", "minutes": "5\u2028"}, ensure_ascii=False)
    (sources_dir / "learn.jsonl").write_text(f"{obj}\n{obj}\n", encoding="utf-8")
    frame = read_all(make_source(**JSONL_SOURCE), ctx)
    assert list(frame["record_key"]) == ["learn.jsonl:1", "learn.jsonl:2"]


def test_jsonl_record_longer_than_the_limit_is_refused(make_source, sources_dir, ctx):
    obj = json.dumps({"mobile": "1" * 100, "minutes": 5})
    (sources_dir / "learn.jsonl").write_text(f"{obj}\n", encoding="utf-8")
    spec = {
        **JSONL_SOURCE,
        "file": {"path": "learn.jsonl", "format": "jsonl", "max_field_chars": 50},
    }
    with pytest.raises(SourceError, match=r"learn\.jsonl, row 1: record longer than 50"):
        read_all(make_source(**spec), ctx)


def test_integer_ids_next_to_missing_values_keep_every_digit(make_source, sources_dir, ctx):
    """pandas turns an int column with a null into floats: an 18-digit ID would lose digits."""
    ident = 110105199005151237
    items = [{"sfzh": ident, "xm": "张三"}, {"xm": "李四"}]
    (sources_dir / "r.json").write_text(json.dumps(items), encoding="utf-8")
    (sources_dir / "r.jsonl").write_text("\n".join(map(json.dumps, items)), encoding="utf-8")
    pd.DataFrame({"sfzh": pd.array([ident, None], dtype="Int64"), "xm": ["a", "b"]}).to_parquet(
        sources_dir / "r.parquet"
    )
    for fmt in ("json", "jsonl", "parquet"):
        source = make_source(
            entity="member",
            file={"path": f"r.{fmt}", "format": fmt},
            columns={"sfzh": "id_number", "xm": "name"},
        )
        frame = read_all(source, ctx)
        assert frame["sfzh"].astype("string").iloc[0] == str(ident), fmt
