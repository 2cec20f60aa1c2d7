"""Who is who across departments: every source of a run linked on tokens only.

What linkage does with a source follows its entity's role in the canonical schema
(:class:`domain.EntityRole`), not its name:

* **roster** sources define the persons (the person index is built from them); a
  roster row is linked to the person of its ID token;
* **calendar** sources (meetings) belong to branches, not people: passed through;
* **activity** sources are linked to persons by their key tokens (in the order of
  trust :data:`KEY_PRIORITY`), with a keyed name check where the source carries the
  configured name encoding, and an optional probabilistic fallback per source. An
  activity whose entity names a calendar (sign-ins → meetings) is first checked
  against it: a sign-in on a day its branch held no meeting is quarantined.

Every input row ends in exactly one of ``linked`` or ``quarantined`` (with reasons).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from domain import EntityRole, entity
from integrate.person_index import PersonIndex, build_person_index
from integrate.record_linkage import UNKNOWN_PERSON, link_records

__all__ = [
    "KEY_PASS_COLUMNS",
    "KEY_PRIORITY",
    "ActivityPart",
    "FallbackRule",
    "LinkageOutcome",
    "LinkageRules",
    "SourceLinkage",
    "activity_quarantine",
    "calendar_linkage",
    "empty_activity",
    "key_columns",
    "link_activity_part",
    "link_roster",
    "link_sources",
    "linkage_counts",
]

log = logging.getLogger(__name__)

#: Token columns tried in this order of trust.
KEY_PRIORITY = (
    "id_number_token",
    "student_no_token",
    "staff_no_token",
    "person_no_token",
    "mobile_token",
)


@dataclass(frozen=True)
class FallbackRule:
    """Probabilistic linkage, on keyed encodings, of a source's rows that no token links."""

    on: tuple[str, ...] = ("name_bloom",)
    block_on: str | None = None
    threshold: float = 0.85
    ambiguity_margin: float = 0.02


@dataclass(frozen=True)
class LinkageRules:
    """How activity records are linked: the name check and per-source fallbacks."""

    name_check: str | None = "name_bloom"
    name_threshold: float = 0.6
    fallback: Mapping[str, FallbackRule] = field(default_factory=dict)
    #: roster attributes the index keeps per person (for blocking a fallback)
    attributes: tuple[str, ...] = ("branch_id",)


@dataclass(frozen=True)
class SourceLinkage:
    """One source's linkage: its linked rows (with ``person_key``), its quarantine."""

    linked: pd.DataFrame
    quarantined: pd.DataFrame

    def counts(self) -> dict[str, object]:
        return linkage_counts(len(self.linked), self.quarantined)


def linkage_counts(linked: int, quarantined: pd.DataFrame) -> dict[str, object]:
    """A source's linkage figures from its linked row count and its quarantine."""
    reasons = quarantined["reasons"].astype("string").str.split(";").explode()
    return {
        "in": linked + len(quarantined),
        "linked": linked,
        "quarantined": len(quarantined),
        "reasons": {str(k): int(v) for k, v in reasons.value_counts().items()},
    }


@dataclass(frozen=True)
class LinkageOutcome:
    index: PersonIndex
    sources: dict[str, SourceLinkage]


def _keys_of(frame: pd.DataFrame) -> list[str]:
    return [c for c in KEY_PRIORITY if c in frame.columns and frame[c].notna().any()]


#: what :func:`key_columns` reads of a source: its keys and what the calendar check reads
KEY_PASS_COLUMNS = (*KEY_PRIORITY, "branch_id", "meeting_date")


def key_columns(frames: Iterable[pd.DataFrame], calendar: pd.DataFrame | None) -> list[str]:
    """The key columns (:data:`KEY_PRIORITY` order) with a value in a row that the
    calendar check accepts, over ``frames`` (an activity source in batches, projected to
    :data:`KEY_PASS_COLUMNS`): what a whole-source link would use."""
    from quality import check_meeting_signins

    found: set[str] = set()
    for frame in frames:
        if calendar is not None:
            frame, _ = check_meeting_signins(frame, calendar)
        found.update(_keys_of(frame))
    return [c for c in KEY_PRIORITY if c in found]


