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
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "MANIFEST_FORMAT",
    "RESERVED_KEYS",
    "build_manifest",
    "file_entry",
    "publication_facts",
    "table_entry",
]

MANIFEST_FORMAT = "islandbridge.manifest/1"
RESERVED_KEYS = frozenset({"format", "version", "tables", "derived", "signing_key_id", "writer"})


def _shareable_input(item: Mapping[str, Any]) -> dict[str, Any]:
    """An input's provenance as the shared manifest may show it: a database location
    (host, user) stays in the restricted zone."""
    out = dict(item)
    if str(out.get("location", "")).startswith(("postgresql", "mysql")):
        out.pop("location")
    return out


def publication_facts(
    *,
    university: str,
    as_of: str,
    sources: Mapping[str, Mapping[str, Any]],
    row_accounting: Mapping[str, Mapping[str, int]],
    rejects: Mapping[str, Mapping[str, int]],
    birth_date_conflicts: int,
    linkage: Mapping[str, int],
    privacy: Mapping[str, Any],
    key_id: str,
    code_version: str,
    shrink_override: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's facts for the manifest.

    ``sources``: per source, ``origin`` (the run and time its data was extracted, and
    its inputs' checksums) and ``inputs`` (provenance of each input). Nothing here is a
    time of *this* run, so identical inputs give an identical manifest.
    """
    facts: dict[str, Any] = {
        "university": university,
        "as_of": as_of,
        "sources": {
            name: {
                "origin": dict(item["origin"]),
                "inputs": [_shareable_input(i) for i in item["inputs"]],
            }
            for name, item in sources.items()
        },
        "row_accounting": {n: dict(c) for n, c in row_accounting.items()},
        "quality": {
            "rejects": {n: dict(sorted(c.items())) for n, c in rejects.items()},
            "birth_date_conflicts_resolved": birth_date_conflicts,
        },
        "linkage": dict(linkage),
        "privacy": dict(privacy),
        "key_id": key_id,
        "code_version": code_version,
    }
    if shrink_override:
        facts["shrink_override"] = dict(shrink_override)
    return facts


def table_entry(name: str, table: pa.Table, data: bytes, sha256: str) -> dict[str, Any]:
    return {
        "file": f"{name}.parquet",
        "rows": table.num_rows,
        "bytes": len(data),
        "sha256": sha256,
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
    }


def file_entry(name: str, path: Path, sha256: str) -> dict[str, Any]:
    """:func:`table_entry` of a table already written to ``path`` (read from its footer)."""
    meta = pq.ParquetFile(path)
    return {
        "file": f"{name}.parquet",
        "rows": meta.metadata.num_rows,
        "bytes": path.stat().st_size,
        "sha256": sha256,
        "columns": [{"name": f.name, "type": str(f.type)} for f in meta.schema_arrow],
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
