"""The local-recoding gate against the global-recoding baseline, in the same run.

Person tables of the synthetic university (``islandbridge.synth``' population: the
demo's branches, cohorts and ladder; members = persons / 1.3) at 10k / 100k / 1M
persons, gated with the demo's configured ladders, weights and level losses at
k = 5: information loss (NCP, the search's weighted loss, discernibility), coverage,
and seconds of each method (the baseline is computed inside the same call).
Run: ``python -m bench.bench_privacy [sizes...]``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from anonymize import load_policy, recode_locally


def university_persons(n: int, seed: int = 20260630) -> pd.DataFrame:
    """The synthetic university's persons (before the gate) with about ``n`` persons."""
    from datetime import date

    from islandbridge.synth.generator import _rngs
    from islandbridge.synth.people import PERSON_TYPES, UNITS, build_population
    from islandbridge.synth.vocab import build_name_pools

    members = round(n / 1.3)
    pop = build_population(_rngs(seed, 12)[0], build_name_pools(seed), members, date(2026, 6, 30))
    member = pop.is_member
    units = np.array([u.name for u in UNITS], dtype=object)
    joined = pd.Series(pop.steps[:, 3]).astype("datetime64[ns]")
    return pd.DataFrame(
        {
            "gender": np.where(pop.male, "M", "F"),
            "birth_date": pd.Series(pop.birth).astype("datetime64[ns]").dt.year.astype(str),
            "college": units[pop.unit],
            "branch_id": np.where(member, pop.branches.code[np.maximum(pop.branch, 0)], None),
            "person_type": np.array(PERSON_TYPES, dtype=object)[pop.ptype],
            "joined_year": joined.dt.year.astype("Int64").astype("string"),
        }
    ).astype("string")


def _share(cov: dict, qi: str, level: str) -> float:
    return cov[qi]["at_or_finer"][cov[qi]["levels"].index(level)]


def _coverage(cov: dict) -> dict:
    return {
        "branch": _share(cov, "branch_id", "value"),
        "birth_decade": _share(cov, "birth_date", "band 10"),
        "join_5y": _share(cov, "joined_year", "band 5"),
    }


def main(sizes: list[int]) -> None:
    kwargs = load_policy(Path("config/privacy.yaml")).gate("member").kwargs()
    kwargs.pop("method")
    for n in sizes:
        table = university_persons(n)
        cpu = time.process_time()
        _, report = recode_locally(table, **kwargs)
        cpu = time.process_time() - cpu
        cov = report.coverage
        print(
            json.dumps(
                {
                    "persons": len(table),
                    "seconds": report.seconds,
                    "cpu_seconds": round(cpu, 2),
                    "local": {
                        k: report.information_loss[k]
                        for k in ("ncp", "weighted_ncp", "discernibility_per_row", "suppressed")
                    },
                    "global": {
                        k: report.baseline["information_loss"][k]
                        for k in ("ncp", "weighted_ncp", "discernibility_per_row", "suppressed")
                    },
                    "global_levels": report.baseline["levels"],
                    "coverage_local": _coverage(cov),
                    "coverage_global": _coverage(report.baseline["coverage"]),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000])
