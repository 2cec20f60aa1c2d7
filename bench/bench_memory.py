"""Issue 13 part 3: peak memory and CPU of validate + pseudonymise of the largest source.

    python -m bench.run --only memory --sizes 100000,1000000
    python -m bench.run --only memory_rows --sizes 1050000,10500000

A university of ``size`` members is generated and its largest source (the branch
sign-in sheets) planned and extracted once. Then its validate and pseudonymise stages
run in a fresh child process each: first the code of ``BASELINE`` (main before this
work: the whole source in memory), then HEAD's (record batches of ``batch_rows``,
default 500,000), each from a clean checkout, on the same landed file. Per child: its
own peak RSS and CPU seconds (``os.wait4``: user + system, imports included). The
outputs of the two (accepted rows, quarantine, tokens, stage results) are compared and
must be equal.

``memory_rows`` (``--sizes`` = rows): ``size`` generated sign-in rows (no university),
both stages through the batched functions in batches of 500,000 and, up to 2M rows, in
one batch (the whole source), each in its own child: the scale of the 1M-member sign-ins
(10.5M rows) without generating the university.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.checkouts import ROOT, code_at

__all__ = ["BASELINE", "SOURCE", "bench_memory", "bench_memory_rows", "signin_landing"]

#: main before the batched stages
BASELINE = "21fd49d"
SOURCE = "branch_signins"

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
    done = subprocess.run(
        [sys.executable, "-c", script, str(workdir), str(size)],
        check=False,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:  # synthetic data only: its error text may be shown
        raise RuntimeError(f"preparing {size:,} members failed:\n{done.stderr[-3000:]}")
    from islandbridge.run_layout import DataLayout

    return DataLayout(workdir).run("memory").plan


def bench_memory(size: int, workdir: Path) -> dict[str, object]:
    """Validate + pseudonymise of the largest source (sign-ins): 21fd49d (whole source) vs
    HEAD (record batches), each in its own process, on the same landed file."""
    from islandbridge.run_layout import DataLayout

    plan = _prepare(workdir, size)
    layout = DataLayout(workdir).run("memory")
    with code_at({"old": BASELINE, "new": "HEAD"}, workdir) as codes:
        old = _child(codes["old"], plan, SOURCE)
        kept = workdir / "old-outputs"
        kept.mkdir()
        old_files = {}
        for name, path in _outputs(layout, SOURCE).items():
            old_files[name] = kept / path.name
            shutil.move(path, old_files[name])
        new = _child(codes["new"], plan, SOURCE)
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


def signin_landing(path: Path, rows: int, seed: int = 3, chunk: int = 1_000_000) -> None:
    """A landed sign-in file like ``branch_signins``'s: about ten sign-ins a person, dates
    in three spellings, 50,000-row row groups (as extraction writes chunks); generated
    and written ``chunk`` rows at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    persons = max(rows // 10, 1)
    given = np.array(list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"))
    family = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
    names = (
        pd.Series(family[rng.integers(0, len(family), persons)])
        + pd.Series(given[rng.integers(0, len(given), persons)])
        + pd.Series(given[rng.integers(0, len(given), persons)])
    ).to_numpy()
    numbers = pd.Series(rng.integers(20200100000, 20250199999, persons)).astype(str).to_numpy()
    writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        who = rng.integers(0, persons, n)
        day = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 170, n), unit="D")
        shape = rng.integers(0, 3, n)
        dates = np.where(
            shape == 0,
            day.strftime("%Y%m%d"),
            np.where(shape == 1, day.strftime("%Y/%m/%d"), day.strftime("%Y-%m-%d")),
        )
        branch = pd.Series(rng.integers(1, 99, n)).astype(str).str.zfill(2) + "G0001"
        line = pd.Series(np.arange(start + 2, start + n + 2))
        frame = pd.DataFrame(
            {
                "record_key": "signins/" + branch + ".csv:" + line.astype(str),
                "会议类型": rng.choice(["支部党员大会", "主题党日", "党小组会", "党课"], n),
                "会议日期": dates,
                "姓名": names[who],
                "学号/工号": numbers[who],
                "签到情况": rng.choice(["出席", "缺席", "请假"], n, p=[0.85, 0.05, 0.10]),
                "__file_branch_id": branch,
                "__problems": None,
            }
        ).astype("string")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=50_000)
    if writer is not None:
        writer.close()


#: argv: landing file, batch rows; both stages through the batched functions, as the
#: stages call them; prints its own peak RSS (MiB) and CPU seconds
_ROWS_CHILD = r"""
import json, resource, sys, time
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
started = time.process_time()
with ParquetSink(out / "accepted.parquet") as ok, ParquetSink(out / "bad.parquet") as bad:
    gated = gate_batches(
        (standardise(b, spec) for b in parquet_batches(landing, rows)),
        entity=spec.entity, config=load_quality_config(folder / "quality.yaml"),
        as_of=date(2026, 7, 1), scratch=out / "scratch",
        write_accepted=ok.write, write_quarantined=bad.write,
    )
validate = time.process_time() - started
keyring = Keyring(generate_keyring())
with Vault(out / "vault.sqlite", keyring) as vault, ParquetSink(out / "tokens.parquet") as tok:
    pseudonymise_batches(
        parquet_batches(out / "accepted.parquet", rows), entity=spec.entity,
        policy=load_policy(folder / "privacy.yaml"), keyring=keyring, vault=vault, write=tok.write,
    )
print(json.dumps({"validate": validate, "pseudonymise": time.process_time() - started - validate,
                  "accepted": ok.rows, "quarantined": bad.rows}))
"""
#: above this many rows the whole-source run is left out (about 1.1 KiB a row resident)
WHOLE_UP_TO = 2_000_000
BATCH_ROWS = 500_000


def _rows_child(landing: Path, rows: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _ROWS_CHILD, str(landing), str(rows)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"validate + pseudonymise in batches of {rows} failed ({status})")
    return {
        "rss_mib": usage.ru_maxrss / 1024,
        "cpu": usage.ru_utime + usage.ru_stime,
        **json.loads(out.strip().splitlines()[-1]),
    }


def bench_memory_rows(size: int, workdir: Path) -> dict[str, object]:
    """Validate + pseudonymise of ``size`` generated sign-in rows: batches of 500,000 vs
    the whole source in one batch (left out above 2M rows)."""
    landing = workdir / "landing.parquet"
    signin_landing(landing, size)
    new = _rows_child(landing, BATCH_ROWS)
    out: dict[str, object] = {
        "rows": size,
        "batched_rss_MiB": round(new["rss_mib"]),
        "batched_cpu_s": round(new["cpu"], 1),
        "validate+pseudonymise cpu": f"{new['validate']:.1f}+{new['pseudonymise']:.1f}",
        "accepted": new["accepted"],
    }
    if size <= WHOLE_UP_TO:
        whole = _rows_child(landing, size)
        if (whole["accepted"], whole["quarantined"]) != (new["accepted"], new["quarantined"]):
            raise AssertionError("whole and batched runs split the rows differently")
        out["whole_rss_MiB"] = round(whole["rss_mib"])
        out["whole_cpu_s"] = round(whole["cpu"], 1)
        out["rss_ratio"] = round(new["rss_mib"] / whole["rss_mib"], 2)
    else:  # the same columns in every row of the table
        out["whole_rss_MiB"] = "not run (about 1.1 KiB a row)"
        out["whole_cpu_s"] = out["rss_ratio"] = "-"
    return out
