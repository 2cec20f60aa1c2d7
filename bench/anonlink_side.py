"""The anonlink side of the linkage benchmark; runs in its own venv (bench/out/anonlink-venv).

    <venv>/bin/python bench/anonlink_side.py ENCODINGS.npz OUT.json

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
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
