"""The publish stage's guards, each with its known-bad case: rows lost between link and
publish, a refused file miscounted, a table that shrinks, a source with no data, a
publication that would mix key versions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from islandbridge.run_layout import DataLayout, ExtractResult, read_result, write_result

pytestmark = [pytest.mark.xdist_group("stages")]


def _until_link(params: dict, run_id: str) -> dict:
    """A run planned, its sources processed and linked; publish is left to the test."""
    from islandbridge import stages

    run = stages.plan(params, run_id, None)
    for source in run["sources"]:
        for stage in (stages.extract, stages.validate, stages.pseudonymise):
            stage(run, source)
    stages.link(run)
    return run


def _current(data: Path) -> str:
    return (data / "published" / "current").readlink().name


def test_a_row_dropped_between_link_and_publish_refuses_the_publication(installation, monkeypatch):
    import pyarrow.parquet as pq

    import integrate.assembly
    from integrate import PublishError
    from islandbridge import stages

    run = _until_link({**installation["params"], "sources": ["branch_signins"]}, "dropped")
    real = integrate.assembly.write_fact_table

    def losing_a_row(con, table, parts, path, **kwargs):  # the fact table streamed to a file
        rows = real(con, table, parts, path, **kwargs)
        if table == "fact_attendance":
            pq.write_table(pq.read_table(path).slice(1), path)
        return rows

    monkeypatch.setattr(integrate.assembly, "write_fact_table", losing_a_row)
    before = _current(installation["data"])
    with pytest.raises(PublishError, match=r"branch_signins\]: accepted \d+ != suppressed"):
        stages.publish(run)
    assert _current(installation["data"]) == before


def test_a_miscounted_refused_file_refuses_the_publication(installation):
    from integrate import PublishError
    from islandbridge import stages

    run = _until_link({**installation["params"], "sources": ["branch_signins"]}, "miscounted")
    path = DataLayout(installation["data"]).run("miscounted").result("extract", "branch_signins")
    result = read_result(ExtractResult, path)
    assert result.refused, "one of the demo's sign-in sheets is tampered: refused whole"
    wrong = result.refused[0].model_copy(update={"rows": result.refused[0].rows + 1})
    write_result(result.model_copy(update={"refused": [wrong, *result.refused[1:]]}), path)
    with pytest.raises(PublishError, match=r"branch_signins\]: in \d+ != accepted"):
        stages.publish(run)


def _halve_learning_export(data: Path) -> None:
    """The learning platform re-sends a signed export with half of its records."""
    from islandbridge.commands.departments import sign_export_file

    export = data / "university" / "sources" / "learning_platform.jsonl"
    lines = export.read_text("utf-8").splitlines(keepends=True)
    export.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    key = data / "university" / "department_keys" / "learning.key"
    sign_export_file(export, key, source="learning_platform")


def test_a_table_shrinking_beyond_the_limit_is_refused_unless_overridden(installation):
    from islandbridge import stages
    from islandbridge.errors import PublishRefused

    data, params = installation["data"], installation["params"]
    before = _current(data)
    _halve_learning_export(data)
    with pytest.raises(PublishRefused, match=r"fact_study would shrink from [\d,]+ to [\d,]+"):
        stages.run_inline({**params, "sources": ["learning_platform"]}, "shrunk")
    assert _current(data) == before
    summary = json.loads(DataLayout(data).run("shrunk").summary.read_text("utf-8"))
    assert summary["published"]["status"] == "refused" and summary["degraded"]
    assert "--allow-shrink" in summary["published"]["message"]

    allowed = stages.run_inline(
        {**params, "sources": ["learning_platform"], "allow_shrink": True}, "allowed"
    )
    assert allowed["published"]["status"] == "published"
    manifest = json.loads((data / "published" / "current" / "manifest.json").read_text("utf-8"))
    [override] = manifest["shrink_override"]["tables"]
    assert override["table"] == "fact_study" and override["after"] < override["before"]


def test_a_source_without_any_data_is_refused_unless_overridden(
    tmp_path, small_installation, monkeypatch
):
    """The first run of an installation, with the youth league's API down: nothing to carry."""
    from islandbridge import stages
    from islandbridge.demo import ensure_demo_secrets
    from islandbridge.errors import PublishRefused

    data = tmp_path / "fresh"
    shutil.copytree(small_installation["data"] / "university", data / "university")
    shutil.copytree(small_installation["data"] / "secrets", data / "secrets")
    ensure_demo_secrets(data, small_installation["config"])  # its trust store, beside it
    params = {"data_dir": str(data), "config": str(small_installation["config"])}
    monkeypatch.setenv("ISLANDBRIDGE_VOLUNTEER_API_URL", "http://127.0.0.1:9/api")
    with pytest.raises(PublishRefused, match="source league_volunteer has no data"):
        stages.run_inline(params, "first", isolate=True)
    assert not (data / "published" / "current").exists()
    summary = stages.run_inline({**params, "allow_shrink": True}, "first_allowed", isolate=True)
    assert summary["failed_sources"] == ["league_volunteer"] and summary["degraded"]
    assert "fact_volunteer" not in summary["published"]["tables"]
    manifest = json.loads((data / "published" / "current" / "manifest.json").read_text("utf-8"))
    assert manifest["shrink_override"]["missing_sources"] == ["league_volunteer"]


def test_a_failed_source_is_carried_and_the_run_is_degraded(installation, monkeypatch):
    from islandbridge import stages

    monkeypatch.setenv("ISLANDBRIDGE_VOLUNTEER_API_URL", "http://127.0.0.1:9/api")
    summary = stages.run_inline(installation["params"], "api_down", isolate=True)
    row = next(r for r in summary["sources"] if r["source"] == "league_volunteer")
    assert row["status"] == "failed" and row["carried"] and row["origin_run"] == "base"
    assert "ConnectError" in row["problem"]
    assert summary["degraded"] and summary["published"]["status"] == "published"
    assert summary["published"]["tables"] == installation["summary"]["published"]["tables"]


def test_a_carried_source_is_tokenised_again_after_key_rotation(installation):
    from anonymize import rotate_keyring_file
    from islandbridge import stages

    data, params = installation["data"], installation["params"]
    old = pd.read_parquet(data / "published" / "current" / "dim_person.parquet")
    new_key = rotate_keyring_file(data / "secrets" / "keyring.json")
    summary = stages.run_inline({**params, "sources": ["hr_roster"]}, "rotated")
    assert summary["published"]["tables"] == installation["summary"]["published"]["tables"]
    run = DataLayout(data).run("rotated")
    for source in run_sources(run):
        tokens = pd.read_parquet(run.tokens(source))
        for column in (c for c in tokens.columns if c.endswith("_token")):
            assert tokens[column].dropna().str.startswith(f"{new_key}:").all(), (source, column)
    manifest = json.loads((data / "published" / "current" / "manifest.json").read_text("utf-8"))
    assert manifest["key_id"] == new_key
    new = pd.read_parquet(data / "published" / "current" / "dim_person.parquet")
    assert len(new) == len(old) and not set(new["person_key"]) & set(old["person_key"])


def run_sources(run) -> list[str]:
    from islandbridge.run_layout import RunPlan

    return read_result(RunPlan, run.plan).sources
