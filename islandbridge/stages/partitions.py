"""A big source as partitions: each extracted, validated and tokenised by its own tasks
(so several workers share it), then combined into the source's files.

The plan splits a fresh source above its size threshold (:mod:`connectors.partitions`).
A partition's checks are the row checks of the quality gate; everything that needs the
whole source happens once, in :func:`combine`, so the result is the unpartitioned one:
duplicates within the source are collapsed over all partitions (in the source's order,
with every partition's rejected rows), the tokens of the rows merged away are dropped,
the inputs, refused files and provenance are merged, and the source's typed results
are written — the pseudonymise result last, the mark that the source is done. A
partition that is missing or was made for another plan refuses the combination, so the
source fails (the run ends degraded); it is never published smaller.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors import SourcePart
from islandbridge.errors import StageRefused
from islandbridge.io import (
    BATCH_ROWS,
    ParquetSink,
    iter_parquet,
    parquet_columns,
    read_parquet,
    write_json,
    write_parquet,
)
from islandbridge.run_layout import (
    ExtractResult,
    PartLayout,
    PartResult,
    PseudonymiseResult,
    RefusedInput,
    RunPlan,
    SourceOrigin,
    ValidateResult,
    read_result,
    write_result,
)
from islandbridge.stages.plan import run_context

__all__ = [
    "combine",
    "extract_part",
    "label_source",
    "pseudonymise_part",
    "source_stage",
    "validate_part",
]

log = logging.getLogger(__name__)

#: columns of the quality gate's verdict that are not published
_VERDICT_COLUMNS = ["parse_errors", "flags"]


def _planned(plan: RunPlan, source: str, index: int) -> SourcePart:
    parts = plan.parts(source)
    if index >= len(parts):
        raise StageRefused(f"source {source}: this run has no partition {index}")
    return parts[index]


def _write(files: PartLayout, part: SourcePart, stage: str, result: Any, rows: int) -> dict:
    record = PartResult(part=part.model_dump(mode="json"), stage=stage, result=result.to_json())  # type: ignore[arg-type]
    write_result(record, files.result(stage))
    return {"source": part.source, "part": part.label, "stage": stage, "rows": rows}


def _read(plan: RunPlan, part: SourcePart, stage: str) -> dict:
    """A partition's result of ``stage``; refused when missing or made for another plan."""
    _, ctx = run_context(plan)
    path = ctx.layout.part(part.source, part.index).result(stage)
    where = f"source {part.source}: partition {part.index + 1} of {part.count}"
    if not path.is_file():
        raise StageRefused(f"{where} has no {stage} result (its tasks did not finish)")
    record = read_result(PartResult, path)
    if SourcePart.model_validate(record.part) != part:
        raise StageRefused(f"{where}: its {stage} result was made for another plan")
    return record.result


def _refused(landing: Any) -> list[RefusedInput]:
    return [
        RefusedInput(
            location=i.location, reason=i.rejected_reason, rows=i.rows, rows_unknown=i.rows_unknown
        )
        for i in landing.rejected
    ]


def extract_part(run: dict, source: str, index: int) -> dict:
    """Land one partition's raw rows with their provenance."""
    from connectors import extract_to_landing

    plan, ctx = run_context(run)
    part = _planned(plan, source, index)
    files = ctx.layout.part(source, index).create()
    landing = extract_to_landing(
        ctx.config.source(source),
        ctx.extract_context(),
        files.landing,
        files.provenance,
        files.refused_quarantine,
        part=part,
    )
    result = ExtractResult(
        source=source,
        mode="fresh",
        rows=landing.rows,
        refused=_refused(landing),
        inputs=[i.to_json() for i in landing.inputs],
        origin=SourceOrigin(run_id=plan.run_id, run_at=plan.started_at),
    )
    return _write(files, part, "extract", result, result.rows)


