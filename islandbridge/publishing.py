"""The publish and report stages of a run.

Builds the person dimension from the linked rosters (one row per person, the
configured source priority deciding conflicting attributes), passes it through
the privacy gate, conforms the fact tables, computes indicators, and publishes a
signed version. Row accounting per source — in = accepted + quarantined,
accepted = suppressed + published — is computed from the run's own files and
must add up, or nothing is published.
"""

from __future__ import annotations

import logging
from importlib.metadata import version as package_version
from pathlib import Path

import pandas as pd

from connectors import restricted_dir
from islandbridge.context import RunContext
from islandbridge.io import read_json, read_parquet, write_json

__all__ = ["FACT_TABLES", "publish_run", "row_accounting", "summarise_run", "write_feedback"]

log = logging.getLogger(__name__)

#: canonical entity → published fact table
FACT_TABLES = {
    "attendance": "fact_attendance",
    "study": "fact_study",
    "volunteer": "fact_volunteer",
    "dues": "fact_dues",
    "meeting": "fact_meeting",
}
NON_MEMBER = "non_member"
_PERSON_ATTRIBUTES = ("gender", "ethnicity", "birth_date", "college", "branch_id", "person_type")


def _rows(path: Path) -> int:
    """Row count from the Parquet footer: no data is read."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows if path.is_file() else 0


def row_accounting(ctx: RunContext, sources: list[str], suppressed: dict[str, int]) -> dict:
    """Per source: in, accepted, quarantined, suppressed, published (from the run's files)."""
    accounting = {}
    for name in sources:
        prov = read_json(ctx.zone("landing") / f"{name}.provenance.json")
        rejected_rows = sum(i["rows"] for i in prov["inputs"] if i["rejected_reason"])
        quarantined = (
            rejected_rows
            + _rows(ctx.zone("quarantine") / f"{name}.quality.parquet")
            + _rows(ctx.zone("quarantine") / f"{name}.link.parquet")
        )
        linked = _rows(ctx.zone("linked") / f"{name}.parquet")
        if prov["rows"] + rejected_rows != linked + quarantined:
            raise RuntimeError(
                f"source {name}: {prov['rows'] + rejected_rows} rows in, but {linked} linked"
                f" + {quarantined} quarantined"
            )
        gone = suppressed.get(name, 0)
        accounting[name] = {
            "in": prov["rows"] + rejected_rows,
            "accepted": linked,
            "quarantined": quarantined,
            "suppressed": gone,
            "published": linked - gone,
        }
    return accounting


def _person_table(
    rosters: list[pd.DataFrame], departments: dict[str, str], priority: list[str]
) -> tuple[pd.DataFrame, int]:
    """One row per person_key and the number of persons whose rosters disagreed on the
    birth date: the department first in ``priority`` wins (flagged, counted); for every
    other attribute the first roster (config order) with a value wins."""
    from quality import resolve_birth_date_conflicts

    stacked = pd.concat(rosters, ignore_index=True, sort=False)
    columns = ["person_key", *[c for c in (*_PERSON_ATTRIBUTES, "status") if c in stacked]]
    # birth dates arrive generalised to the year by the field policy: compare those
    years = pd.to_datetime(stacked["birth_date"].astype("string"), format="%Y", errors="coerce")
    by_department = stacked[[*columns, "record_key"]].assign(
        source=stacked["source"].map(departments), birth_date=years
    )
    resolved, conflicts = resolve_birth_date_conflicts(
        by_department, priority, person_column="person_key"
    )
    resolved["birth_date"] = resolved["birth_date"].dt.year.astype("Int64").astype("string")
    persons = resolved[columns].groupby("person_key", sort=True).first().reset_index()
    # people on a departmental roster but on no step of the ladder
    persons["status"] = persons["status"].astype("string").fillna(NON_MEMBER)
    return persons, int(conflicts["person_key"].nunique()) if len(conflicts) else 0


def _published_person(gated: pd.DataFrame) -> pd.DataFrame:
    out = gated.copy()
    out["birth_year_band"] = out["birth_date"].astype("string")
    return out


def publish_run(ctx: RunContext) -> dict:
    """Gate, conform and publish the run's dataset; returns the publication summary."""
    from anonymize import enforce_k_anonymity
    from integrate import build_unified_dataset, compute_indicators, publish_dataset
    from integrate.data_dictionary import data_dictionary
    from integrate.postgres_target import publish_to_postgres
    from islandbridge.secrets import load_run_keyring, load_signing_key
    from islandbridge.settings import privacy_policy, quality_config

    plan = read_json(ctx.run_dir / "plan.json")
    sources: list[str] = plan["sources"]
    specs = {n: ctx.config.source(n) for n in sources}
    linked = {n: read_parquet(ctx.zone("linked") / f"{n}.parquet") for n in sources}
    rosters = [linked[n] for n, s in specs.items() if s.entity == "member"]
    departments = {n: s.department for n, s in specs.items()}
    persons, birth_conflicts = _person_table(
        rosters, departments, quality_config(ctx).source_priority
    )
    branch_status = (
        persons.dropna(subset=["branch_id"])
        .groupby(["branch_id", "status"], sort=True)
        .size()
        .rename("members")
        .reset_index()
    )
    gate = privacy_policy(ctx).gate("member")
    gated, privacy = enforce_k_anonymity(persons.drop(columns="status"), **gate.kwargs())
    kept = set(gated["person_key"])

    suppressed: dict[str, int] = {}
    frames: dict[str, list[pd.DataFrame]] = {}
    for name, spec in specs.items():
        frame = linked[name]
        if "person_key" in frame.columns:
            gone = ~frame["person_key"].isin(kept)
            suppressed[name] = int(gone.sum())
            frame = frame[~gone]
        if spec.entity in FACT_TABLES:
            frames.setdefault(FACT_TABLES[spec.entity], []).append(frame)
    unified = build_unified_dataset(
        {
            "dim_person": _published_person(gated),
            "branch_status": branch_status,
            **{t: pd.concat(f, ignore_index=True) for t, f in frames.items()},
        }
    )
    unified.update(compute_indicators(unified, as_of=ctx.as_of))
    unified["data_dictionary"] = data_dictionary(unified)

    accounting = row_accounting(ctx, sources, suppressed)
    manifest = {
        "university": ctx.config.university,
        "as_of": ctx.as_of.isoformat(),
        "sources": {
            n: read_json(ctx.zone("landing") / f"{n}.provenance.json")["inputs"] for n in sources
        },
        "row_accounting": accounting,
        "quality": {
            "rejects": _reasons(ctx, sources),
            "birth_date_conflicts_resolved": birth_conflicts,
        },
        "linkage": read_json(ctx.run_dir / "link.json")["index"],
        "privacy": {"dim_person": privacy.as_dict()},
        "key_id": load_run_keyring(ctx).active_id,
        "code_version": package_version("islandbridge"),
    }
    for inputs in manifest["sources"].values():
        for item in inputs:
            item.pop("location", None) if item["location"].startswith(
                ("postgresql", "mysql")
            ) else None
    root = ctx.expand(ctx.config.publish.root)
    result = publish_dataset(
        unified, root=root, manifest=manifest, signing_key=load_signing_key(ctx)
    )
    target = ctx.config.publish.postgres
    if target is not None:
        publish_to_postgres(
            unified,
            _target_url(target.url_env),
            schema=target.schema_name,
            analyst_role=target.analyst_role,
            version=result.version,
        )
    summary = {
        "version": result.version,
        "path": str(root / "current"),
        "duckdb": str(root / "current" / "dataset.duckdb"),
        "manifest": str(root / "current" / "manifest.json"),
        "row_accounting": accounting,
        "rejects": manifest["quality"]["rejects"],
        "privacy": privacy.as_dict(),
        "tables": {n: len(t) for n, t in unified.items()},
    }
    write_json(summary, ctx.run_dir / "publish.json")
    return {"version": result.version, "tables": summary["tables"]}


def _target_url(env_name: str) -> str:
    import os

    url = os.environ.get(env_name)
    if not url:
        raise RuntimeError(f"PostgreSQL target: environment variable {env_name} is not set")
    return url


def _reasons(ctx: RunContext, sources: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name in sources:
        counts: dict[str, int] = {}
        for stage in ("quality", "link"):
            path = ctx.zone("quarantine") / f"{name}.{stage}.parquet"
            if path.is_file():
                reasons = read_parquet(path)["reasons"].astype("string").str.split(";").explode()
                for reason, n in reasons.value_counts().items():
                    counts[str(reason)] = counts.get(str(reason), 0) + int(n)
        prov = read_json(ctx.zone("landing") / f"{name}.provenance.json")
        for item in prov["inputs"]:
            if item["rejected_reason"]:
                counts[item["rejected_reason"]] = (
                    counts.get(item["rejected_reason"], 0) + item["rows"]
                )
        out[name] = dict(sorted(counts.items()))
    return out


def write_feedback(ctx: RunContext, sources: list[str]) -> dict[str, str]:
    """Each department's own rejected rows, in its own column names and encoding, with
    bilingual reasons, under ``feedback/<department>/`` (owner-only; it holds their data)."""
    from quality import write_department_feedback

    written: dict[str, str] = {}
    for name in sources:
        spec = ctx.config.source(name)
        parts = [
            read_parquet(path)
            for stage in ("quality", "link")
            if (path := ctx.zone("quarantine") / f"{name}.{stage}.parquet").is_file()
        ]
        rejected = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if rejected.empty:
            continue
        # the department's own values, as it sent them (from this run's landing); a
        # source reused from an earlier run (department intake) got its feedback then
        landed = ctx.zone("landing") / f"{name}.parquet"
        if not landed.is_file():
            continue
        raw = read_parquet(landed)
        keep = [c for c in ("record_key", "reasons", "duplicate_of") if c in rejected.columns]
        own = rejected[keep].merge(raw, on="record_key", how="left").assign(source=name)
        paths = write_department_feedback(
            own,
            restricted_dir(ctx.data_dir / "feedback" / spec.department),
            department=name,
            column_names={column: column for column in spec.columns},
            encoding=spec.encoding_for_feedback,
            run_id=ctx.run_dir.name,
        )
        written[name] = str(paths["csv"])
    return written


def summarise_run(ctx: RunContext) -> Path:
    """The run summary (JSON) and the self-contained HTML report; returns the summary path."""
    from integrate import render_run_report

    plan = read_json(ctx.run_dir / "plan.json")
    published = read_json(ctx.run_dir / "publish.json")
    link = read_json(ctx.run_dir / "link.json")
    accounting = published["row_accounting"]
    rejects: dict[str, int] = {}
    for counts in published["rejects"].values():  # counted once, by the publish stage
        for reason, n in counts.items():
            rejects[reason] = rejects.get(reason, 0) + n
    reports = ctx.data_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    indicators_path = Path(published["path"]) / "indicator_branch_month.parquet"
    report = render_run_report(
        reports / f"{ctx.run_dir.name}.html",
        run_id=ctx.run_id,
        row_accounting=accounting,
        rejects=rejects,
        linkage={n: {"in": s["in"], "linked": s["linked"]} for n, s in link["sources"].items()},
        privacy=published["privacy"],
        indicators=read_parquet(indicators_path) if indicators_path.is_file() else None,
        publication={"version": published["version"], "tables": published["tables"]},
    )
    rows = []
    for name in plan["sources"]:
        spec = ctx.config.source(name)
        prov = read_json(ctx.zone("landing") / f"{name}.provenance.json")
        rows.append(
            {
                "source": name,
                "department": spec.department,
                **accounting[name],
                "rejected_inputs": [
                    {"location": i["location"], "reason": i["rejected_reason"], "rows": i["rows"]}
                    for i in prov["inputs"]
                    if i["rejected_reason"]
                ],
            }
        )
    feedback = write_feedback(ctx, plan["sources"])
    docs_root = ctx.data_dir / "reports" / "data_docs" / ctx.run_dir.name
    data_docs = {
        name: str(next(iter(sorted((docs_root / name).rglob("index.html"))), ""))
        for name in plan["sources"]
        if (docs_root / name).is_dir()
    }
    totals = {
        k: sum(r[k] for r in rows)
        for k in ("in", "accepted", "quarantined", "suppressed", "published")
    }
    summary = {
        "run_id": ctx.run_id,
        "university": ctx.config.university,
        "sources": rows,
        "totals": totals,
        "rejects": rejects,
        "balanced": totals["in"]
        == totals["quarantined"] + totals["suppressed"] + totals["published"],
        "published": {
            **published,
            "report": str(report),
            "quarantine": str(ctx.zone("quarantine")),
        },
        "feedback": feedback,
        "data_docs": data_docs,
    }
    return write_json(summary, ctx.run_dir / "summary.json")
