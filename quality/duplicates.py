"""Exact and near duplicates collapsed to one row each, with the lineage of what was merged.

*Exact*: the same value in every canonical column (provenance aside). *Near*: the same
identifying ``keys`` after a further normalisation (NFKC width folding, all white space
removed, case folded) — full-width digits, stray spaces and case differences.
The first row of a group (input order) is kept; the others go to ``merged`` with
``duplicate_of`` (the kept row's ``record_key``) and ``reasons``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from domain.canonical import entity as canonical_entity
from domain.text import WHITESPACE_RUN, nfkc

__all__ = [
    "DUPLICATE_KEYS",
    "PERSON_KEYS",
    "collapse_duplicates",
    "content_columns",
    "duplicate_targets",
    "near_keys",
    "normalised_key",
]

logger = logging.getLogger(__name__)


#: Columns naming the person a record is about (those present are used; never the name,
#: which departments spell differently).
PERSON_KEYS: tuple[str, ...] = ("id_number", "student_no", "staff_no", "person_no", "mobile")
#: Columns that, with the person keys, identify one record of each entity.
DUPLICATE_KEYS: dict[str, tuple[str, ...]] = {
    "member": (),
    "meeting": ("branch_id", "meeting_type", "meeting_date"),
    "attendance": ("branch_id", "meeting_type", "meeting_date"),
    # a day's date only: two sittings of one course on one day differ in minutes and score
    "study": ("course_id", "studied_on", "minutes", "score"),
    "volunteer": ("activity", "served_on", "hours"),
    "dues": ("dues_month", "amount_cents", "paid_on"),
}


def default_keys(entity: str, columns: Sequence[str]) -> list[str]:
    """The person keys and the entity's record keys that ``columns`` has."""
    wanted = (*PERSON_KEYS, *DUPLICATE_KEYS.get(entity, ()))
    if entity == "meeting":
        wanted = DUPLICATE_KEYS["meeting"]
    return [c for c in wanted if c in columns]


def normalised_key(values: pd.Series) -> pd.Series:
    """Text for near-duplicate matching: NFKC, no white space, case folded; dates as ISO."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype("string")
    text = nfkc(values).str.replace(WHITESPACE_RUN, "", regex=True)
    # casefold has no pyarrow kernel: once per distinct value, taken back to the rows
    codes, uniques = pd.factorize(text)
    folded = pd.array([u.casefold() for u in uniques], dtype="string")
    out = pd.Series(folded.take(codes, allow_fill=True), index=values.index, dtype="string")
    return out


def _first_of_group(groups: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Position of the first eligible row of each row's group (own position if not eligible)."""
    positions = np.arange(len(groups))
    first = positions.copy()
    if eligible.any():
        series = pd.Series(positions[eligible]).groupby(groups[eligible]).transform("min")
        first[eligible] = series.to_numpy()
    return first


