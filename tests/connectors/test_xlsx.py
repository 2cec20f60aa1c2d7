"""xlsx as departments export it: title rows, Chinese headers, numeric ID and mobile cells,
date cells, merged cells, hidden rows and sheets, error values. Built with openpyxl (and
the sheet XML patched where Excel writes what openpyxl will not), never from synth."""

from __future__ import annotations

import zipfile
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from connectors import SourceError, connector_for, extract_to_landing, standardise
from domain import gb11643_check_digit

BODY = "11010519491231002"
ID = BODY + gb11643_check_digit(BODY)  # 11010519491231002X
ID_DIGITS = "11010519900515123" + gb11643_check_digit("11010519900515123")

SOURCE = {
    "entity": "member",
    "file": {"path": "hr.xlsx", "format": "xlsx", "sheet": "教职工名册", "header_marker": "工号"},
    "columns": {
        "工号": "staff_no",
        "姓名": "name",
        "所在单位": "college",
        "身份证号码": "id_number",
        "手机号码": "mobile",
        "出生日期": "birth_date",
    },
}
HEADER = ["工号", "所在单位", "姓名", "身份证号码", "手机号码", "出生日期"]


def _export(path, rows, *, merges=(), hidden_rows=(), hidden_sheet=False, date_cells=True):
    """人事处's roster: a merged title row, a blank row, the header in row 3, data from row 4."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "教职工名册"
    ws.append(["某某大学教职工名册（导出日期：2026年6月30日）"])
    ws.merge_cells("A1:F1")
    ws.append([])
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    if date_cells:
        for cell in ws["F"][3:]:
            cell.number_format = "yyyy-mm-dd"
    for ref in merges:
        ws.merge_cells(ref)
    for r in hidden_rows:
        ws.row_dimensions[r].hidden = True
    if hidden_sheet:
        old = wb.create_sheet("旧名册")
        old.append(HEADER)
        old.sheet_state = "hidden"
    wb.save(path)


def _read(make_source, ctx, **spec):
    source = make_source(**{**SOURCE, "file": {**SOURCE["file"], **spec}})
    chunks = list(connector_for(source, ctx).read())
    return source, chunks[0].frame, chunks[0].input


def test_typed_cells_become_exact_text(make_source, sources_dir, ctx):
    _export(
        sources_dir / "hr.xlsx",
        [
            ["T1", "计算机学院", "王五", ID_DIGITS, 15639811899, datetime(1990, 5, 15)],  # noqa: DTZ001
            ["T2", "计算机学院", "赵六", float(ID_DIGITS), 15639811899.0, date(1985, 1, 2)],
            ["T3", "计算机学院", "钱七", ID, "13812341234", "1988年3月4日"],
        ],
    )
    source, frame, _ = _read(make_source, ctx)
    assert list(frame["手机号码"]) == ["15639811899", "15639811899", "13812341234"]
    assert list(frame["出生日期"]) == ["1990-05-15", "1985-01-02", "1988年3月4日"]
    assert "e+17" in frame.loc[1, "身份证号码"]  # a float, as Excel keeps it: digits lost
    out = standardise(frame, source)
    assert list(out["id_number"].fillna("NA")) == [ID_DIGITS, "NA", ID]
    assert list(out["parse_errors"]) == ["", "id_precision_lost", ""]
    assert [d.date().isoformat() for d in out["birth_date"]] == [
        "1990-05-15",
        "1985-01-02",
        "1988-03-04",
    ]


def test_merged_cells_are_rejected_naming_the_range(make_source, sources_dir, ctx):
    rows = [
        [f"T{i}", "计算机学院" if i == 1 else None, f"人员{i}", ID, None, None]
        for i in (1, 2, 3, 4)
    ]
    rows.append(["T5", "数学学院", "人员5", ID, None, None])
    _export(sources_dir / "hr.xlsx", rows, merges=["B4:B7"])
    source, frame, info = _read(make_source, ctx)
    out = standardise(frame, source)
    assert list(out["parse_errors"]) == ["college:merged_cell[B4:B7]"] * 4 + [""]
    assert info.merged_ranges == ["B4:B7"]  # the merged title A1:F1 is no data
    assert frame.loc[4, "所在单位"] == "数学学院"


def test_merged_cells_filled_down_when_configured(make_source, sources_dir, ctx):
    rows = [
        [f"T{i}", "计算机学院" if i == 1 else None, f"人员{i}", ID, None, None]
        for i in (1, 2, 3, 4)
    ]
    _export(sources_dir / "hr.xlsx", rows, merges=["B4:B7"])
    source, frame, info = _read(make_source, ctx, merged_cells="fill_down")
    out = standardise(frame, source)
    assert list(out["college"]) == ["计算机学院"] * 4
    assert list(out["parse_errors"]) == [""] * 4
    assert info.merged_ranges == ["B4:B7"]


def test_a_merge_over_an_unmapped_column_is_no_problem(make_source, sources_dir, ctx):
    rows = [
        ["T1", "计算机学院", "人员1", ID, None, None, "备注"],
        ["T2", "计算机学院", "人员2", ID, None, None, None],
    ]
    _export(sources_dir / "hr.xlsx", rows, merges=["G4:G5"])
    _, frame, info = _read(make_source, ctx)
    assert info.merged_ranges == [] and frame["__problems"].isna().all()


def test_hidden_rows_are_quarantined_and_hidden_sheets_reported(
    make_source, sources_dir, ctx, caplog
):
    rows = [[f"T{i}", "计算机学院", f"人员{i}", ID, None, None] for i in (1, 2, 3)]
    _export(sources_dir / "hr.xlsx", rows, hidden_rows=[5], hidden_sheet=True)
    source, frame, info = _read(make_source, ctx)
    out = standardise(frame, source)
    assert list(out["parse_errors"]) == ["", "hidden_row", ""]
    assert info.hidden_rows == 1 and info.hidden_sheets == ["旧名册"]
    assert "hidden" in caplog.text


def test_first_visible_sheet_is_read_when_none_is_named(make_source, sources_dir, ctx):
    path = sources_dir / "hr.xlsx"
    wb = openpyxl.Workbook()
    hidden = wb.active
    hidden.title = "草稿"
    hidden.append(["工号", "姓名"])
    hidden.append(["X9", "草稿行"])
    hidden.sheet_state = "hidden"
    shown = wb.create_sheet("名册")
    shown.append(["工号", "姓名"])
    shown.append(["T1", "王五"])
    wb.save(path)
    source = make_source(
        entity="member",
        file={"path": "hr.xlsx", "format": "xlsx"},
        columns={"工号": "staff_no", "姓名": "name"},
    )
    chunk = next(connector_for(source, ctx).read())
    assert list(chunk.frame["工号"]) == ["T1"] and chunk.input.hidden_sheets == ["草稿"]


def _patch_cells(path, replacements: dict[str, str]) -> None:
    """Rewrite ``<v>`` values in the first sheet's XML (what another writer could have put)."""
    with zipfile.ZipFile(path) as src:
        entries = [(i, src.read(i)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for old, new in replacements.items():
                    assert f"<v>{old}</v>" in text
                    text = text.replace(f"<v>{old}</v>", f"<v>{new}</v>")
                data = text.encode()
            dst.writestr(info, data)


def test_unreadable_and_error_cells_are_located_problems(make_source, sources_dir, ctx):
    path = sources_dir / "hr.xlsx"
    _export(path, [["T1", "计算机学院", "王五", 12345, 13812341234, 12346]])
    wb = openpyxl.load_workbook(path)
    wb["教职工名册"]["E4"] = "#N/A"
    wb["教职工名册"]["E4"].data_type = "e"
    wb.save(path)
    # a numeric cell holding an ID with its X, a date cell holding an ID's digits
    _patch_cells(path, {"12345": ID, "12346": ID_DIGITS})
    source, frame, _ = _read(make_source, ctx)
    out = standardise(frame, source)
    codes = set(out.loc[0, "parse_errors"].split(";"))
    assert {
        "id_number:unreadable_cell",
        "mobile:error_cell",
        "birth_date:unparseable_date",
    } <= codes


def test_formula_cells_are_still_refused(make_source, sources_dir, ctx):
    _export(sources_dir / "hr.xlsx", [["T1", "计算机学院", '=HYPERLINK("x")', ID, None, None]])
    with pytest.raises(SourceError, match=r"row 4, column '姓名': formula cell"):
        _read(make_source, ctx)


def test_landing_keeps_reader_problems(make_source, sources_dir, ctx, tmp_path):
    rows = [[f"T{i}", "计算机学院" if i == 1 else None, f"人员{i}", ID, None, None] for i in (1, 2)]
    _export(sources_dir / "hr.xlsx", rows, merges=["B4:B5"], hidden_rows=[5])
    source = make_source(**SOURCE)
    landing = extract_to_landing(
        source, ctx, tmp_path / "landing" / "rows.parquet", tmp_path / "landing" / "p.json"
    )
    raw = pd.read_parquet(landing.path)
    assert list(raw["__problems"]) == [
        "所在单位:merged_cell[B4:B5]",
        "所在单位:merged_cell[B4:B5];hidden_row",
    ]
    assert landing.inputs[0].merged_ranges == ["B4:B5"] and landing.inputs[0].hidden_rows == 1
    out = standardise(raw, source)
    assert out.loc[1, "parse_errors"] == "college:merged_cell[B4:B5];hidden_row"


def test_a_year_and_month_typed_as_a_number_is_refused_when_it_may_be_october(
    make_source, sources_dir, ctx
):
    """Typed as numbers, 1998.10 is stored as 1998.1 — October or January?"""
    rows = [
        ["T1", "计算机学院", "人员1", ID, None, 1998.1],  # 1998.10 or 1998.1
        ["T2", "计算机学院", "人员2", ID, None, 1998.05],  # May: unambiguous
        ["T3", "计算机学院", "人员3", ID, None, 1998.12],
        ["T4", "计算机学院", "人员4", ID, None, "1998.1"],  # text: January as written
    ]
    _export(sources_dir / "hr.xlsx", rows, date_cells=False)
    source = make_source(
        **{**SOURCE, "parse": {"birth_date": {"dates": ["ym_sep"]}}},
    )
    frame = next(iter(connector_for(source, ctx).read())).frame
    out = standardise(frame, source)
    assert list(out["parse_errors"]) == ["birth_date:ambiguous_month", "", "", ""]
    assert pd.isna(out["birth_date"][0]), "never read as January"
    assert [d.strftime("%Y-%m") for d in out["birth_date"][1:]] == ["1998-05", "1998-12", "1998-01"]


def test_a_number_with_a_fraction_in_a_number_column_is_no_month(make_source, sources_dir, ctx):
    source = make_source(
        entity="study",
        file={"path": "hr.xlsx", "format": "xlsx", "header_marker": "工号"},
        columns={"工号": "staff_no", "成绩": "score"},
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["工号", "成绩"])
    ws.append(["T1", 1998.1])
    wb.save(sources_dir / "hr.xlsx")
    frame = next(iter(connector_for(source, ctx).read())).frame
    assert frame["__problems"].isna().all()
