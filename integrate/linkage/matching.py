"""One API, three modes: link two files, deduplicate one, link records to a person index.

:func:`match_records` takes :class:`~anonymize.clk.EncodedRecords` (encodings and keyed
block keys made by the data holders under one record schema) and returns a
:class:`MatchResult` whose pairs carry both sides' record ids and the Dice score:

* ``link`` — A ↔ B one-to-one (greedy by score);
* ``dedup`` — one table against itself: pairs ``i < j`` only (never a record with itself),
  and clusters under a linkage rule (:data:`~integrate.linkage.assign.CLUSTER_RULES`);
* ``index`` — records → persons, many-to-one: each record takes its best person; a record
  whose two best persons score within ``ambiguity_margin`` is reported ambiguous.

Blocking is the schema's passes, OR-ed, under ``budget`` candidate pairs (without passes,
every pair is a candidate — under the same budget). The threshold is estimated from the
best candidate score of every record (:func:`~integrate.linkage.threshold.estimate_threshold`:
best expected F1 in ``link`` and ``index`` mode, expected F-beta with :data:`DEDUP_BETA` in
``dedup``) unless given.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from anonymize.clk import EncodedRecords
from integrate.linkage.assign import best_per_left, cluster_labels, greedy_one_to_one
from integrate.linkage.candidates import (
    BlockingReport,
    candidate_pairs,
    estimate_recall_loss,
)
from integrate.linkage.dice import as_words, dice_pairs, popcounts
from integrate.linkage.threshold import ThresholdEstimate, estimate_threshold

__all__ = ["MODES", "MatchResult", "match_records"]

log = logging.getLogger(__name__)

MODES = ("link", "dedup", "index")
#: dedup picks its threshold by expected F-beta with this beta: one wrong pair can merge
#: two clusters (and chain more), so precision weighs more than in one-to-one linkage
DEDUP_BETA = 0.25
Mode = Literal["link", "dedup", "index"]


@dataclass(frozen=True)
class MatchResult:
    mode: str
    #: left_id, right_id, score (dedup: both ids from the one table, first row < second)
    pairs: pd.DataFrame
    threshold: float
    estimate: ThresholdEstimate | None  # None when the scores are too few to fit
    blocking: BlockingReport
    #: dedup: record_id, cluster (every record, singletons included)
    clusters: pd.DataFrame | None = None
    #: index mode: left ids with two (near-)equal best persons, not linked
    ambiguous: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def comparisons(self) -> int:
        return self.blocking.pairs_compared


def _keys(records: EncodedRecords) -> tuple[np.ndarray, tuple[str, ...]]:
    if records.passes:
        return records.block_keys, records.passes
    return np.zeros((len(records), 1), dtype=np.int64), ("all",)


def _best_scores(
    i: np.ndarray, j: np.ndarray, scores: np.ndarray, n_left: int, n_right: int | None
) -> np.ndarray:
    """Each record's best candidate score (both sides; in dedup a record is on either side
    of its pairs): the scores a decision is made on."""
    best_l = np.full(n_left, -1.0, dtype=np.float32)
    np.maximum.at(best_l, i, scores)
    if n_right is None:
        np.maximum.at(best_l, j, scores)
        return best_l[best_l >= 0]
    best_r = np.full(n_right, -1.0, dtype=np.float32)
    np.maximum.at(best_r, j, scores)
    both = np.concatenate([best_l, best_r])
    return both[both >= 0]


def match_records(
    left: EncodedRecords,
    right: EncodedRecords | None = None,
    *,
    mode: Mode = "link",
    threshold: float | None = None,
    budget: int = 50_000_000,
    cluster_rule: Literal["connected", "best_link"] = "connected",
    ambiguity_margin: float = 0.0,
    estimate: bool | None = None,
) -> MatchResult:
    """Match encoded records in one of :data:`MODES`; see the module docstring.

    ``estimate``: fit the threshold mixture even when ``threshold`` is given (to report the
    estimate beside the override); by default only when no threshold is given.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; known: {list(MODES)}")
    if (mode == "dedup") != (right is None):
        raise ValueError("dedup takes one table; link and index take two")
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    other = left if right is None else right
    if left.bits.shape[1] != other.bits.shape[1]:
        raise ValueError("the two sides were encoded with different lengths")
    if other.passes != left.passes:
        raise ValueError("the two sides carry block keys of different passes")
    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = now - clock
        clock = now

    lkeys, passes = _keys(left)
    rkeys = None if right is None else _keys(right)[0]
    cand = candidate_pairs(lkeys, rkeys, passes, budget=budget)
    lap("blocking")
    lw, rw = as_words(left.bits), as_words(other.bits)
    scores = dice_pairs(lw, rw, cand.i, cand.j, left_pop=popcounts(lw), right_pop=popcounts(rw))
    lap("scoring")
    fitted: ThresholdEstimate | None = None
    if estimate or (estimate is None and threshold is None):
        best = _best_scores(
            cand.i, cand.j, scores, len(left), None if right is None else len(right)
        )
        try:
            fitted = estimate_threshold(best, beta=DEDUP_BETA if mode == "dedup" else 1.0)
        except ValueError:
            fitted = None
    if threshold is None and fitted is None:
        raise ValueError(
            f"cannot estimate a threshold from {len(scores)} candidate scores; pass one"
        )
    chosen = threshold if threshold is not None else fitted.threshold  # type: ignore[union-attr]
    above = np.nonzero(scores >= chosen)[0]
    i, j, s = cand.i[above], cand.j[above], scores[above]
    ambiguous = np.empty(0, dtype=np.int64)
    if mode == "link":
        keep = greedy_one_to_one(i, j, s)
    elif mode == "index":
        keep, ambiguous = best_per_left(i, j, s, ambiguity_margin)
    else:
        keep = np.arange(len(i))
    i, j, s = i[keep], j[keep], s[keep]
    lap("assignment")
    n_left, n_right = len(left), len(other)
    possible = n_left * (n_left - 1) // 2 if right is None else n_left * n_right
    report = BlockingReport(
        passes=cand.per_pass,
        pairs_compared=len(cand.i),
        pairs_possible=possible,
        estimated_recall_loss=estimate_recall_loss(lkeys, _keys(other)[0], i, j)
        if len(passes) > 1
        else None,
    )
    clusters = None
    if mode == "dedup":
        labels = cluster_labels(n_left, i, j, s, cluster_rule)
        clusters = pd.DataFrame({"record_id": left.ids, "cluster": labels})
        lap("clustering")
    pairs = pd.DataFrame({"left_id": left.ids[i], "right_id": other.ids[j], "score": s})
    log.info(
        "%s: %d candidate pairs, threshold %.3f, %d pairs accepted",
        mode,
        len(cand.i),
        chosen,
        len(pairs),
    )
    return MatchResult(
        mode=mode,
        pairs=pairs,
        threshold=float(chosen),
        estimate=fitted,
        blocking=report,
        clusters=clusters,
        ambiguous=left.ids[ambiguous],
        seconds=seconds,
    )
