"""The publish stage alone, old (fact tables built in memory, :data:`BEFORE`) vs new
(streamed), each in a process of its own on a copy of one linked run: CPU seconds, peak
RSS, and every published file compared byte for byte.

    python -m bench.run --only publish_stream --sizes 100000

The run is taken through link once, by the old code; old and new then publish copies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.checkouts import ROOT, code_at

__all__ = ["BEFORE", "bench_publish_stream"]

#: main before publish streamed its fact tables
BEFORE = "972a509"

_PREPARE = r"""
import json, os, secrets, sys
from datetime import date
from pathlib import Path
from islandbridge import stages
from islandbridge.demo import ensure_demo_secrets, ensure_demo_trust_store, ensure_university
from islandbridge.synth.volunteer_api import serve_volunteer_api
data, size = Path(sys.argv[1]), int(sys.argv[2])
ensure_university(data, members=size, seed=1)
ensure_demo_secrets(data)
ensure_demo_trust_store(data)
token = secrets.token_urlsafe(16)
with serve_volunteer_api(data / "university/sources/volunteer_records.json", token=token) as api:
    os.environ["ISLANDBRIDGE_VOLUNTEER_API_URL"] = f"{api.url}/api/v1/records"
    os.environ["ISLANDBRIDGE_VOLUNTEER_API_TOKEN"] = token
    run = stages.plan({"data_dir": str(data)}, "bench", date(2026, 7, 1))
    for source in run["sources"]:
        for stage in (stages.extract, stages.validate, stages.pseudonymise):
            stage(run, source)
    stages.link(run)
(data / "run.json").write_text(json.dumps(run))
"""

_PUBLISH = r"""
import json, sys, time
from pathlib import Path
from islandbridge import stages
run = json.loads((Path(sys.argv[1]) / "run.json").read_text())
started = time.process_time()
out = stages.publish(run)
print(json.dumps({"cpu_s": time.process_time() - started, "tables": out["tables"]}))
"""


def _child(code: Path, script: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "GX_ANALYTICS_ENABLED": "False"}
    errors = Path(args[0]).with_suffix(".stderr")
    with open(errors, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            cwd=code,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"child with {code} failed (its stderr: {errors})")
    last = out.strip().splitlines()[-1] if out.strip() else "{}"
    return {
        **json.loads(last),
        "process_cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_MiB": usage.ru_maxrss / 1024,
    }


def _copy(base: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base, target, symlinks=True)
    run = (target / "run.json").read_text().replace(str(base), str(target))
    (target / "run.json").write_text(run)


def _differing(a: Path, b: Path) -> list[str]:
    names = sorted(p.name for p in a.iterdir() if p.name != "dataset.duckdb")
    return [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]


def bench_publish_stream(size: int, workdir: Path) -> dict[str, object]:
    """The publish stage alone: old (in memory, 972a509) vs new (streamed), same linked
    run; CPU s, peak RSS MiB, published files compared byte for byte."""
    with code_at({"old": BEFORE}, workdir) as codes:
        old_code = codes["old"]
        base = workdir / "linked"
        _child(old_code, _PREPARE, str(base), str(size))
        runs = {}
        for label, code in (("old", old_code), ("new", ROOT)):
            _copy(base, workdir / label)
            runs[label] = _child(code, _PUBLISH, str(workdir / label))
    old, new = runs["old"], runs["new"]
    differing = _differing(
        workdir / "old" / "published" / "current", workdir / "new" / "published" / "current"
    )
    return {
        "fact rows": sum(v for k, v in new["tables"].items() if k.startswith("fact_")),
        "old publish cpu_s": round(old["cpu_s"], 1),
        "new publish cpu_s": round(new["cpu_s"], 1),
        "cpu new/old": round(new["cpu_s"] / old["cpu_s"], 2),
        "old rss_MiB": round(old["rss_MiB"]),
        "new rss_MiB": round(new["rss_MiB"]),
        "rss new/old": round(new["rss_MiB"] / old["rss_MiB"], 2),
        "published files": "byte-identical" if not differing else f"differ: {differing}",
    }
