"""match_encodings: blocking, thresholds, one-to-one assignment, ambiguity."""

from __future__ import annotations

import numpy as np
import pytest

from anonymize import clk_encode
from integrate import dice_matrix, match_encodings, match_encodings_detailed

KEY = b"test-linkage-key-not-a-real-one"


def test_matches_typo_names_one_to_one():
    left = clk_encode(["张伟明", "李娜", "王芳", "欧阳明华"], KEY)
    right = clk_encode(["欧阳明化", "张为明", "赵敏", "王芳"], KEY)
    pairs = match_encodings(left, right, threshold=0.75)
    assert list(zip(pairs["i"], pairs["j"], strict=True)) == [(0, 1), (2, 3), (3, 0)]
    assert pairs["dice"].between(0.75, 1.0).all()


def test_below_threshold_is_not_matched():
    left = clk_encode(["张伟明"], KEY)
    right = clk_encode(["李娜"], KEY)
    assert match_encodings(left, right, threshold=0.5).empty


def test_exact_tie_is_ambiguous_not_guessed():
    left = clk_encode(["刘洋"], KEY)
    right = clk_encode(["刘洋", "刘洋"], KEY)
    result = match_encodings_detailed(left, right, threshold=0.8)
    assert result.pairs.empty
    assert result.ambiguous_left.tolist() == [0]


def test_two_left_rows_tied_for_one_right_row_are_both_ambiguous_in_one_to_one():
    left = clk_encode(["刘洋", "刘洋"], KEY)
    right = clk_encode(["刘洋"], KEY)
    result = match_encodings_detailed(left, right, threshold=0.8)
    assert result.pairs.empty and result.ambiguous_left.tolist() == [0, 1]
    many = match_encodings_detailed(left, right, threshold=0.8, one_to_one=False)
    assert many.pairs["j"].tolist() == [0, 0]


def test_near_tie_within_margin_is_ambiguous():
    left = clk_encode(["张伟明"], KEY)
    right = clk_encode(["张为明", "张伟铭"], KEY)
    scores = dice_matrix(left, right)[0]
    margin = abs(scores[0] - scores[1]) + 0.01
    assert match_encodings(left, right, threshold=0.6, ambiguity_margin=margin).empty
    assert len(match_encodings(left, right, threshold=0.6)) == 1


def test_greedy_gives_contested_row_to_the_best_pair():
    # right 0 is the best for both left rows; left 0 wins it, left 1 falls back to right 1
    left = clk_encode(["张伟明", "张伟"], KEY)
    right = clk_encode(["张伟明", "张威"], KEY)
    pairs = match_encodings(left, right, threshold=0.7)
    assert list(zip(pairs["i"], pairs["j"], strict=True)) == [(0, 0), (1, 1)]


def test_blocking_compares_only_within_blocks_and_skips_null_keys():
    left = clk_encode(["张伟", "李娜", "王芳"], KEY)
    right = clk_encode(["张伟", "李娜", "王芳"], KEY)
    result = match_encodings_detailed(
        left, right, threshold=0.9, block_left=["B1", "B2", None], block_right=["B1", "B3", None]
    )
    assert list(zip(result.pairs["i"], result.pairs["j"], strict=True)) == [(0, 0)]
    assert result.comparisons == 1


def test_block_keys_on_one_side_only_are_refused():
    enc = clk_encode(["张伟"], KEY)
    with pytest.raises(ValueError, match="both sides"):
        match_encodings(enc, enc, block_left=["B1"])


def test_chunked_scoring_agrees_with_brute_force():
    rng = np.random.default_rng(5)
    left = rng.integers(0, 256, size=(40, 16), dtype=np.uint8)
    right = np.vstack([left[::-1] ^ (rng.random((40, 16)) < 0.02).astype(np.uint8), left[:5]])
    full = dice_matrix(left, right)
    result = match_encodings_detailed(left, right, threshold=0.7, one_to_one=False, max_cells=64)
    assert result.comparisons == full.size
    assert result.candidates == int((full >= 0.7).sum())
    for i, j, d in result.pairs.itertuples(index=False):
        assert d == pytest.approx(full[i, j]) and d == pytest.approx(full[i].max())


def test_mismatched_widths_are_refused():
    with pytest.raises(ValueError, match="equal width"):
        match_encodings(np.zeros((1, 8), np.uint8), np.zeros((1, 16), np.uint8))
