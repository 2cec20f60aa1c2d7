"""The whole campus_integration DAG through Airflow (dag.test) on a small synthetic university."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def run_summary(demo_data: Path) -> dict:
    from islandbridge.demo import demo_api, run_pipeline

    with demo_api(demo_data) as api_env:  # only `demo` serves the youth league's API itself
        return run_pipeline(demo_data, None, run_id="e2e_first", extra_env=api_env)


def test_dag_run_succeeds_and_every_row_is_accounted_for(run_summary):
    assert run_summary["balanced"] is True
    for row in run_summary["sources"]:
        assert row["in"] == row["accepted"] + row["quarantined"], row["source"]
        assert row["accepted"] == row["suppressed"] + row["published"], row["source"]
        assert row["in"] > 0, row["source"]


def test_every_source_contributed(run_summary):
    names = {r["source"] for r in run_summary["sources"]}
    assert names == {
        "org_members", "org_meetings", "student_roster", "hr_roster",
        "branch_signins", "league_volunteer", "finance_dues", "learning_platform",
    }  # fmt: skip
    assert all(r["published"] > 0 for r in run_summary["sources"])


def test_input_counts_match_the_generated_sources(run_summary, demo_data):
    generated = json.loads((demo_data / "university" / "manifest.json").read_text("utf-8"))
    counts = {r["source"]: r["in"] for r in run_summary["sources"]}
    assert counts["student_roster"] == generated["rows"]["student_affairs.sqlite:xs_jbxx"]
    assert counts["hr_roster"] == generated["rows"]["hr_staff.xlsx"]
    assert counts["league_volunteer"] == generated["rows"]["volunteer_records.json"]
    assert counts["finance_dues"] == generated["rows"]["finance_dues.csv"]


def test_tampered_export_is_quarantined_whole(run_summary):
    rejected = [i for r in run_summary["sources"] for i in r["rejected_inputs"]]
    assert rejected and all(i["reason"] == "signature_invalid" for i in rejected)


def test_published_dataset_is_readable_and_pseudonymous(run_summary, demo_data):
    current = demo_data / "published" / "current"
    manifest = json.loads((current / "manifest.json").read_text("utf-8"))
    assert manifest["row_accounting"] == {
        r["source"]: {k: r[k] for k in ("in", "accepted", "quarantined", "suppressed", "published")}
        for r in run_summary["sources"]
    }
    with duckdb.connect(str(current / "dataset.duckdb"), read_only=True) as con:
        tables = {t for (t,) in con.execute("SHOW TABLES").fetchall()}
        assert {"dim_person", "fact_attendance", "fact_dues", "fact_study"} <= tables
        persons = con.execute("SELECT count(*) FROM dim_person").fetchone()[0]
    assert persons == len(pd.read_parquet(current / "dim_person.parquet")) > 0
    truth = pd.read_parquet(demo_data / "university" / "truth" / "persons.parquet")
    raw = set(truth["id_number"]) | set(truth["mobile"].dropna())
    for parquet in current.glob("*.parquet"):
        text = pd.read_parquet(parquet).astype("string").to_csv(index=False)
        found = set(re.findall(r"\d{17}[\dX]|1[3-9]\d{9}", text)) & raw
        assert not found, parquet.name


def test_report_is_written(run_summary):
    report = Path(run_summary["published"]["report"])
    page = report.read_text("utf-8")
    assert 'data-chart="chart-accounting"' in page and "echarts" in page


def test_rerun_publishes_identical_bytes(run_summary, demo_data):
    from islandbridge.demo import demo_api, run_pipeline

    current = demo_data / "published" / "current"
    before = {p.name: p.read_bytes() for p in current.glob("*.parquet")}
    before["manifest.json"] = (current / "manifest.json").read_bytes()
    with demo_api(demo_data) as api_env:
        second = run_pipeline(demo_data, None, run_id="e2e_second", extra_env=api_env)
    assert second["published"]["version"] == run_summary["published"]["version"]
    after = {p.name: p.read_bytes() for p in current.glob("*.parquet")}
    after["manifest.json"] = (current / "manifest.json").read_bytes()
    assert after == before


def test_leak_scan_finds_nothing_in_outputs_and_airflow_logs(run_summary, demo_data):
    from islandbridge.commands.scan_leaks import run_leak_scan

    report = run_leak_scan(demo_data, None)
    assert report.files_scanned > 5
    # the Airflow log of the run is among what was scanned, and is not empty
    assert any(p.suffix == ".log" and p.stat().st_size > 0 for p in (demo_data / "logs").iterdir())
    assert report.ok, [str(f) for f in report.findings]


def test_verify_passes_then_names_an_altered_file(run_summary, demo_data):
    from typer.testing import CliRunner

    from islandbridge.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "--data-dir", str(demo_data)])
    assert ok.exit_code == 0, ok.output
    target = demo_data / "published" / "current" / "fact_dues.parquet"
    original = target.read_bytes()
    try:
        target.write_bytes(original[:-20] + bytes([original[-20] ^ 1]) + original[-19:])
        bad = runner.invoke(app, ["verify", "--data-dir", str(demo_data)])
    finally:
        target.write_bytes(original)
    assert bad.exit_code == 1
    assert "fact_dues.parquet" in bad.output


def test_each_department_gets_its_own_rejected_rows_back(run_summary, demo_data):
    feedback = run_summary["feedback"]
    branches = Path(feedback["branch_signins"])
    assert branches.name == "branch_secretaries"
    files = sorted(branches.glob("*/branch_signins_*_rejected.csv"))
    assert files and all(oct(p.stat().st_mode & 0o777) == "0o600" for p in files)
    for path in files:  # each branch secretary: only their branch, in their encoding
        rows = pd.read_csv(path, encoding="gbk", dtype=str)
        assert "学号/工号" in rows.columns and "问题说明" in rows.columns
        assert rows.iloc[:, 0].str.startswith(f"signins/{path.parent.name}.csv:").all()
    finance = Path(feedback["finance_dues"])
    assert finance.parent.name == "finance" and finance.suffix in (".csv", ".txt")


def test_data_docs_are_built_per_source(run_summary):
    docs = run_summary["data_docs"]
    assert {"org_members", "branch_signins"} <= set(docs)
    assert all(Path(p).is_file() for p in docs.values())