def _no_rows_rejected(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[0:0].assign(reasons=pd.Series(dtype="string"))


def _link_roster(frame: pd.DataFrame, index: PersonIndex) -> SourceLinkage:
    has_id = frame["id_number_token"].notna()
    keys = index.persons.set_index("id_number_token")["person_key"]
    linked = frame[has_id].assign(person_key=frame.loc[has_id, "id_number_token"].map(keys))
    rejected = frame[~has_id].assign(reasons=UNKNOWN_PERSON)
    return SourceLinkage(linked, rejected)


@dataclass(frozen=True)
class ActivityPart:
    """An activity source's rows (or a batch of them) linked: the linked rows, those
    with no meeting on their day (calendar check), those linkage quarantined. A source's
    quarantine is ``[no rows of the first part, every no_event, every quarantined]``."""

    linked: pd.DataFrame
    no_event: pd.DataFrame | None
    quarantined: pd.DataFrame


def link_activity_part(
    name: str,
    frame: pd.DataFrame,
    index: PersonIndex,
    rules: LinkageRules,
    calendar: pd.DataFrame | None,
    keys: Sequence[str] | None = None,
) -> ActivityPart:
    """Link activity rows (a whole source or a batch of it; each row is linked on its
    own) on ``keys``: the key columns with a value among the rows the calendar check
    accepts — of the whole source (:func:`key_columns`); None: of these rows."""
    from quality import check_meeting_signins

    no_event = None
    if calendar is not None:
        frame, no_event = check_meeting_signins(frame, calendar)
    keys = _keys_of(frame) if keys is None else keys
    name_check = rules.name_check if rules.name_check in frame.columns else None
    fallback = rules.fallback.get(name)
    result = link_records(
        frame,
        index,
        keys=list(keys),
        name_check=name_check,
        name_threshold=rules.name_threshold,
        fallback_on=list(fallback.on) if fallback else None,
        block_on=fallback.block_on if fallback else None,
        fallback_threshold=fallback.threshold if fallback else 0.85,
        ambiguity_margin=fallback.ambiguity_margin if fallback else 0.02,
    )
    return ActivityPart(result.linked, no_event, result.quarantined)


def activity_quarantine(
    head: pd.DataFrame,
    no_events: Sequence[pd.DataFrame | None],
    quarantined: Sequence[pd.DataFrame],
) -> pd.DataFrame:
    """An activity source's quarantine from its parts' (:class:`ActivityPart`) rows, in
    the order of a whole-source run; ``head``: the source's columns (rows are ignored)."""
    frames = [_no_rows_rejected(head), *(f for f in no_events if f is not None), *quarantined]
    return pd.concat(frames, ignore_index=True)


def _link_activity(
    name: str,
    frame: pd.DataFrame,
    index: PersonIndex,
    rules: LinkageRules,
    calendar: pd.DataFrame | None,
) -> SourceLinkage:
    if frame.empty:  # e.g. the source's only export was refused
        return empty_activity(frame)
    part = link_activity_part(name, frame, index, rules, calendar)
    quarantined = activity_quarantine(frame, [part.no_event], [part.quarantined])
    return SourceLinkage(part.linked, quarantined)


def empty_activity(frame: pd.DataFrame) -> SourceLinkage:
    """An activity source without rows: nothing linked, nothing quarantined."""
    return SourceLinkage(
        frame.assign(person_key=pd.Series(dtype="string")), _no_rows_rejected(frame)
    )


def link_roster(frame: pd.DataFrame, index: PersonIndex) -> SourceLinkage:
    """Roster rows (a whole roster or a batch) linked to the person of their ID token."""
    return _link_roster(frame, index)


def calendar_linkage(frame: pd.DataFrame) -> SourceLinkage:
    """A calendar source passes through linkage whole."""
    return SourceLinkage(frame, _no_rows_rejected(frame))


def link_sources(
    frames: Mapping[str, tuple[str, pd.DataFrame]], rules: LinkageRules | None = None
) -> LinkageOutcome:
    """Link every source (name → (entity, tokenised frame)) of a run.

    Raises ``ValueError`` when no source has a roster entity: nobody to link to.
    """
    rules = rules or LinkageRules()
    roles = {name: entity(ent).role for name, (ent, _) in frames.items()}
    rosters = [f for name, (_, f) in frames.items() if roles[name] == EntityRole.ROSTER]
    if not rosters:
        raise ValueError("no roster source in this run: nobody to link activity records to")
    index = build_person_index(rosters, attributes=rules.attributes)
    calendars: dict[str, list[pd.DataFrame]] = {}
    for name, (ent, frame) in frames.items():
        if roles[name] == EntityRole.CALENDAR:
            calendars.setdefault(ent, []).append(frame)
    out: dict[str, SourceLinkage] = {}
    for name, (ent, frame) in frames.items():
        if roles[name] == EntityRole.ROSTER:
            out[name] = _link_roster(frame, index)
        elif roles[name] == EntityRole.CALENDAR:
            out[name] = calendar_linkage(frame)
        else:
            wanted = entity(ent).calendar
            calendar = (
                pd.concat(calendars[wanted], ignore_index=True)
                if wanted and wanted in calendars
                else None
            )
            out[name] = _link_activity(name, frame, index, rules, calendar)
        log.info("linkage %s: %s", name, {k: v for k, v in out[name].counts().items()})
    return LinkageOutcome(index=index, sources=out)