def validate_part(run: dict, source: str, index: int) -> dict:
    """Standardise a partition and run the quality gate's row checks on it."""
    from connectors import standardise
    from islandbridge.settings import quality_config
    from quality import validate_frame

    plan, ctx = run_context(run)
    part = _planned(plan, source, index)
    _read(plan, part, "extract")
    files = ctx.layout.part(source, index)
    spec = ctx.config.source(source)
    frame = standardise(read_parquet(files.landing), spec)
    verdict = validate_frame(
        frame,
        entity=spec.entity,
        config=quality_config(ctx),
        as_of=ctx.as_of,
        data_docs_dir=ctx.data.part_data_docs(ctx.layout, source, index),
    )
    write_parquet(verdict.accepted, files.accepted)
    write_parquet(verdict.quarantined, files.quality_quarantine)
    result = ValidateResult(
        source=source,
        rows_in=len(frame),
        accepted=len(verdict.accepted),
        quarantined=len(verdict.quarantined),
        reasons=_reasons(verdict.quarantined),
        data_docs=str(verdict.data_docs_index or ""),
    )
    return _write(files, part, "validate", result, len(frame))


def _reasons(quarantined: pd.DataFrame) -> dict[str, int]:
    if quarantined.empty:
        return {}
    counts = quarantined["reasons"].str.split(";").explode().value_counts().to_dict()
    return {str(k): int(v) for k, v in counts.items()}


def pseudonymise_part(run: dict, source: str, index: int) -> dict:
    """Tokenise a partition's accepted rows (the combine step drops those of the rows
    merged as duplicates of another partition's)."""
    from anonymize import Vault, pseudonymise_frame
    from islandbridge.secrets import load_run_keyring, vault_location
    from islandbridge.settings import privacy_policy

    plan, ctx = run_context(run)
    part = _planned(plan, source, index)
    _read(plan, part, "validate")
    files = ctx.layout.part(source, index)
    keyring = load_run_keyring(ctx)
    if keyring.active_id != plan.key_id:
        raise StageRefused(
            f"the active token key changed during this run ({plan.key_id} → "
            f"{keyring.active_id}); run again so that every source uses one key"
        )
    frame = read_parquet(files.accepted).drop(columns=_VERDICT_COLUMNS, errors="ignore")
    with Vault(vault_location(ctx), keyring) as vault:
        tokens, report = pseudonymise_frame(
            frame,
            entity=ctx.config.source(source).entity,
            policy=privacy_policy(ctx),
            keyring=keyring,
            vault=vault,
        )
    write_parquet(tokens, files.tokens)
    result = PseudonymiseResult(
        source=source,
        rows=len(tokens),
        key_id=keyring.active_id,
        operators=report.operators,
        unpoliced=sorted(report.unpoliced),
        vaulted=report.vaulted,
    )
    return _write(files, part, "pseudonymise", result, result.rows)


# -- the combine step -----------------------------------------------------------------------


def _concat(paths: list) -> pd.DataFrame:
    return pd.concat([read_parquet(p) for p in paths], ignore_index=True)


def _merged_inputs(results: list[ExtractResult]) -> list[dict]:
    """Each input once, in reading order: an input read in ranges (a table's key ranges,
    a file's row groups) counts all its rows; its digest is that of its ranges'."""
    merged: dict[str, dict] = {}
    digests: dict[str, list[str]] = {}
    for result in results:
        for item in result.inputs:
            location = str(item["location"])
            digests.setdefault(location, []).append(str(item.get("sha256", "")))
            if location not in merged:
                merged[location] = dict(item)
            else:
                merged[location]["rows"] += int(item.get("rows", 0))
    for location, seen in digests.items():
        if len(set(seen)) > 1:
            merged[location]["sha256"] = hashlib.sha256("|".join(seen).encode()).hexdigest()
    return list(merged.values())


