"""Keyed Bloom-filter encodings (CLK, Schnell et al.) for privacy-preserving linkage.

A value is split into features — character n-grams and, for Chinese text,
pinyin n-grams (so a homophone typo such as 张伟 → 张威 keeps most of its bits) —
and each feature sets ``k`` bits chosen by HMAC-SHA-512 under a secret key
("random hashing": independent positions, not double hashing). Without the key
the filter cannot be rebuilt from a guessed name. Encodings are ``uint8`` rows
of ``bits // 8`` bytes, packed big-endian (``np.packbits`` order).

The pseudonymisation stage calls :func:`clk_encode` with its linkage key and
stores each row as ``bytes`` in a ``<field>_bloom`` column; the link stage reads
them back with :func:`bloom_matrix` and compares with :func:`dice_rows` /
:func:`dice_matrix`.
"""

from __future__ import annotations

import hmac
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from pypinyin import Style, lazy_pinyin, pinyin

__all__ = [
    "bloom_column",
    "bloom_matrix",
    "clk_encode",
    "clk_features",
    "dice_matrix",
    "dice_rows",
    "popcount_rows",
]

_CHUNK_ROWS = 32_768


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FA1F


@lru_cache(maxsize=65_536)
def _char_pinyin(char: str) -> str:
    """Toneless pinyin of one character (one fixed reading, so typos stay comparable)."""
    return lazy_pinyin(char, style=Style.NORMAL)[0]


@lru_cache(maxsize=65_536)
def _char_other_readings(char: str) -> tuple[str, ...]:
    """The other toneless readings of a polyphonic character (率: shuai, lve besides lv)."""
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
    text = _normalise(value)
    if not text:
        return []
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
    return sorted(features)


def _feature_positions(key: bytes, feature: str, bits: int, k: int) -> np.ndarray:
    words: list[np.ndarray] = []
    counter = 0
    while sum(len(w) for w in words) < k:
        msg = feature.encode("utf-8") if counter == 0 else f"{feature}\x00{counter}".encode()
        words.append(np.frombuffer(hmac.digest(key, msg, "sha512"), dtype=">u2"))
        counter += 1
    return (np.concatenate(words)[:k].astype(np.int64)) % bits


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

    ``None``/empty values give an all-zero row (its Dice with anything is 0).
    Deterministic: the same values, key and parameters give the same bytes.
    """
    if not key:
        raise ValueError("clk_encode needs a non-empty secret key")
    if bits <= 0 or bits % 8 or bits > 65_536:
        raise ValueError(f"bits must be a positive multiple of 8 up to 65536, got {bits}")
    if not 1 <= k <= 256:
        raise ValueError(f"k must be between 1 and 256, got {k}")
    items = list(values)
    out = np.zeros((len(items), bits // 8), dtype=np.uint8)
    feature_cache: dict[str, np.ndarray] = {}
    value_cache: dict[str, np.ndarray] = {}

    def positions_of(value: str) -> np.ndarray:
        found = value_cache.get(value)
        if found is None:
            parts = []
            for feature in clk_features(value, ngrams=ngrams, pinyin_ngrams=pinyin_ngrams):
                pos = feature_cache.get(feature)
                if pos is None:
                    pos = feature_cache[feature] = _feature_positions(key, feature, bits, k)
                parts.append(pos)
            found = np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64)
            value_cache[value] = found
        return found

    for start in range(0, len(items), _CHUNK_ROWS):
        chunk = items[start : start + _CHUNK_ROWS]
        dense = np.zeros((len(chunk), bits), dtype=bool)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        for row, value in enumerate(chunk):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            pos = positions_of(str(value))
            cols.append(pos)
            rows.append(np.full(len(pos), row, dtype=np.int64))
        if cols:
            dense[np.concatenate(rows), np.concatenate(cols)] = True
        out[start : start + len(chunk)] = np.packbits(dense, axis=1)
    return out


def bloom_column(encodings: np.ndarray) -> pd.Series:
    """Encodings as a Series of ``bytes`` (how they travel in a DataFrame column)."""
    return pd.Series([row.tobytes() for row in np.asarray(encodings, dtype=np.uint8)], dtype=object)


def bloom_matrix(column: pd.Series | Sequence[bytes | None]) -> tuple[np.ndarray, np.ndarray]:
    """A ``bytes`` column back as ``uint8[n, nbytes]`` plus a validity mask (null → zeros)."""
    cells = list(column)
    valid = np.array([isinstance(c, bytes | bytearray) and len(c) > 0 for c in cells], dtype=bool)
    if not valid.any():
        return np.zeros((len(cells), 0), dtype=np.uint8), valid
    widths = {len(c) for c, ok in zip(cells, valid, strict=True) if ok}
    if len(widths) != 1:
        raise ValueError(f"encodings of different lengths: {sorted(widths)}")
    width = widths.pop()
    zero = bytes(width)
    joined = b"".join(c if ok else zero for c, ok in zip(cells, valid, strict=True))  # type: ignore[misc]
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(cells), width).copy(), valid


def _words(encodings: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(encodings, dtype=np.uint8)
    if arr.ndim != 2:
        raise ValueError(f"encodings must be 2-D (rows × bytes), got shape {arr.shape}")
    if arr.shape[1] % 8 == 0:
        return arr.view(np.uint64)
    return arr


def popcount_rows(encodings: np.ndarray) -> np.ndarray:
    """Number of set bits in each row."""
    return np.bitwise_count(_words(encodings)).sum(axis=1, dtype=np.int64)


def _dice(common: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, 2.0 * common / total, 0.0)
    return out


def dice_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dice coefficient of row ``r`` of ``a`` with row ``r`` of ``b``."""
    wa, wb = _words(a), _words(b)
    common = np.bitwise_count(wa & wb).sum(axis=1, dtype=np.int64)
    total = np.bitwise_count(wa).sum(axis=1, dtype=np.int64) + np.bitwise_count(wb).sum(
        axis=1, dtype=np.int64
    )
    return _dice(common, total)


def dice_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All-pairs Dice coefficients, ``float64[len(a), len(b)]``."""
    wa, wb = _words(a), _words(b)
    common = np.bitwise_count(wa[:, None, :] & wb[None, :, :]).sum(axis=2, dtype=np.int64)
    total = popcount_rows(a)[:, None] + popcount_rows(b)[None, :]
    return _dice(common, total)
