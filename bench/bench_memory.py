"""Issue 13 part 3: peak memory and CPU of validate + pseudonymise of the largest source.

    python -m bench.run --only memory --sizes 100000,1000000

A university of ``size`` members is generated and its largest source (the branch
sign-in sheets) planned and extracted once. Then its validate and pseudonymise stages
run in a fresh child process each: first the code of ``BASELINE`` (main before this
work: the whole source in memory), then HEAD's (record batches of ``batch_rows``,
default 500,000), each from a clean checkout, on the same landed file. Per child: its own peak RSS and CPU seconds
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


def _prepare(workdir: Path, size: int) -> Path:
    """Generate the university and land its largest source, in a child (so this process
    stays small while the stages run); the run's plan file."""
    script = (
        "import sys; from datetime import date; from pathlib import Path\n"
        "from islandbridge import stages\n"
        "from islandbridge.demo import ensure_demo_secrets, ensure_university\n"
        "data = Path(sys.argv[1])\n"
        "ensure_university(data, members=int(sys.argv[2]), seed=1)\n"
        "ensure_demo_secrets(data)\n"
        f"run = stages.plan({{'data_dir': str(data), 'sources': ['{SOURCE}']}}, 'memory',"
        " date(2026, 7, 1))\n"
        f"stages.extract(run, '{SOURCE}')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-c", script, str(workdir), str(size)],
        check=True,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from islandbridge.run_layout import DataLayout

    return DataLayout(workdir).run("memory").plan


def _checkout(commit: str, folder: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), commit],
        check=True,
        capture_output=True,
    )
    assets = folder / "node_modules"  # Data Docs' offline assets, installed beside the code
    if not assets.exists():
        assets.symlink_to((ROOT / "node_modules").resolve())
    return folder


def bench_memory(size: int, workdir: Path) -> dict[str, object]:
    """Validate + pseudonymise of the largest source (sign-ins): 21fd49d (whole source) vs
    HEAD (record batches), each in its own process, on the same landed file."""
    from islandbridge.run_layout import DataLayout

    plan = _prepare(workdir, size)
    layout = DataLayout(workdir).run("memory")
    codes = {"old": workdir / "old-code", "new": workdir / "new-code"}
    try:
        old = _child(_checkout(BASELINE, codes["old"]), plan, SOURCE)
        kept = workdir / "old-outputs"
        kept.mkdir()
        old_files = {}
        for name, path in _outputs(layout, SOURCE).items():
            old_files[name] = kept / path.name
            shutil.move(path, old_files[name])
        new = _child(_checkout("HEAD", codes["new"]), plan, SOURCE)
    finally:
        for code in codes.values():
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(code)],
                check=False,
                capture_output=True,
            )
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