def _combine_landing(plan: RunPlan, parts: list[SourcePart], results: list[ExtractResult]):
    """The source's landing, provenance and refused rows from its partitions'."""
    from islandbridge.stages.sources import _origin

    _, ctx = run_context(plan)
    layout, source = ctx.layout, parts[0].source
    files = [layout.part(source, p.index) for p in parts]
    target = layout.landing(source)
    tmp = target.with_name(target.name + ".tmp")
    with pq.ParquetWriter(tmp, pq.read_schema(files[0].landing), compression="zstd") as writer:
        for f in files:
            with pq.ParquetFile(f.landing) as landing:
                for batch in landing.iter_batches(batch_size=BATCH_ROWS):
                    writer.write_batch(batch)
    tmp.chmod(0o600)
    tmp.replace(target)
    write_parquet(_concat([f.refused_quarantine for f in files]), layout.refused_quarantine(source))
    inputs = _merged_inputs(results)
    provenance = json.loads(files[0].provenance.read_text(encoding="utf-8"))
    provenance.update(path=str(target), rows=sum(r.rows for r in results), inputs=inputs)
    write_json(provenance, layout.provenance(source))
    return ExtractResult(
        source=source,
        mode="fresh",
        rows=sum(r.rows for r in results),
        refused=[r for result in results for r in result.refused],
        inputs=inputs,
        origin=_origin(plan, source, inputs),
    )


def _collapse(files: list[PartLayout], entity: str):
    """The source's duplicates from its partitions' key columns (the whole frames only
    when their files' column types differ, which the validate stage never writes)."""
    from islandbridge.stages.source_collapse import collapse_source, uniform_types
    from quality.duplicates import content_columns

    rejected = [f.quality_quarantine for f in files]
    accepted = [f.accepted for f in files]
    content = content_columns(entity, parquet_columns(accepted[0]))
    if content and uniform_types(rejected, accepted, content):
        return collapse_source(rejected, accepted, entity)
    return _collapse_whole(rejected, accepted, entity)


def _collapse_whole(rejected: list, accepted: list, entity: str):
    from islandbridge.stages.source_collapse import SourceCollapse
    from quality import collapse_duplicates

    frame = _concat(accepted)
    kept, merged = collapse_duplicates(frame, entity=entity, rejected=_concat(rejected))
    dropped = np.zeros(len(frame), dtype=bool)
    dropped[merged.index.to_numpy()] = True
    return SourceCollapse(
        dropped=dropped,
        duplicate_of=merged["duplicate_of"].array,
        reasons=merged["reasons"].array,
        kept_keys=kept["record_key"].reset_index(drop=True),
    )


def _split_accepted(paths: list, collapse, target: Path) -> tuple[int, pd.DataFrame]:
    """The accepted rows kept, written batch by batch (without the verdict's columns),
    and those merged as duplicates, with ``duplicate_of`` and ``reasons``."""
    pieces, start = [], 0
    with ParquetSink(target, pq.read_schema(paths[0])) as sink:
        for path in paths:
            for batch in iter_parquet(path):
                dropped = collapse.dropped[start : start + len(batch)]
                sink.write(batch[~dropped].drop(columns=_VERDICT_COLUMNS, errors="ignore"))
                pieces.append(batch[dropped])
                start += len(batch)
    merged = pd.concat(pieces, ignore_index=True)
    merged["duplicate_of"] = collapse.duplicate_of
    merged["reasons"] = collapse.reasons
    return sink.rows, merged


def _combine_tokens(
    source: str, paths: list, kept_keys: pd.Series, target: Path, vaulted: set
) -> dict:
    """The tokens of the kept rows, batch by batch; the distinct tokens of ``vaulted``."""
    distinct: dict[str, set] = {c: set() for c in sorted(vaulted)}
    wanted = pa.array(kept_keys)  # one hash table for every batch (not pandas' isin)
    done = 0
    with ParquetSink(target, pq.read_schema(paths[0])) as sink:
        for path in paths:
            for batch in iter_parquet(path):
                keep = pc.is_in(pa.array(batch["record_key"]), value_set=wanted)
                batch = batch[keep.to_numpy(zero_copy_only=False)]
                expected = kept_keys.iloc[done : done + len(batch)].to_numpy()
                if (
                    len(expected) != len(batch)
                    or (batch["record_key"].to_numpy() != expected).any()
                ):
                    raise StageRefused(
                        f"source {source}: its partitions' tokens do not match their rows"
                    )
                done += len(batch)
                for column, values in distinct.items():
                    values.update(batch[column].dropna().unique().tolist())
                sink.write(batch)
    if done != len(kept_keys):
        raise StageRefused(f"source {source}: its partitions' tokens do not match their rows")
    return {c: len(v) for c, v in distinct.items()}


