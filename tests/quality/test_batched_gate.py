"""The quality gate and pseudonymisation in record batches give exactly the outputs of
the whole-source code they replaced (same accepted rows, quarantine rows and reasons,
Data Docs figures, tokens and counts), on every source of a generated university."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from islandbridge.io import ParquetSink, parquet_batches, read_json, write_parquet

pytestmark = [pytest.mark.xdist_group("stages")]


def _context(installation: dict):
    from islandbridge.run_layout import DataLayout
    from islandbridge.stages.plan import run_context

    base = DataLayout(Path(installation["data"])).run("base")
    return base, run_context(read_json(base.plan))[1]


def _whole_source(landed, spec, config, as_of, earlier=None):
    """The validate stage as it was: the whole source at once (issue 13 baseline)."""
    from connectors import standardise
    from quality import collapse_duplicates, validate_frame

    frame = standardise(landed, spec)
    verdict = validate_frame(frame, entity=spec.entity, config=config, as_of=as_of)
    kept, merged = collapse_duplicates(
        verdict.accepted, entity=spec.entity, rejected=verdict.quarantined
    )
    kept = kept.drop(columns=["parse_errors", "flags"], errors="ignore")
    quarantined = pd.concat([verdict.quarantined, merged], ignore_index=True)
    if earlier is not None:
        earlier = earlier[~earlier["record_key"].isin(set(frame["record_key"].astype(str)))]
        kept = pd.concat([earlier, kept], ignore_index=True)
    counts = quarantined["reasons"].str.split(";").explode().value_counts().to_dict()
    return kept, quarantined, {str(k): int(v) for k, v in counts.items()}, verdict


def _batched(landing: Path, spec, config, as_of, rows: int, out: Path, earlier=None):
    from connectors import standardise
    from quality import gate_batches

    out.mkdir(parents=True)
    (out / "scratch").mkdir()
    with ParquetSink(out / "accepted.parquet") as ok, ParquetSink(out / "bad.parquet") as bad:
        outcome = gate_batches(
            (standardise(b, spec) for b in parquet_batches(landing, rows)),
            entity=spec.entity,
            config=config,
            as_of=as_of,
            scratch=out / "scratch",
            write_accepted=ok.write,
            write_quarantined=bad.write,
            earlier=parquet_batches(earlier, rows) if earlier is not None else None,
        )
    assert not any((out / "scratch").iterdir()), "spilled batches are removed"
    return pd.read_parquet(ok.path), pd.read_parquet(bad.path), outcome


def _files_equal(expected: pd.DataFrame, got: pd.DataFrame, where: Path) -> None:
    """Compared as today's files read back (``write_parquet`` then ``read_parquet``)."""
    write_parquet(expected, where)
    pd.testing.assert_frame_equal(pd.read_parquet(where), got)


def test_batched_gate_gives_the_whole_source_outputs(small_installation, tmp_path):
    from islandbridge.settings import quality_config

    base, ctx = _context(small_installation)
    config, as_of = quality_config(ctx), ctx.as_of
    merged_rows = batches_seen = 0
    for spec in ctx.config.sources:
        landing = base.landing(spec.name)
        landed = pd.read_parquet(landing)
        kept, quarantined, reasons, _ = _whole_source(landed, spec, config, as_of)
        rows = len(landed) // 3 + 1  # three batches (or one, for a source of 0–2 rows)
        got_ok, got_bad, outcome = _batched(
            landing, spec, config, as_of, rows, tmp_path / spec.name
        )
        _files_equal(kept, got_ok, tmp_path / f"{spec.name}-ok.parquet")
        _files_equal(quarantined, got_bad, tmp_path / f"{spec.name}-bad.parquet")
        assert outcome.reasons == reasons
        assert (outcome.rows_in, outcome.accepted, outcome.quarantined) == (
            len(landed),
            len(kept),
            len(quarantined),
        )
        merged_rows += int(quarantined["reasons"].isin(["exact_duplicate", "near_duplicate"]).sum())
        batches_seen += len(landed) > rows
    assert merged_rows > 0 and batches_seen >= 5  # duplicates across batches were exercised


