"""The feedback xlsx writer: text cells only, readable by openpyxl, safe XML."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd

from quality.xlsx_text import write_text_xlsx


def _read(frame: pd.DataFrame) -> list[list[object]]:
    buffer = io.BytesIO()
    write_text_xlsx(frame, buffer, sheet="退回记录")
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    assert book.sheetnames == ["退回记录"]
    sheet = book.active
    return [[c.value for c in row] for row in sheet.iter_rows()], sheet


def test_every_cell_is_text_and_a_formula_stays_text():
    frame = pd.DataFrame(
        {
            "学号": ["S1", '=HYPERLINK("http://x","y")', None],
            "金额": pd.array(["12.50", "0042", "1e5"], dtype="string"),
        }
    )
    rows, sheet = _read(frame)
    assert rows == [
        ["学号", "金额"],
        ["S1", "12.50"],
        ['=HYPERLINK("http://x","y")', "0042"],
        [None, "1e5"],
    ]
    assert all(c.data_type == "s" for row in sheet.iter_rows(min_row=2) for c in row if c.value)


def test_characters_xml_cannot_hold_are_replaced_and_markup_escaped():
    frame = pd.DataFrame({"备注": ["a\x00b\x1fc", "<b>&amp;</b>", " 前后空格 "]})
    rows, _ = _read(frame)
    assert [r[0] for r in rows[1:]] == ["a\ufffdb\ufffdc", "<b>&amp;</b>", " 前后空格 "]


def test_an_empty_frame_writes_its_header():
    rows, _ = _read(pd.DataFrame({"a": pd.Series(dtype="string"), "b": []}))
    assert rows == [["a", "b"]]
