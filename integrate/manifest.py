"""The publication manifest: what a version holds and where it came from.

The caller (the pipeline) supplies the run's facts — ``sources`` with checksums,
``row_accounting``, ``quality`` and ``privacy`` summaries, the pseudonymisation
``key_id``, ``code_version`` — and :func:`build_manifest` adds what only the
publisher knows: the version, each table file's rows / bytes / SHA-256 /
schema, the derived (non byte-stable) files, and the signing key id. Nothing
in it is a timestamp, so the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

__all__ = [
    "MANIFEST_FORMAT",
    "RESERVED_KEYS",
    "ROW_ACCOUNTING_FIELDS",
    "build_manifest",
    "row_accounting_problems",
    "table_entry",
]

MANIFEST_FORMAT = "islandbridge.manifest/1"
RESERVED_KEYS = frozenset({"format", "version", "tables", "derived", "signing_key_id", "writer"})
ROW_ACCOUNTING_FIELDS = ("in", "accepted", "quarantined", "suppressed", "published")


def row_accounting_problems(accounting: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Why the accounting does not add up (empty when it does).

    Per source: ``in = accepted + quarantined`` and ``accepted = suppressed + published``,
    every count a non-negative integer.
    """
    problems: list[str] = []
    for source, counts in sorted(accounting.items()):
        missing = [f for f in ROW_ACCOUNTING_FIELDS if f not in counts]
        if missing:
            problems.append(f"row_accounting[{source}]: missing {missing}")
            continue
        values = {f: counts[f] for f in ROW_ACCOUNTING_FIELDS}
        bad = [f for f, v in values.items() if not isinstance(v, int) or isinstance(v, bool)]
        bad += [f for f, v in values.items() if isinstance(v, int) and v < 0]
        if bad:
            problems.append(f"row_accounting[{source}]: not non-negative integers: {sorted(bad)}")
            continue
        if values["in"] != values["accepted"] + values["quarantined"]:
            problems.append(
                f"row_accounting[{source}]: in {values['in']} != accepted {values['accepted']}"
                f" + quarantined {values['quarantined']}"
            )
        if values["accepted"] != values["suppressed"] + values["published"]:
            problems.append(
                f"row_accounting[{source}]: accepted {values['accepted']} != suppressed"
                f" {values['suppressed']} + published {values['published']}"
            )
    return problems


def table_entry(name: str, table: pa.Table, data: bytes, sha256: str) -> dict[str, Any]:
    return {
        "file": f"{name}.parquet",
        "rows": table.num_rows,
        "bytes": len(data),
        "sha256": sha256,
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
    }


def build_manifest(
    run_facts: Mapping[str, Any],
    *,
    version: str,
    tables: Mapping[str, dict[str, Any]],
    derived: Mapping[str, dict[str, Any]],
    signing_key_id: str,
    writer: Mapping[str, str],
) -> dict[str, Any]:
    """The full manifest: the caller's run facts plus the publisher's entries."""
    clash = sorted(RESERVED_KEYS & set(run_facts))
    if clash:
        raise ValueError(f"manifest keys reserved for the publisher: {clash}")
    return {
        **run_facts,
        "format": MANIFEST_FORMAT,
        "version": version,
        "tables": dict(sorted(tables.items())),
        "derived": dict(sorted(derived.items())),
        "signing_key_id": signing_key_id,
        "writer": dict(writer),
    }
