"""Benchmark: the linkage library (anonymize.clk + integrate.linkage) beside anonlink.

    .venv/bin/python -m bench.bench_linkage --sizes 10000,100000 [--no-anonlink] [--write]

Two data sets, generated here (no real people): English-language person records (Faker
``en_US``/``en_AU``; typos, transpositions, day/month swaps, missing values, duplicates —
:mod:`bench.linkage_data`) and the synthetic university's people (Chinese names with
homophone typos, birth dates, mobiles). For each data set and size, in fresh child
processes (wall time and the child's peak RSS from ``os.wait4``):

* ``ours_link`` — encode both files under the record schema (``bench/linkage_*.yaml``) and
  link them one-to-one with the *estimated* threshold (no truth used); F1 against truth;
* ``ours_dedup`` — encode one file with duplicates and deduplicate it (clusters); F1 on
  the pairs the clusters imply;
* ``ours_match`` and ``anonlink_match`` — the same encodings and keyed blocks, the same
  threshold, matched by our library and by anonlink (blocked ``find_candidate_pairs`` +
  ``greedy_solve``) — anonlink runs in its own venv under ``bench/out/anonlink-venv``
  (created here with uv: anonlink needs ``pkg_resources`` and is not in the project's
  lock). Pairs/s are the unique candidate pairs divided by each side's matching time.

``--write`` appends the tables as a new section at the end of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out" / "linkage"
VENV = HERE / "out" / "anonlink-venv"
SCHEMAS = {"people": HERE / "linkage_people.yaml", "university": HERE / "linkage_university.yaml"}
SECRET = b"bench-linkage-secret-not-for-real-data"
ANONLINK_PINS = ("anonlink==0.15.3", "clkhash==0.18.3", "setuptools<81", "numpy>=2")


# -- data --------------------------------------------------------------------------------
def generate(dataset: str, n: int, folder: Path) -> None:
    """The two files and the file with duplicates, as Parquet (not timed)."""
    from bench import linkage_data as data

    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "dedup.parquet").is_file():
        return
    if dataset == "people":
        a, b = data.two_files(n)
        d = data.one_file_with_duplicates(n)
    else:
        a, b = data.university_two_files(n)
        d = data.university_with_duplicates(n)
    a.to_parquet(folder / "a.parquet")
    b.to_parquet(folder / "b.parquet")
    d.to_parquet(folder / "dedup.parquet")


def _link_f1(person_a: np.ndarray, person_b: np.ndarray, i: np.ndarray, j: np.ndarray):
    truth = len(np.intersect1d(person_a, person_b))
    tp = int((person_a[i] == person_b[j]).sum())
    precision = tp / len(i) if len(i) else 0.0
    recall = tp / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return f1, precision, recall


def _cluster_f1(cluster: np.ndarray, person: np.ndarray):
    import pandas as pd

    def pairs(counts: np.ndarray) -> int:
        return int((counts * (counts - 1) // 2).sum())

    frame = pd.DataFrame({"c": cluster, "p": person})
    predicted = pairs(frame.groupby("c").size().to_numpy())
    truth = pairs(frame.groupby("p").size().to_numpy())
    tp = pairs(frame.groupby(["c", "p"]).size().to_numpy())
    precision = tp / predicted if predicted else 0.0
    recall = tp / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return f1, precision, recall


# -- children ----------------------------------------------------------------------------
def child_ours_link(dataset: str, folder: Path) -> dict:
    import pandas as pd

    from anonymize.clk import encode_records, load_record_schema
    from integrate.linkage import match_records

    a, b = pd.read_parquet(folder / "a.parquet"), pd.read_parquet(folder / "b.parquet")
    schema = load_record_schema(SCHEMAS[dataset])
    started = time.perf_counter()
    ea = encode_records(a, schema, SECRET, id_column="id")
    eb = encode_records(b, schema, SECRET, id_column="id")
    encoded = time.perf_counter()
    result = match_records(ea, eb, mode="link")
    done = time.perf_counter()
    row_a = {v: k for k, v in enumerate(ea.ids)}
    row_b = {v: k for k, v in enumerate(eb.ids)}
    i = np.array([row_a[x] for x in result.pairs["left_id"]], dtype=np.int64)
    j = np.array([row_b[x] for x in result.pairs["right_id"]], dtype=np.int64)
    person_a, person_b = a["person"].to_numpy(), b["person"].to_numpy()
    f1, precision, recall = _link_f1(person_a, person_b, i, j)
    np.savez(
        folder / "encodings.npz",
        bits_a=ea.bits,
        bits_b=eb.bits,
        keys_a=ea.block_keys,
        keys_b=eb.block_keys,
        person_a=person_a,
        person_b=person_b,
        true_matches=len(np.intersect1d(person_a, person_b)),
        threshold=result.threshold,
    )
    if dataset == "people":
        _write_clkhash_inputs(schema, a, b, folder)
    est = result.estimate
    return {
        "encode_s": encoded - started,
        "match_s": done - encoded,
        "total_s": done - started,
        "fill": ea.fill,
        "candidates": result.blocking.pairs_compared,
        "threshold": result.threshold,
        "est_precision": est.precision if est else None,
        "est_recall": est.recall if est else None,
        "est_recall_loss": result.blocking.estimated_recall_loss,
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "stage_s": result.seconds,
    }


def _write_clkhash_inputs(schema, a, b, folder: Path) -> None:
    """The same normalised values and an equivalent clkhash v3 schema, for the clkhash side."""
    import csv

    features = []
    for f in schema.fields:
        tok = f.tokenizer[0]
        comparison = {"type": "ngram", "n": tok.n[0]}
        if tok.kind == "positional":
            comparison["positional"] = True
        features.append(
            {
                "identifier": f.name,
                "format": {"type": "string", "encoding": "utf-8"},
                "hashing": {
                    "comparison": comparison,
                    "strategy": {"bitsPerToken": f.bits_per_token},
                    "hash": {"type": "blakeHash"},
                    "missingValue": {"sentinel": ""},
                },
            }
        )
    spec = {
        "version": 3,
        "clkConfig": {
            "l": schema.bits,
            "kdf": {"type": "HKDF", "hash": "SHA256", "keySize": 64},
        },
        "features": features,
    }
    (folder / "clkhash_schema.json").write_text(json.dumps(spec), encoding="utf-8")
    for side, frame in (("a", a), ("b", b)):
        columns = [
            [f.normalised(str(v)) if v is not None and v == v else "" for v in frame[f.source]]
            for f in schema.fields
        ]
        with (folder / f"clk_{side}.csv").open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(zip(frame["person"], *columns, strict=True))


def child_ours_dedup(dataset: str, folder: Path) -> dict:
    import pandas as pd

    from anonymize.clk import encode_records, load_record_schema
    from integrate.linkage import match_records

    d = pd.read_parquet(folder / "dedup.parquet")
    schema = load_record_schema(SCHEMAS[dataset])
    started = time.perf_counter()
    ed = encode_records(d, schema, SECRET, id_column="id")
    encoded = time.perf_counter()
    result = match_records(ed, mode="dedup")
    done = time.perf_counter()
    assert result.clusters is not None
    f1, precision, recall = _cluster_f1(
        result.clusters["cluster"].to_numpy(), d["person"].to_numpy()
    )
    self_pairs = int((result.pairs["left_id"] == result.pairs["right_id"]).sum())
    est = result.estimate
    return {
        "records": len(d),
        "encode_s": encoded - started,
        "match_s": done - encoded,
        "candidates": result.blocking.pairs_compared,
        "threshold": result.threshold,
        "est_precision": est.precision if est else None,
        "est_recall": est.recall if est else None,
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "self_pairs": self_pairs,
    }


def child_ours_match(dataset: str, folder: Path) -> dict:
    """Our matching alone, on the saved encodings, at the saved threshold."""
    from anonymize.clk import EncodedRecords
    from integrate.linkage import match_records

    data = np.load(folder / "encodings.npz")
    passes = tuple(f"p{k}" for k in range(data["keys_a"].shape[1]))
    sides = [
        EncodedRecords(
            ids=np.arange(len(data[f"bits_{s}"])),
            bits=data[f"bits_{s}"],
            block_keys=data[f"keys_{s}"],
            passes=passes,
            fill=0.0,
        )
        for s in ("a", "b")
    ]
    started = time.perf_counter()
    result = match_records(sides[0], sides[1], threshold=float(data["threshold"]))
    elapsed = time.perf_counter() - started
    i = result.pairs["left_id"].to_numpy()
    j = result.pairs["right_id"].to_numpy()
    f1, _, _ = _link_f1(data["person_a"], data["person_b"], i, j)
    return {
        "match_s": elapsed,
        "candidates": result.blocking.pairs_compared,
        "pairs": len(result.pairs),
        "f1": f1,
        "stage_s": result.seconds,
    }


CHILDREN = {
    "ours_link": child_ours_link,
    "ours_dedup": child_ours_dedup,
    "ours_match": child_ours_match,
}


def run_child(argv: list[str], out: Path) -> dict:
    """Run a child; its JSON result plus wall seconds and peak RSS (MiB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"benchmark child failed: {' '.join(argv[-3:])}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result["wall_s"] = wall
    result["peak_MiB"] = usage.ru_maxrss / 1024
    return result


def ensure_anonlink() -> Path | None:
    """The anonlink venv's python, created with uv when missing; None if it cannot be."""
    python = VENV / "bin" / "python"
    if python.is_file():
        return python
    uv = ROOT / ".tools" / "bin" / "uv"
    try:
        subprocess.run([str(uv), "venv", str(VENV), "--python", "3.11", "-q"], check=True)
        env = {**os.environ, "VIRTUAL_ENV": str(VENV)}
        subprocess.run([str(uv), "pip", "install", "-q", *ANONLINK_PINS], check=True, env=env)
    except (OSError, subprocess.CalledProcessError):
        return None
    return python


# -- report ------------------------------------------------------------------------------
def _load() -> str:
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return out.strip().split("load average:")[-1].strip()


def markdown(results: dict, sizes: list[int], command: str, loads: tuple[str, str]) -> str:
    from importlib import metadata

    lines = [
        "",
        "## Linkage library beside anonlink (issue 12)",
        "",
        f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {metadata.version('numpy')}; "
        f"load average before {loads[0]}, after {loads[1]} (machine shared by several sessions)",
        f"- command: `{command}`",
        "- F1 with the threshold estimated from the scores (no truth used); dedup F1 on the "
        "pairs the clusters imply. `total` = encoding both files + blocking + scoring + "
        "assignment, in one process; peak = the child's max RSS.",
        "",
        "| data | records | encode (s) | match (s) | total (s) | peak (MiB) | candidates "
        "| threshold | est. P / R | est. recall loss (blocking) | link F1 (P / R) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for (dataset, n), r in results.items():
        o = r["ours_link"]
        lines.append(
            f"| {dataset} link | {n:,} × {n:,} | {o['encode_s']:.1f} | {o['match_s']:.1f} | "
            f"{o['total_s']:.1f} | {o['peak_MiB']:.0f} | {o['candidates']:,} | "
            f"{o['threshold']:.3f} | {o['est_precision']:.3f} / {o['est_recall']:.3f} | "
            f"{o['est_recall_loss']:.4f} | **{o['f1']:.4f}** "
            f"({o['precision']:.4f} / {o['recall']:.4f}) |"
        )
    lines += [
        "",
        "| data | records | encode (s) | match (s) | peak (MiB) | candidates | threshold "
        "| self-pairs | dedup F1 (P / R) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (dataset, _n), r in results.items():
        o = r["ours_dedup"]
        lines.append(
            f"| {dataset} dedup | {o['records']:,} | {o['encode_s']:.1f} | {o['match_s']:.1f} | "
            f"{o['peak_MiB']:.0f} | {o['candidates']:,} | {o['threshold']:.3f} | "
            f"{o['self_pairs']} | **{o['f1']:.4f}** ({o['precision']:.4f} / {o['recall']:.4f}) |"
        )
    lines += [
        "",
        "Matching alone, the same encodings, keyed blocks and threshold on both sides "
        "(anonlink 0.15.3 in its own venv; its time excludes converting to bitarrays). "
        "Pairs/s = unique candidate pairs ÷ matching time; anonlink compares a pair once per "
        "block it shares (its own count in brackets).",
        "",
        "| data | records | candidate pairs | ours (s) | anonlink (s) | ours pairs/s "
        "| anonlink pairs/s | ratio | ours peak (MiB) | anonlink peak (MiB) | F1 ours / anonlink |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (dataset, n), r in results.items():
        o, a = r["ours_match"], r.get("anonlink_match")
        ours_rate = o["candidates"] / o["match_s"]
        if a is None:
            lines.append(
                f"| {dataset} | {n:,} | {o['candidates']:,} | {o['match_s']:.2f} | n/a | "
                f"{ours_rate:,.0f} | n/a | n/a | {o['peak_MiB']:.0f} | n/a | {o['f1']:.4f} / n/a |"
            )
            continue
        their_rate = o["candidates"] / a["match_s"]
        lines.append(
            f"| {dataset} | {n:,} | {o['candidates']:,} ({a['comparisons']:,}) | "
            f"{o['match_s']:.2f} | {a['match_s']:.2f} | {ours_rate:,.0f} | {their_rate:,.0f} | "
            f"**{ours_rate / their_rate:.1f}×** | {o['peak_MiB']:.0f} | {a['peak_MiB']:.0f} | "
            f"{o['f1']:.4f} / {a['f1']:.4f} |"
        )
    clk = [(k, r["clkhash_stack"]) for k, r in results.items() if "clkhash_stack" in r]
    if clk:
        lines += [
            "",
            "The anonlink + clkhash stack on the English records: clkhash 0.18.3 encodes the "
            "same normalised values under an equivalent v3 schema (bigrams, positional "
            "unigrams, same bits per token, blakeHash); anonlink matches them on our keyed "
            "blocks. clkhash has no threshold estimate, so its F1 is at the best threshold "
            "of a sweep *against the truth* (its upper bound); ours is at the estimated one.",
            "",
            "| records | clkhash encode (s) | ours encode (s) | clkhash fill | ours fill "
            "| anonlink+clkhash best F1 (threshold) | ours F1, estimated threshold |",
            "|---:|---:|---:|---:|---:|---|---|",
        ]
        for (_dataset, n), c in clk:
            o = results[(_dataset, n)]["ours_link"]
            lines.append(
                f"| {n:,} × {n:,} | {c['encode_s']:.1f} | {o['encode_s']:.1f} | {c['fill']:.2f} "
                f"| {o['fill']:.2f} | {c['best_f1']:.4f} ({c['best_threshold']:.3f}) "
                f"| {o['f1']:.4f} ({o['threshold']:.3f}) |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--datasets", default="people,university")
    parser.add_argument("--no-anonlink", action="store_true")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--child", nargs=3, metavar=("NAME", "DATASET", "FOLDER"))
    args = parser.parse_args(argv)
    if args.child:
        name, dataset, folder = args.child
        result = CHILDREN[name](dataset, Path(folder))
        (Path(folder) / f"{name}.json").write_text(json.dumps(result), encoding="utf-8")
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    anonlink = None if args.no_anonlink else ensure_anonlink()
    load_before = _load()
    results: dict[tuple[str, int], dict] = {}
    for dataset in args.datasets.split(","):
        for n in sizes:
            folder = OUT / f"{dataset}_{n}"
            generate(dataset, n, folder)
            r: dict[str, dict] = {}
            for name in ("ours_link", "ours_dedup", "ours_match"):
                argv_child = [sys.executable, "-m", "bench.bench_linkage", "--child", name]
                r[name] = run_child([*argv_child, dataset, str(folder)], folder / f"{name}.json")
            if anonlink is not None:
                out = folder / "anonlink_match.json"
                side = [str(anonlink), str(HERE / "anonlink_side.py")]
                r["anonlink_match"] = run_child(
                    [*side, str(folder / "encodings.npz"), str(out)], out
                )
                if dataset == "people":
                    out = folder / "clkhash_stack.json"
                    r["clkhash_stack"] = run_child([*side, "--clkhash", str(folder), str(out)], out)
            results[(dataset, n)] = r
            print(json.dumps({f"{dataset} {n}": r}, indent=1, default=str), flush=True)
    command = "python -m bench.bench_linkage " + " ".join(argv or sys.argv[1:])
    text = markdown(results, sizes, command.strip(), (load_before, _load()))
    print(text)
    if args.write:
        with (HERE / "RESULTS.md").open("a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
