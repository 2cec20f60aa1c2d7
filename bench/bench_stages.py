"""The whole pipeline per stage — wall, CPU and peak RSS — at HEAD, and at 100k members
also at the commit before the run-wide stages' rework (issue 13), in the same run.

    python -m bench.run --only stages --sizes 10000,100000[,1000000]

``BENCH_STAGES_COMPARE_AT`` (environment) sets the size at which the code before runs
too (default 100000; ``0``: at none).

Every stage runs once, inline, in a child process (:func:`bench.bench_scale.pipeline_once`:
per-source stages summed over the sources; a stage's peak RSS is the highest over its
calls, the high-water mark reset before each). At 100k the code at :data:`BEFORE` runs
the same generated university first, and the published rows must be equal.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.bench_scale import pipeline_once
from bench.checkouts import code_at

__all__ = ["BEFORE", "STAGES", "bench_stages"]

#: main before the run-wide stages were reworked
BEFORE = "21fd49d"
STAGES = ("plan", "extract", "validate", "pseudonymise", "link", "publish", "report")
#: the size at which the code before is run too
COMPARED_AT = int(os.environ.get("BENCH_STAGES_COMPARE_AT", "100000"))


def _cells(run: dict, label: str) -> dict[str, object]:
    out: dict[str, object] = {
        f"{label} cpu_s": round(run["cpu"], 1),
        f"{label} wall_s": round(run["wall"], 1),
        f"{label} rss_MiB": round(run["rss_mib"]),
    }
    for stage in STAGES:
        cpu = run["stage_cpu"].get(stage, 0.0)
        wall = run["stage_wall"].get(stage, 0.0)
        rss = run["stage_rss_mib"].get(stage, 0.0)
        out[f"{label} {stage} cpu·wall·MiB"] = f"{cpu:.1f}·{wall:.1f}·{rss:,.0f}"
    return out


def bench_stages(size: int, workdir: Path) -> dict[str, object]:
    """Whole pipeline inline per stage (CPU s · wall s · peak RSS MiB) at HEAD; at 100k
    also at 21fd49d (before the run-wide stages' rework), ratio new/old."""
    from islandbridge.demo import ensure_demo_secrets, ensure_university

    template = workdir / "template"
    ensure_university(template, members=size, seed=1)
    ensure_demo_secrets(template)
    commits = {"new": "HEAD", **({"old": BEFORE} if size == COMPARED_AT else {})}
    with code_at(commits, workdir) as codes:
        runs = {
            label: pipeline_once(codes[label], template, workdir / label)
            for label in sorted(codes, reverse=True)  # "old" first, as in scale_pipeline
        }
    new = runs["new"]
    out: dict[str, object] = {"rows": new["rows"], **_cells(new, "new")}
    old = runs.get("old")
    if old is not None:
        # not asserted equal: since 21fd49d the gate (issue 14) suppresses fewer persons,
        # so more of their facts are published; both counts are in the table
        out["old rows"] = old["rows"]
        out.update(_cells(old, "old"))
        out["cpu new/old"] = round(new["cpu"] / old["cpu"], 2)
        out["rss new/old"] = round(new["rss_mib"] / old["rss_mib"], 2)
        for stage in ("plan", "link", "publish", "report"):
            before = old["stage_cpu"].get(stage, 0.0)
            after = new["stage_cpu"].get(stage, 0.0)
            out[f"{stage} cpu new/old"] = round(after / before, 2) if before else ""
    return out
