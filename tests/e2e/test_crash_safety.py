"""Crash safety: a run killed with SIGKILL inside publish or inside one source's extraction.

A child process runs one stage of ``islandbridge.stages`` and, at a precise point
(a wrapper around one internal function installed in the child only), writes a
signal file and waits; the test then ``kill -9``s it. Afterwards the previously
published version must be intact and readable, and rerunning must converge to
the bytes of an uninterrupted run, with exact row accounting.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytestmark = [pytest.mark.xdist_group("crash_safety")]

MEMBERS, SEED = 400, 11
CONFIG: dict[str, Path] = {}  # the lenient configuration, set by the volunteer_api fixture
FIRST_SOURCES = ["org_members", "student_roster", "hr_roster", "branch_signins", "org_meetings"]

#: The child: pause (signal file + sleep) when ``module.attr`` is called for the nth time.
_CHILD = r"""
import functools, importlib, json, sys, time
from pathlib import Path
stage, run_json, source, target, when, nth, signal_file = sys.argv[1:8]
module_name, attr = target.rsplit(".", 1)
module = importlib.import_module(module_name)
original = getattr(module, attr)
calls = {"n": 0}

def pause():
    Path(signal_file).write_text("reached", encoding="utf-8")
    time.sleep(600)

@functools.wraps(original)
def wrapper(*args, **kwargs):
    calls["n"] += 1
    hit = calls["n"] == int(nth)
    if hit and when == "before":
        pause()
    result = original(*args, **kwargs)
    if hit and when == "after":
        pause()
    return result

setattr(module, attr, wrapper)
from islandbridge import stages
run = json.loads(run_json)
stages.publish(run) if stage == "publish" else stages.extract(run, source)
"""


def _tree(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Relative path → SHA-256 of every regular file under ``root`` (symlinks as targets)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "-> " + str(path.readlink())
        elif path.is_file() and not rel.endswith(skip):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _ledger(root: Path) -> list[tuple[str, str, str]]:
    lines = (root / "ledger.jsonl").read_text("utf-8").splitlines()
    return [(e["action"], e["version"], e["manifest_sha256"]) for e in map(json.loads, lines)]


def _duckdb_tables(path: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = [t for (t,) in con.execute("SHOW TABLES").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}"').df() for n in names}


def _verify(data_dir: Path):
    from integrate import verify_publication
    from islandbridge.context import RunContext
    from islandbridge.secrets import load_signing_key

    ctx = RunContext(data_dir, CONFIG["path"], "verify", pd.Timestamp("2026-06-30").date())
    return verify_publication(data_dir / "published", load_signing_key(ctx).public_key())


#: the logical time of run r3, the same for the uninterrupted and the retried one
R3_AT = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def _run(data_dir: Path, run_id: str, logical: datetime | None = None) -> dict:
    from islandbridge import stages

    params = {"data_dir": str(data_dir), "config": str(CONFIG["path"])}
    return stages.plan(params, run_id, None, logical=logical)


def _kill_inside(stage: str, run: dict, target: str, *, when: str, nth: int = 1, source: str = ""):
    """Run ``stage`` in a child, SIGKILL it once it reached ``target``; returns its exit code."""
    signal_file = Path(run["data_dir"]) / f".reached.{os.getpid()}"
    signal_file.unlink(missing_ok=True)
    args = [stage, json.dumps(run), source, target, when, str(nth), str(signal_file)]
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while not signal_file.exists():
        if child.poll() is not None:
            raise AssertionError(f"child ended before {target}: {child.stderr.read()[-2000:]!r}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError(f"child never reached {target}")
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    signal_file.unlink()
    return child.returncode


@pytest.fixture(scope="module")
def volunteer_api(tmp_path_factory, make_lenient_config) -> Iterator[Path]:
    """A generated university with the demo's secrets and its youth-league API served."""
    from islandbridge.demo import ensure_demo_secrets, ensure_university
    from islandbridge.synth.volunteer_api import volunteer_api_in_env

    base = tmp_path_factory.mktemp("crash") / "data"
    CONFIG["path"] = make_lenient_config(base.parent / "config")
    ensure_university(base, members=MEMBERS, seed=SEED)
    ensure_demo_secrets(base)
    with volunteer_api_in_env(base / "university"):
        yield base


