"""``clk_bloom``: keyed Bloom-filter encodings (CLK, Schnell et al.) for typo-tolerant linkage.

A value is split into features — character n-grams and, for Chinese text, pinyin
n-grams (so a homophone typo such as 张伟 → 张威 keeps most of its bits) — and each
feature sets ``k`` bits chosen by HMAC-SHA-512 under a secret key derived from the
keyring ("random hashing": independent positions, not double hashing). Without the
key the filter cannot be rebuilt from a guessed name. An encoding is ``bits // 8``
bytes, packed big-endian (``np.packbits`` order); the published column
``<field>_bloom`` holds them as ``bytes`` (null stays null).

Encoding runs once per *distinct* value: the features' bit positions are scattered
into a dense matrix of the distinct values, packed, and taken back to the rows.
Comparing encodings (Dice, matching) is linkage, in :mod:`integrate`.
"""

from __future__ import annotations

import hmac
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from anonymize.operators.base import Operator, OperatorContext, OperatorParams
from anonymize.operators.registry import register_operator

__all__ = ["ClkBloomOperator", "bloom_column", "clk_encode", "clk_features"]

_PURPOSE = "clk"
_CHUNK_VALUES = 32_768


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FA1F


@lru_cache(maxsize=65_536)
def _char_pinyin(char: str) -> str:
    """Toneless pinyin of one character (one fixed reading, so typos stay comparable)."""
    from pypinyin import Style, lazy_pinyin  # imported on first use: a second to load

    return lazy_pinyin(char, style=Style.NORMAL)[0]


@lru_cache(maxsize=65_536)
def _char_other_readings(char: str) -> tuple[str, ...]:
    """The other toneless readings of a polyphonic character (率: shuai, lve besides lv)."""
    from pypinyin import Style, pinyin

    readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
    default = _char_pinyin(char)
    return tuple(dict.fromkeys(r for r in readings if r and r != default))


def _normalise(value: str) -> str:
    return "".join(unicodedata.normalize("NFKC", value).lower().split())


def _grams(text: str, n: int) -> list[str]:
    if n == 1:
        return list(text)
    padded = "_" + text + "_"
    return [padded[i : i + n] for i in range(len(padded) - n + 1)]


def _feature_set(value: str, ngrams: Sequence[int], pinyin_ngrams: Sequence[int]) -> set[str]:
    text = _normalise(value)
    if not text:
        return set()
    features = {f"c{n}:{g}" for n in ngrams for g in _grams(text, n)}
    if pinyin_ngrams and any(_is_cjk(c) for c in text):
        syllables = [_char_pinyin(c) if _is_cjk(c) else c for c in text]
        spellings = [syllables]
        for i, char in enumerate(text):
            if _is_cjk(char):
                spellings += [
                    [*syllables[:i], other, *syllables[i + 1 :]]
                    for other in _char_other_readings(char)
                ]
        for spelled in spellings:
            joined = " ".join(spelled)
            features |= {f"p{n}:{g}" for n in pinyin_ngrams for g in _grams(joined, n)}
    return features


def clk_features(
    value: str, *, ngrams: Sequence[int] = (1, 2), pinyin_ngrams: Sequence[int] = (2,)
) -> list[str]:
    """The (unique, sorted) features of one value: ``c<n>:`` character and ``p<n>:`` pinyin grams.

    Text is NFKC-normalised (full-width → half-width), lower-cased and stripped of
    whitespace first. Pinyin grams are made only when the value holds Chinese characters:
    of the spelling with each character's default reading, plus, for each polyphonic
    character, of the spellings with its other readings — a homophone typo may match any
    reading (帅 shuai typed as 率, read lv by default).
    """
    return sorted(_feature_set(value, ngrams, pinyin_ngrams))


def _feature_positions(key: bytes, feature: str, bits: int, k: int) -> np.ndarray:
    words: list[np.ndarray] = []
    counter = 0
    while sum(len(w) for w in words) < k:
        msg = feature.encode("utf-8") if counter == 0 else f"{feature}\x00{counter}".encode()
        words.append(np.frombuffer(hmac.digest(key, msg, "sha512"), dtype=">u2"))
        counter += 1
    return (np.concatenate(words)[:k].astype(np.int64)) % bits


#: 16-bit words in one HMAC-SHA-512 digest: up to this ``k`` one digest per feature suffices
_WORDS_PER_DIGEST = 32


def _positions_many(key: bytes, features: list[str], bits: int, k: int) -> np.ndarray:
    """``int64[len(features), k]`` bit positions, as :func:`_feature_positions` gives each."""
    if not features:
        return np.zeros((0, k), dtype=np.int64)
    if k > _WORDS_PER_DIGEST:
        return np.stack([_feature_positions(key, f, bits, k) for f in features])
    blob = b"".join(hmac.digest(key, f.encode("utf-8"), "sha512") for f in features)
    words = np.frombuffer(blob, dtype=">u2").reshape(len(features), _WORDS_PER_DIGEST)
    return words[:, :k].astype(np.int64) % bits


