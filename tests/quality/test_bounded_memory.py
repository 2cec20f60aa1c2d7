"""Validate + pseudonymise of a large source stay within a memory limit when the source is
read in record batches, and exceed it when it is read whole (the known-bad path).

The limit is a cgroup v1 memory cgroup (``memory.limit_in_bytes``), which counts the
resident memory actually used: an address-space limit (RLIMIT_AS) would also count
what pyarrow's allocator and GX's threads reserve without using (measured: 2.3–2.4 GB of
address space for 570–860 MiB resident), so it could not tell the two paths apart.
Measured without a limit (peak RSS, 500,000 rows): about 975–1,040 MiB whole, 610 MiB in
batches of 50,000; the limit sits near the middle. Slow (about 25–30 s of CPU): the
batched run does both stages in full.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.bench_memory import signin_landing

pytestmark = [pytest.mark.slow]

ROWS = 500_000
BATCH = 50_000
LIMIT_MIB = 800
MEMORY_CGROUPS = Path("/sys/fs/cgroup/memory")

#: argv: landing file, batch rows; both stages as the stage functions call them
_CHILD = r"""
import sys
from datetime import date
from pathlib import Path
from anonymize import Keyring, Vault, generate_keyring, load_policy, pseudonymise_batches
from connectors import standardise
from islandbridge.config import load_config
from islandbridge.io import ParquetSink, parquet_batches
from quality import gate_batches, load_quality_config
landing, rows = Path(sys.argv[1]), int(sys.argv[2])
out = landing.parent / f"out-{rows}"
(out / "scratch").mkdir(parents=True)
config, folder = load_config()
spec = config.source("branch_signins")
with ParquetSink(out / "accepted.parquet") as ok, ParquetSink(out / "bad.parquet") as bad:
    gated = gate_batches(
        (standardise(b, spec) for b in parquet_batches(landing, rows)),
        entity=spec.entity, config=load_quality_config(folder / "quality.yaml"),
        as_of=date(2026, 7, 1), scratch=out / "scratch",
        write_accepted=ok.write, write_quarantined=bad.write,
    )
keyring = Keyring(generate_keyring())
with Vault(out / "vault.sqlite", keyring) as vault, ParquetSink(out / "tokens.parquet") as tok:
    pseudonymise_batches(
        parquet_batches(out / "accepted.parquet", rows), entity=spec.entity,
        policy=load_policy(folder / "privacy.yaml"), keyring=keyring, vault=vault, write=tok.write,
    )
assert tok.rows == gated.accepted == ok.rows and ok.rows + bad.rows == gated.rows_in
print("done", gated.rows_in)
"""


def _own_memory_cgroup() -> Path | None:
    """This process's memory cgroup (v1), if we may create cgroups below it."""
    if os.geteuid() != 0 or not MEMORY_CGROUPS.is_dir():
        return None
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, where = line.split(":", 2)
        if "memory" in controllers.split(","):
            folder = MEMORY_CGROUPS / where.lstrip("/")
            return folder if os.access(folder, os.W_OK) else None
    return None


def _run_limited(landing: Path, rows: int, parent: Path, name: str) -> tuple[int, str]:
    """Both stages in a child inside a new memory cgroup of ``LIMIT_MIB``; its exit code
    and what the cgroup saw (peak usage, hits on the limit) with the end of its stderr."""
    group = parent / f"islandbridge-test-{os.getpid()}-{name}"
    group.mkdir()
    try:
        (group / "memory.limit_in_bytes").write_text(str(LIMIT_MIB * 2**20))
        procs = group / "cgroup.procs"

        def enter() -> None:
            procs.write_text(str(os.getpid()))

        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(landing), str(rows)],
            preexec_fn=enter,  # only writes our pid into the cgroup, before exec
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        peak = int((group / "memory.max_usage_in_bytes").read_text()) // 2**20
        hits = int((group / "memory.failcnt").read_text())
        seen = f"exit {proc.returncode}, peak {peak} MiB, {hits} hits; {proc.stderr[-800:]}"
        return proc.returncode, seen
    finally:
        group.rmdir()


def test_batches_stay_within_a_memory_limit_the_whole_source_exceeds(tmp_path):
    parent = _own_memory_cgroup()
    if parent is None:
        pytest.skip("needs root and a writable cgroup v1 memory controller")
    landing = tmp_path / "landing.parquet"
    signin_landing(landing, ROWS)
    whole, seen = _run_limited(landing, ROWS, parent, "whole")
    assert whole == -9, f"the whole source in one batch should be OOM-killed: {seen}"
    batched, seen = _run_limited(landing, BATCH, parent, "batched")
    assert batched == 0, seen
