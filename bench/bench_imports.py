"""Import cost with and without bytecode: what every Airflow task process pays first.

    python -m bench.run --only imports --sizes 1

This environment sets ``PYTHONDONTWRITEBYTECODE=1``, so ``.pyc`` files exist only when
the install compiled them (``uv sync --compile-bytecode``, as ``make env`` does). "Without"
runs the same import with ``-X pycache_prefix=<empty folder>``: Python then looks for
bytecode only there, finds none and compiles every module from source, as it did before
the install compiled. Each figure is the median of ``REPEATS`` fresh processes' CPU seconds
(user + system; the machine is shared, so wall time is noisier). ``size`` is ignored.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["MODULES", "bench_imports"]

#: module → what imports it
MODULES = {
    "great_expectations": "the validate task",
    "islandbridge.stages": "every stage task",
}
REPEATS = 3


def _cpu_seconds(module: str, extra: list[str]) -> tuple[float, float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "GX_ANALYTICS_ENABLED": "False"}
    before = os.times()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *extra, "-c", f"import {module}"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return cpu, wall


def bench_imports(size: int, workdir: Path) -> dict[str, object]:
    """Import CPU seconds of the heavy modules with the installed bytecode and without it."""
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(dir=workdir) as empty:
        without = ["-X", f"pycache_prefix={empty}"]
        for module in MODULES:
            cold: list[float] = []
            warm: list[float] = []
            for _ in range(REPEATS):  # alternate, so load drifts hit both alike
                cold.append(_cpu_seconds(module, without)[0])
                warm.append(_cpu_seconds(module, [])[0])
            key = module.split(".")[-1]
            before, after = statistics.median(cold), statistics.median(warm)
            out[f"{key}_no_pyc_cpu_s"] = round(before, 2)
            out[f"{key}_pyc_cpu_s"] = round(after, 2)
            out[f"{key}_ratio"] = round(after / before, 2)
    return out
