"""Issue 17's acceptance for part 1: ``islandbridge scan-leaks`` over a run whose export has
ID numbers planted in the cells a reader chokes on finds nothing — in the published
files, the reports or the run's log (written here without the masking filter, so it is
the readers' own reduction of error text that is under test)."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import openpyxl

from domain import gb11643_check_digit

IN_DATE_CELL = "11010519491231003" + gb11643_check_digit("11010519491231003")
UNPARSEABLE = "32050819560817151" + gb11643_check_digit("32050819560817151")
SENTINEL = 987654321


def _plant(xlsx: Path) -> None:
    """An ID number as a number in a date-formatted cell, and an ID-bearing text in a cell
    typed as a number (openpyxl's error quotes it)."""
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["教职工名册"]
    header = next(
        r for r in ws.iter_rows(min_row=1, max_row=10) if any(c.value == "工号" for c in r)
    )
    column = next(c.column for c in header if c.value == "身份证号码")
    first = header[0].row + 1
    ws.cell(first, column).value = int(IN_DATE_CELL)
    ws.cell(first, column).number_format = "yyyy-mm-dd"
    ws.cell(first + 1, column).value = SENTINEL
    wb.save(xlsx)
    with zipfile.ZipFile(xlsx) as src:
        entries = [(i, src.read(i)) for i in src.infolist()]
    with zipfile.ZipFile(xlsx, "w") as dst:
        for info, data in entries:
            if info.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(
                    f"<v>{SENTINEL}</v>".encode(), f"<v>{UNPARSEABLE}.5.5</v>".encode()
                )
            dst.writestr(info, data)


def test_scan_leaks_finds_nothing_after_ids_planted_in_cell_errors(installation):
    from islandbridge import stages
    from islandbridge.commands.departments import sign_export_file
    from islandbridge.commands.scan_leaks import run_leak_scan
    from islandbridge.run_layout import DataLayout

    data, params = installation["data"], installation["params"]
    export = data / "university" / "sources" / "hr_staff.xlsx"
    _plant(export)
    key = data / "university" / "department_keys" / "hr_staff.key"
    sign_export_file(export, key, source="hr_roster", config=installation["config"])
    log_path = DataLayout(data).log("planted")
    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = logging.FileHandler(log_path, encoding="utf-8")  # unmasked, on purpose
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    logging.captureWarnings(True)
    try:
        summary = stages.run_inline({**params, "sources": ["hr_roster"]}, "planted")
    finally:
        logging.captureWarnings(False)
        root.setLevel(level)
        root.removeHandler(handler)
        handler.close()
    hr = next(r for r in summary["sources"] if r["source"] == "hr_roster")
    assert hr["status"] == "fresh" and not hr["rejected_inputs"]
    text = log_path.read_text("utf-8")
    assert "hr_roster" in text  # the run did log
    assert IN_DATE_CELL not in text and UNPARSEABLE[:17] not in text
    report = run_leak_scan(data, installation["config"], "planted")
    assert report.files_scanned > 5
    assert report.ok, [str(f) for f in report.findings]
