"""The run report: self-contained HTML with the run's accounting, rejects, linkage, charts."""

from __future__ import annotations

import re

import pandas as pd

from integrate import render_run_report, run_report_html

ACCOUNTING = {
    "signins": {"in": 10, "accepted": 8, "quarantined": 2, "suppressed": 1, "published": 7},
    "finance_dues": {"in": 5, "accepted": 5, "quarantined": 0, "suppressed": 0, "published": 5},
}
INDICATORS = pd.DataFrame(
    {
        "branch_id": ["B1", "B1"],
        "month": ["2026-05", "2026-06"],
        "org_life_participation_rate": [0.8, 0.9],
        "study_completion_rate": [0.5, 0.6],
        "dues_on_time_rate": [1.0, 0.9],
        "volunteer_hours": [12.0, 3.5],
    }
)


def _html(**overrides) -> str:
    args = {
        "run_id": "run-1",
        "row_accounting": ACCOUNTING,
        "rejects": {"future_date": 1, "nonexistent_person": 1},
        "linkage": {"signins": {"linked": 8, "unknown_person": 1}},
        "privacy": {"k": 5, "min_class_size": 5},
        "indicators": INDICATORS,
        "publication": {"version": "abc", "verify_ok": True},
    }
    return run_report_html(**(args | overrides))


def test_report_is_self_contained_without_scripts_or_remote_resources():
    page = _html()
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert page.count("<svg") >= 6  # accounting, rejects and four indicator charts


def test_report_shows_every_section():
    page = _html()
    for text in (
        "Row accounting",
        "Rejects by reason",
        "Linkage",
        "Privacy risk",
        "Org-life participation",
        "nonexistent_person",
        "verify: OK",
        "90%",
    ):
        assert text in page


def test_report_flags_accounting_that_does_not_add_up():
    bad = {"signins": {"in": 10, "accepted": 8, "quarantined": 1, "suppressed": 0, "published": 7}}
    assert "does not add up" in _html(row_accounting=bad)
    assert "does not add up" not in _html()


def test_report_escapes_text():
    page = _html(rejects={"<b>x</b>": 1})
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_render_writes_the_file(tmp_path):
    out = render_run_report(
        tmp_path / "r" / "report.html",
        run_id="run-1",
        row_accounting=ACCOUNTING,
        rejects={},
        linkage={},
        privacy={},
    )
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
