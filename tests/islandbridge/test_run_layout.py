"""The run contract: one module spells every run file's name; layouts create nothing on read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from islandbridge.run_layout import (
    CARRIED_FILES,
    DataLayout,
    ExtractResult,
    RunLayout,
    SourceOrigin,
    read_result,
    write_result,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "connectors", "quality", "anonymize", "integrate", "islandbridge", "dags")
#: the names of a run's files, as code would spell them (zones are named through
#: ``RunLayout.zone``, whose names are the contract's ``RUN_ZONES``)
RUN_FILE_NAMES = re.compile(
    r"provenance\.json|accepted\.parquet|quality\.parquet|link\.parquet|refused\.parquet"
    r"|plan\.json|summary\.json|_persons\.parquet|failures\.jsonl|[\"']results[\"']"
)


def test_only_the_run_contract_spells_a_run_files_name():
    spelled: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for match in RUN_FILE_NAMES.finditer(path.read_text("utf-8")):
                spelled.setdefault(match.group(), []).append(str(path.relative_to(ROOT)))
    assert {name: set(files) for name, files in spelled.items()} == {
        name: {"islandbridge/run_layout.py"} for name in spelled
    }
    assert len(spelled) >= 9  # every name was found, in the contract


def test_paths_create_no_folder_until_the_run_is_created(tmp_path):
    run = DataLayout(tmp_path).run("manual__2026-07-01T08:00:00+00:00")
    assert run.run_name == "manual__2026-07-01T08_00_00_00_00"
    for kind in CARRIED_FILES:
        assert not run.source_file(kind, "org_members").exists()
    assert not (tmp_path / "runs").exists()  # reading a destroyed run brings nothing back
    run.create()
    assert all((run.root / zone).stat().st_mode & 0o777 == 0o700 for zone in ("landing", "work"))


def test_results_round_trip_owner_only(tmp_path):
    run = RunLayout(tmp_path / "r").create()
    result = ExtractResult(
        source="s",
        mode="fresh",
        rows=3,
        origin=SourceOrigin(run_id="r", run_at="2026-07-01T08:00:00+00:00"),
    )
    write_result(result, run.result("extract", "s"))
    assert read_result(ExtractResult, run.result("extract", "s")) == result
    assert run.result("extract", "s").stat().st_mode & 0o777 == 0o600
    with pytest.raises(KeyError, match="no per-source stage"):
        run.result("publish", "s")


def test_carrying_links_every_file_or_names_the_missing_one(tmp_path):
    old = RunLayout(tmp_path / "old").create()
    new = RunLayout(tmp_path / "new").create()
    for kind in CARRIED_FILES:
        old.source_file(kind, "s").write_text(kind)
    new.carry_from(old, "s")
    for kind in CARRIED_FILES:
        assert new.source_file(kind, "s").read_text() == kind
    old.tokens("t").write_text("only tokens")
    with pytest.raises(FileNotFoundError, match="provenance of source t in run old"):
        new.carry_from(old, "t")