def _first_config() -> Path:
    """The lenient configuration with only FIRST_SOURCES (a university that grew later)."""
    import yaml

    full = CONFIG["path"]
    document = yaml.safe_load(full.read_text("utf-8"))
    document["sources"] = [s for s in document["sources"] if s["name"] in FIRST_SOURCES]
    first = full.with_name("first.yaml")
    first.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return first


@pytest.fixture(scope="module")
def template(volunteer_api: Path) -> dict:
    """Version 1 published (a subset of sources); run ``r2`` (all sources) done up to link."""
    from islandbridge import stages

    data = volunteer_api
    first = stages.run_inline({"data_dir": str(data), "config": str(_first_config())}, "r1")
    run = _run(data, "r2")
    for source in run["sources"]:
        stages.extract(run, source)
        stages.validate(run, source)
        stages.pseudonymise(run, source)
    stages.link(run)
    published = data / "published"
    return {
        "data": data,
        "v1": first["published"]["version"],
        "v1_files": _tree(published / "versions" / first["published"]["version"]),
        "ledger": _ledger(published),
    }


def _copy(template: dict, tmp_path: Path) -> Path:
    from islandbridge.demo import ensure_demo_secrets

    target = tmp_path / "data"
    shutil.copytree(template["data"], target, symlinks=True)
    ensure_demo_secrets(target, CONFIG["path"])  # its trust store, beside this data folder
    return target


def _retarget(run: dict, data: Path) -> dict:
    return {**run, "data_dir": str(data)}


def _plan_of(data: Path, run_id: str) -> dict:
    from islandbridge.run_layout import DataLayout, RunPlan, read_result

    return read_result(RunPlan, DataLayout(data).run(run_id).plan).to_json()


def _reference(data: Path, result: dict, summary: dict, template: dict) -> dict:
    published = data / "published"
    assert result["version"] != template["v1"]
    return {
        "root": str(data),
        "version": result["version"],
        "files": _tree(published / "versions" / result["version"], skip=(".duckdb",)),
        "duckdb": _duckdb_tables(published / "current" / "dataset.duckdb"),
        "ledger": _ledger(published),
        "accounting": {r["source"]: r for r in summary["sources"]},
        "totals": summary["totals"],
    }


@pytest.fixture(scope="module")
def reference(template: dict, tmp_path_factory) -> dict:
    """The uninterrupted publish of run r2, on its own copy."""
    from islandbridge import stages
    from islandbridge.io import read_json

    data = _copy(template, tmp_path_factory.mktemp("reference"))
    run = _retarget(_plan_of(template["data"], "r2"), data)
    result = stages.publish(run)
    return _reference(data, result, read_json(Path(stages.report(run))), template)


@pytest.fixture(scope="module")
def reference_r3(template: dict, tmp_path_factory) -> dict:
    """An uninterrupted run r3 (every source extracted) on its own copy."""
    from islandbridge import stages

    data = _copy(template, tmp_path_factory.mktemp("reference_r3"))
    params = {"data_dir": str(data), "config": str(CONFIG["path"])}
    summary = stages.run_inline(params, "r3", logical=R3_AT)
    return _reference(data, summary["published"], summary, template)


def _assert_previous_version_serves(data: Path, template: dict) -> None:
    published = data / "published"
    assert (published / "current").readlink().name == template["v1"]
    version_dir = published / "versions" / template["v1"]
    assert _tree(version_dir) == template["v1_files"]
    tables = _duckdb_tables(published / "current" / "dataset.duckdb")
    parquet = pd.read_parquet(published / "current" / "dim_person.parquet")
    assert len(tables["dim_person"]) == len(parquet) > 0
    assert _ledger(published)[: len(template["ledger"])] == template["ledger"]


