"""The extraction's columnar paths (issue 13): plain CSV files landed as Arrow tables,
landed rows written in large row groups, a source's export sequences recorded at once."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

import connectors.files as files
from connectors import ExportSequenceStore, SourceError, connector_for, extract_to_landing

HEADER = "人员编号,姓名,缴费金额,缴费日期,备注\n"
ROWS = "".join(
    f"S{i},张{i},{i}.00,2026/3/{i % 28 + 1},{'' if i % 3 else '补缴'}\n" for i in range(40)
)


def _dues(make_source, **file):
    return make_source(
        file={"path": "*.csv", "format": "csv", "encoding": "gbk", **file},
        ignore_columns=["备注"],
    )


def _land(source, ctx, tmp_path, name="l"):
    folder = tmp_path / name
    extract_to_landing(source, ctx, folder / "rows.parquet", folder / "p.json")
    return folder / "rows.parquet"


def _write(sources_dir, name: str, text: str) -> None:
    (sources_dir / name).write_bytes(text.encode("gbk"))


def test_a_plain_csv_file_reaches_the_landing_as_an_arrow_table(make_source, ctx, sources_dir):
    _write(sources_dir, "2026.csv", HEADER + ROWS)
    chunks = list(connector_for(_dues(make_source), ctx).read())
    assert [c.table is not None for c in chunks] == [True]
    assert chunks[0].frame["姓名"].iloc[1] == "张1"  # a frame is still made when asked


def test_fast_and_exact_readers_land_the_same_rows(
    make_source, ctx, sources_dir, tmp_path, monkeypatch
):
    _write(sources_dir, "2025.csv", HEADER + ROWS)
    _write(sources_dir, "2026.csv", HEADER + ROWS.replace("张", "李"))
    source = _dues(make_source, filename_fields={"dues_month": "stem"})
    fast = pq.read_table(_land(source, ctx, tmp_path, "fast"))
    monkeypatch.setattr(files, "_FAST_CSV", False)
    exact = pq.read_table(_land(source, ctx, tmp_path, "exact"))
    assert fast.num_rows == 80 and fast.equals(exact)
    assert fast.column("__file_dues_month").unique().to_pylist() == ["2025", "2026"]


def test_many_small_files_land_as_one_row_group(make_source, ctx, sources_dir, tmp_path):
    for year in range(2020, 2026):
        _write(sources_dir, f"{year}.csv", HEADER + ROWS)
    landed = pq.ParquetFile(_land(_dues(make_source), ctx, tmp_path))
    assert landed.metadata.num_rows == 240 and landed.metadata.num_row_groups == 1


@pytest.mark.parametrize(
    ("bad_line", "problem", "column"),
    [
        ("S9,张9,9.00,2026/3/9,,多余\n", "wrong number of fields", ""),
        ("S9,张9,9.00,2026/3/9,\x00\n", "NUL character", ""),
        ("S9,张9,9.00," + "9" * 60 + ",\n", "max_field_chars", "缴费日期"),
    ],
    ids=["ragged", "nul", "too_long"],
)
def test_a_bad_row_among_plain_ones_is_named_by_file_row_and_field(
    make_source, ctx, sources_dir, tmp_path, bad_line, problem, column
):
    lines = (HEADER + ROWS).splitlines(keepends=True)
    _write(sources_dir, "2026.csv", "".join([*lines[:20], bad_line, *lines[20:]]))
    source = _dues(make_source, max_field_chars=50)
    with pytest.raises(SourceError) as err:
        _land(source, ctx, tmp_path)
    assert err.value.where == "2026.csv" and err.value.row == 21
    assert problem in err.value.problem and err.value.column == column
    assert "张9" not in str(err.value) and "9999" not in str(err.value)


def test_a_byte_not_in_the_encoding_is_named_by_file_and_row(
    make_source, ctx, sources_dir, tmp_path
):
    data = bytearray((HEADER + ROWS).encode("gbk"))
    at = data.index("张7".encode("gbk"))
    data[at : at + 2] = b"\xff\xff"  # no GBK character
    (sources_dir / "2026.csv").write_bytes(bytes(data))
    with pytest.raises(SourceError, match=r"2026\.csv, row 9: not valid gb18030 text"):
        _land(_dues(make_source), ctx, tmp_path)


def _signed(sources_dir, signer, folders: dict[str, int]) -> None:
    for folder, sequence in folders.items():
        (sources_dir / folder).mkdir()
        export = sources_dir / folder / "dues.csv"
        export.write_text(HEADER + ROWS, encoding="utf-8")
        signer.sign(export, rows=40, sequence=sequence)


def test_a_sources_signed_files_are_recorded_in_one_write(
    make_source, ctx, sources_dir, tmp_path, signer, monkeypatch
):
    folders = {"a": 1, "b": 1, "c": 1, "d": 1}
    for folder in folders:
        (sources_dir / folder).mkdir()
        export = sources_dir / folder / f"{folder}.csv"
        export.write_text(HEADER + ROWS, encoding="utf-8")
        signer.sign(export, rows=40, sequence=1)
    writes = []
    real = ExportSequenceStore._write
    monkeypatch.setattr(
        ExportSequenceStore, "_write", staticmethod(lambda p, e: writes.append(p) or real(p, e))
    )
    source = make_source(
        file={"path": "*/*.csv", "format": "csv"},
        signature={"required": True},
        ignore_columns=["备注"],
    )
    landing = extract_to_landing(
        source, ctx, tmp_path / "l" / "r.parquet", tmp_path / "l" / "p.json"
    )
    assert landing.rows == 160 and not landing.rejected
    assert len(writes) == 1
    state = json.loads(writes[0].read_text("utf-8"))["exports"]
    assert sorted(state) == ["a.csv", "b.csv", "c.csv", "d.csv"]


def test_an_older_export_after_a_newer_one_in_the_same_read_is_a_replay(
    make_source, ctx, sources_dir, tmp_path, signer
):
    """Two folders hold ``dues.csv``: the second read is older than the first, accepted
    moments before in the same extraction (checked against it, not the state as read)."""
    _signed(sources_dir, signer, {"a": 2, "b": 1})
    source = make_source(
        file={"path": "*/dues.csv", "format": "csv"},
        signature={"required": True},
        ignore_columns=["备注"],
    )
    landing = extract_to_landing(
        source, ctx, tmp_path / "l" / "r.parquet", tmp_path / "l" / "p.json"
    )
    assert {i.location: i.rejected_reason for i in landing.rejected} == {
        "b/dues.csv": "signature_replayed"
    }
    assert landing.rows == 40


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@pytest.mark.parametrize(
    ("inner", "attrs"),
    [
        ("<is><t>张三</t></is>", ""),
        ('<is><t xml:space="preserve"> 1998.10 </t></is>', ' s="3"'),
        ("<is><t/></is>", ""),
    ],
    ids=["text", "spaces_and_style", "empty"],
)
def test_a_plain_inline_string_reads_as_openpyxl_reads_it(inner, attrs):
    import xml.etree.ElementTree as ET

    from openpyxl.worksheet._reader import WorkSheetParser

    cell = ET.fromstring(f'<c xmlns="{_NS}" r="B7" t="inlineStr"{attrs}>{inner}</c>')
    expected = WorkSheetParser(None, [], data_only=False).parse_cell(cell)
    assert expected["data_type"] == "s"
    assert files._plain_inline_string(cell) == expected["value"]


@pytest.mark.parametrize(
    "xml",
    [
        '<c r="B7" t="inlineStr"><is><r><t>张</t></r><r><t>三</t></r></is></c>',  # rich text
        '<c r="B7" t="inlineStr"><is><t>张三</t><rPh sb="0" eb="1"><t>ZS</t></rPh></is></c>',
        '<c r="B7" t="inlineStr"><f>A1</f><is><t>x</t></is></c>',  # a formula
        '<c t="inlineStr"><is><t>x</t></is></c>',  # no reference: the next column
        '<c r="B7" t="s"><v>0</v></c>',  # a shared string
    ],
    ids=["rich", "phonetic", "formula", "no_reference", "shared"],
)
def test_any_other_cell_is_left_to_openpyxl(xml):
    import xml.etree.ElementTree as ET

    cell = ET.fromstring(xml.replace("<c ", f'<c xmlns="{_NS}" ', 1))
    assert files._plain_inline_string(cell) is None