def test_batched_gate_keeps_earlier_rows_of_an_incremental_source(small_installation, tmp_path):
    from islandbridge.settings import quality_config

    base, ctx = _context(small_installation)
    spec = ctx.config.source("student_roster")
    config, as_of = quality_config(ctx), ctx.as_of
    landed = pd.read_parquet(base.landing(spec.name))
    new_rows = landed.iloc[len(landed) // 2 :]  # read past the watermark: the later half
    partial = tmp_path / "landing.parquet"
    new_rows.to_parquet(partial, index=False)
    earlier = base.accepted(spec.name)  # all of the source's rows, as last published
    kept, quarantined, reasons, _ = _whole_source(
        new_rows.reset_index(drop=True), spec, config, as_of, pd.read_parquet(earlier)
    )
    got_ok, got_bad, outcome = _batched(
        partial, spec, config, as_of, len(new_rows) // 2 + 1, tmp_path / "b", earlier
    )
    _files_equal(kept, got_ok, tmp_path / "ok.parquet")
    _files_equal(quarantined, got_bad, tmp_path / "bad.parquet")
    assert outcome.reasons == reasons
    assert outcome.carried_rows == len(kept) - (len(new_rows) - len(quarantined)) > 0


def test_merged_gx_result_is_the_whole_sources(tmp_path):
    """Data Docs describe every row: the per-batch GX results summed are the result of
    validating all rows at once (counts, percentages, successes, statistics)."""
    from bench.bench_quality import AS_OF, member_frame
    from quality import load_quality_config
    from quality.merged_results import MergedValidation
    from quality.verdict import validate_batch

    config = load_quality_config(Path(__file__).parents[2] / "config" / "quality.yaml")
    frame = member_frame(900, defect_rate=0.05)
    _, whole = validate_batch(frame, "member", config, AS_OF)
    merged = MergedValidation()
    for start in range(0, len(frame), 250):
        part = frame.iloc[start : start + 250].reset_index(drop=True)
        merged.add(validate_batch(part, "member", config, AS_OF)[1])
    MergedValidation().add(whole)  # drops the row positions the same way
    expected, got = whole.to_json_dict(), merged.result.to_json_dict()
    expected.pop("meta"), got.pop("meta")
    assert merged.batches == 4 and got == expected
    assert 0 < got["statistics"]["successful_expectations"] < len(got["results"])


def test_merging_refuses_results_that_cannot_be_summed():
    from types import SimpleNamespace

    from quality.merged_results import MergedValidation, ResultMergeError

    config = SimpleNamespace(type="expect_column_mean_to_be_between", kwargs={}, meta={})
    item = SimpleNamespace(result={"observed_value": 3.2}, expectation_config=config)
    with pytest.raises(ResultMergeError, match="not a map expectation"):
        MergedValidation().add(SimpleNamespace(results=[item]))


def test_batched_pseudonymisation_gives_the_whole_frames_tokens(small_installation, tmp_path):
    from anonymize import (
        Keyring,
        Vault,
        generate_keyring,
        pseudonymise_batches,
        pseudonymise_frame,
    )
    from islandbridge.settings import privacy_policy

    base, ctx = _context(small_installation)
    policy, keyring = privacy_policy(ctx), Keyring(generate_keyring())
    for spec in ctx.config.sources:
        accepted = base.accepted(spec.name)
        frame = pd.read_parquet(accepted)
        folder = tmp_path / spec.name
        with Vault(folder / "whole" / "vault.sqlite", keyring) as vault:
            tokens, report = pseudonymise_frame(
                frame, entity=spec.entity, policy=policy, keyring=keyring, vault=vault
            )
            whole_vault = vault.count()
        with (
            Vault(folder / "batched" / "vault.sqlite", keyring) as vault,
            ParquetSink(folder / "tokens.parquet") as sink,
        ):
            batched = pseudonymise_batches(
                parquet_batches(accepted, len(frame) // 3 + 1),
                entity=spec.entity,
                policy=policy,
                keyring=keyring,
                vault=vault,
                write=sink.write,
            )
            assert vault.count() == whole_vault
        _files_equal(tokens, pd.read_parquet(sink.path), folder / "whole.parquet")
        assert batched.as_dict() == report.as_dict()
        assert sink.rows == len(frame)


def test_a_sink_that_fails_leaves_no_file(tmp_path):
    target = tmp_path / "accepted.parquet"
    with pytest.raises(ZeroDivisionError), ParquetSink(target) as sink:
        sink.write(pd.DataFrame({"record_key": pd.array(["a"], dtype="string")}))
        _ = 1 / 0
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="nothing was written"), ParquetSink(target):
        pass
    assert not target.exists()


def test_a_batch_without_coarse_dates_gets_their_precision_column(small_installation, tmp_path):
    """A precision companion standardise adds only where some date is coarser than a day:
    a batch with none of those rows is given it (``day``), as the whole source has it."""
    from connectors import standardise
    from islandbridge.settings import quality_config

    base, ctx = _context(small_installation)
    config, as_of = quality_config(ctx), ctx.as_of
    spec = ctx.config.source("org_members")
    landed = pd.read_parquet(base.landing(spec.name))
    coarse = len(landed) // 4  # the last quarter's application dates known to the month
    landed.loc[len(landed) - coarse :, "sqrq"] = "2019年3月"
    landing = tmp_path / "landing.parquet"
    landed.to_parquet(landing, index=False)
    whole = standardise(landed, spec)
    assert (whole["applicant_on_precision"] == "month").sum() == coarse
    first = len(landed) - coarse
    assert "applicant_on_precision" not in standardise(landed.iloc[:first], spec).columns
    kept, quarantined, reasons, _ = _whole_source(landed, spec, config, as_of)
    got_ok, got_bad, outcome = _batched(landing, spec, config, as_of, first, tmp_path / "b")
    _files_equal(kept, got_ok, tmp_path / "ok.parquet")
    _files_equal(quarantined, got_bad, tmp_path / "bad.parquet")
    assert outcome.reasons == reasons
