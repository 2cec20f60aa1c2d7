"""Benchmark: every pseudonymisation operator on a 1M-value column, in one run, beside
a bare ``hmac`` loop over the same values and the Presidio anonymizer engine.

    .venv/bin/python -m bench.bench_anonymize --rows 1000000

Values are fabricated here (ID numbers with valid check digits, random mobiles, dates).
Prints a Markdown table and writes it into bench/RESULTS.md between the
``anonymize`` markers (the rest of that file is left alone). ``run(rows)`` returns the
measurements for a harness.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import logging
import platform
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from anonymize import Keyring, build_operator, generate_keyring
from anonymize.operators import OperatorContext
from domain import FieldKind
from domain.identifiers import ID_WEIGHTS

log = logging.getLogger("bench.anonymize")

RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- anonymize-detail:begin -->", "<!-- anonymize-detail:end -->"
_CHECK = np.array(list("10X98765432"))
_REGIONS = np.array(["110105", "310104", "440305", "510107", "330106", "420111"])


def make_table(rows: int, seed: int = 11) -> pd.DataFrame:
    """``rows`` people: distinct ID numbers, mobiles, birth dates and a payment date."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(rows)  # distinct (birth date, sequence) pairs, shuffled
    born = pd.Timestamp("1950-01-01") + pd.to_timedelta((order // 1000) * 18 % 18250, unit="D")
    seq = order % 1000
    first17 = (
        pd.Series(_REGIONS[rng.integers(0, len(_REGIONS), rows)])
        + pd.Series(born.strftime("%Y%m%d"))
        + pd.Series(seq).astype(str).str.zfill(3)
    )
    digits = np.array(first17.tolist(), dtype="S17").view(np.uint8).reshape(-1, 17) - ord("0")
    check = _CHECK[(digits.astype(np.int64) @ np.array(ID_WEIGHTS)) % 11]
    ids = (first17 + pd.Series(check)).astype("string")
    mobiles = pd.Series(
        [
            f"1{a}{b:09d}"
            for a, b in zip(rng.integers(3, 10, rows), rng.integers(0, 10**9, rows), strict=True)
        ],
        dtype="string",
    )
    paid = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 180, rows), unit="D")
    return pd.DataFrame(
        {
            "id_number": ids.astype("string"),
            "mobile": mobiles,
            "birth_date": pd.Series(born).astype("datetime64[ns]"),
            "paid_on": pd.Series(paid).astype("datetime64[ns]"),
        }
    )


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(rows: int = 1_000_000, presidio_rows: int | None = None) -> list[dict[str, object]]:
    """Measure every operator, the bare hmac loop and Presidio; one dict per measurement."""
    table = make_table(rows)
    keyring = Keyring(generate_keyring())
    ids = table["id_number"]
    ctx = OperatorContext("id_number", FieldKind.DIRECT_IDENTIFIER, keyring, table)
    results: list[dict[str, object]] = []

    def record(name: str, column: str, n: int, seconds: float) -> None:
        results.append({"name": name, "column": column, "rows": n, "seconds": seconds})
        log.info("%-40s %9d rows %8.2f s", name, n, seconds)

    key = keyring.derive("hmac_token", "id_number")
    id_list = ids.tolist()
    record(
        "bare hmac loop (hmac.new…hexdigest)",
        "id_number",
        rows,
        _time(lambda: [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in id_list]),
    )
    cases: list[tuple[str, str, dict[str, object], str]] = [
        ("hmac_token", "hmac_token", {}, "id_number"),
        ("deterministic_encrypt (AES-SIV)", "deterministic_encrypt", {}, "id_number"),
        ("fpe id_number (FF3-1, vectorised)", "fpe", {"format": "id_number"}, "id_number"),
        ("fpe mobile (FF3-1, vectorised)", "fpe", {"format": "mobile"}, "mobile"),
        ("surrogate name (Faker zh_CN data)", "surrogate", {"kind": "name"}, "id_number"),
        ("mask", "mask", {}, "mobile"),
        ("generalise birth_date → year", "generalise", {"to": "year"}, "birth_date"),
        ("generalise birth_date → 5-year band", "generalise", {"to": "band"}, "birth_date"),
        ("date_shift paid_on by id_number", "date_shift", {"by": "id_number"}, "paid_on"),
        ("suppress", "suppress", {}, "id_number"),
        ("keep", "keep", {}, "birth_date"),
    ]
    for label, op_name, params, column in cases:
        op = build_operator(op_name, params)
        op.apply(table[column].head(1000), ctx)  # warm-up
        record(label, column, rows, _time(lambda op=op, c=column: op.apply(table[c], ctx)))

    from ff3 import FF3Cipher

    ref_n = min(rows, 50_000)  # the pure-Python reference is ~100 µs a value
    fkey = keyring.derive("ff3", "id_number", length=32)
    ftweak = keyring.derive("ff3_tweak", "id_number", length=7)
    cipher = FF3Cipher(fkey.hex(), ftweak.hex())
    bodies = [v[:17] for v in id_list[:ref_n]]
    record(
        "ff3 package loop (FF3-1 reference)",
        "id_number",
        ref_n,
        _time(lambda: [cipher.encrypt(b) for b in bodies]),
    )

    n = presidio_rows or rows
    try:
        from presidio_anonymizer import AnonymizerEngine, BatchAnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult
    except ImportError:  # pragma: no cover - dev dependency
        log.warning("presidio-anonymizer is not installed: skipped")
        return results
    batch = BatchAnonymizerEngine(AnonymizerEngine())
    for label, column, config in (
        ("Presidio batch engine: hash sha256", "id_number", OperatorConfig("hash", {})),
        (
            "Presidio batch engine: mask",
            "mobile",
            OperatorConfig("mask", {"masking_char": "*", "chars_to_mask": 4, "from_end": True}),
        ),
    ):
        values = table[column].head(n).tolist()
        spans = [[RecognizerResult("PII", 0, len(v), 1.0)] for v in values]
        ops = {"PII": config}
        record(
            label,
            column,
            n,
            _time(lambda v=values, s=spans, o=ops: batch.anonymize_list(v, s, operators=o)),
        )
    return results