def collapse_duplicates(
    frame: pd.DataFrame,
    entity: str,
    keys: Sequence[str] | None = None,
    *,
    rejected: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into ``(kept, merged)``; ``len(kept) + len(merged) == len(frame)``.

    ``keys``: the columns that identify one record for near duplicates (default: the
    person keys present plus :data:`DUPLICATE_KEYS` of the entity; an empty value matches
    only an empty value). Rows without any person key are never near duplicates.
    ``merged`` holds the dropped rows plus ``duplicate_of`` and ``reasons``
    (``exact_duplicate`` or ``near_duplicate``).

    ``rejected``: rows of the same input the quality gate already quarantined. A row of
    ``frame`` that duplicates one of them is merged into it (``duplicate_of`` names the
    rejected row) instead of standing in for it: a copy is not a clean record because it
    lacks the field that failed (e.g. a member row repeated without its ladder dates).
    """
    if rejected is not None and len(rejected) and len(frame):
        return _collapse_with_rejected(frame, entity, keys, rejected)
    content = content_columns(entity, list(frame.columns))
    if not content:
        raise ValueError(f"no canonical {entity} columns to compare")
    keys = list(keys) if keys else (default_keys(entity, list(frame.columns)) or content)
    absent = [k for k in keys if k not in frame.columns]
    if absent:
        raise KeyError(f"duplicate keys not in the frame: {absent}")
    work = frame.reset_index(drop=True)
    n = len(work)
    exact_groups = work.groupby(content, dropna=False, sort=False).ngroup().to_numpy()
    normalised, has_person = near_keys(work[keys], keys)
    near_groups = normalised.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    dropped, target, exact = duplicate_targets(exact_groups, near_groups, has_person)
    kept = frame.iloc[np.flatnonzero(~dropped)].copy()
    merged = frame.iloc[np.flatnonzero(dropped)].copy()
    record_keys = work["record_key"].to_numpy(dtype=object)
    merged["duplicate_of"] = pd.array(record_keys[target[dropped]], dtype="string")
    merged["reasons"] = pd.array(
        np.where(exact[dropped], "exact_duplicate", "near_duplicate"), dtype="string"
    )
    logger.info(
        "%s: %d rows, %d exact and %d near duplicates merged",
        entity,
        n,
        int(exact.sum()),
        int((dropped & ~exact).sum()),
    )
    return kept, merged


def content_columns(entity: str, columns: Sequence[str]) -> list[str]:
    """The columns (of ``columns``, in their order) that exact duplicates agree on."""
    fields = set(canonical_entity(entity).field_names)
    return [c for c in columns if c in fields]


def near_keys(key_values: pd.DataFrame, keys: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows' ``keys`` normalised for near duplicates, and whether a row has a person
    key (a row without one is never a near duplicate)."""
    keys = list(keys)
    normalised = pd.DataFrame({k: normalised_key(key_values[k]) for k in keys})
    person = [k for k in keys if k in PERSON_KEYS] or keys
    return normalised, normalised[person].notna().any(axis=1).to_numpy()


def duplicate_targets(
    exact_groups: np.ndarray, near_groups: np.ndarray, has_person: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dropped, target, exact)`` over rows in input order: ``exact_groups`` labels rows
    equal in every content column, ``near_groups`` rows equal in their normalised keys
    (:func:`near_keys`). ``target``: the position of the row a dropped row is merged into."""
    n = len(exact_groups)
    exact_first = _first_of_group(exact_groups, np.ones(n, dtype=bool))
    exact = exact_first != np.arange(n)
    eligible = ~exact & has_person
    near_first = _first_of_group(near_groups, eligible)
    near = eligible & (near_first != np.arange(n))
    target = np.arange(n)
    target[near] = near_first[near]
    target[exact] = target[exact_first[exact]]  # an exact copy of a near duplicate follows it
    return exact | near, target, exact


def _collapse_with_rejected(
    frame: pd.DataFrame, entity: str, keys: Sequence[str] | None, rejected: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`collapse_duplicates` over ``rejected`` + ``frame``, rejected rows first."""
    columns = list(frame.columns)
    reference = rejected.reindex(columns=columns)
    stacked = pd.concat([reference, frame], ignore_index=True)
    kept, merged = collapse_duplicates(stacked, entity, keys)
    n_ref = len(reference)
    # positions in ``stacked`` survive as the index (collapse_duplicates keeps it)
    kept_rows = kept.index.to_numpy() >= n_ref
    merged_rows = merged.index.to_numpy() >= n_ref
    out_kept = frame.iloc[kept.index.to_numpy()[kept_rows] - n_ref]
    out_merged = frame.iloc[merged.index.to_numpy()[merged_rows] - n_ref].copy()
    out_merged["duplicate_of"] = pd.array(
        merged["duplicate_of"].to_numpy()[merged_rows], dtype="string"
    )
    out_merged["reasons"] = pd.array(merged["reasons"].to_numpy()[merged_rows], dtype="string")
    return out_kept, out_merged
