"""The local-recoding gate against the global-recoding baseline, in the same run.

Synthetic person tables (numpy; shaped like the demo university: branches of 20-40
inside 22 colleges, cohorts, 20 % joiners) at 10k / 100k / 1M persons, gated with the
demo's configured ladders and weights at k = 5: information loss (NCP, discernibility)
and seconds of each method. Run: ``python -m bench.bench_privacy [sizes...]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from anonymize import load_policy, recode_locally


def synthetic_persons(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    branch = np.sort(rng.integers(0, max(n // 28, 1), n))
    college = branch % 22
    staff = rng.random(n) < np.where(branch % 5 == 0, 0.9, 0.1)
    cohort = 2000 + (branch % 7)
    birth = np.where(staff, rng.integers(1950, 2000, n), cohort + rng.integers(-1, 2, n))
    joined = np.where(
        rng.random(n) < np.where(staff, 0.7, 0.08), birth + rng.integers(20, 40, n), -1
    )
    joined = np.where(joined > 2026, 2026, joined)
    return pd.DataFrame(
        {
            "branch_id": pd.array([f"B{b:06d}" for b in branch], dtype="string"),
            "college": pd.array([f"C{c:02d}" for c in college], dtype="string"),
            "gender": pd.array(rng.choice(["M", "F"], n), dtype="string"),
            "birth_date": pd.array(birth.astype(str), dtype="string"),
            "joined_year": pd.array(np.where(joined > 0, joined.astype(str), None), dtype="string"),
            "person_type": pd.array(np.where(staff, "faculty", "student"), dtype="string"),
        }
    )


def main(sizes: list[int]) -> None:
    kwargs = load_policy(Path("config/privacy.yaml")).gate("member").kwargs()
    kwargs.pop("method")
    for n in sizes:
        table = synthetic_persons(n)
        _, report = recode_locally(table, **kwargs)
        cov = report.coverage
        print(
            json.dumps(
                {
                    "persons": n,
                    "seconds": report.seconds,
                    "local": {
                        k: report.information_loss[k]
                        for k in ("ncp", "discernibility_per_row", "suppressed")
                    },
                    "global": {
                        k: report.baseline["information_loss"][k]
                        for k in ("ncp", "discernibility_per_row", "suppressed")
                    },
                    "global_levels": report.baseline["levels"],
                    "coverage_local": {
                        "branch": cov["branch_id"]["at_or_finer"][0],
                        "birth_decade": cov["birth_date"]["at_or_finer"][2],
                        "join_5y": cov["joined_year"]["at_or_finer"][1],
                    },
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000])