def _check(key: bytes, bits: int, k: int) -> None:
    if not key:
        raise ValueError("clk_encode needs a non-empty secret key")
    if bits <= 0 or bits % 8 or bits > 65_536:
        raise ValueError(f"bits must be a positive multiple of 8 up to 65536, got {bits}")
    if not 1 <= k <= 256:
        raise ValueError(f"k must be between 1 and 256, got {k}")


def _encode_distinct(
    values: list[str], key: bytes, bits: int, k: int, ngrams: Sequence[int], pin: Sequence[int]
) -> np.ndarray:
    """``uint8[len(values), bits // 8]`` for distinct non-empty values.

    Features are numbered as first seen and hashed once each; a chunk of values becomes
    one scatter of (row, position) pairs into a dense bit matrix, packed with ``packbits``.
    """
    out = np.zeros((len(values), bits // 8), dtype=np.uint8)
    ids: dict[str, int] = {}
    positions = np.zeros((0, k), dtype=np.int64)
    for start in range(0, len(values), _CHUNK_VALUES):
        chunk = values[start : start + _CHUNK_VALUES]
        counts = np.zeros(len(chunk), dtype=np.int64)
        flat: list[int] = []
        for row, value in enumerate(chunk):
            features = _feature_set(value, ngrams, pin)
            counts[row] = len(features)
            flat.extend([ids.setdefault(f, len(ids)) for f in features])
        if len(ids) > len(positions):
            fresh = list(ids)[len(positions) :]  # dicts keep insertion order: ids ascending
            positions = np.concatenate([positions, _positions_many(key, fresh, bits, k)])
        dense = np.zeros((len(chunk), bits), dtype=bool)
        if flat:
            rows = np.repeat(np.arange(len(chunk)), counts)
            dense[rows[:, None], positions[np.asarray(flat, dtype=np.int64)]] = True
        out[start : start + len(chunk)] = np.packbits(dense, axis=1)
    return out


def clk_encode(
    values: Iterable[str | None],
    key: bytes,
    *,
    bits: int = 1024,
    k: int = 20,
    ngrams: Sequence[int] = (1, 2),
    pinyin_ngrams: Sequence[int] = (2,),
) -> np.ndarray:
    """Encode each value as a keyed Bloom filter; returns ``uint8[n, bits // 8]``.

    ``None``/NA/empty values give an all-zero row (its Dice with anything is 0).
    Deterministic: the same values, key and parameters give the same bytes.
    """
    _check(key, bits, k)
    series = pd.Series(list(values), dtype="object")
    # distinct raw values first, then distinct text: 1 and "1" are the same text
    raw_codes, raw_uniques = pd.factorize(series)
    text_codes, uniques = pd.factorize(pd.Series([str(v) for v in raw_uniques], dtype=object))
    distinct = _encode_distinct(list(uniques), key, bits, k, ngrams, pinyin_ngrams)
    out = np.zeros((len(series), bits // 8), dtype=np.uint8)
    present = raw_codes >= 0
    out[present] = distinct[text_codes[raw_codes[present]]]
    return out


def bloom_column(encodings: np.ndarray, valid: np.ndarray | None = None) -> pd.Series:
    """Encodings as a Series of ``bytes`` (how they travel in a DataFrame column); rows
    where ``valid`` is False are null."""
    rows = np.asarray(encodings, dtype=np.uint8)
    cells = [row.tobytes() for row in rows]
    if valid is not None:
        cells = [c if ok else None for c, ok in zip(cells, valid, strict=True)]
    return pd.Series(cells, dtype=object)


class ClkBloomParams(OperatorParams):
    domain: str | None = Field(default=None, description="key domain; default the field name")
    bits: int = Field(default=1024, description="filter length in bits (multiple of 8)")
    k: int = Field(default=20, ge=1, le=256, description="bits set per feature")
    ngrams: tuple[int, ...] = Field(default=(1, 2), description="character n-gram sizes")
    pinyin_ngrams: tuple[int, ...] = Field(default=(2,), description="pinyin n-gram sizes")

    @field_validator("bits")
    @classmethod
    def _bits(cls, value: int) -> int:
        if value <= 0 or value % 8 or value > 65_536:
            raise ValueError("bits must be a positive multiple of 8 up to 65536")
        return value


@register_operator
class ClkBloomOperator(Operator):
    """Keyed Bloom-filter encoding of a field (``<field>_bloom``): linkable despite typos."""

    name = "clk_bloom"
    Params = ClkBloomParams
    output_suffix = "_bloom"

    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series:
        p = self.params
        assert isinstance(p, ClkBloomParams)
        key = ctx.require_keyring(self.name).derive(_PURPOSE, p.domain or ctx.field)
        cells = values.astype("object").where(values.notna(), None)
        encodings = clk_encode(
            cells, key, bits=p.bits, k=p.k, ngrams=p.ngrams, pinyin_ngrams=p.pinyin_ngrams
        )
        column = bloom_column(encodings, valid=values.notna().to_numpy())
        column.index = values.index
        return column.rename(values.name)
