"""Helpers for the run-wide stage tests: a run of the small installation taken up to
link (plan, extract, validate, pseudonymise done), copied per test, and a comparison
of two copies' outputs after link, publish and report."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd

__all__ = ["copy_run", "outputs_differ", "run_until_link"]

_VOLATILE = re.compile(rb"\d{4}-\d\d-\d\dT[\d:.+Z-]+|\d{4}-\d\d-\d\d \d\d:\d\d UTC|[0-9a-f]{20,}")


def run_until_link(params: dict, run_id: str) -> dict:
    """Plan the run and take every source through pseudonymise; the run (XCom dict)."""
    from islandbridge import stages

    run = stages.plan(params, run_id, None)
    for source in run["sources"]:
        for stage in (stages.extract, stages.validate, stages.pseudonymise):
            stage(run, source)
    return run


def copy_run(data: Path, run: dict, target: Path, config: Path) -> dict:
    """A copy of the data folder (its own trust store) and the run pointing at it; the
    copy's files are stamped as older than anything the stages will write."""
    from islandbridge.demo import ensure_demo_secrets

    shutil.copytree(data, target, symlinks=True)
    ensure_demo_secrets(target, config)
    text = json.dumps(run).replace(str(data), str(target))
    (target / "run.json").write_text(text)
    return json.loads(text)


def _written(root: Path) -> dict[str, Path]:
    """Files the run-wide stages wrote (newer than run.json) and the current version's,
    by path relative to the data folder, the version's folder name left out."""
    since = (root / "run.json").stat().st_mtime
    current = (root / "published" / "current").resolve()
    found = {}
    for path in root.rglob("*"):
        if not path.is_file() or path.suffix == ".lock":
            continue
        # the current version's files are compared even when the version existed already
        # (the same tables give the same version: it is then not written again)
        if path.stat().st_mtime < since and path.parent != current:
            continue
        rel = re.sub(r"versions/[0-9a-f]+", "versions/V", path.relative_to(root).as_posix())
        found[rel] = path
    return found


def _sealed_person_keys(root: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(root / "vault" / "vault.sqlite") as db:
        return sorted(r[0] for r in db.execute("SELECT person_key FROM vault_person_keys"))


def _masked(data: bytes, root: Path) -> bytes:
    return _VOLATILE.sub(b"X", data.replace(str(root).encode(), b"ROOT"))


def outputs_differ(a: Path, b: Path) -> list[str]:
    """What differs between two copies' outputs: Parquet as frames (values and dtypes),
    workbooks part by part, text with times, hashes and the folder masked (the manifest
    carries its time; signatures follow). The vault and DuckDB are binary: the vault's
    sealed person keys are compared as a set (their sealed values are encrypted under a
    fresh nonce), the DuckDB tables are the Parquet's."""
    fa, fb = _written(a), _written(b)
    problems = [f"only in one: {k}" for k in sorted(set(fa) ^ set(fb))]
    if _sealed_person_keys(a) != _sealed_person_keys(b):
        problems.append("vault: sealed person keys")
    for key in sorted(set(fa) & set(fb)):
        x, y = fa[key], fb[key]
        if key.endswith((".duckdb", ".sqlite", ".sig")):
            continue
        if key.endswith("ledger.jsonl"):  # its signatures follow the time it was written
            lines = [
                [{k: v for k, v in json.loads(line).items() if k != "signature"} for line in f]
                for f in (x.read_text().splitlines(), y.read_text().splitlines())
            ]
            x_text, y_text = (json.dumps(entries).encode() for entries in lines)
            if _masked(x_text, a) != _masked(y_text, b):
                problems.append(key)
            continue
        if key.endswith(".parquet"):
            try:
                pd.testing.assert_frame_equal(pd.read_parquet(x), pd.read_parquet(y))
            except AssertionError:
                problems.append(key)
        elif key.endswith(".xlsx"):
            with zipfile.ZipFile(x) as za, zipfile.ZipFile(y) as zb:
                if {n: za.read(n) for n in za.namelist()} != {n: zb.read(n) for n in zb.namelist()}:
                    problems.append(key)
        elif _masked(x.read_bytes(), a) != _masked(y.read_bytes(), b):
            problems.append(key)
    return problems
