"""Benchmark: the full member suite on N synthetic rows, beside the built-in expectations alone.

    .venv/bin/python -m bench.bench_quality --rows 1000000

Rows are fabricated here (computed ID numbers with valid check digits, random mobiles);
about 1% of rows carry one injected defect. Prints a Markdown table row per measurement.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from domain.identifiers import ID_WEIGHTS

logger = logging.getLogger("bench.quality")

AS_OF = date(2026, 6, 30)
_REGIONS = np.array(["110105", "310104", "440305", "510107", "330106", "420111"])
_CHECK = np.array(list("10X98765432"))


def member_frame(rows: int, seed: int = 7, defect_rate: float = 0.01) -> pd.DataFrame:
    """``rows`` canonical member rows; ``defect_rate`` of them with one defect each."""
    rng = np.random.default_rng(seed)
    born = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 50, rows), unit="D")
    seq = rng.integers(0, 1000, rows)
    first17 = (
        pd.Series(_REGIONS[rng.integers(0, len(_REGIONS), rows)])
        + pd.Series(born.strftime("%Y%m%d"))
        + pd.Series(seq).astype(str).str.zfill(3)
    )
    digits = np.array(first17.tolist(), dtype="S17").view(np.uint8).reshape(-1, 17) - ord("0")
    check = _CHECK[(digits.astype(np.int64) @ np.array(ID_WEIGHTS)) % 11]
    ids = first17 + pd.Series(check)
    gender = np.where(seq % 2 == 1, "M", "F")
    applicant = born + pd.to_timedelta(365 * 18 + rng.integers(30, 2000, rows), unit="D")
    steps = [applicant]
    for gap in (180, 365, 365):
        steps.append(steps[-1] + pd.to_timedelta(gap + rng.integers(0, 60, rows), unit="D"))
    steps.append(steps[-1] + pd.to_timedelta(365, unit="D"))
    frame = pd.DataFrame(
        {
            "id_number": pd.array(ids, dtype="string"),
            "name": pd.array(["测试"] * rows, dtype="string"),
            "gender": pd.array(gender, dtype="string"),
            "birth_date": born,
            "mobile": pd.array(
                (
                    pd.Series(rng.integers(13, 20, rows)).astype(str)
                    + pd.Series(rng.integers(0, 10**9, rows)).astype(str).str.zfill(9)
                ),
                dtype="string",
            ),
            "person_type": pd.array(
                rng.choice(["student", "faculty", "staff", "retired"], rows), dtype="string"
            ),
            "status": pd.array(["full"] * rows, dtype="string"),
        }
    )
    for field, values in zip(
        ("applicant_on", "activist_on", "candidate_on", "probationary_on", "full_on"),
        steps,
        strict=True,
    ):
        frame[field] = pd.Series(values).where(pd.Series(values) <= pd.Timestamp(AS_OF))
    frame["source"] = pd.array(["org_dept"] * rows, dtype="string")
    frame["record_key"] = pd.array([f"members:{i}" for i in range(rows)], dtype="string")
    bad = rng.random(rows) < defect_rate
    kind = rng.integers(0, 4, rows)
    ids_bad = bad & (kind == 0)
    frame.loc[ids_bad, "id_number"] = frame.loc[ids_bad, "id_number"].str[:17] + "Z"
    sex_bad = bad & (kind == 1)
    frame.loc[sex_bad, "gender"] = np.where(frame.loc[sex_bad, "gender"] == "M", "F", "M")
    birth_bad = bad & (kind == 2)
    frame.loc[birth_bad, "birth_date"] = frame.loc[birth_bad, "birth_date"] + pd.Timedelta(days=3)
    order_bad = bad & (kind == 3)
    frame.loc[order_bad, "activist_on"] = frame.loc[order_bad, "applicant_on"] - pd.Timedelta(
        days=5
    )
    return frame


def _builtin_only(config):  # type: ignore[no-untyped-def]
    """The same member rules, less the custom expectations (built-in GX ones only)."""
    from quality.config import BetweenRule, InSetRule, QualityConfig, RegexRule, RequiredRule

    builtin = (RequiredRule, InSetRule, RegexRule, BetweenRule)
    data = config.model_dump()
    member = config.entities["member"]
    data["entities"] = {
        "member": {
            "rules": [r.model_dump() for r in member.rules if isinstance(r, builtin)],
        }
    }
    return QualityConfig.model_validate(data)


def run(rows: int) -> list[dict[str, object]]:
    """Time both suites on one frame; returns one record per measurement."""
    from quality import load_quality_config, validate_frame
    from quality.gx_context import gx_context

    config = load_quality_config(Path("config/quality.yaml"))
    started = time.perf_counter()
    frame = member_frame(rows)
    logger.info("fabricated %d rows in %.1fs", rows, time.perf_counter() - started)
    gx_context()
    validate_frame(frame.head(100), entity="member", config=config, as_of=AS_OF)  # warm-up
    results = []
    for label, cfg in (("built-in only", _builtin_only(config)), ("full member suite", config)):
        started = time.perf_counter()
        verdict = validate_frame(frame, entity="member", config=cfg, as_of=AS_OF)
        seconds = time.perf_counter() - started
        results.append(
            {
                "suite": label,
                "rows": rows,
                "expectations": len(verdict.expectations),
                "seconds": round(seconds, 1),
                "rows_per_s": int(rows / seconds),
                "quarantined": len(verdict.quarantined),
            }
        )
    results.append(
        {
            "suite": "ratio full / built-in",
            "ratio": round(
                float(results[1]["seconds"]) / max(float(results[0]["seconds"]), 1e-9), 2
            ),
        }
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for record in run(args.rows):
        print(record)


if __name__ == "__main__":
    main()


def benchmark(size: int, workdir: Path) -> dict[str, object]:
    """Entry for bench/run.py's ``BENCHMARKS`` (``"quality": bench_quality.benchmark``)."""
    records = run(size)
    full, builtin, ratio = records[1], records[0], records[2]
    return {
        "full_suite_s": full["seconds"],
        "builtin_only_s": builtin["seconds"],
        "ratio": ratio["ratio"],
        "expectations": full["expectations"],
        "quarantined": full["quarantined"],
    }
