"""Record schemas for keyed encodings: validation on load, tokenizers, keys, fill rate."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from anonymize.clk import (
    NO_BLOCK,
    TOKENIZERS,
    FillRateWarning,
    RecordSchemaError,
    block_keys,
    encode_records,
    load_record_schema,
    parse_record_schema,
)
from integrate.linkage import as_words, dice_pairs

SECRET = b"test-linkage-secret-not-a-real-one"


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    idx = np.zeros(1, dtype=np.int32)
    return float(dice_pairs(as_words(a), as_words(b), idx, idx)[0])


def _schema(tokenizer: object, bits: int = 1024, per_token: int = 20, **extra):
    return parse_record_schema(
        {
            "bits": bits,
            "fields": [
                {
                    "name": "v",
                    "normalise": ["digits_only"],
                    "tokenizer": tokenizer,
                    "bits_per_token": per_token,
                }
            ],
            **extra,
        }
    )


def test_positional_encoding_distinguishes_19151111_from_19511111():
    frame = pd.DataFrame({"v": ["19151111", "19511111", "1915-11-11"]})
    positional = encode_records(frame, _schema({"kind": "positional"}), SECRET).bits
    unigrams = encode_records(frame, _schema({"kind": "ngram", "n": [1]}), SECRET).bits
    assert _dice(positional[[0]], positional[[2]]) == 1.0  # the same date, normalised
    assert _dice(positional[[0]], positional[[1]]) < 0.8
    # plain character grams see the same multiset of digits: they cannot tell them apart
    assert _dice(unigrams[[0]], unigrams[[1]]) == 1.0


def test_repeated_grams_keep_each_occurrence():
    schema = parse_record_schema(
        {"fields": [{"name": "v", "tokenizer": {"kind": "ngram", "n": [1]}}]}
    )
    bits = encode_records(pd.DataFrame({"v": ["anna", "ana"]}), schema, SECRET).bits
    assert _dice(bits[[0]], bits[[1]]) < 1.0


def test_unknown_tokenizer_fails_on_load_with_the_known_ones(tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text(
        "bits: 1024\nfields:\n  - name: surname\n    tokenizer: {kind: soundex}\n",
        encoding="utf-8",
    )
    with pytest.raises(RecordSchemaError) as err:
        load_record_schema(path)
    message = str(err.value)
    assert "schema.yaml" in message and "'soundex'" in message
    assert all(name in message for name in TOKENIZERS)


def test_unknown_normaliser_and_blocking_field_fail_on_load():
    with pytest.raises(RecordSchemaError, match="unknown normaliser 'upper'"):
        parse_record_schema(
            {"fields": [{"name": "v", "normalise": ["upper"], "tokenizer": "whole"}]}
        )
    with pytest.raises(RecordSchemaError, match="unknown fields"):
        parse_record_schema(
            {
                "fields": [{"name": "v", "tokenizer": "whole"}],
                "blocking": [{"name": "b", "by": ["w"]}],
            }
        )


def test_over_full_filters_warn():
    frame = pd.DataFrame({"v": ["1234567890123456"] * 3})
    with pytest.warns(FillRateWarning, match="full"):
        encode_records(frame, _schema({"kind": "positional", "n": [1, 2]}, 128, 40), SECRET)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FillRateWarning)
        encode_records(frame, _schema({"kind": "positional"}, 1024, 10), SECRET)


def test_expected_fill_over_the_limit_warns_on_load():
    field = {"name": "v", "tokenizer": {"kind": "ngram", "n": [2]}, "bits_per_token": 30}
    with pytest.warns(FillRateWarning, match="expected fill rate"):
        parse_record_schema({"bits": 256, "fields": [{**field, "expected_length": 20}]})


def test_each_field_has_its_own_key_and_the_secret_matters():
    spec = {"tokenizer": {"kind": "ngram", "n": [2]}, "bits_per_token": 10}
    schema = parse_record_schema({"fields": [{"name": "a", **spec}, {"name": "b", **spec}]})
    frame = pd.DataFrame({"a": ["smith", None], "b": [None, "smith"]})
    bits = encode_records(frame, schema, SECRET).bits
    assert _dice(bits[[0]], bits[[1]]) < 0.3
    other = encode_records(frame, schema, b"another-secret-of-enough-length").bits
    assert not np.array_equal(bits, other)
    again = encode_records(frame, schema, SECRET).bits
    assert np.array_equal(bits, again)


def test_missing_values_set_no_bits():
    schema = _schema({"kind": "positional"})
    bits = encode_records(pd.DataFrame({"v": [None, "", "--"]}), schema, SECRET).bits
    assert not bits.any()


def test_block_keys_are_keyed_and_missing_components_give_none():
    schema = parse_record_schema(
        {
            "fields": [
                {"name": "last", "normalise": ["lower"], "tokenizer": "whole"},
                {"name": "dob", "normalise": ["digits_only"], "tokenizer": "positional"},
            ],
            "blocking": [{"name": "b", "by": [{"field": "last", "first": 3}, "dob"]}],
        }
    )
    frame = pd.DataFrame(
        {"last": ["Smith", "SMITHERS", "Smith", None], "dob": ["1990-01-02", "19900102", "", "1"]}
    )
    keys = block_keys(frame, schema, SECRET)[:, 0]
    assert keys[0] == keys[1] != NO_BLOCK
    assert keys[2] == keys[3] == NO_BLOCK
    assert block_keys(frame, schema, b"another-secret-of-enough-length")[0, 0] != keys[0]


def test_short_secret_is_refused():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        encode_records(pd.DataFrame({"v": ["1"]}), _schema("positional"), b"short")
