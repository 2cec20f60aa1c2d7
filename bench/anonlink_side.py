"""The anonlink side of the linkage benchmark; runs in its own venv (bench/out/anonlink-venv).

    <venv>/bin/python bench/anonlink_side.py ENCODINGS.npz OUT.json
    <venv>/bin/python bench/anonlink_side.py --clkhash FOLDER OUT.json

Reads the encodings and keyed block keys our side wrote (the very same bits and blocks),
turns them into bitarrays, and runs anonlink's blocked candidate generation
(``find_candidate_pairs`` with a ``blocking_f`` returning each record's (pass, key) blocks,
``dice_coefficient_accelerated``) at our estimated threshold, then its greedy solver.
Imports nothing of this project.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")


def main(npz_path: str, out_path: str) -> None:
    import anonlink
    from bitarray import bitarray

    data = np.load(npz_path)
    threshold = float(data["threshold"])
    started = time.perf_counter()
    datasets = []
    for side in ("a", "b"):
        rows = []
        for row in data[f"bits_{side}"]:
            bits = bitarray(endian="big")
            bits.frombytes(row.tobytes())
            rows.append(bits)
        datasets.append(rows)
    keys = (data["keys_a"], data["keys_b"])
    convert = time.perf_counter() - started

    def blocking_f(dataset_index, record_index, _hash):
        row = keys[dataset_index][record_index]
        return [(p, int(k)) for p, k in enumerate(row) if k >= 0]

    started = time.perf_counter()
    candidates = anonlink.candidate_generation.find_candidate_pairs(
        datasets,
        anonlink.similarities.dice_coefficient_accelerated,
        threshold,
        blocking_f=blocking_f,
    )
    generated = time.perf_counter() - started
    groups = anonlink.solving.greedy_solve(candidates)
    total = time.perf_counter() - started
    pairs = [
        (a, b) if da == 0 else (b, a)
        for group in groups
        if len(group) == 2
        for (da, a), (db, b) in [sorted(group)]
    ]
    # comparisons anonlink makes: every pair in every block it shares (repeats included)
    comparisons = 0
    for p in range(keys[0].shape[1]):
        ka, kb = keys[0][:, p], keys[1][:, p]
        ua, ca = np.unique(ka[ka >= 0], return_counts=True)
        ub, cb = np.unique(kb[kb >= 0], return_counts=True)
        _, ia, ib = np.intersect1d(ua, ub, assume_unique=True, return_indices=True)
        comparisons += int((ca[ia].astype(np.int64) * cb[ib]).sum())
    person_a, person_b = data["person_a"], data["person_b"]
    tp = sum(int(person_a[a] == person_b[b]) for a, b in pairs)
    truth = int(data["true_matches"])
    precision = tp / len(pairs) if pairs else 0.0
    recall = tp / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = {
        "convert_s": convert,
        "candidates_s": generated,
        "match_s": total,
        "comparisons": comparisons,
        "above_threshold": len(candidates[0]),
        "pairs": len(pairs),
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "anonlink": getattr(anonlink, "__version__", "?"),
    }
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")


def clkhash_stack(folder: str, out_path: str) -> None:
    """clkhash encodings of the same (normalised) values, matched by anonlink on our blocks.

    clkhash has no threshold estimate: its F1 is reported at the best threshold of a sweep
    against the truth (an upper bound for it), beside its encoding time.
    """
    import csv
    import json as _json

    import anonlink
    from clkhash import clk
    from clkhash.schema import from_json_dict

    root = Path(folder)
    spec = _json.loads((root / "clkhash_schema.json").read_text(encoding="utf-8"))
    schema = from_json_dict(spec)
    secret = "bench-linkage-secret-not-for-real-data"
    sides, persons = [], []
    started = time.perf_counter()
    for side in ("a", "b"):
        with (root / f"clk_{side}.csv").open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        persons.append(np.array([int(r[0]) for r in rows]))
        sides.append(clk.generate_clks([r[1:] for r in rows], schema, secret, validate=False))
    encode = time.perf_counter() - started
    data = np.load(root / "encodings.npz")
    keys = (data["keys_a"], data["keys_b"])

    def blocking_f(dataset_index, record_index, _hash):
        row = keys[dataset_index][record_index]
        return [(p, int(k)) for p, k in enumerate(row) if k >= 0]

    started = time.perf_counter()
    sims, _, (rec_a, rec_b) = anonlink.candidate_generation.find_candidate_pairs(
        sides, anonlink.similarities.dice_coefficient_accelerated, 0.5, blocking_f=blocking_f
    )
    generated = time.perf_counter() - started
    sims = np.asarray(sims, dtype=np.float64)
    rec_a, rec_b = np.asarray(rec_a, dtype=np.uintc), np.asarray(rec_b, dtype=np.uintc)
    truth = int(data["true_matches"])
    best = (0.0, 0.0)
    for t in np.arange(0.5, 0.96, 0.025):
        keep = sims >= t
        m = int(keep.sum())
        dsets = (np.zeros(m, dtype=np.uintc), np.ones(m, dtype=np.uintc))
        cands = (sims[keep], dsets, (rec_a[keep], rec_b[keep]))
        groups = anonlink.solving.greedy_solve(cands)
        tp = n = 0
        for group in groups:
            if len(group) == 2:
                (_, a), (_, b) = sorted(group)
                n += 1
                tp += int(persons[0][a] == persons[1][b])
        if n and tp:
            p, r = tp / n, tp / truth
            best = max(best, (2 * p * r / (p + r), float(t)))
    fill = float(np.mean([x.count() / len(x) for x in sides[0][:1000]]))
    with Path(out_path).open("w", encoding="utf-8") as fh:
        _json.dump(
            {
                "encode_s": encode,
                "candidates_s": generated,
                "best_f1": best[0],
                "best_threshold": best[1],
                "fill": fill,
            },
            fh,
        )


if __name__ == "__main__":
    if sys.argv[1] == "--clkhash":
        clkhash_stack(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1], sys.argv[2])
