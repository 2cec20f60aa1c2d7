"""One big source (the branch sign-ins, many CSV files) processed whole, then as 2 and 4
partitions by stage calls in separate processes, two at a time (the machine's 2 cores),
then combined: wall time, CPU seconds and peak RSS per partition.

Each variant runs on its own copy of one generated installation (the vault starts in the
same state), and its combined result is checked against the whole run's row counts.
"""

from __future__ import annotations

import math
import resource
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

SOURCE = "branch_signins"
VARIANTS = (1, 2, 4)


def _chain(run: dict, label: str) -> dict:
    """A partition's (or the whole source's) chain in this process: CPU-s and peak RSS."""
    from islandbridge import stages

    started = time.process_time()
    for stage in ("extract", "validate", "pseudonymise"):
        stages.source_stage(stage, run, label)
    return {"label": label, "cpu_s": time.process_time() - started, "rss_MiB": _peak_mib()}


def _combine(run: dict) -> dict:
    """The combine step in its own process: CPU-s and peak RSS."""
    from islandbridge import stages

    started = time.process_time()
    stages.combine(run, SOURCE)
    return {"cpu_s": time.process_time() - started, "rss_MiB": _peak_mib()}


def _peak_mib() -> float:
    """This process's peak RSS since it started (``VmHWM``; ``ru_maxrss`` of a spawned
    child also counts its parent's size at the fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _variant(base: Path, workdir: Path, parts: int) -> dict:
    from islandbridge import stages
    from islandbridge.demo import ensure_demo_secrets
    from islandbridge.run_layout import RunPlan, ValidateResult, read_result
    from islandbridge.stages.plan import run_context

    data = workdir / f"data_{parts}"
    shutil.copytree(base / "data", data, symlinks=True)
    config_dir = workdir / f"config_{parts}"
    shutil.copytree(base / "config", config_dir)
    config = config_dir / "islandbridge.yaml"
    ensure_demo_secrets(data, config)
    if parts > 1:
        signins = data / "university" / "sources" / "signins"
        total = sum(p.stat().st_size for p in signins.glob("*.csv"))
        line = f"partitions: {{max_bytes: {math.ceil(total / parts)}, max_parts: {parts}}}\n"
        text = config.read_text("utf-8")
        config.write_text(text.replace("\nsources:\n", f"\n{line}sources:\n", 1), "utf-8")
    params = {"data_dir": str(data), "config": str(config), "sources": [SOURCE]}
    run = stages.plan(params, f"bench_{parts}", None)
    labels = [x for x in RunPlan.model_validate(run).labels if x.split("#")[0] == SOURCE]
    assert len(labels) == parts, labels
    started = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        chains = list(pool.map(_chain, [run] * len(labels), labels))
        combined = pool.submit(_combine, run).result() if parts > 1 else {}
    wall = time.perf_counter() - started
    _, ctx = run_context(run)
    validated = read_result(ValidateResult, ctx.layout.result("validate", SOURCE))
    return {
        "wall_s": wall,
        "cpu_s": sum(c["cpu_s"] for c in chains) + combined.get("cpu_s", 0.0),
        "combine_cpu_s": combined.get("cpu_s", 0.0),
        "combine_rss_MiB": combined.get("rss_MiB", 0.0),
        "chains": chains,
        "rows": (validated.rows_in, validated.accepted, validated.quarantined),
    }


def bench_partitions(size: int, workdir: Path) -> dict[str, object]:
    """The branch sign-ins of a ``size``-member university whole, then as 2 and 4 partitions
    on 2 processes (stage calls), then combined."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import lenient_config

    from islandbridge.demo import ensure_demo_secrets, ensure_university

    base = workdir / "base"
    config = lenient_config(base / "config")
    ensure_university(base / "data", members=size, seed=5)
    ensure_demo_secrets(base / "data", config)
    out: dict[str, object] = {}
    results = {n: _variant(base, workdir, n) for n in VARIANTS}
    whole = results[1]
    for n, r in results.items():
        assert r["rows"] == whole["rows"], (n, r["rows"], whole["rows"])  # same split of rows
        out[f"p{n}_wall_s"] = round(r["wall_s"], 1)
        out[f"p{n}_cpu_s"] = round(r["cpu_s"], 1)
        out[f"p{n}_wall_x_whole"] = round(r["wall_s"] / whole["wall_s"], 2)
        out[f"p{n}_part_cpu_s"] = "/".join(f"{c['cpu_s']:.1f}" for c in r["chains"])
        out[f"p{n}_part_rss_MiB"] = "/".join(f"{c['rss_MiB']:.0f}" for c in r["chains"])
        if n > 1:
            out[f"p{n}_combine_cpu_s"] = round(r["combine_cpu_s"], 1)
            out[f"p{n}_combine_rss_MiB"] = round(r["combine_rss_MiB"])
    out["rows_in"] = whole["rows"][0]
    return out
