"""Benchmark harness: each benchmark runs in a fresh subprocess, timed, peak RSS measured.

    python -m bench.run [--sizes 10000,100000,1000000] [--only generate[,other]]

A benchmark is a function ``(size: int, workdir: Path) -> dict[str, object]`` (extra
figures for the table, may be empty) registered in ``BENCHMARKS``. The harness runs
``python -m bench.run --child NAME SIZE WORKDIR`` for each (name, size), measures wall
time and the child's own peak RSS (``os.wait4`` rusage ``ru_maxrss``), and rewrites the
``<!-- NAME:begin -->`` … ``<!-- NAME:end -->`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
OUT_ROOT = Path(__file__).with_name("out")
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
KEY_PACKAGES = ("numpy", "pandas", "pyarrow", "faker", "openpyxl", "cryptography", "sqlalchemy")

Benchmark = Callable[[int, Path], dict[str, object]]


def bench_generate(size: int, workdir: Path) -> dict[str, object]:
    """The synthetic university with ``size`` members, default pollution, no databases."""
    from islandbridge.synth import generate_university

    summary = generate_university(workdir / "university", members=size, seed=1)
    disk = sum(p.stat().st_size for p in (workdir / "university").rglob("*") if p.is_file())
    return {
        "persons": summary.persons,
        "records": sum(summary.counts.values()),
        "injected": summary.injections,
        "disk_MiB": round(disk / 2**20),
    }


def bench_anonymize_operators(size: int, workdir: Path) -> dict[str, object]:
    """Every pseudonymisation operator at ``size`` values, beside a bare hmac loop and Presidio."""
    from bench.bench_anonymize import bench_anonymize

    return bench_anonymize(size, workdir)


def bench_whole_pipeline(size: int, workdir: Path) -> dict[str, object]:
    """Every stage of campus_integration in one process (no Airflow), timed per stage."""
    from bench.bench_pipeline import bench_pipeline

    return bench_pipeline(size, workdir)


def bench_accuracy(size: int, workdir: Path) -> dict[str, object]:
    """The whole pipeline inline on a ``size``-member university, scored against its truth/."""
    from bench.bench_accuracy import bench_accuracy as run

    return run(size, workdir)


def bench_quality_suite(size: int, workdir: Path) -> dict[str, object]:
    """The full member suite on ``size`` rows beside its built-in expectations alone."""
    from bench.bench_quality import benchmark

    return benchmark(size, workdir)


#: name → benchmark; add yours here.
BENCHMARKS: dict[str, Benchmark] = {
    "generate": bench_generate,
    "anonymize": bench_anonymize_operators,
    "connectors": __import__("bench.bench_connectors", fromlist=["x"]).bench_connectors,
    "pipeline": bench_whole_pipeline,
    "quality": bench_quality_suite,
    "accuracy": bench_accuracy,
    "contract": __import__("bench.bench_contract", fromlist=["x"]).bench_contract,
    "imports": __import__("bench.bench_imports", fromlist=["x"]).bench_imports,
    "scale": __import__("bench.bench_scale", fromlist=["x"]).bench_scale,
    "scale_pipeline": __import__("bench.bench_scale", fromlist=["x"]).bench_scale_pipeline,
    "scale_stages": __import__("bench.bench_scale", fromlist=["x"]).bench_scale_stages,
    "stages": __import__("bench.bench_stages", fromlist=["x"]).bench_stages,
    "memory": __import__("bench.bench_memory", fromlist=["x"]).bench_memory,
    "memory_rows": __import__("bench.bench_memory", fromlist=["x"]).bench_memory_rows,
    "partitions": __import__("bench.bench_partitions", fromlist=["x"]).bench_partitions,
    "extract": __import__("bench.bench_extract", fromlist=["x"]).bench_extract,
    "gx_one_pass": __import__("bench.bench_gx_one_pass", fromlist=["x"]).bench_gx_one_pass,
    "publish_stream": __import__("bench.bench_publish_stream", fromlist=["x"]).bench_publish_stream,
    "combine": __import__("bench.bench_combine", fromlist=["x"]).bench_combine,
}


def _child(name: str, size: int, workdir: Path) -> None:
    extra = BENCHMARKS[name](size, workdir)
    print(json.dumps(extra))


def _machine() -> dict[str, str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match.group(1).strip() if match else cpu
    mem = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"MemTotal:\s*(\d+) kB", meminfo.read_text())
        mem = f"{int(match.group(1)) / 2**20:.1f} GiB" if match else mem
    versions = []
    for pkg in KEY_PACKAGES:
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            continue
    return {
        "nproc": str(os.cpu_count()),
        "RAM": mem,
        "CPU": cpu,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "packages": ", ".join(versions),
    }


def _run_one(name: str, size: int) -> dict[str, object]:
    OUT_ROOT.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-{size}-", dir=OUT_ROOT))
    cmd = [sys.executable, "-m", "bench.run", "--child", name, str(size), str(workdir)]
    out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
    try:
        with out_path.open("w") as out, err_path.open("w") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=Path(__file__).parents[1])
            # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the max so far)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak_kib = usage.ru_maxrss  # KiB on Linux
        stdout, stderr = out_path.read_text(), err_path.read_text()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if proc.returncode != 0:
        print(stderr, file=sys.stderr)
        raise SystemExit(f"benchmark {name} at {size} failed (exit {proc.returncode})")
    extra = json.loads(stdout.strip().splitlines()[-1])
    return {"size": size, "seconds": seconds, "peak_rss_mib": peak_kib / 1024, **extra}


def _table(rows: list[dict[str, object]]) -> list[str]:
    keys = list(rows[0])
    head = ["size", "wall (s)", "peak RSS (MiB)", *keys[3:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for row in rows:
        cells = [f"{row['size']:,}", f"{row['seconds']:.1f}", f"{row['peak_rss_mib']:,.0f}"]
        cells += [f"{row[k]:,}" if isinstance(row[k], int) else str(row[k]) for k in keys[3:]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _write_results(name: str, rows: list[dict[str, object]], command: str) -> None:
    machine = _machine()
    section = [
        f"## {name}",
        "",
        f"- what: {(BENCHMARKS[name].__doc__ or '').strip()}",
        f"- command: `{command}`",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        *(f"- {k}: {v}" for k, v in machine.items()),
        "",
        *_table(rows),
    ]
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = "\n".join([begin, *section, end])
    marked = re.compile(rf"^{re.escape(begin)}\n.*?^{re.escape(end)}$", re.S | re.M)
    if marked.search(text):
        text = marked.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated names")
    parser.add_argument(
        "--child", nargs=3, metavar=("NAME", "SIZE", "WORKDIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        name, size, workdir = args.child
        _child(name, int(size), Path(workdir))
        return
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; known: {sorted(BENCHMARKS)}")
    sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    command = "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv)
    for name in names:
        rows = []
        for size in sizes:
            print(f"{name} @ {size:,} ...", flush=True)
            row = _run_one(name, size)
            print(f"  {row['seconds']:.1f}s, peak RSS {row['peak_rss_mib']:,.0f} MiB", flush=True)
            rows.append(row)
            # after every size: a larger size that fails or is stopped keeps the smaller ones
            _write_results(name, rows, command.strip())


if __name__ == "__main__":
    main()
