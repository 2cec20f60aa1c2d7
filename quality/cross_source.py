"""Checks that need more than one source, run after linking.

* :func:`check_meeting_signins`: sign-ins on a date their branch held no meeting.
* :func:`check_unknown_persons`: activity of people on no roster.
* :func:`resolve_birth_date_conflicts`: one person, different birth dates in different
  departments — resolved by the configured source priority and flagged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from quality.verdict import Verdict, verdict_from_masks

__all__ = ["check_meeting_signins", "check_unknown_persons", "resolve_birth_date_conflicts"]

logger = logging.getLogger(__name__)


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce").dt.normalize()


def check_meeting_signins(
    attendance: pd.DataFrame,
    meetings: pd.DataFrame,
    *,
    branch_column: str = "branch_id",
    date_column: str = "meeting_date",
) -> Verdict:
    """Quarantine sign-ins (``no_meeting_signin``) whose branch held no meeting that day.

    Rows without a branch or a date are not judged here (the suite's required rules are).
    """
    held = pd.MultiIndex.from_arrays(
        [meetings[branch_column].astype("string"), _day(meetings[date_column])]
    )
    signed = pd.MultiIndex.from_arrays(
        [attendance[branch_column].astype("string"), _day(attendance[date_column])]
    )
    judged = (
        attendance[branch_column].notna().to_numpy()
        & _day(attendance[date_column]).notna().to_numpy()
    )
    bad = judged & ~signed.isin(held)
    logger.info("sign-ins: %d of %d on dates without a meeting", int(bad.sum()), len(attendance))
    return verdict_from_masks(attendance, {"no_meeting_signin": bad}, {}, entity="attendance")


def check_unknown_persons(
    activity: pd.DataFrame, roster: pd.DataFrame, keys: Sequence[str], *, entity: str = ""
) -> Verdict:
    """Quarantine activity rows (``unknown_person``) that match no roster row on any of ``keys``.

    After linking pass ``keys=["person_id"]``; before it, e.g. ``["student_no", "staff_no"]``.
    """
    known = np.zeros(len(activity), dtype=bool)
    for key in keys:
        if key in activity.columns and key in roster.columns:
            values = roster[key].dropna().astype("string").unique()
            column = activity[key].astype("string")
            known |= (column.notna() & column.isin(values)).to_numpy(dtype=bool)
    unknown = ~known
    logger.info(
        "%s: %d of %d rows by people on no roster", entity, int(unknown.sum()), len(activity)
    )
    return verdict_from_masks(activity, {"unknown_person": unknown}, {}, entity=entity)


def resolve_birth_date_conflicts(
    members: pd.DataFrame,
    source_priority: Sequence[str],
    *,
    person_column: str = "person_id",
    birth_column: str = "birth_date",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One birth date per person: the value of the highest-priority source wins.

    Returns ``(resolved, conflicts)``: ``resolved`` is ``members`` with the winning birth
    date on every row of a conflicting person and ``birth_date_conflict`` added to its
    ``flags``; ``conflicts`` lists each row of those persons with the date it reported
    (``reported_birth_date``) and the one chosen. Sources not in the priority list rank
    last; ties go to the first row.
    """
    work = members.reset_index(drop=True)
    born = _day(work[birth_column])
    rank = {source: i for i, source in enumerate(source_priority)}
    order = work["source"].map(lambda s: rank.get(s, len(rank))).to_numpy(dtype=np.int64)
    has_person = work[person_column].notna().to_numpy() & born.notna().to_numpy()
    frame = pd.DataFrame(
        {"person": work[person_column], "born": born, "rank": order, "pos": np.arange(len(work))}
    )[has_person]
    distinct = frame.groupby("person")["born"].transform("nunique")
    conflicting = frame[distinct > 1]
    winners = conflicting.sort_values(["rank", "pos"]).groupby("person")["born"].first()
    resolved = members.copy()
    flags = (
        resolved["flags"].astype("string").fillna("")
        if "flags" in resolved.columns
        else pd.Series("", index=resolved.index, dtype="string")
    )
    positions = conflicting["pos"].to_numpy()
    chosen = winners.reindex(conflicting["person"].to_numpy()).to_numpy()
    column = resolved.columns.get_loc(birth_column)
    resolved.iloc[positions, column] = chosen
    flag_values = flags.to_numpy(dtype=object)
    flag_values[positions] = [
        f"{f};birth_date_conflict" if f else "birth_date_conflict" for f in flag_values[positions]
    ]
    resolved["flags"] = pd.array(flag_values, dtype="string")
    conflicts = work.iloc[positions][[person_column, "source", "record_key"]].copy()
    conflicts["reported_birth_date"] = born.iloc[positions].to_numpy()
    conflicts["resolved_birth_date"] = chosen
    logger.info("birth dates: %d persons with conflicting values", len(winners))
    return resolved, conflicts.reset_index(drop=True)
