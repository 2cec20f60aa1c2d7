"""The per-source stages: extract, validate, pseudonymise (mapped over the sources).

A source the plan carries over is not read again: its finished files are linked
from the run behind the current publication, and it is tokenised again only when
the active key is not the one its tokens were made under (after ``keys rotate``).
Each stage writes its typed result to the run folder and returns it for XCom.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import pandas as pd

from islandbridge.errors import StageRefused, describe_failure
from islandbridge.io import ParquetSink, parquet_batches, write_parquet
from islandbridge.run_layout import (
    ExtractResult,
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
    "carried_tokens",
    "carry",
    "extract",
    "pseudonymise",
    "record_failure",
    "retokenise",
    "validate",
]

log = logging.getLogger(__name__)


def carry(plan: RunPlan, source: str) -> ExtractResult:
    """Link a source's files of the last publication's run into this run."""
    plan, ctx = run_context(plan)
    if plan.previous is None:
        raise StageRefused(f"source {source}: nothing published yet to carry over")
    try:
        ctx.layout.carry_from(ctx.data.run(plan.previous.run_id), source)
    except FileNotFoundError as exc:
        raise StageRefused(f"cannot carry source {source} over: missing {exc}") from None
    before = read_result(ExtractResult, ctx.layout.result("extract", source))
    result = before.model_copy(update={"mode": "carried", "watermark": None})
    write_result(result, ctx.layout.result("extract", source))
    log.info("source %s: carried over from run %s", source, plan.previous.run_id)
    return result


def _origin(plan: RunPlan, source: str, inputs: list[dict]) -> SourceOrigin:
    """Unchanged inputs keep the origin they had, so the publication stays the same."""
    digests = [str(i.get("sha256", "")) for i in inputs]
    earlier = plan.previous.sources.get(source) if plan.previous else None
    if earlier is not None and earlier.inputs_sha256 == digests:
        return earlier
    return SourceOrigin(run_id=plan.run_id, run_at=plan.started_at, inputs_sha256=digests)


def extract(run: dict, source: str) -> dict:
    """Land one source's raw rows with provenance (or carry it over, as planned)."""
    from connectors import extract_to_landing

    plan, ctx = run_context(run)
    if source not in plan.fresh:
        return carry(plan, source).to_json()
    layout = ctx.layout
    landing = extract_to_landing(
        ctx.config.source(source),
        ctx.extract_context(),
        layout.landing(source),
        layout.provenance(source),
        layout.refused_quarantine(source),
    )
    inputs = [i.to_json() for i in landing.inputs]
    result = ExtractResult(
        source=source,
        mode="fresh",
        rows=landing.rows,
        refused=[
            RefusedInput(
                location=i.location,
                reason=i.rejected_reason,
                rows=i.rows,
                rows_unknown=i.rows_unknown,
            )
            for i in landing.rejected
        ],
        inputs=inputs,
        origin=_origin(plan, source, inputs),
        watermark=landing.watermark,
    )
    return write_result(result, layout.result("extract", source))


def validate(run: dict, source: str) -> dict:
    """Standardise to the canonical schema, run the quality gate, quarantine false rows
    (in record batches of ``batch_rows``: :func:`quality.gate_batches`)."""
    from connectors import standardise
    from islandbridge.settings import quality_config
    from quality import gate_batches

    plan, ctx = run_context(run)
    layout = ctx.layout
    if source not in plan.fresh:
        return read_result(ValidateResult, layout.result("validate", source)).to_json()
    spec = ctx.config.source(source)
    rows = ctx.config.batch_rows
    earlier = _earlier_rows(plan, source)
    accepted_path = layout.accepted(source)
    with (
        tempfile.TemporaryDirectory(prefix=".validate-", dir=accepted_path.parent) as scratch,
        ParquetSink(accepted_path) as accepted,
        ParquetSink(layout.quality_quarantine(source)) as quarantined,
    ):
        outcome = gate_batches(
            (standardise(raw, spec) for raw in parquet_batches(layout.landing(source), rows)),
            entity=spec.entity,
            config=quality_config(ctx),
            as_of=ctx.as_of,
            scratch=Path(scratch),
            write_accepted=accepted.write,
            write_quarantined=quarantined.write,
            data_docs_dir=ctx.data.data_docs(layout, source),
            earlier=parquet_batches(earlier, rows) if earlier is not None else None,
        )
    carried = outcome.carried_rows
    result = ValidateResult(
        source=source,
        rows_in=outcome.rows_in,
        accepted=accepted.rows,
        quarantined=quarantined.rows,
        reasons=outcome.reasons,
        data_docs=str(outcome.data_docs_index or ""),
        carried_rows=carried,
        carried_from=plan.previous.run_id if carried and plan.previous else "",
    )
    return write_result(result, layout.result("validate", source))


