"""The combine step of a split source (the branch sign-ins as 4 partitions), old against
new in the same run: the partitions are made once, then combined by the code at
:data:`BEFORE` (a clean checkout) and by this tree, each in its own process (CPU-s, peak
RSS), alternately; the combined files must hold the same rows.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from bench.checkouts import code_at

#: integration before the combine step read key columns only
BEFORE = "ea8993a"
SOURCE = "branch_signins"
PARTS = 4
ROUNDS = 2
FILES = ("landing", "accepted", "quality_quarantine", "tokens", "rejected_keys")

_CHILD = """
import json, sys, time
from pathlib import Path
from islandbridge import stages
run = json.loads(Path(sys.argv[1]).read_text())
started = time.process_time()
stages.combine(run, sys.argv[2])
cpu = time.process_time() - started
for line in Path("/proc/self/status").read_text().splitlines():
    if line.startswith("VmHWM:"):
        rss = int(line.split()[1]) / 1024
print(json.dumps({"cpu_s": cpu, "rss_MiB": rss}))
"""


def _combine_in(tree: Path, run_file: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(run_file), SOURCE],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _frames(layout, source: str) -> dict:
    import pandas as pd

    return {name: pd.read_parquet(getattr(layout, name)(source)) for name in FILES}


def _same(a: dict, b: dict) -> None:
    import pandas as pd

    for name in FILES:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def _prepared(cache: Path, prepared: Path, size: int) -> Path:
    """The partitions of the sign-ins, made once (kept in ``prepared``: the combine step
    only reads them and rewrites the source's files); the run's JSON file."""
    from bench.bench_partitions import _chain

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import lenient_config

    from islandbridge import stages
    from islandbridge.demo import ensure_demo_secrets, ensure_university
    from islandbridge.run_layout import RunPlan

    run_file = prepared / "run.json"
    if run_file.is_file():
        return run_file
    shutil.rmtree(prepared, ignore_errors=True)
    data = prepared / "data"
    ensure_university(cache / "data", members=size, seed=5)
    shutil.copytree(cache / "data", data, symlinks=True)
    config = lenient_config(prepared / "config")
    ensure_demo_secrets(data, config)
    signins = data / "university" / "sources" / "signins"
    total = sum(p.stat().st_size for p in signins.glob("*.csv"))
    line = f"partitions: {{max_bytes: {math.ceil(total / PARTS)}, max_parts: {PARTS}}}\n"
    text = config.read_text("utf-8")
    config.write_text(text.replace("\nsources:\n", f"\n{line}sources:\n", 1), "utf-8")
    params = {"data_dir": str(data), "config": str(config), "sources": [SOURCE]}
    run = stages.plan(params, "bench_combine", None)
    labels = [x for x in RunPlan.model_validate(run).labels if x.split("#")[0] == SOURCE]
    assert len(labels) == PARTS, labels
    with ProcessPoolExecutor(2, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        list(pool.map(_chain, [run] * len(labels), labels))
    run_file.write_text(json.dumps(run, default=str), "utf-8")
    return run_file


def bench_combine(size: int, workdir: Path) -> dict[str, object]:
    """The combine step of the branch sign-ins of a ``size``-member university in 4
    partitions: the baseline tree's and this tree's, CPU-s and peak RSS."""
    from islandbridge.stages.plan import run_context

    here = Path(__file__).resolve().parents[1]
    out = Path(__file__).with_name("out")
    run_file = _prepared(out / f"combine-university-{size}", out / f"combine-parts-{size}", size)
    run = json.loads(run_file.read_text("utf-8"))
    _, ctx = run_context(run)
    old, new, outputs = [], [], {}
    with code_at({"old": BEFORE}, workdir) as codes:
        for _ in range(ROUNDS):
            old.append(_combine_in(codes["old"], run_file))
            outputs["old"] = _frames(ctx.layout, SOURCE)
            new.append(_combine_in(here, run_file))
            outputs["new"] = _frames(ctx.layout, SOURCE)
            _same(outputs["old"], outputs["new"])
    old_cpu, new_cpu = min(r["cpu_s"] for r in old), min(r["cpu_s"] for r in new)
    old_rss, new_rss = min(r["rss_MiB"] for r in old), min(r["rss_MiB"] for r in new)
    return {
        "rows_in": sum(len(outputs["new"][n]) for n in ("accepted", "quality_quarantine")),
        "quarantined": len(outputs["new"]["quality_quarantine"]),
        "old_cpu_s": "/".join(f"{r['cpu_s']:.1f}" for r in old),
        "new_cpu_s": "/".join(f"{r['cpu_s']:.1f}" for r in new),
        "cpu_x_old": round(new_cpu / old_cpu, 2),
        "old_rss_MiB": "/".join(f"{r['rss_MiB']:.0f}" for r in old),
        "new_rss_MiB": "/".join(f"{r['rss_MiB']:.0f}" for r in new),
        "rss_x_old": round(new_rss / old_rss, 2),
        "same_files": "yes",
    }
