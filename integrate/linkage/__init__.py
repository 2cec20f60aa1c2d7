"""Privacy-preserving record linkage on keyed Bloom-filter encodings.

The matching side of :mod:`anonymize.clk` (record schemas, encodings, keyed block keys):
multi-pass OR blocking under a candidate budget, chunked Dice on packed bits, one-to-one,
many-to-one and dedup decisions, and a threshold estimated without truth.
"""

from integrate.linkage.assign import (
    CLUSTER_RULES,
    best_per_left,
    cluster_labels,
    greedy_one_to_one,
)
from integrate.linkage.candidates import (
    BlockingReport,
    CandidateBudgetExceeded,
    Candidates,
    candidate_pairs,
    estimate_recall_loss,
)
from integrate.linkage.dice import as_words, dice_pairs, popcounts
from integrate.linkage.matching import MODES, MatchResult, match_records
from integrate.linkage.threshold import ThresholdEstimate, estimate_threshold

__all__ = [
    "CLUSTER_RULES",
    "MODES",
    "BlockingReport",
    "CandidateBudgetExceeded",
    "Candidates",
    "MatchResult",
    "ThresholdEstimate",
    "as_words",
    "best_per_left",
    "candidate_pairs",
    "cluster_labels",
    "dice_pairs",
    "estimate_recall_loss",
    "estimate_threshold",
    "greedy_one_to_one",
    "match_records",
    "popcounts",
]
