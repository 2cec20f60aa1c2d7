"""The extract stage per source, CPU and peak RSS, at the commit before its columnar rework
(issue 13) and at HEAD, in the same run, on the same generated university.

    python -m bench.run --only extract --sizes 10000,100000

Each code runs plan, then the extract stage of every source, inline in a child process
of its own (a git worktree of the commit, as :mod:`bench.bench_stages` does); CPU is
``process_time`` per source, peak RSS the highest over the sources (the high-water mark
reset before each). Every file the extract stage wrote — landed rows, refused-input
quarantines, provenance, results, the record of accepted exports — must be equal between
old and new (times and the data folder's path left out), or the benchmark fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from bench.checkouts import code_at, installation_copy

__all__ = ["BEFORE", "bench_extract", "extract_outputs_equal"]

#: main before the extract stage's columnar rework
BEFORE = "972a509"

_RUNNER = r"""
import json, os, secrets, sys, time
from datetime import date
from pathlib import Path
from islandbridge import stages
from islandbridge.synth.volunteer_api import serve_volunteer_api
data = Path(sys.argv[1])
token = secrets.token_urlsafe(16)
cpu, rss = {}, {}
def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0
with serve_volunteer_api(data / "university/sources/volunteer_records.json", token=token) as api:
    os.environ["ISLANDBRIDGE_VOLUNTEER_API_URL"] = f"{api.url}/api/v1/records"
    os.environ["ISLANDBRIDGE_VOLUNTEER_API_TOKEN"] = token
    run = stages.plan({"data_dir": str(data)}, "bench", date(2026, 7, 1))
    for source in run["sources"]:
        try:
            open("/proc/self/clear_refs", "w").write("5")
        except OSError:
            pass
        c = time.process_time()
        stages.extract(run, source)
        cpu[source] = time.process_time() - c
        rss[source] = peak_mib()
print(json.dumps({"cpu": cpu, "rss": rss}))
"""

#: fields that hold a time of the run, not a result
_VOLATILE = {"extracted_at", "accepted_at", "run_at", "started_at"}


def _extract_once(code: Path, template: Path, target: Path) -> dict:
    installation_copy(template, target)
    env = {**os.environ, "PYTHONPATH": str(code), "GX_ANALYTICS_ENABLED": "False"}
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(target)],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"extract with {code} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _json(path: Path, root: Path) -> object:
    def scrub(x: object) -> object:
        if isinstance(x, dict):
            return {k: scrub(v) for k, v in x.items() if k not in _VOLATILE}
        if isinstance(x, list):
            return [scrub(v) for v in x]
        return x

    return scrub(json.loads(path.read_text("utf-8").replace(str(root), "<data>")))


def extract_outputs_equal(old: Path, new: Path) -> int:
    """Compare every file the extract stage wrote under ``old`` and ``new`` (Parquet by
    schema and rows, JSON by content without times and paths); the number compared."""

    def files(root: Path) -> list[Path]:
        found = [p for sub in ("runs", "state") for p in (root / sub).rglob("*") if p.is_file()]
        return sorted(
            p.relative_to(root)
            for p in found
            if not p.name.endswith(".lock") and p.name != "plan.json"
        )

    names = files(old)
    if names != files(new):
        raise AssertionError(f"files differ: {sorted(set(names) ^ set(files(new)))}")
    for rel in names:
        if rel.suffix == ".parquet":
            a, b = pq.read_table(old / rel), pq.read_table(new / rel)
            same = a.schema.equals(b.schema, check_metadata=True) and a.equals(b)
        elif rel.suffix == ".json":
            same = _json(old / rel, old) == _json(new / rel, new)
        else:
            same = (old / rel).read_bytes() == (new / rel).read_bytes()
        if not same:
            raise AssertionError(f"{rel} differs between old and new")
    return len(names)


def bench_extract(size: int, workdir: Path) -> dict[str, object]:
    """Extract per source (CPU s) at 972a509 (old) and HEAD (new), outputs compared."""
    from islandbridge.demo import ensure_demo_secrets, ensure_university

    template = workdir / "template"
    ensure_university(template, members=size, seed=1)
    ensure_demo_secrets(template)
    try:
        with code_at({"old": BEFORE, "new": "HEAD"}, workdir) as codes:
            runs = {
                label: _extract_once(codes[label], template, workdir / label) for label in codes
            }
            compared = extract_outputs_equal(workdir / "old", workdir / "new")
    finally:
        for label in ("old", "new"):
            shutil.rmtree(workdir / label, ignore_errors=True)
    old, new = runs["old"], runs["new"]
    out: dict[str, object] = {"files compared": compared}
    for source in new["cpu"]:
        before, after = old["cpu"][source], new["cpu"][source]
        out[f"{source} old→new"] = f"{before:.2f}→{after:.2f}"
    total_old, total_new = sum(old["cpu"].values()), sum(new["cpu"].values())
    out["extract cpu old→new"] = f"{total_old:.1f}→{total_new:.1f}"
    out["ratio new/old"] = round(total_new / total_old, 2)
    out["peak RSS MiB old→new"] = f"{max(old['rss'].values()):,.0f}→{max(new['rss'].values()):,.0f}"
    return out
