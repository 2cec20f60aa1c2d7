"""clk_encode and Dice: keyed, deterministic, tolerant of homophone typos."""

from __future__ import annotations

import numpy as np
import pytest

from anonymize import bloom_column, clk_encode, clk_features
from integrate import bloom_matrix, dice_matrix, dice_rows

KEY = b"test-linkage-key-not-a-real-one"


def test_same_values_and_key_give_identical_bytes():
    a = clk_encode(["张伟", "李娜"], KEY)
    b = clk_encode(["张伟", "李娜"], KEY)
    assert a.dtype == np.uint8 and a.shape == (2, 128)
    assert a.tobytes() == b.tobytes()


def test_other_key_gives_other_bits():
    a = clk_encode(["张伟"], KEY)
    b = clk_encode(["张伟"], b"another-key")
    assert dice_rows(a, b)[0] < 0.5


def test_homophone_typo_scores_far_above_an_unrelated_name():
    enc = clk_encode(["张伟明", "张为明", "李娜"], KEY)
    same_person = dice_rows(enc[[0]], enc[[1]])[0]
    other = dice_rows(enc[[0]], enc[[2]])[0]
    assert same_person >= 0.8
    assert other < 0.4


def test_homophone_typo_on_another_reading_of_a_polyphonic_character_still_matches():
    # 帅 (shuai) typed as 率, whose default reading is lv: one fixed reading lost the match
    enc = clk_encode(["冯帅", "冯率", "李娜"], KEY)
    assert dice_rows(enc[[0]], enc[[1]])[0] >= 0.7
    assert dice_rows(enc[[0]], enc[[2]])[0] < 0.4
    assert {"p2:sh", "p2:lv"} <= set(clk_features("率"))


def test_pinyin_grams_only_for_chinese_text():
    assert any(f.startswith("p2:") for f in clk_features("张伟"))
    assert not any(f.startswith("p2:") for f in clk_features("2001-05-01"))


def test_fullwidth_and_spaces_are_normalised_away():
    enc = clk_encode(["张 伟１２", "张伟12"], KEY)
    assert enc[0].tobytes() == enc[1].tobytes()


def test_missing_value_encodes_as_empty_filter_with_zero_dice():
    enc = clk_encode([None, "", "张伟"], KEY)
    assert not enc[0].any() and not enc[1].any()
    assert dice_rows(enc[[0]], enc[[2]])[0] == 0.0


def test_rejects_bad_parameters():
    with pytest.raises(ValueError, match="key"):
        clk_encode(["x"], b"")
    with pytest.raises(ValueError, match="bits"):
        clk_encode(["x"], KEY, bits=1001)
    with pytest.raises(ValueError, match="k must"):
        clk_encode(["x"], KEY, k=0)


def test_k_sets_at_most_k_bits_per_feature():
    enc = clk_encode(["a"], KEY, bits=1024, k=5, ngrams=(1,), pinyin_ngrams=())
    assert 1 <= int(np.unpackbits(enc).sum()) <= 5


def test_dice_on_hand_made_bits():
    a = np.packbits(np.array([[1, 1, 0, 0, 0, 0, 0, 0]], dtype=bool), axis=1)
    b = np.packbits(np.array([[1, 0, 1, 0, 0, 0, 0, 0]], dtype=bool), axis=1)
    assert dice_rows(a, b)[0] == pytest.approx(0.5)  # 2*1/(2+2)
    assert dice_matrix(a, np.vstack([a, b])).tolist() == [[1.0, 0.5]]


def test_bloom_column_roundtrip_with_nulls():
    enc = clk_encode(["张伟", "李娜"], KEY)
    column = bloom_column(enc)
    column[1] = None
    matrix, valid = bloom_matrix(column)
    assert valid.tolist() == [True, False]
    assert matrix[0].tobytes() == enc[0].tobytes() and not matrix[1].any()


def test_bloom_matrix_rejects_mixed_widths():
    with pytest.raises(ValueError, match="different lengths"):
        bloom_matrix([b"\x00" * 128, b"\x00" * 64])