def _earlier_rows(plan: RunPlan, source: str) -> Path | None:
    """An incremental extraction reads only rows past the watermark: the source's accepted
    rows of the last publication are kept beside them (a row read again replaces its
    earlier version), so the publication still holds all of the source's data. Their
    file, or ``None`` for a source extracted in full."""
    _, ctx = run_context(plan)
    extracted = read_result(ExtractResult, ctx.layout.result("extract", source))
    incremental = bool(extracted.watermark and extracted.watermark.get("previous") is not None)
    if not incremental:
        return None
    if plan.previous is None or source not in plan.previous.sources:
        raise StageRefused(
            f"source {source}: extracted from a watermark, but no earlier publication holds "
            "its rows; reset its watermark to extract it in full"
        )
    earlier_path = ctx.data.run(plan.previous.run_id).accepted(source)
    if not earlier_path.is_file():
        raise StageRefused(
            f"source {source}: its rows of run {plan.previous.run_id} are no longer retained; "
            "reset its watermark to extract it in full"
        )
    return earlier_path


def retokenise(plan: RunPlan, source: str, *, carried: bool) -> PseudonymiseResult:
    """Pseudonymise a source's accepted rows under the active key (the field policy)."""
    from anonymize import Vault, pseudonymise_batches
    from islandbridge.secrets import load_run_keyring, vault_location
    from islandbridge.settings import privacy_policy

    plan, ctx = run_context(plan)
    layout = ctx.layout
    keyring = load_run_keyring(ctx)
    if keyring.active_id != plan.key_id:
        raise StageRefused(
            f"the active token key changed during this run ({plan.key_id} → "
            f"{keyring.active_id}); run again so that every source uses one key"
        )
    with (
        Vault(vault_location(ctx), keyring) as vault,
        ParquetSink(layout.tokens(source)) as tokens,
    ):
        report = pseudonymise_batches(
            parquet_batches(layout.accepted(source), ctx.config.batch_rows),
            entity=ctx.config.source(source).entity,
            policy=privacy_policy(ctx),
            keyring=keyring,
            vault=vault,
            write=tokens.write,
        )
    write_parquet(_rejected_keys(ctx, source, keyring), layout.rejected_keys(source))
    result = PseudonymiseResult(
        source=source,
        rows=tokens.rows,
        key_id=keyring.active_id,
        operators=report.operators,
        unpoliced=sorted(report.unpoliced),
        vaulted=report.vaulted,
        retokenised=carried,
    )
    write_result(result, layout.result("pseudonymise", source))
    return result


def _rejected_keys(ctx, source: str, keyring) -> pd.DataFrame:
    """Key tokens of a roster's rows the quality gate rejected (empty for other entities),
    made by the field policy under the active key and never vaulted: linkage tells a
    person whose roster row was rejected from one on no roster by them
    (:mod:`integrate.rejected_persons`)."""
    import pyarrow.parquet as pq

    from anonymize import pseudonymise_frame
    from domain import EntityRole, entity
    from integrate.rejected_persons import REJECTED_KEY_FIELDS, rejected_key_tokens
    from islandbridge.settings import privacy_policy

    spec = ctx.config.source(source)
    path = ctx.layout.quality_quarantine(source)
    if entity(spec.entity).role != EntityRole.ROSTER or not path.is_file():
        return rejected_key_tokens(pd.DataFrame())
    present = pq.read_schema(path).names
    fields = [f for f in REJECTED_KEY_FIELDS if f in present]
    if not fields:
        return rejected_key_tokens(pd.DataFrame())
    rejected = pd.read_parquet(path, columns=fields)  # the key columns only
    if rejected.empty:
        return rejected_key_tokens(pd.DataFrame())
    keys = rejected[fields].astype("string").reset_index(drop=True)
    tokens, _ = pseudonymise_frame(
        keys, entity=spec.entity, policy=privacy_policy(ctx), keyring=keyring, vault=None
    )
    return rejected_key_tokens(tokens)


def carried_tokens(plan: RunPlan, source: str) -> PseudonymiseResult:
    """A carried source's tokens under the active key: kept when they were made under it,
    else made again from its accepted rows (after ``keys rotate``)."""
    _, ctx = run_context(plan)
    before = read_result(PseudonymiseResult, ctx.layout.result("pseudonymise", source))
    if before.key_id == plan.key_id:
        return before
    log.info(
        "source %s: tokens of key %s, active key %s: tokenised again",
        source,
        before.key_id,
        plan.key_id,
    )
    return retokenise(plan, source, carried=True)


def pseudonymise(run: dict, source: str) -> dict:
    """Replace personal fields by tokens per the field policy (see :func:`carried_tokens`
    for a carried source)."""
    plan, _ = run_context(run)
    if source not in plan.fresh:
        return carried_tokens(plan, source).to_json()
    return retokenise(plan, source, carried=False).to_json()


def record_failure(run: dict, source: str, stage: str, exc: BaseException) -> None:
    """Note why a source's stage failed (for the summary); never a value, only our own
    messages or the exception's type."""
    _, ctx = run_context(run)
    path = ctx.layout.failures
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = {"source": source, "stage": stage, "problem": describe_failure(exc)}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    path.chmod(0o600)
