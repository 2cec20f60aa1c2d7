"""A big source split into partitions (each its own chain of tasks) gives the same run as
the source read whole: the same publication, quarantine reasons and accounting; a
partition that fails fails only its source; a missing partition is never combined."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest

from islandbridge.run_layout import DataLayout, ExtractResult, PublishOutcome, read_result

pytestmark = [pytest.mark.xdist_group("stages")]

#: small thresholds: the demo's SQL tables and the branch sign-ins split into 3 each
SPLIT = "partitions: {max_rows: 150, max_bytes: 4000, max_parts: 3}\n"
SPLIT_SOURCES = {"org_members", "org_meetings", "student_roster", "branch_signins"}


def split_config(config: Path, folder: Path, settings: str = SPLIT) -> Path:
    """A copy of ``config`` (and its folder) with partition thresholds."""
    shutil.copytree(config.parent, folder)
    path = folder / config.name
    text = path.read_text("utf-8")
    assert "\nsources:\n" in text
    path.write_text(text.replace("\nsources:\n", f"\n{settings}sources:\n", 1), "utf-8")
    return path


def _without_digests(entry: dict) -> dict:
    inputs = [{k: v for k, v in i.items() if k != "sha256"} for i in entry["inputs"]]
    return {**entry, "inputs": inputs, "origin": None}


def _run_neutral(data: bytes) -> bytes:
    return data.replace(b"split", b"RUN").replace(b"base", b"RUN")


def _counts(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("origin_run", "run_at")}


def _quarantine(run, source: str) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in run.quarantine_files(source) if p.is_file()]
    frames.append(pd.read_parquet(run.refused_quarantine(source)))
    cols = ["record_key", "reasons"]
    out = pd.concat([f.reindex(columns=cols) for f in frames], ignore_index=True)
    return out.astype("string").sort_values(cols).reset_index(drop=True)


def _combined_as_before(plan: dict, source: str) -> int:
    """The combined files hold what the combine step made from whole frames (before it
    read key columns and copied rows batch by batch)."""
    from islandbridge.run_layout import RunPlan
    from islandbridge.stages.plan import run_context
    from quality import collapse_duplicates

    _, ctx = run_context(plan)
    run = ctx.layout
    files = [run.part(source, p.index) for p in RunPlan.model_validate(plan).parts(source)]

    def concat(paths):
        return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)

    accepted = concat([f.accepted for f in files])
    rejected = concat([f.quality_quarantine for f in files])
    entity = ctx.config.source(source).entity
    kept, merged = collapse_duplicates(accepted, entity=entity, rejected=rejected)
    kept = kept.drop(columns=["parse_errors", "flags"], errors="ignore")
    quarantined = pd.concat([rejected, merged], ignore_index=True)
    tokens = concat([f.tokens for f in files])
    tokens = tokens[tokens["record_key"].isin(set(kept["record_key"]))]
    expected = {
        run.accepted(source): kept,
        run.quality_quarantine(source): quarantined,
        run.tokens(source): tokens,
        run.landing(source): concat([f.landing for f in files]),
    }
    for path, frame in expected.items():
        pd.testing.assert_frame_equal(
            pd.read_parquet(path), frame.reset_index(drop=True), check_exact=True, obj=path.name
        )
    return len(merged)


def test_a_split_run_publishes_what_the_whole_run_published(installation, tmp_path):
    from islandbridge import stages

    params = installation["params"]
    whole = installation["summary"]  # the run "base", of the same data, read whole
    config = split_config(Path(installation["config"]), tmp_path / "split_config")
    plan = stages.plan({**params, "config": str(config)}, "split", None)
    assert set(plan["partitions"]) == SPLIT_SOURCES
    kinds = {s: {p["kind"] for p in parts} for s, parts in plan["partitions"].items()}
    assert kinds["branch_signins"] == {"files"} and kinds["student_roster"] == {"keys"}
    assert all(len(parts) == 3 for parts in plan["partitions"].values())
    split = stages.run_planned(plan)
    assert sum(_combined_as_before(plan, source) for source in SPLIT_SOURCES) > 0

    assert split["balanced"] and whole["balanced"]
    data = DataLayout(installation["data"])
    versions = Path(installation["data"]) / "published" / "versions"
    ours, theirs = (
        versions / split["published"]["version"],
        versions / whole["published"]["version"],
    )
    tables = sorted(p.name for p in theirs.glob("*.parquet"))
    assert tables and tables == sorted(p.name for p in ours.glob("*.parquet"))
    for name in tables:  # byte for byte
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    # the manifest differs only in a key-split table's input digest (a digest of its
    # ranges' digests) and so its origin
    ours_m, theirs_m = (
        json.loads((v / "manifest.json").read_text("utf-8")) for v in (ours, theirs)
    )
    for source, entry in theirs_m["sources"].items():
        other = ours_m["sources"][source]
        if plan["partitions"].get(source, [{}])[0].get("kind") == "keys":
            entry, other = _without_digests(entry), _without_digests(other)
        assert entry == other, source
    assert {k: v for k, v in ours_m.items() if k not in ("sources", "version")} == {
        k: v for k, v in theirs_m.items() if k not in ("sources", "version")
    }
    published = {
        run: read_result(PublishOutcome, data.run(run).result("publish"))
        for run in ("base", "split")
    }
    assert published["split"].row_accounting == published["base"].row_accounting
    assert published["split"].rejects == published["base"].rejects
    assert split["rejects"] == whole["rejects"] and split["totals"] == whole["totals"]
    assert [_counts(s) for s in split["sources"]] == [_counts(s) for s in whole["sources"]]
    for source in plan["sources"]:
        pd.testing.assert_frame_equal(
            _quarantine(data.run("split"), source), _quarantine(data.run("base"), source)
        )
    # each department's feedback (rejected rows, refused files) is the same, but for the run id
    feedback = Path(installation["data"]) / "feedback"
    sent = sorted(p for p in feedback.rglob("*_base_*") if p.suffix in (".csv", ".txt"))
    assert any("branch" in str(p) for p in sent)
    for path in sent:
        again = path.with_name(path.name.replace("_base_", "_split_"))
        assert _run_neutral(again.read_bytes()) == _run_neutral(path.read_bytes()), path.name


def test_a_failed_partition_fails_only_its_source(installation, tmp_path, monkeypatch):
    from islandbridge import stages
    from islandbridge.run_layout import RunPlan
    from islandbridge.stages import partitions

    config = split_config(Path(installation["config"]), tmp_path / "split_config")
    params = {**installation["params"], "config": str(config), "sources": ["branch_signins"]}
    plan = stages.plan(params, "one_part_fails", None)
    labels = [x for x in RunPlan.model_validate(plan).labels if x.startswith("branch_signins")]
    assert labels == [f"branch_signins#{i}" for i in range(3)]
    real = partitions.validate_part

    def second_fails(run: dict, source: str, index: int) -> dict:
        if index == 1:
            raise RuntimeError("a worker lost")
        return real(run, source, index)

    monkeypatch.setattr(partitions, "validate_part", second_fails)
    summary = stages.run_planned(plan, isolate=True)
    assert summary["degraded"] and summary["failed_sources"] == ["branch_signins"]
    row = next(r for r in summary["sources"] if r["source"] == "branch_signins")
    assert row["status"] == "failed" and row["carried"]  # the last publication's rows
    assert "partition 2 of 3 has no validate result" in row["problem"]
    assert summary["balanced"] and summary["published"]["status"] == "published"
    layout = DataLayout(installation["data"]).run("one_part_fails")
    # its partitions' files were never combined into the source's (carried from base)
    assert read_result(ExtractResult, layout.result("extract", "branch_signins")).mode == "carried"


def test_combine_refuses_a_missing_or_foreign_partition(installation, tmp_path):
    from islandbridge import stages
    from islandbridge.errors import StageRefused
    from islandbridge.run_layout import RunPlan

    config = split_config(Path(installation["config"]), tmp_path / "split_config")
    params = {**installation["params"], "config": str(config), "sources": ["branch_signins"]}
    run = stages.plan(params, "guards", None)
    for label in RunPlan.model_validate(run).labels:
        if label.startswith("branch_signins#"):
            for stage in ("extract", "validate", "pseudonymise"):
                stages.source_stage(stage, run, label)
    layout = DataLayout(installation["data"]).run("guards")
    for zone in ("landing", "quarantine", "work", "tokens"):  # restricted, like their zones
        for folder in (layout.zone(zone) / "parts", layout.zone(zone) / "parts" / "branch_signins"):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    done = layout.result("pseudonymise", "branch_signins")
    # a plan whose partition 3 reads other files: its results are another plan's
    other = RunPlan.model_validate(run)
    parts = [dict(p) for p in other.partitions["branch_signins"]]
    parts[2]["files"] = parts[2]["files"][:-1]
    foreign = other.model_copy(update={"partitions": {"branch_signins": parts}}).to_json()
    with pytest.raises(StageRefused, match="made for another plan"):
        stages.combine(foreign, "branch_signins")
    layout.part("branch_signins", 0).result("pseudonymise").unlink()
    with pytest.raises(StageRefused, match="partition 1 of 3 has no pseudonymise result"):
        stages.combine(run, "branch_signins")
    assert not done.exists()  # never combined: link treats the source as failed
    with pytest.raises(StageRefused, match="not split"):
        stages.combine(run, "finance_dues")
