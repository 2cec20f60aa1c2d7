"""The linkage library: blocking under a budget, the three modes, assignment, thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from anonymize.clk import EncodedRecords, encode_records, parse_record_schema
from integrate.linkage import (
    CandidateBudgetExceeded,
    as_words,
    best_per_left,
    candidate_pairs,
    cluster_labels,
    dice_pairs,
    estimate_recall_loss,
    estimate_threshold,
    greedy_one_to_one,
    match_records,
)

SECRET = b"test-linkage-secret-not-a-real-one"
SCHEMA = parse_record_schema(
    {
        "bits": 1024,
        "fields": [
            {
                "name": "first",
                "normalise": ["lower", "letters_only"],
                "tokenizer": "ngram",
                "bits_per_token": 20,
            },
            {
                "name": "last",
                "normalise": ["lower", "letters_only"],
                "tokenizer": "ngram",
                "bits_per_token": 20,
            },
            {
                "name": "dob",
                "normalise": ["digits_only"],
                "tokenizer": "positional",
                "bits_per_token": 15,
            },
        ],
        "blocking": [
            {"name": "dob", "by": ["dob"]},
            {
                "name": "names",
                "by": [{"field": "first", "first": 2}, {"field": "last", "first": 2}],
            },
        ],
    }
)


def _people(n: int, seed: int) -> pd.DataFrame:
    fake = Faker("en_AU")
    fake.seed_instance(seed)
    return pd.DataFrame(
        {
            "first": [fake.first_name() for _ in range(n)],
            "last": [fake.last_name() for _ in range(n)],
            "dob": [
                fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat() for _ in range(n)
            ],
        }
    )


def _typo(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    out = frame.copy()
    rows = rng.random(len(out)) < 0.5
    out.loc[rows, "last"] = out.loc[rows, "last"].str.slice(0, -1) + "x"
    return out


def _encode(frame: pd.DataFrame, prefix: str) -> EncodedRecords:
    frame = frame.assign(id=[f"{prefix}{k}" for k in range(len(frame))])
    return encode_records(frame, SCHEMA, SECRET, id_column="id")


def test_candidate_budget_refuses_before_comparing():
    keys = np.zeros((2000, 1), dtype=np.int64)  # one block: 4M pairs
    with pytest.raises(CandidateBudgetExceeded, match="over the candidate budget of 1,000,000"):
        candidate_pairs(keys, keys, ("all",), budget=1_000_000)
    records = _encode(_people(50, 1), "A")
    with pytest.raises(CandidateBudgetExceeded):
        match_records(records, records, budget=1)


def test_multi_pass_blocking_ors_passes_and_compares_each_pair_once():
    left = np.array([[1, 10], [2, 20], [3, -1]])
    right = np.array([[1, 10], [9, 20], [3, 30], [-1, 10]])
    cand = candidate_pairs(left, right, ("a", "b"))
    pairs = sorted(zip(cand.i.tolist(), cand.j.tolist(), strict=True))
    assert pairs == [(0, 0), (0, 3), (1, 1), (2, 2)]
    assert cand.per_pass == {"a": 2, "b": 2}
    # a record without a key in the first pass is still compared in the second
    none_first = candidate_pairs(np.array([[-1, 5]]), np.array([[-1, 5]]), ("a", "b"))
    assert none_first.per_pass == {"a": 0, "b": 1}


def test_dedup_returns_no_self_pairs_and_clusters_the_copies():
    people = _people(60, 2)
    table = pd.concat([people, _typo(people.iloc[:20], np.random.default_rng(0))])
    records = _encode(table.reset_index(drop=True), "R")
    result = match_records(records, mode="dedup")
    assert len(result.pairs)
    assert (result.pairs["left_id"] != result.pairs["right_id"]).all()
    keys = set(zip(result.pairs["left_id"], result.pairs["right_id"], strict=True))
    assert not any((b, a) in keys for a, b in keys)
    cluster = dict(zip(result.clusters["record_id"], result.clusters["cluster"], strict=True))
    assert len(result.clusters) == 80
    together = sum(cluster[f"R{k}"] == cluster[f"R{60 + k}"] for k in range(20))
    assert together >= 19


def test_link_is_one_to_one_with_both_ids_and_score():
    people = _people(200, 3)
    a = _encode(people, "A")
    b = _encode(_typo(people, np.random.default_rng(1)).sample(frac=1, random_state=1), "B")
    result = match_records(a, b, mode="link")
    assert list(result.pairs.columns) == ["left_id", "right_id", "score"]
    assert result.pairs["left_id"].is_unique and result.pairs["right_id"].is_unique
    order = _typo(people, np.random.default_rng(1)).sample(frac=1, random_state=1).index
    truth = {f"A{orig}": f"B{pos}" for pos, orig in enumerate(order)}
    correct = sum(
        truth[x] == y
        for x, y in zip(result.pairs["left_id"], result.pairs["right_id"], strict=True)
    )
    assert correct / 200 >= 0.97 and correct / len(result.pairs) >= 0.97
    assert result.estimate is not None and result.threshold == result.estimate.threshold
    assert result.blocking.pairs_compared < 200 * 200


def test_index_mode_links_many_to_one_and_reports_ties():
    persons = _encode(_people(30, 4), "P")
    dup = np.vstack([persons.bits[[0]], persons.bits[[0]]])
    index = EncodedRecords(
        ids=np.array(["P0", "Q0"]),
        bits=dup,
        block_keys=np.zeros((2, 0), np.int64),
        passes=(),
        fill=0.3,
    )
    records = EncodedRecords(
        ids=np.array(["r1", "r2", "r3"]),
        bits=np.vstack([persons.bits[[0]]] * 3),
        block_keys=np.zeros((3, 0), np.int64),
        passes=(),
        fill=0.3,
    )
    result = match_records(records, index, mode="index", threshold=0.9)
    assert result.pairs.empty
    assert sorted(result.ambiguous.tolist()) == ["r1", "r2", "r3"]
    single = EncodedRecords(index.ids[:1], index.bits[:1], index.block_keys[:1], (), 0.3)
    linked = match_records(records, single, mode="index", threshold=0.9)
    assert linked.pairs["right_id"].tolist() == ["P0"] * 3


def test_vectorised_greedy_equals_the_sequential_greedy():
    rng = np.random.default_rng(5)
    for _ in range(20):
        m = 400
        i, j = rng.integers(0, 60, m), rng.integers(0, 60, m)
        s = rng.integers(0, 20, m) / 20  # many ties
        order = np.lexsort((j, i, -s))
        taken_i, taken_j, expect = set(), set(), []
        for p in order:
            if i[p] not in taken_i and j[p] not in taken_j:
                taken_i.add(i[p])
                taken_j.add(j[p])
                expect.append(p)
        assert greedy_one_to_one(i, j, s).tolist() == sorted(expect)


def test_best_per_left_leaves_ties_ambiguous():
    keep, ambiguous = best_per_left(
        np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([0.9, 0.9, 0.95, 0.8])
    )
    assert keep.tolist() == [2] and ambiguous.tolist() == [0]


def test_clusters_best_link_stops_chaining():
    i, j, s = np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([0.95, 0.7, 0.96])
    assert len(set(cluster_labels(4, i, j, s, "connected"))) == 1
    assert len(set(cluster_labels(4, i, j, s, "best_link"))) == 2
    with pytest.raises(ValueError, match="known"):
        cluster_labels(4, i, j, s, "average")  # type: ignore[arg-type]


def test_dice_pairs_is_the_dice_coefficient():
    rng = np.random.default_rng(2)
    a, b = (
        rng.integers(0, 256, (50, 128), dtype=np.uint8),
        rng.integers(0, 256, (40, 128), dtype=np.uint8),
    )
    i, j = rng.integers(0, 50, 300).astype(np.int32), rng.integers(0, 40, 300).astype(np.int32)
    got = dice_pairs(as_words(a), as_words(b), i, j, chunk=64)
    ua, ub = np.unpackbits(a, axis=1).astype(bool), np.unpackbits(b, axis=1).astype(bool)
    want = 2 * (ua[i] & ub[j]).sum(1) / (ua[i].sum(1) + ub[j].sum(1))
    assert np.allclose(got, want, atol=1e-6)


def test_threshold_is_estimated_between_the_two_humps():
    rng = np.random.default_rng(3)
    scores = np.concatenate([rng.beta(12, 12, 20_000), rng.beta(40, 3, 2_000)])
    est = estimate_threshold(scores)
    assert 0.6 < est.threshold < 0.85
    assert est.precision > 0.97 and est.recall > 0.97
    assert 0.07 < est.match_share < 0.12


def test_recall_loss_estimate_sees_matches_one_pass_missed():
    rng = np.random.default_rng(4)
    n = 4000
    truth = np.arange(n)
    left = np.stack([truth, truth], axis=1)
    right = left.copy()
    right[rng.random(n) < 0.2, 0] = -1  # pass 0 misses 20 %
    right[rng.random(n) < 0.2, 1] = -1  # pass 1 misses 20 %, independently
    caught = (right[:, 0] >= 0) | (right[:, 1] >= 0)
    idx = truth[caught]
    loss = estimate_recall_loss(left, right, idx, idx)
    assert loss is not None and abs(loss - 0.04) < 0.01


def test_threshold_is_not_fooled_by_a_spike_of_identical_records():
    rng = np.random.default_rng(6)
    scores = np.concatenate(
        [np.ones(6000), rng.beta(30, 3, 1500), rng.beta(12, 12, 1500), rng.beta(14, 9, 400)]
    )
    est = estimate_threshold(scores)
    assert 0.6 < est.threshold < 0.85
    assert est.match_share < 0.95
