"""Retention: what is past each zone's days is destroyed and recorded; protected data never is."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
SECRET_VALUE = "110101199003077777"  # a marker that must never reach the ledger or records


def _age(path: Path, days: float) -> None:
    stamp = (NOW - timedelta(days=days)).timestamp()
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (stamp, stamp), follow_symlinks=False)


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _config(data: Path) -> Path:
    """The demo configuration, its chain anchors in a folder beside the data folder (so the
    vault, a protected place here, is never written)."""
    from islandbridge.config import default_config_path

    folder = data.parent / "anchored_config"
    if not folder.exists():
        shutil.copytree(default_config_path().parent, folder)
        path = folder / "islandbridge.yaml"
        text = path.read_text("utf-8")
        anchors = f"anchor:\n  store: file\n  folder: {data.parent / 'anchors'}\n"
        path.write_text(text.replace("\nsources:\n", f"\n{anchors}sources:\n", 1), "utf-8")
    return folder / "islandbridge.yaml"


@pytest.fixture
def installation(tmp_path: Path) -> Path:
    """Runs aged 40 and 1 days, a processed intake drop, a publication, a vault and secrets."""
    from islandbridge.demo import ensure_demo_secrets

    data = tmp_path / "data"
    ensure_demo_secrets(data, _config(data))
    frame = pd.DataFrame({"id_number": [SECRET_VALUE] * 3, "x": [1, 2, 3]})
    for run, days in (("old", 40), ("new", 1)):
        for zone in ("landing", "quarantine", "work", "tokens", "linked"):
            folder = data / "runs" / run / zone
            folder.mkdir(parents=True)
            frame.to_parquet(folder / "src.parquet")
            (folder / "src.provenance.json").write_text(json.dumps({"rows": 3}))
        (data / "runs" / run / "plan.json").write_text("{}")
        _age(data / "runs" / run, days)
    drop = data / "intake" / "finance_dues" / "processed" / "d1"
    drop.mkdir(parents=True)
    (drop / "finance_dues.csv").write_text(f"id\n{SECRET_VALUE}\n")
    _age(drop, 45)
    version = data / "published" / "versions" / "v1"
    version.mkdir(parents=True)
    frame.drop(columns="id_number").to_parquet(version / "dim_person.parquet")
    (data / "published" / "current").symlink_to("versions/v1")
    (data / "published" / "ledger.jsonl").write_text("{}\n")
    (data / "vault").mkdir()
    (data / "vault" / "vault.sqlite").write_bytes(b"vault")
    for place in ("published", "vault", "secrets"):
        _age(data / place, 400)
    return data


def _apply(data: Path, **kwargs):
    from islandbridge.retention import apply_retention

    return apply_retention(data, _config(data), now=NOW, **kwargs)


def test_destroys_zones_past_their_days_and_keeps_the_rest(installation):
    summary = _apply(installation)
    gone = {(d["zone"], d["folder"]) for d in summary["destroyed"]}
    assert gone == {
        ("landing", "runs/old/landing"),
        ("work", "runs/old/work"),
        ("work", "runs/old/tokens"),
        ("work", "runs/old/linked"),
        ("intake", "intake/finance_dues/processed/d1"),
    }
    for _, folder in gone:
        assert not (installation / folder).exists(), folder
    assert (installation / "runs" / "old" / "quarantine" / "src.parquet").is_file()  # 40 < 180
    assert (installation / "runs" / "old" / "plan.json").is_file()
    for zone in ("landing", "quarantine", "work", "tokens", "linked"):
        assert (installation / "runs" / "new" / zone / "src.parquet").is_file()


def test_never_touches_published_versions_vault_or_secrets(installation):
    protected = {p: _tree(installation / p) for p in ("published", "vault", "secrets")}
    link = (installation / "published" / "current").readlink()
    _apply(installation)
    assert {p: _tree(installation / p) for p in protected} == protected
    assert (installation / "published" / "current").readlink() == link


def test_destruction_is_recorded_with_counts_and_checksums_only(installation):
    from integrate.ledger import read_entries, verify_ledger
    from islandbridge.context import context_from
    from islandbridge.retention import record_of
    from islandbridge.secrets import load_signing_key

    landing = installation / "runs" / "old" / "landing" / "src.parquet"
    expected_sha = hashlib.sha256(landing.read_bytes()).hexdigest()
    summary = _apply(installation)
    root = installation / "retention"
    ctx = context_from({"data_dir": str(installation)}, "t", NOW.date())
    entries, problems = verify_ledger(root, load_signing_key(ctx).public_key())
    assert problems == [] and [e.action for e in entries] == ["destroy"]
    assert summary["ledger_seq"] == 1
    record = record_of(root, read_entries(root)[0])
    item = next(d for d in record["destroyed"] if d["folder"] == "runs/old/landing")
    assert item["files"] == 2 and item["rows"] == 3
    assert {"file": "src.parquet", "sha256": expected_sha}.items() <= next(
        c for c in item["checksums"] if c["file"] == "src.parquet"
    ).items()
    for path in root.rglob("*"):
        if path.is_file():
            assert SECRET_VALUE not in path.read_text("utf-8", errors="replace"), path


def test_altered_record_is_detected(installation):
    from integrate.ledger import read_entries
    from islandbridge.retention import RetentionError, record_of

    _apply(installation)
    root = installation / "retention"
    entry = read_entries(root)[0]
    path = root / "records" / f"{entry['manifest_sha256']}.json"
    path.write_bytes(path.read_bytes().replace(b'"rows": 3', b'"rows": 2'))
    with pytest.raises(RetentionError, match="altered"):
        record_of(root, entry)


def test_dry_run_and_second_pass_destroy_nothing(installation):
    before = _tree(installation)
    dry = _apply(installation, dry_run=True)
    assert dry["destroyed"] and dry["ledger_seq"] is None
    assert _tree(installation) == before
    _apply(installation)
    again = _apply(installation)
    assert again["destroyed"] == [] and again["ledger_seq"] is None
    assert len((installation / "retention" / "ledger.jsonl").read_text().splitlines()) == 1


def test_refuses_a_zone_overlapping_a_protected_place(installation, tmp_path):
    from islandbridge.config import default_config_path
    from islandbridge.retention import RetentionError, apply_retention

    config_dir = tmp_path / "config"
    shutil.copytree(default_config_path().parent, config_dir)
    config = config_dir / "islandbridge.yaml"
    text = config.read_text("utf-8").replace(
        'root: "{data_dir}/published"', 'root: "{data_dir}/runs/old/landing"'
    )
    config.write_text(text, "utf-8")
    before = _tree(installation)
    with pytest.raises(RetentionError, match="protected"):
        apply_retention(installation, config, now=NOW)
    assert _tree(installation) == before


def test_retention_section_is_validated(tmp_path):
    from islandbridge.config import ConfigError, default_config_path, load_config

    config_dir = tmp_path / "config"
    shutil.copytree(default_config_path().parent, config_dir)
    config = config_dir / "islandbridge.yaml"
    good = config.read_text("utf-8")
    assert load_config(config)[0].retention.days("landing") == 30
    for bad in ("  landing_days: 3\n", "  landing: -1\n"):
        config.write_text(good.replace("  landing: 30\n", bad), "utf-8")
        with pytest.raises(ConfigError, match="retention"):
            load_config(config)
