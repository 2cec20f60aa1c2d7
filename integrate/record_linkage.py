"""Linking activity records to persons, on tokens and encodings only.

Deterministic first: each key token column is looked up in the person index
(in the order given). A row whose keys lead to exactly one person is linked;
keys leading to two different persons, or a token the index holds as
ambiguous, send the row to quarantine as ``ambiguous_match``; no hit at all
is ``unknown_person``. Optionally the name is checked: a key hit whose name
encoding scores below ``name_threshold`` Dice against the person's roster name
is not trusted (a typo'd or borrowed number) and treated as no hit.

Optionally, rows left without a person are matched probabilistically on
Bloom-filter encodings (``fallback_on``) against the persons' encodings, within
blocks (``block_on``, e.g. branch); a clear best above ``fallback_threshold``
links, two near-equal candidates quarantine as ``ambiguous_match``. Nothing is
ever guessed: every input row ends in ``linked`` or ``quarantined``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from integrate.linkage.columns import attribute_block_keys, bloom_bits, encoded_from_columns
from integrate.linkage.dice import as_words, dice_pairs
from integrate.linkage.matching import match_records
from integrate.person_index import KEY_DOMAINS, PersonIndex

__all__ = ["AMBIGUOUS_MATCH", "UNKNOWN_PERSON", "LinkResult", "link_records"]

log = logging.getLogger(__name__)

UNKNOWN_PERSON = "unknown_person"
AMBIGUOUS_MATCH = "ambiguous_match"


@dataclass(frozen=True)
class LinkResult:
    #: input rows + person_key, link_method (the key column or "probabilistic"), link_score
    linked: pd.DataFrame
    #: input rows + reasons (unknown_person / ambiguous_match) and link_detail
    quarantined: pd.DataFrame
    stats: dict[str, int] = field(default_factory=dict)


def link_records(
    frame: pd.DataFrame,
    index: PersonIndex,
    keys: Sequence[str] = ("person_no_token",),
    name_check: str | None = None,
    *,
    name_threshold: float = 0.6,
    fallback_on: str | Sequence[str] | None = None,
    block_on: str | None = None,
    fallback_threshold: float = 0.85,
    ambiguity_margin: float = 0.02,
    candidate_budget: int = 50_000_000,
) -> LinkResult:
    """Link each row of ``frame`` to a person of ``index`` or quarantine it with a reason.

    ``keys``: token columns to look up, in order of trust (``id_number_token``,
    ``student_no_token``/``staff_no_token``/``person_no_token``, ``mobile_token``).
    ``name_check``: a ``*_bloom`` column present in ``frame`` and the index, or None.
    ``fallback_on``: bloom column(s) for probabilistic matching of rows left unlinked;
    ``block_on``: a column of ``frame`` that the index also holds (an attribute).

    The name check and the fallback are the linkage library (:mod:`integrate.linkage`):
    Dice on packed bits, and its ``index`` mode (records → persons, many-to-one, ties
    within ``ambiguity_margin`` ambiguous) under ``candidate_budget`` compared pairs.
    """
    unknown_keys = [k for k in keys if k not in KEY_DOMAINS]
    if unknown_keys:
        raise ValueError(f"unknown key columns {unknown_keys}; known: {sorted(KEY_DOMAINS)}")
    if not keys and fallback_on is None:
        raise ValueError("link_records needs key columns or fallback_on")
    missing = [k for k in keys if k not in frame.columns]
    if name_check is not None:
        missing += [name_check] if name_check not in frame.columns else []
    if missing:
        raise ValueError(f"frame lacks columns {missing}; it has {sorted(frame.columns)}")

    n = len(frame)
    person = pd.Series(pd.NA, index=frame.index, dtype="object")
    method = pd.Series(pd.NA, index=frame.index, dtype="object")
    conflict = np.zeros(n, dtype=bool)
    any_ambiguous = np.zeros(n, dtype=bool)
    for column in keys:
        tokens = frame[column].astype("object").where(frame[column].notna())
        found, ambiguous = index.resolve(tokens, KEY_DOMAINS[column])
        any_ambiguous |= ambiguous.to_numpy(dtype=bool)
        hit = found.notna().to_numpy()
        found_keys = found.astype("object").where(found.notna(), "").to_numpy(dtype=object)
        known_keys = person.where(person.notna(), "").to_numpy(dtype=object)
        conflict |= hit & person.notna().to_numpy() & (found_keys != known_keys)
        fill = hit & person.isna().to_numpy()
        person[fill] = found[fill]
        method[fill] = column
    person[conflict] = pd.NA
    score = pd.Series(np.nan, index=frame.index)
    detail = pd.Series("", index=frame.index, dtype="object")
    detail[conflict] = "key tokens lead to different persons"
    detail[any_ambiguous & ~conflict] = "a key token is shared by several persons"

    name_failed = np.zeros(n, dtype=bool)
    if name_check is not None and name_check in index.persons.columns:
        hit = person.notna().to_numpy()
        rec_bloom, rec_ok = bloom_bits(frame[name_check])
        roster = index.persons.set_index("person_key")[name_check]
        ros_bloom, ros_ok = bloom_bits(person[hit].map(roster))
        if rec_bloom.shape[1] and ros_bloom.shape[1] == rec_bloom.shape[1]:
            hit_rows = np.nonzero(hit)[0]
            both = rec_ok[hit_rows] & ros_ok
            dice = np.full(len(hit_rows), np.nan)
            pairs = np.nonzero(both)[0]
            dice[both] = dice_pairs(
                as_words(rec_bloom), as_words(ros_bloom), hit_rows[pairs], pairs
            )
            score.iloc[hit_rows] = dice
            bad_rows = hit_rows[both & (dice < name_threshold)]
            name_failed[bad_rows] = True
            person.iloc[bad_rows] = pd.NA
            method.iloc[bad_rows] = pd.NA
            detail.iloc[bad_rows] = "key hit, but the name does not match (Dice below threshold)"

    reasons = pd.Series(pd.NA, index=frame.index, dtype="object")
    unlinked = person.isna().to_numpy()
    reasons[unlinked & (conflict | any_ambiguous)] = AMBIGUOUS_MATCH
    reasons[unlinked & ~(conflict | any_ambiguous)] = UNKNOWN_PERSON
    detail[(reasons == UNKNOWN_PERSON).to_numpy() & ~name_failed] = "no key token found"

    probabilistic = 0
    if fallback_on is not None:
        columns = [fallback_on] if isinstance(fallback_on, str) else list(fallback_on)
        pending = np.nonzero((reasons == UNKNOWN_PERSON).to_numpy())[0]
        people = index.persons
        if len(pending) and all(c in people.columns for c in columns):
            blocks: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
            if block_on is not None:
                blocks = attribute_block_keys(
                    frame[block_on].to_numpy(dtype=object)[pending],
                    people[block_on].to_numpy(dtype=object),
                )
            records, _ = encoded_from_columns(frame.iloc[pending], columns, pending, blocks[0])
            persons, _ = encoded_from_columns(people, columns, np.arange(len(people)), blocks[1])
            if len(records) and len(persons) and records.bits.shape[1] == persons.bits.shape[1]:
                match = match_records(
                    records,
                    persons,
                    mode="index",
                    threshold=fallback_threshold,
                    ambiguity_margin=ambiguity_margin,
                    budget=candidate_budget,
                )
                rows = match.pairs["left_id"].to_numpy(dtype=np.int64)
                person.iloc[rows] = people["person_key"].to_numpy()[
                    match.pairs["right_id"].to_numpy(dtype=np.int64)
                ]
                method.iloc[rows] = "probabilistic"
                score.iloc[rows] = match.pairs["score"].to_numpy(dtype=np.float64)
                reasons.iloc[rows] = pd.NA
                probabilistic = len(rows)
                amb_rows = match.ambiguous.astype(np.int64)
                reasons.iloc[amb_rows] = AMBIGUOUS_MATCH
                detail.iloc[amb_rows] = "two persons match the encodings about equally"

    linked_mask = person.notna().to_numpy()
    linked = frame[linked_mask].assign(
        person_key=person[linked_mask].astype("string"),
        link_method=method[linked_mask].astype("string"),
        link_score=score[linked_mask].astype("float64"),
    )
    quarantined = frame[~linked_mask].assign(
        reasons=reasons[~linked_mask].astype("string"),
        link_detail=detail[~linked_mask].astype("string"),
    )
    stats = {
        "rows_in": n,
        "linked": int(linked_mask.sum()),
        "linked_probabilistic": probabilistic,
        "name_check_failed": int(name_failed.sum()),
        UNKNOWN_PERSON: int((quarantined["reasons"] == UNKNOWN_PERSON).sum()),
        AMBIGUOUS_MATCH: int((quarantined["reasons"] == AMBIGUOUS_MATCH).sum()),
    }
    for column in keys:
        stats[f"linked_by_{column}"] = int((linked["link_method"] == column).sum())
    log.info("linkage: %s", stats)
    return LinkResult(linked=linked, quarantined=quarantined, stats=stats)
