"""Issue 13 part 3: peak memory and CPU of validate + pseudonymise of the largest source.

    python -m bench.run --only memory --sizes 100000

A university of ``size`` members is generated and its largest source (the branch
sign-in sheets) planned and extracted once. Then its validate and pseudonymise stages
run in a fresh child process each: first the code of ``BASELINE`` (main before this
work: the whole source in memory), then the current code (record batches of
``batch_rows``), on the same landed file. Per child: its own peak RSS and CPU seconds
(``os.wait4``: user + system, imports included). The outputs of the two (accepted rows,
quarantine, tokens, stage results) are compared and must be equal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

__all__ = ["BASELINE", "SOURCE", "bench_memory"]

#: main before the batched stages
BASELINE = "21fd49d"
SOURCE = "branch_signins"
ROOT = Path(__file__).resolve().parents[1]

#: argv: plan JSON path, source; prints the stages' own CPU seconds
_CHILD = r"""
import json, sys, time
from islandbridge import stages
run = json.loads(open(sys.argv[1], encoding="utf-8").read())
cpu = {}
for stage in (stages.validate, stages.pseudonymise):
    started = time.process_time()
    stage(run, sys.argv[2])
    cpu[stage.__name__] = time.process_time() - started
print(json.dumps(cpu))
"""


def _child(code: Path, plan: Path, source: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(code), "GX_ANALYTICS_ENABLED": "False"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(plan), source],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"validate + pseudonymise with {code} failed (status {status})")
    stages = json.loads(out.strip().splitlines()[-1])
    return {
        "wall": time.perf_counter() - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        **{f"{k}_cpu": v for k, v in stages.items()},
    }


def _outputs(layout, source: str) -> dict[str, Path]:
    return {
        "accepted": layout.accepted(source),
        "quarantine": layout.quality_quarantine(source),
        "tokens": layout.tokens(source),
        "validate": layout.result("validate", source),
        "pseudonymise": layout.result("pseudonymise", source),
    }


def _same(old: dict[str, Path], new: dict[str, Path]) -> None:
    for name in ("accepted", "quarantine", "tokens"):
        pd.testing.assert_frame_equal(pd.read_parquet(old[name]), pd.read_parquet(new[name]))
    for name in ("validate", "pseudonymise"):
        before = json.loads(old[name].read_text(encoding="utf-8"))
        after = json.loads(new[name].read_text(encoding="utf-8"))
        if before != after:
            raise AssertionError(f"{name} results differ: {before} vs {after}")


def bench_memory(size: int, workdir: Path) -> dict[str, object]:
    """Validate + pseudonymise of the largest source (sign-ins): 21fd49d (whole source) vs now."""
    from islandbridge import stages
    from islandbridge.demo import ensure_demo_secrets, ensure_university
    from islandbridge.run_layout import DataLayout

    ensure_university(workdir, members=size, seed=1)
    ensure_demo_secrets(workdir)
    run = stages.plan({"data_dir": str(workdir), "sources": [SOURCE]}, "memory", date(2026, 7, 1))
    stages.extract(run, SOURCE)
    layout = DataLayout(workdir).run("memory")
    plan = layout.plan
    old_code = workdir / "old-code"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old_code), BASELINE],
        check=True,
        capture_output=True,
    )
    (old_code / "node_modules").symlink_to((ROOT / "node_modules").resolve())  # Data Docs' assets
    try:
        old = _child(old_code, plan, SOURCE)
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_code)],
            check=False,
            capture_output=True,
        )
    kept = workdir / "old-outputs"
    kept.mkdir()
    old_files = {}
    for name, path in _outputs(layout, SOURCE).items():
        old_files[name] = kept / path.name
        shutil.move(path, old_files[name])
    new = _child(ROOT, plan, SOURCE)
    _same(old_files, _outputs(layout, SOURCE))
    rows = json.loads(layout.result("validate", SOURCE).read_text(encoding="utf-8"))["rows_in"]
    return {
        "source_rows": rows,
        "old_rss_MiB": round(old["rss_mib"]),
        "new_rss_MiB": round(new["rss_mib"]),
        "rss_ratio": round(new["rss_mib"] / old["rss_mib"], 2),
        "old_cpu_s": round(old["cpu"], 1),
        "new_cpu_s": round(new["cpu"], 1),
        "cpu_ratio": round(new["cpu"] / old["cpu"], 2),
        "validate cpu old→new": f"{old['validate_cpu']:.1f}→{new['validate_cpu']:.1f}",
        "pseudonymise cpu old→new": (
            f"{old['pseudonymise_cpu']:.1f}→{new['pseudonymise_cpu']:.1f}"
        ),
        "outputs": "equal",
    }
