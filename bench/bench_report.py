"""The run report: the f-string/SVG renderer of main (before issue 16) against the Jinja2 +
inlined ECharts renderer, alternately in one process, on a 10k-member-sized publication
(175 branches × 12 months, 8 sources, 14 reject reasons).

    python -m bench.bench_report [--rounds 7] [--base main]

Prints the median wall time and page size of each; the baseline is measured in the same
run. The old module is read from git (``git show <base>:integrate/run_report.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _old_renderer(base: str):
    source = subprocess.run(
        ["git", "show", f"{base}:integrate/run_report.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_run_report.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_run_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run_report_html


def _inputs() -> dict:
    rng = np.random.default_rng(1)
    branches = [f"{c:02d}T{b:04d}" for c in range(25) for b in range(7)]
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    rows = []
    for branch in branches:
        for month in months:
            records = int(rng.integers(0, 30))
            rows.append(
                {
                    "branch_id": branch,
                    "month": month,
                    "members": 30,
                    "org_life_records": records,
                    "org_life_present": int(records * 0.9),
                    "org_life_participation_rate": 0.9 if records else None,
                    "study_members": int(rng.integers(0, 30)),
                    "study_completion_rate": float(rng.random()),
                    "dues_on_time": 25,
                    "dues_on_time_rate": 25 / 30,
                    "volunteer_hours": float(rng.integers(0, 90)),
                }
            )
    sources = [f"source_{n}" for n in range(8)]
    return {
        "run_id": "bench",
        "row_accounting": {
            s: {
                "in": 10_000,
                "accepted": 9_500,
                "quarantined": 500,
                "suppressed": 20,
                "published": 9_480,
            }
            for s in sources
        },
        "rejects": {f"reason_{n}": 100 * n for n in range(14)},
        "linkage": {s: {"in": 9_500, "linked": 9_400} for s in sources},
        "privacy": {"k_required": 5, "k_achieved": 5, "met": True, "suppressed_rows": 40},
        "indicators": pd.DataFrame(rows),
        "publication": {"status": "published", "version": "v1"},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--base", default="main")
    args = parser.parse_args()
    from integrate.run_report import run_report_html as new

    old = _old_renderer(args.base)
    inputs = _inputs()
    branches = pd.DataFrame({"branch_id": inputs["indicators"]["branch_id"].unique()}).assign(
        college=lambda f: f["branch_id"].str[:2], branch_name="支部"
    )
    timings: dict[str, list[float]] = {"before": [], "after": []}
    sizes = {}
    new(**inputs, branches=branches)  # warm: template compiled, script read
    old(**inputs)
    for _ in range(args.rounds):
        for name, render, extra in (("before", old, {}), ("after", new, {"branches": branches})):
            started = time.perf_counter()
            page = render(**inputs, **extra)
            timings[name].append(time.perf_counter() - started)
            sizes[name] = len(page.encode("utf-8"))
    for name in ("before", "after"):
        print(
            f"{name}: median {statistics.median(timings[name]) * 1000:.0f} ms over "
            f"{args.rounds} rounds, page {sizes[name] / 1024:.0f} KiB"
        )
    ratio = statistics.median(timings["after"]) / statistics.median(timings["before"])
    print(f"ratio after/before: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
