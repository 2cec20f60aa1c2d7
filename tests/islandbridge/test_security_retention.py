"""Issue 17, part 9: retention reaches every place raw values rest — department feedback,
run logs, refused drops — records each destruction in the signed ledger, and that ledger
is anchored: a cut or an edit is reported, never accepted."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
RAW_ID = "110101199003077777"  # a raw identifier inside the destroyed files: never recorded


def _age(path: Path, days: float) -> None:
    stamp = (NOW - timedelta(days=days)).timestamp()
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (stamp, stamp), follow_symlinks=False)


def _write(path: Path, text: str, days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    _age(path, days)
    return path


@pytest.fixture
def site(tmp_path: Path) -> dict:
    """Feedback, logs and refused drops, old (past their days) and recent; chain anchors in a
    folder beside the data folder."""
    from islandbridge.config import default_config_path
    from islandbridge.demo import ensure_demo_secrets

    config_dir = tmp_path / "config"
    shutil.copytree(default_config_path().parent, config_dir)
    config = config_dir / "islandbridge.yaml"
    text = config.read_text("utf-8")
    anchors = f"anchor:\n  store: file\n  folder: {tmp_path / 'anchors'}\n"
    config.write_text(text.replace("\nsources:\n", f"\n{anchors}sources:\n", 1), "utf-8")
    data = tmp_path / "data"
    ensure_demo_secrets(data, config)
    feedback = data / "feedback"
    old = {
        "feedback": _write(feedback / "finance_dues" / "finance_dues_r1_rejected.csv", RAW_ID, 100),
        "branch": _write(feedback / "branch_secretaries" / "01U0001" / "r1.csv", RAW_ID, 95),
        "log": _write(data / "logs" / "r1.log", f"row {RAW_ID}", 120),
        "task_log": _write(
            data / "airflow" / "logs" / "dag_id=x" / "run_id=r1" / "attempt=1.log", RAW_ID, 120
        ),
    }
    new = {
        "feedback": _write(feedback / "finance_dues" / "finance_dues_r9_rejected.csv", RAW_ID, 10),
        "log": _write(data / "logs" / "r9.log", "recent", 5),
    }
    rejected = data / "intake" / "branch_signins" / "rejected" / "r1"
    refused_dir = rejected / "001.rejected"
    refused_dir.mkdir(parents=True)
    with open(os.fsencode(refused_dir) + b"/B0\xff1.csv", "wb") as handle:
        handle.write(RAW_ID.encode())
    _write(rejected / "rejected.json", "[]", 0)
    _age(rejected, 40)
    return {"data": data, "config": config, "old": old, "new": new, "rejected": rejected}


def _apply(site: dict, **kwargs) -> dict:
    from islandbridge.retention import apply_retention

    return apply_retention(site["data"], site["config"], now=NOW, **kwargs)


def _verify(site: dict, **kwargs):
    from islandbridge.context import RunContext
    from islandbridge.retention import verify_retention

    ctx = RunContext(site["data"], site["config"], "verify", NOW.date())
    return verify_retention(ctx, **kwargs)


def _ledger(site: dict) -> Path:
    return site["data"] / "retention" / "ledger.jsonl"


def test_feedback_logs_and_refused_drops_past_their_days_are_destroyed(site):
    summary = _apply(site)
    zones = {(d["zone"], d["folder"]) for d in summary["destroyed"]}
    assert zones == {
        ("feedback", "feedback/finance_dues"),
        ("feedback", "feedback/branch_secretaries/01U0001"),
        ("logs", "logs"),
        ("logs", "airflow/logs/dag_id=x/run_id=r1"),
        ("intake_rejected", "intake/branch_signins/rejected/r1"),
    }
    assert not any(path.exists() for path in site["old"].values())
    assert all(path.is_file() for path in site["new"].values())  # not yet past their days
    assert not site["rejected"].exists()
    assert not (site["data"] / "airflow" / "logs" / "dag_id=x").exists()  # emptied folders go
    assert (site["data"] / "logs").is_dir()


def test_each_destruction_is_recorded_with_checksums_and_escaped_names_never_values(site):
    from integrate.ledger import read_entries
    from islandbridge.retention import record_of

    _apply(site)
    root = site["data"] / "retention"
    record = record_of(root, read_entries(root)[0])
    by_zone = {d["zone"] for d in record["destroyed"]}
    assert by_zone == {"feedback", "logs", "intake_rejected"}
    rejected = next(d for d in record["destroyed"] if d["zone"] == "intake_rejected")
    assert {c["file"] for c in rejected["checksums"]} == {
        "rejected.json",
        "001.rejected/B0\\xff1.csv",
    }
    for path in root.rglob("*"):
        if path.is_file():
            assert RAW_ID not in path.read_text("utf-8", errors="replace"), path


def test_the_destruction_ledger_is_anchored_and_verifies(site):
    _apply(site)
    report = _verify(site)
    assert report.ok and report.anchor == "matches" and report.entries == 1


def test_a_cut_destruction_ledger_is_reported_and_not_extended(site):
    from islandbridge.retention import RetentionError

    _apply(site)
    _write(site["data"] / "feedback" / "hr_roster" / "old.csv", RAW_ID, 200)
    assert _apply(site)["ledger_seq"] == 2
    lines = _ledger(site).read_text("utf-8").splitlines(keepends=True)
    _ledger(site).write_text(lines[0], encoding="utf-8")  # the last destruction cut away
    report = _verify(site)
    assert not report.ok and report.anchor == "truncated"
    assert any("entries after it were removed" in p for p in report.problems)
    late = _write(site["data"] / "logs" / "r2.log", RAW_ID, 300)
    with pytest.raises(RetentionError, match="nothing appended"):
        _apply(site)
    assert late.is_file()  # nothing destroyed on top of a cut ledger


def test_a_deleted_destruction_ledger_is_reported(site):
    _apply(site)
    _ledger(site).unlink()
    report = _verify(site)
    assert not report.ok and report.anchor == "truncated"


def test_an_altered_destruction_record_is_reported(site):
    _apply(site)
    [record] = (site["data"] / "retention" / "records").glob("*.json")
    record.write_bytes(record.read_bytes().replace(b'"zone": "logs"', b'"zone": "work"'))
    report = _verify(site)
    assert any("was altered" in p for p in report.problems)


def test_an_unanchored_ledger_is_reported_until_adopted(site):
    _apply(site)
    for path in (site["data"].parent / "anchors").iterdir():
        if "retention" in path.name:
            path.unlink()
    assert _verify(site).anchor == "unanchored" and not _verify(site).ok
    assert _verify(site, adopt_anchor=True).ok


def test_links_in_the_feedback_folder_are_neither_followed_nor_their_targets_destroyed(
    site, tmp_path
):
    outside = _write(tmp_path / "elsewhere" / "keep.csv", "not ours", 400)
    (site["data"] / "feedback" / "finance_dues" / "link.csv").symlink_to(outside)
    (site["data"] / "feedback" / "linked_dir").symlink_to(outside.parent)
    _age(site["data"] / "feedback", 400)
    _apply(site)
    assert outside.read_text("utf-8") == "not ours"


def test_verify_retention_command_exits_1_on_a_cut_ledger(site):
    from islandbridge.cli import app

    _apply(site)
    args = ["verify-retention", "--data-dir", str(site["data"]), "--config", str(site["config"])]
    ok = CliRunner().invoke(app, args)
    assert ok.exit_code == 0, ok.output
    _ledger(site).write_text("", encoding="utf-8")
    cut = CliRunner().invoke(app, args)
    assert cut.exit_code == 1 and "ALTERED" in cut.output


def test_the_new_zones_are_configured_and_validated(tmp_path):
    from islandbridge.config import ConfigError, default_config_path, load_config

    config_dir = tmp_path / "config"
    shutil.copytree(default_config_path().parent, config_dir)
    config = config_dir / "islandbridge.yaml"
    good = config.read_text("utf-8")
    days = load_config(config)[0].retention
    assert (days.feedback, days.logs, days.intake_rejected) == (90, 90, 30)
    config.write_text(good.replace("  feedback: 90", "  feedback: -1"), "utf-8")
    with pytest.raises(ConfigError, match="retention"):
        load_config(config)
