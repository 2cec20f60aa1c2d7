"""The pipeline stages the DAGs call, one function per task.

Each stage reads the files an earlier stage wrote under the run folder and
returns a small JSON summary (paths and counts) for XCom. Rerunning a stage
rewrites its own outputs only (temp file + rename), so a retried task converges.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from connectors import Landing, extract_to_landing, standardise
from islandbridge.context import RunContext

if TYPE_CHECKING:
    from anonymize import Keyring

from islandbridge.io import read_json, read_parquet, write_json, write_parquet

__all__ = ["extract", "link", "plan", "pseudonymise", "publish", "report", "validate"]

log = logging.getLogger(__name__)


def context_from(params: dict, run_id: str, run_date: date) -> RunContext:
    data_dir = params.get("data_dir") or os.environ.get("ISLANDBRIDGE_DATA_DIR") or "data"
    config = params.get("config") or os.environ.get("ISLANDBRIDGE_CONFIG") or ""
    return RunContext(
        data_dir=Path(data_dir).resolve(),
        config_path=Path(config).resolve() if config else None,
        run_id=run_id,
        run_date=run_date,
    )


def plan(params: dict, run_id: str, run_date: date | None) -> dict:
    """Validate configuration and keys before anything is written; choose the sources."""
    from islandbridge.secrets import load_run_keyring

    ctx = context_from(params, run_id, run_date or date.today())  # noqa: DTZ011
    config = ctx.config
    load_run_keyring(ctx)  # fails closed: no key, no run
    wanted = list(params.get("sources") or [])
    names = [s.name for s in config.sources]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise ValueError(f"unknown sources {unknown}; known: {names}")
    chosen = [n for n in names if not wanted or n in wanted]
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    run = {**ctx.to_json(), "sources": chosen}
    write_json(run, ctx.run_dir / "plan.json")
    return run


def extract(run: dict, source: str) -> dict:
    """Land one source's raw rows with provenance."""
    ctx = RunContext.from_json(run)
    landing = extract_to_landing(
        ctx.config.source(source), ctx.extract_context(), ctx.zone("landing")
    )
    return {
        "source": source,
        "rows": landing.rows,
        "rejected_inputs": [i.location for i in landing.rejected],
    }


def _landing(ctx: RunContext, source: str) -> Landing:
    path = ctx.zone("landing") / f"{source}.provenance.json"
    return Landing.from_json(read_json(path))


def validate(run: dict, source: str) -> dict:
    """Standardise to the canonical schema, run the quality gate, quarantine false rows."""
    from islandbridge.settings import quality_config
    from quality import collapse_duplicates, validate_frame

    ctx = RunContext.from_json(run)
    spec = ctx.config.source(source)
    raw = read_parquet(ctx.zone("landing") / f"{source}.parquet")
    frame = standardise(raw, spec)
    docs = ctx.data_dir / "reports" / "data_docs" / ctx.run_dir.name / source
    verdict = validate_frame(
        frame, entity=spec.entity, config=quality_config(ctx), as_of=ctx.as_of, data_docs_dir=docs
    )
    kept, merged = collapse_duplicates(
        verdict.accepted, entity=spec.entity, rejected=verdict.quarantined
    )
    kept = kept.drop(columns=["parse_errors", "flags"], errors="ignore")
    quarantined = pd.concat([verdict.quarantined, merged], ignore_index=True)
    write_parquet(kept, ctx.zone("work") / f"{source}.accepted.parquet")
    write_parquet(quarantined, ctx.zone("quarantine") / f"{source}.quality.parquet")
    counts = quarantined["reasons"].str.split(";").explode().value_counts().to_dict()
    return {
        "source": source,
        "in": len(frame),
        "accepted": len(kept),
        "quarantined": len(quarantined),
        "reasons": {str(k): int(v) for k, v in counts.items()},
        "data_docs": str(verdict.data_docs_index or ""),
    }


def pseudonymise(run: dict, source: str) -> dict:
    """Replace personal fields by tokens per the field policy; keys from the secrets source."""
    from anonymize import Vault, pseudonymise_frame
    from islandbridge.secrets import load_run_keyring, vault_location
    from islandbridge.settings import privacy_policy

    ctx = RunContext.from_json(run)
    spec = ctx.config.source(source)
    frame = read_parquet(ctx.zone("work") / f"{source}.accepted.parquet")
    keyring = load_run_keyring(ctx)
    with Vault(vault_location(ctx), keyring) as vault:
        tokens, report = pseudonymise_frame(
            frame, entity=spec.entity, policy=privacy_policy(ctx), keyring=keyring, vault=vault
        )
    if frame["name"].notna().any() if "name" in frame.columns else False:
        tokens["name_bloom"] = name_encodings(frame["name"], keyring).to_numpy()
    write_parquet(tokens, ctx.zone("tokens") / f"{source}.parquet")
    return {
        "source": source,
        "rows": len(tokens),
        "unpoliced": sorted(report.unpoliced),
        "vaulted": report.vaulted,
    }


def name_encodings(names: pd.Series, keyring: Keyring) -> pd.Series:
    """Keyed Bloom-filter encodings of names (CLK), for linkage that tolerates typos."""
    from integrate import bloom_column, clk_encode

    values = [None if v is pd.NA else v for v in names.astype("object")]
    return bloom_column(clk_encode(values, keyring.derive("clk", "name")))


def link(run: dict, sources: list[str]) -> dict:
    """Link activity records to people on tokens; quarantine unknown or ambiguous ones."""
    from islandbridge.linking import link_run

    ctx = RunContext.from_json(run)
    return link_run(ctx, sources)


def publish(run: dict) -> dict:
    """Build the unified dataset, pass the privacy gate and publish a signed version."""
    from connectors import commit_watermarks
    from islandbridge.publishing import publish_run

    ctx = RunContext.from_json(run)
    result = publish_run(ctx)
    # only now, with the version published, may incremental sources move on
    commit_watermarks(ctx.watermark_store, [_landing(ctx, s) for s in run["sources"]])
    return result


def report(run: dict) -> str:
    """Write the run summary (and report); returns its path."""
    from islandbridge.publishing import summarise_run

    return str(summarise_run(RunContext.from_json(run)))


def run_inline(params: dict, run_id: str, run_date: date | None = None) -> dict:
    """All stages in this process, in DAG order, without Airflow (benchmarks, quick checks)."""
    run = plan(params, run_id, run_date)
    for source in run["sources"]:
        extract(run, source)
        validate(run, source)
        pseudonymise(run, source)
    link(run, run["sources"])
    publish(run)
    return read_json(Path(report(run)))
