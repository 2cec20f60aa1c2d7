"""The link stage of a run: who is who across departments, on tokens only.

Roster sources (entity ``member``) define the persons; every activity source is
linked to them by its key tokens (and a keyed Bloom-filter check of the name,
where it carries one). Sign-ins on days the branch held no meeting and records
of unknown or ambiguous people are quarantined with their reason.
"""

from __future__ import annotations

import logging

import pandas as pd

from islandbridge.context import RunContext
from islandbridge.io import read_parquet, write_json, write_parquet

__all__ = ["KEY_PRIORITY", "ROSTER_ENTITY", "link_run"]

log = logging.getLogger(__name__)

ROSTER_ENTITY = "member"
CALENDAR_ENTITY = "meeting"
#: Token columns tried in this order of trust.
KEY_PRIORITY = (
    "id_number_token",
    "student_no_token",
    "staff_no_token",
    "person_no_token",
    "mobile_token",
)


def _keys_of(frame: pd.DataFrame) -> list[str]:
    return [c for c in KEY_PRIORITY if c in frame.columns and frame[c].notna().any()]


def link_run(ctx: RunContext, sources: list[str]) -> dict:
    """Link every tokenised source of the run; writes ``linked/`` and link quarantine files."""
    from integrate import build_person_index, link_records
    from quality import check_meeting_signins

    specs = {name: ctx.config.source(name) for name in sources}
    tokens = {name: read_parquet(ctx.zone("tokens") / f"{name}.parquet") for name in sources}
    rosters = [tokens[n] for n, s in specs.items() if s.entity == ROSTER_ENTITY]
    if not rosters:
        raise ValueError("no roster source (entity 'member') in this run: nobody to link to")
    calendar = [tokens[n] for n, s in specs.items() if s.entity == CALENDAR_ENTITY]
    index = build_person_index(rosters, attributes=("branch_id",))
    linked_dir, quarantine_dir = ctx.zone("linked"), ctx.zone("quarantine")
    write_parquet(index.persons, linked_dir / "_persons.parquet")
    summary: dict[str, dict] = {}
    for name, spec in specs.items():
        frame = tokens[name]
        rejected = frame.iloc[0:0].assign(reasons=pd.Series(dtype="string"))
        if spec.entity == ROSTER_ENTITY:
            linked = frame[frame["id_number_token"].notna()].copy()
            rejected = frame[frame["id_number_token"].isna()].assign(reasons="unknown_person")
            linked["person_key"] = linked["id_number_token"].map(
                index.persons.set_index("id_number_token")["person_key"]
            )
        elif spec.entity == CALENDAR_ENTITY:
            linked = frame  # meetings belong to branches, not to people
        elif frame.empty:  # e.g. the source's only export was refused
            linked = frame.assign(person_key=pd.Series(dtype="string"))
        else:
            if spec.entity == "attendance" and calendar:
                frame, no_meeting = check_meeting_signins(frame, pd.concat(calendar))
                rejected = pd.concat([rejected, no_meeting], ignore_index=True)
            name_check = "name_bloom" if "name_bloom" in frame.columns else None
            fallback = ctx.config.linkage.fallback.get(name)
            result = link_records(
                frame,
                index,
                keys=_keys_of(frame),
                name_check=name_check,
                name_threshold=ctx.config.linkage.name_threshold,
                fallback_on=fallback.on if fallback else None,
                block_on=fallback.block_on if fallback else None,
                fallback_threshold=fallback.threshold if fallback else 0.85,
                ambiguity_margin=fallback.ambiguity_margin if fallback else 0.02,
            )
            linked = result.linked
            rejected = pd.concat([rejected, result.quarantined], ignore_index=True)
        write_parquet(linked, linked_dir / f"{name}.parquet")
        write_parquet(rejected, quarantine_dir / f"{name}.link.parquet")
        reasons = rejected["reasons"].astype("string").str.split(";").explode().value_counts()
        summary[name] = {
            "in": len(tokens[name]),
            "linked": len(linked),
            "quarantined": len(rejected),
            "reasons": {str(k): int(v) for k, v in reasons.items()},
        }
    result = {"persons": len(index.persons), "index": index.stats, "sources": summary}
    write_json(result, ctx.run_dir / "link.json")
    return {"persons": len(index.persons), "sources": sorted(summary)}
