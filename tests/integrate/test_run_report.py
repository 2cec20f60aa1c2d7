"""The run report: Jinja2 page with ECharts inlined, Chinese by default, English by
setting; what happened first, indicators per college and branch, "no data" as such."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from integrate import render_run_report, run_report_html
from integrate.report_text import TEXT
from integrate.run_report import echarts_script_path

ACCOUNTING = {
    "signins": {"in": 10, "accepted": 8, "quarantined": 2, "suppressed": 1, "published": 7},
    "finance_dues": {"in": 5, "accepted": 5, "quarantined": 0, "suppressed": 0, "published": 5},
}
INDICATORS = pd.DataFrame(
    {
        "branch_id": ["B1", "B1", "B2", "B2"],
        "month": ["2026-05", "2026-06", "2026-05", "2026-06"],
        "members": [10, 10, 8, 8],
        "org_life_records": [10, 10, 0, 4],
        "org_life_present": [8, 9, 0, 4],
        "org_life_participation_rate": [0.8, 0.9, None, 1.0],
        "study_members": [5, 6, 2, 3],
        "study_completion_rate": [0.5, 0.6, 0.25, 0.375],
        "dues_on_time": pd.array([None] * 4, dtype="Int64"),
        "dues_on_time_rate": pd.array([None] * 4, dtype="Float64"),
        "volunteer_hours": [12.0, 3.5, 0.0, 1.0],
    }
)
BRANCHES = pd.DataFrame(
    {
        "branch_id": ["B1", "B2"],
        "college": ["文学院", "理学院"],
        "branch_name": ["一支部", "二支部"],
    }
)
SOURCES = [
    {
        "source": "signins",
        "department": "branch_secretaries",
        "status": "fresh",
        "carried": False,
        "in": 10,
        "quarantined": 2,
        "published": 7,
        "rejected_inputs": [
            {"location": "signins/B03.csv", "reason": "signature_invalid", "rows": 4}
        ],
    },
    {
        "source": "finance_dues",
        "department": "finance",
        "status": "failed",
        "carried": True,
        "origin_run": "run-0",
        "run_at": "2026-05-01",
        "problem": "extract: unreachable",
    },
]
PRIVACY = {
    "dim_person": {
        "k_required": 5,
        "k_achieved": 6,
        "met": True,
        "quasi_identifiers": ["gender", "college"],
        "suppressed_rows": 12,
        "steps": ["birth_date: generalise(to=decade)"],
        "class_sizes": {"5": 3},
        "prosecutor_risk_max": 0.2,
        "prosecutor_risk_avg": 0.05,
    }
}


def _html(**overrides) -> str:
    args = {
        "run_id": "run-1",
        "row_accounting": ACCOUNTING,
        "rejects": {"future_date": 1, "id_check_digit": 3},
        "linkage": {"signins": {"in": 10, "linked": 8}},
        "privacy": PRIVACY,
        "indicators": INDICATORS,
        "branches": BRANCHES,
        "sources": SOURCES,
        "publication": {"status": "published", "version": "abc", "tables": {"dim_person": 7}},
        "data_docs": {"signins": "data_docs/run-1/signins/index.html"},
        "feedback": {"finance": "../feedback/finance/"},
        "university": "示范大学",
    }
    return run_report_html(**(args | overrides))


def _charts(page: str) -> dict[str, dict]:
    found = re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', page, re.S)
    return {cid: json.loads(body) for cid, body in found}


def _visible(page: str) -> str:
    """The page's text outside scripts and tags (what a reader sees besides the charts)."""
    body = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    body = re.sub(r"<style.*?</style>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_report_is_chinese_by_default_and_english_by_setting():
    zh, en = _html(), _html(language="en")
    assert '<html lang="zh-CN">' in zh and "党建数据整合运行报告" in zh
    assert "三会一课参与率" in zh and "隐私保护" in zh
    assert '<html lang="en">' in en and "Party-building data integration" in en
    assert "党建数据整合运行报告" not in en
    with pytest.raises(ValueError, match="known are zh, en"):
        _html(language="fr")


def test_every_text_has_both_languages():
    assert all((zh and en and zh != en) or key in {"run"} for key, (zh, en) in TEXT.items())


def test_what_happened_comes_first_with_refused_and_stale_sources():
    page = _html()
    order = [page.index(f'id="{s}"') for s in ("overview", "rejects", "indicators", "privacy")]
    assert order == sorted(order)
    overview = page[page.index('id="overview"') : page.index('id="rejects"')]
    assert "signins/B03.csv" in overview and "signature_invalid" in overview
    assert "失败，沿用上次数据" in overview and "run-0" in overview
    assert "未完全成功" in overview  # a failed source makes the run degraded


def test_indicators_per_college_and_per_branch_with_no_data_as_such():
    page = _html()
    charts = _charts(page)
    for column in ("org_life_participation_rate", "study_completion_rate", "volunteer_hours"):
        college = charts[f"chart-{column}-college"]
        assert {s["name"] for s in college["series"]} == {"文学院", "理学院"}
        assert charts[f"chart-{column}-branch"]["series"][0]["type"] == "heatmap"
    # B2 had no org-life records in May: a gap, never a zero
    science = next(
        s for s in charts["chart-org_life_participation_rate-college"]["series"]
        if s["name"] == "理学院"
    )  # fmt: skip
    assert science["data"] == [None, 1.0]
    cells = charts["chart-org_life_participation_rate-branch"]["series"][0]["data"]
    assert len(cells) == 3 and all(v is not None for _, _, v in cells)
    # no dues data at all: no chart, the words instead
    assert "chart-dues_on_time_rate-college" not in charts
    dues = page[page.index('id="ind-dues_on_time_rate"') :]
    assert "本次数据中没有该指标的任何数据" in dues[: dues.index("</section>")]


def test_privacy_gate_in_words_and_links_to_docs_and_feedback():
    page = _html()
    assert "至少 6 人（要求 k = 5）" in page and "12 人的记录被抑制" in page
    assert "birth_date: generalise(to=decade)" in page
    assert 'href="data_docs/run-1/signins/index.html"' in page
    assert 'href="../feedback/finance/"' in page


def test_no_python_reprs_in_visible_text():
    text = _visible(_html(rejects={"college:merged_cell[B5:B8]": 2, "future_date": 1}))
    for bad in ("None", "{", "}", "[", "]", "True", "False", " nan ", "NaN", "<NA>"):
        assert bad not in text, bad


def test_report_is_self_contained_with_echarts_inlined():
    page = _html()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert echarts_script_path().is_file(), "run make env (npm ci) first"
    assert "echarts" in page and page.count("<script") == len(_charts(page)) + 2
    assert "@media print" in page


def test_report_flags_accounting_that_does_not_add_up():
    bad = {"signins": {"in": 10, "accepted": 8, "quarantined": 1, "suppressed": 0, "published": 7}}
    assert "行数账目不平衡" in _html(row_accounting=bad)
    assert "行数账目不平衡" not in _html()


def test_report_escapes_text():
    page = _html(rejects={"<b>x</b>": 1})
    visible = page[: page.index('<script type="application/json"')]
    assert "<b>x</b>" not in visible and "&lt;b&gt;x&lt;/b&gt;" in visible
    chart = page[page.index('id="chart-rejects">') :]
    assert "</b>" not in chart[: chart.index("</script>")]


def test_render_writes_the_file(tmp_path):
    out = render_run_report(
        tmp_path / "r" / "report.html",
        run_id="run-1",
        row_accounting=ACCOUNTING,
        rejects={},
        linkage={},
        privacy={},
    )
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "本次没有被隔离的行" in page


def test_colleges_unknown_for_every_branch_are_shown_as_none():
    """No branch with a known college (a university whose roster has none): one "—"
    college, not a failed report (an empty map once gave a null-typed column)."""
    from integrate.report_charts import college_frame

    indicators = pd.DataFrame(
        {
            "branch_id": pd.array(["B01", "B02"], dtype="string[pyarrow]"),
            "month": pd.array(["2026-05", "2026-05"], dtype="string[pyarrow]"),
            "org_life_participation_rate": [0.75, 0.25],
            "org_life_present": [3, 1],
            "org_life_records": [4, 4],
        }
    )
    out = college_frame(indicators, {})
    assert list(zip(out["college"], out["month"], strict=True)) == [("—", "2026-05")]
    assert out["org_life_participation_rate"].tolist() == [pytest.approx(0.5)]