def combine(run: dict, source: str) -> dict:
    """The source's files and results from its partitions' (see the module's text): the
    duplicates are found on key columns and content hashes, the rows copied batch by
    batch, so no whole source is held."""
    from islandbridge.secrets import load_run_keyring
    from islandbridge.stages.sources import _rejected_keys

    plan, ctx = run_context(run)
    parts = plan.parts(source)
    if not parts:
        raise StageRefused(f"source {source}: not split into partitions in this run")
    found = {stage: [_read(plan, p, stage) for p in parts] for stage in _STAGES}
    extracted = [ExtractResult.model_validate(r) for r in found["extract"]]
    tokenised = [PseudonymiseResult.model_validate(r) for r in found["pseudonymise"]]
    if any(t.key_id != plan.key_id for t in tokenised):
        raise StageRefused(f"source {source}: a partition was tokenised under another key")
    layout, spec = ctx.layout, ctx.config.source(source)
    files = [layout.part(source, p.index) for p in parts]
    extract = _combine_landing(plan, parts, extracted)
    accepted = [f.accepted for f in files]
    collapse = _collapse(files, spec.entity)
    kept, merged = _split_accepted(accepted, collapse, layout.accepted(source))
    rejected = _concat([f.quality_quarantine for f in files])
    quarantined = pd.concat([rejected, merged], ignore_index=True)
    vaulted = {c for t in tokenised for c in t.vaulted}
    distinct = _combine_tokens(
        source, [f.tokens for f in files], collapse.kept_keys, layout.tokens(source), vaulted
    )
    write_parquet(quarantined, layout.quality_quarantine(source))
    keyring = load_run_keyring(ctx)
    write_parquet(_rejected_keys(ctx, source, keyring), layout.rejected_keys(source))
    write_result(extract, layout.result("extract", source))
    validated = ValidateResult(
        source=source,
        rows_in=sum(ValidateResult.model_validate(r).rows_in for r in found["validate"]),
        accepted=kept,
        quarantined=len(quarantined),
        reasons=_reasons(quarantined),
        data_docs=ValidateResult.model_validate(found["validate"][0]).data_docs,
    )
    write_result(validated, layout.result("validate", source))
    result = PseudonymiseResult(
        source=source,
        rows=len(collapse.kept_keys),
        key_id=plan.key_id,
        operators=tokenised[0].operators,
        unpoliced=sorted({c for t in tokenised for c in t.unpoliced}),
        vaulted=distinct,
    )
    write_result(result, layout.result("pseudonymise", source))  # last: the source is done
    log.info("source %s: %d partitions combined, %d rows kept", source, len(parts), kept)
    return extract.to_json()


_STAGES = ("extract", "validate", "pseudonymise")


def label_source(run: dict, label: str) -> str:
    """The source a chain's task label names."""
    part = RunPlan.model_validate(run).part_of(label)
    return part.source if part is not None else label


def source_stage(stage: str, run: dict, label: str) -> dict:
    """Run a per-source stage for a task label: a whole source, or one partition (or
    ``combine`` for a split source)."""
    from islandbridge.stages import sources

    whole: dict[str, Callable[[dict, str], dict]] = {
        "extract": sources.extract,
        "validate": sources.validate,
        "pseudonymise": sources.pseudonymise,
    }
    parts: dict[str, Callable[[dict, str, int], dict]] = {
        "extract": extract_part,
        "validate": validate_part,
        "pseudonymise": pseudonymise_part,
    }
    if stage == "combine":
        return combine(run, label)
    part = RunPlan.model_validate(run).part_of(label)
    if part is None:
        return whole[stage](run, label)
    return parts[stage](run, part.source, part.index)
