"""The report stage: the summary says where each source's data comes from; feedback goes
to whom it concerns (each branch secretary only their branch) and a refused file gets a
notice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.xdist_group("stages")]


def test_each_branch_secretary_receives_only_their_branchs_rows(small_installation):
    summary = small_installation["summary"]
    folder = Path(summary["feedback"]["branch_signins"])
    assert folder.name == "branch_secretaries" and folder.stat().st_mode & 0o077 == 0
    files = sorted(folder.glob("*/branch_signins_*_rejected.csv"))
    assert len(files) > 3
    total = 0
    for path in files:
        branch = path.parent.name
        rows = pd.read_csv(path, encoding="gbk", dtype=str)
        assert rows.iloc[:, 0].str.startswith(f"signins/{branch}.csv:").all(), branch
        total += len(rows)
    signins = next(r for r in summary["sources"] if r["source"] == "branch_signins")
    refused = sum(i["rows"] for i in signins["rejected_inputs"])
    assert total == signins["quarantined"] - refused


def test_a_department_whose_export_was_refused_whole_gets_a_notice(small_installation):
    summary = small_installation["summary"]
    refused = {
        r["source"]: r["rejected_inputs"] for r in summary["sources"] if r["rejected_inputs"]
    }
    assert refused, "the demo tampers one export"
    for source, inputs in refused.items():
        notice = Path(summary["feedback"][source])
        if notice.is_dir():  # a scoped source: the notice sits beside the branch folders
            [notice] = notice.glob(f"{source}_*_refused.txt")
        text = notice.read_text("utf-8-sig")
        for item in inputs:
            assert item["location"].split("/")[-1] in text
        assert "签名" in text and "signature" in text


def test_the_summary_names_each_sources_origin(small_installation):
    rows = small_installation["summary"]["sources"]
    assert {r["status"] for r in rows} == {"fresh"}
    assert {r["origin_run"] for r in rows} == {"base"}
    assert (
        not small_installation["summary"]["degraded"] and small_installation["summary"]["balanced"]
    )
