"""The report and the Data Docs as a reader sees them, in headless Debian Chromium: the
report's sections and charts are drawn and no Python value (None, a dict, a list) shows;
a Data Docs page renders its tables offline with no request leaving the machine."""

from __future__ import annotations

import pytest

from tests.headless import chromium, require_chromium

pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("chromium_pages")]

SECTIONS = ("overview", "rejects", "indicators", "privacy", "publication", "links")


@pytest.fixture(scope="module", autouse=True)
def _chromium():
    require_chromium()


def test_report_draws_its_sections_and_charts_without_python_values(tmp_path):
    from selenium.webdriver.common.by import By

    from integrate import render_run_report
    from tests.integrate.test_run_report import (
        ACCOUNTING,
        BRANCHES,
        INDICATORS,
        PRIVACY,
        SOURCES,
    )

    page = render_run_report(
        tmp_path / "report.html",
        run_id="run-1",
        row_accounting=ACCOUNTING,
        rejects={"future_date": 1, "id_check_digit": 3},
        linkage={"signins": {"in": 10, "linked": 8}},
        privacy=PRIVACY,
        indicators=INDICATORS,
        branches=BRANCHES,
        sources=SOURCES,
        publication={"status": "published", "version": "v1", "tables": {"dim_person": 7}},
        university="示范大学",
    )
    with chromium() as driver:
        driver.get(page.as_uri())
        drawn = driver.execute_script("return document.documentElement.getAttribute('data-charts')")
        # accounting, rejects, and per college + per branch for the three indicators with data
        assert drawn == "8"
        for section in SECTIONS:
            assert driver.find_element(By.ID, section).is_displayed()
        charts = driver.find_elements(By.CSS_SELECTOR, "div.chart")
        assert len(charts) == 8 and all(c.find_elements(By.TAG_NAME, "svg") for c in charts)
        assert all(c.size["height"] > 100 for c in charts)
        text = driver.find_element(By.TAG_NAME, "body").text
        for bad in ("None", "{", "}", "[", "]", "NaN", "undefined"):
            assert bad not in text, bad
        assert "本次数据中没有该指标的任何数据" in text  # dues: no data, said so
        logs = driver.get_log("browser")
        assert not [entry for entry in logs if entry["level"] == "SEVERE"], logs


def test_data_docs_page_renders_offline(tmp_path):
    from selenium.webdriver.common.by import By

    from quality import load_quality_config, validate_frame
    from tests.quality.conftest import AS_OF, CONFIG_PATH, canonical_frame, good_member

    frame = canonical_frame("member", [good_member(), good_member(gender="F")])
    validate_frame(
        frame,
        entity="member",
        config=load_quality_config(CONFIG_PATH),
        as_of=AS_OF,
        data_docs_dir=tmp_path,
    )
    page = next((tmp_path / "validations").rglob("*.html"))
    with chromium() as driver:
        driver.get(page.as_uri())
        # Bootstrap and bootstrap-table loaded: the tables are styled and searchable
        assert driver.execute_script(
            "return typeof jQuery !== 'undefined' && !!jQuery.fn.bootstrapTable"
        )
        assert driver.find_elements(By.CSS_SELECTOR, ".bootstrap-table")
        assert "性别须与身份证号第17位一致" in driver.find_element(By.TAG_NAME, "body").text
        # a script or style that failed to load (a CDN, a missing file) logs a SEVERE entry
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
        # the index's results table is filled (it was empty offline) and links to the run
        driver.get((tmp_path / "index.html").as_uri())
        rows = driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
        assert rows and any(r.find_elements(By.TAG_NAME, "a") for r in rows)
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
