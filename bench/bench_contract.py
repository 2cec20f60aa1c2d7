"""The run contract's cost: the whole pipeline (no Airflow) at ``size`` members with the
code before the contract (commit ``BASELINE``, checked out as a git worktree) beside the
current code, alternately, each in a fresh process on its own copy of one generated
university. Wall and CPU seconds per run (the machine may be shared: CPU time is the
steadier figure) and the ratio current / baseline of the medians.

    python -m bench.run --only contract --sizes 10000,100000
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.checkouts import ROOT, code_at

__all__ = ["BASELINE", "bench_contract"]

#: the last commit before the run contract (issue 10)
BASELINE = "7cbc445"

#: run in a child with PYTHONPATH=<code root>: every stage once, in DAG order
_RUNNER = r"""
import inspect, json, os, secrets, sys, time
from datetime import date
from pathlib import Path
from islandbridge import stages
from islandbridge.synth.volunteer_api import serve_volunteer_api
data = Path(sys.argv[1])
token = secrets.token_urlsafe(16)
seconds = {}
def timed(name, fn, *args):
    t = time.perf_counter(); out = fn(*args)
    seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t
    return out
with serve_volunteer_api(data / "university/sources/volunteer_records.json", token=token) as api:
    os.environ["ISLANDBRIDGE_VOLUNTEER_API_URL"] = f"{api.url}/api/v1/records"
    os.environ["ISLANDBRIDGE_VOLUNTEER_API_TOKEN"] = token
    run = timed("plan", stages.plan, {"data_dir": str(data)}, "bench", date(2026, 7, 1))
    for source in run["sources"]:
        for stage in (stages.extract, stages.validate, stages.pseudonymise):
            timed(stage.__name__, stage, run, source)
    two_args = len(inspect.signature(stages.link).parameters) == 2  # before the contract
    timed("link", stages.link, *((run, run["sources"]) if two_args else (run,)))
    published = timed("publish", stages.publish, run)
    timed("report", stages.report, run)
print(json.dumps({"stages": seconds, "tables": published["tables"]}))
"""


def _one(code: Path, template: Path, target: Path) -> dict:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for part in ("university", "secrets"):
        shutil.copytree(template / part, target / part, symlinks=True)
    env = {**os.environ, "PYTHONPATH": str(code), "GX_ANALYTICS_ENABLED": "False"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(target)],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out = proc.stdout.read() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"pipeline run with {code} failed")
    result = json.loads(out.strip().splitlines()[-1])
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "rows": sum(result["tables"].values()),
        "stages": result["stages"],
    }


def bench_contract(size: int, workdir: Path, repeats: int = 2) -> dict[str, object]:
    """The whole pipeline inline before the run contract (7cbc445) and now, alternately."""
    from islandbridge.demo import ensure_demo_secrets, ensure_university

    template = workdir / "template"
    ensure_university(template, members=size, seed=1)
    ensure_demo_secrets(template)
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    with code_at({"before": BASELINE}, workdir) as checkouts:
        codes = {"before": checkouts["before"], "after": ROOT}
        for rep in range(repeats):
            for name, code in codes.items():
                runs[name].append(_one(code, template, workdir / f"{name}-{rep}"))
    med = {
        name: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "rss_mib")}
        for name, rs in runs.items()
    }
    return {
        "before_wall_s": round(med["before"]["wall"], 1),
        "after_wall_s": round(med["after"]["wall"], 1),
        "wall_ratio": round(med["after"]["wall"] / med["before"]["wall"], 2),
        "before_cpu_s": round(med["before"]["cpu"], 1),
        "after_cpu_s": round(med["after"]["cpu"], 1),
        "cpu_ratio": round(med["after"]["cpu"] / med["before"]["cpu"], 2),
        "before_rss_MiB": round(med["before"]["rss_mib"]),
        "after_rss_MiB": round(med["after"]["rss_mib"]),
        "rows_before": runs["before"][0]["rows"],
        "rows_after": runs["after"][0]["rows"],
        "after_stages_s": {k: round(v, 1) for k, v in runs["after"][-1]["stages"].items()},
        "before_stages_s": {k: round(v, 1) for k, v in runs["before"][-1]["stages"].items()},
    }