def _assert_converged(data: Path, reference: dict, summary: dict | None = None) -> None:
    published = data / "published"
    version = reference["version"]
    assert (published / "current").readlink().name == version
    assert _tree(published / "versions" / version, skip=(".duckdb",)) == reference["files"]
    tables = _duckdb_tables(published / "current" / "dataset.duckdb")
    assert tables.keys() == reference["duckdb"].keys()
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, reference["duckdb"][name], check_dtype=False)
    assert _ledger(published) == reference["ledger"]
    assert not list((published / ".staging").glob("*")), "a crashed staging folder was left"
    assert not list(published.glob(".current.*")), "a crashed temporary link was left"
    report = _verify(data)
    assert report.ok, report.problems
    if summary is not None:
        got = {r["source"]: r for r in summary["sources"]}
        assert got == reference["accounting"]
        assert summary["balanced"] is True


# point → (function wrapped in the child, before/after, which call, pending trace verify reports)
PUBLISH_POINTS = {
    "writing_staged_files": ("integrate.publish._write_synced", "after", 2, None),
    "staged_before_rename": ("integrate.publish._write_duckdb", "after", 1, None),
    "renamed_before_ledger": (  # the ledger is read once to check its anchor, then here
        "integrate.publish.read_entries",
        "before",
        2,
        "staged, not recorded",
    ),
    "ledger_before_switch": ("integrate.publish._switch_current", "before", 1, "interrupted"),
}


@pytest.mark.parametrize("point", sorted(PUBLISH_POINTS))
def test_kill_inside_publish_keeps_previous_version_and_rerun_converges(
    point, template, reference, tmp_path
):
    from islandbridge import stages
    from islandbridge.io import read_json

    data = _copy(template, tmp_path)
    run = _retarget(_plan_of(data, "r2"), data)
    target, when, nth, trace = PUBLISH_POINTS[point]
    assert _kill_inside("publish", run, target, when=when, nth=nth) == -signal.SIGKILL

    _assert_previous_version_serves(data, template)
    report = _verify(data)
    assert report.ok, report.problems
    assert [trace in p for p in report.pending] == ([True] if trace else [])
    stages.publish(run)  # the retried task
    summary = read_json(Path(stages.report(run)))
    _assert_converged(data, reference, summary)


def test_kill_inside_one_sources_extraction_then_rerun_converges(template, reference_r3, tmp_path):
    from islandbridge import stages

    data = _copy(template, tmp_path)
    run = _run(data, "r3", R3_AT)
    from islandbridge.run_layout import DataLayout

    landing = DataLayout(data).run("r3")
    code = _kill_inside(
        "extract", run, "connectors.landing.check_contract", when="after", source="finance_dues"
    )
    assert code == -signal.SIGKILL
    assert not landing.landing("finance_dues").exists()
    assert not landing.provenance("finance_dues").exists()
    _assert_previous_version_serves(data, template)
    assert _verify(data).ok

    params = {"data_dir": str(data), "config": str(CONFIG["path"])}
    summary = stages.run_inline(params, "r3", logical=R3_AT)  # the retried run
    _assert_converged(data, reference_r3, summary)
    generated = json.loads((data / "university" / "manifest.json").read_text("utf-8"))
    dues = next(r for r in summary["sources"] if r["source"] == "finance_dues")
    assert dues["in"] == generated["rows"]["finance_dues.csv"]
    assert dues["in"] == dues["quarantined"] + dues["suppressed"] + dues["published"]


def test_rollback_of_current_without_interrupted_publish_is_a_problem(reference, tmp_path):
    """Known-bad case: pointing current back at an older version is not taken for a crash."""
    data = tmp_path / "data"
    shutil.copytree(Path(reference["root"]), data, symlinks=True)
    published = data / "published"
    older = _ledger(published)[0][1]
    (published / "current").unlink()
    (published / "current").symlink_to(f"versions/{older}")
    report = _verify(data)
    assert not report.ok
    assert any("but the last ledger.jsonl entry is" in p for p in report.problems)