def to_markdown(results: list[dict[str, object]]) -> str:
    base = next(r for r in results if str(r["name"]).startswith("bare hmac"))
    base_rate = float(base["seconds"]) / int(base["rows"])  # type: ignore[arg-type]
    token = next(r for r in results if r["name"] == "hmac_token")
    token_rate = float(token["seconds"]) / int(token["rows"])  # type: ignore[arg-type]
    lines = [
        "| measurement | column | rows | seconds | µs / value | × bare hmac loop | × hmac_token |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = float(r["seconds"]) / int(r["rows"])  # type: ignore[arg-type]
        lines.append(
            f"| {r['name']} | {r['column']} | {r['rows']:,} | {float(r['seconds']):.2f} | "  # type: ignore[arg-type]
            f"{rate * 1e6:.2f} | {rate / base_rate:.2f} | {rate / token_rate:.2f} |"
        )
    return "\n".join(lines)


HEADING = "## anonymize operators (detail)"


def write_results(markdown: str, rows: int) -> None:
    """Rewrite this benchmark's section of RESULTS.md (headed like bench/run.py's sections)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"{HEADING}\n\n"
        f"Every operator on a {rows:,}-value column — "
        f"`python -m bench.bench_anonymize --rows {rows}` — {stamp}, {platform.machine()}, "
        f"Python {platform.python_version()}, one process, all "
        "measurements in the same run. Ratios are per value against the bare "
        "`hmac.new(key, v, sha256).hexdigest()` loop over the same values. Presidio runs its "
        "`BatchAnonymizerEngine` with one whole-value span per value (no analyzer), its fastest "
        "path for a column.\n\n"
        f"{markdown}\n"
    )
    block = f"{BEGIN}\n{section}{END}\n"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    text = re.sub(
        r"^## anonymize operators \(detail\)\n.*?(?=^## |^<!-- |\Z)", "", text, flags=re.S | re.M
    )  # an unmarked section of an older version
    pattern = re.compile(rf"{re.escape(BEGIN)}.*?{re.escape(END)}\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def bench_anonymize(size: int, workdir: Path) -> dict[str, object]:
    """For bench/run.py: every operator at ``size`` values; the key ratios go to the
    harness's table, the detail table (at 1M values) to its own RESULTS.md section."""
    results = run(size)
    if size >= 1_000_000:  # the size; smaller runs must not replace its table
        write_results(to_markdown(results), size)
    rate = {str(r["name"]): float(r["seconds"]) / int(r["rows"]) for r in results}  # type: ignore[arg-type]
    bare = rate["bare hmac loop (hmac.new…hexdigest)"]
    token = rate["hmac_token"]
    return {
        "hmac_token µs/value": round(token * 1e6, 2),
        "hmac_token × bare hmac": round(token / bare, 2),
        "fpe id × bare hmac": round(rate["fpe id_number (FF3-1, vectorised)"] / bare, 2),
        "Presidio hash × hmac_token": round(rate["Presidio batch engine: hash sha256"] / token, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--presidio-rows", type=int, default=None)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = run(args.rows, args.presidio_rows)
    markdown = to_markdown(results)
    print(markdown)
    if not args.no_write:
        write_results(markdown, args.rows)


if __name__ == "__main__":
    main()
