"""Encoding records under a :class:`~anonymize.clk.schema.RecordSchema`: one keyed Bloom
filter per record, plus keyed block keys.

Each field has its own key, derived from the linkage secret (``purpose="clk"``, domain =
the field's key domain), so a token of one field never sets the bits another field's equal
token would. A token sets ``bits_per_token`` positions drawn by HMAC-SHA-512 under that key
(the ``clk_bloom`` operator's scheme: the same field key and tokens give the same bytes).
Work is done once per *distinct* value of each field.

Block keys are HMACs (``purpose="block"``, domain = the pass name) of the normalised
components, truncated to 63 bits: equal plaintext gives equal keys, and the keys reveal
nothing without the secret. A record missing any component of a pass has no key in it
(:data:`NO_BLOCK`).

The secret is ``bytes`` (subkeys by HMAC-SHA-256) or a callable ``(purpose, domain) ->
bytes`` such as :meth:`anonymize.keys.Keyring.derive`.
"""

from __future__ import annotations

import hmac
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anonymize.clk.schema import BlockComponent, BlockingPass, FieldSchema, RecordSchema

__all__ = [
    "NO_BLOCK",
    "EncodedRecords",
    "FillRateWarning",
    "LinkageSecret",
    "block_keys",
    "derive_key",
    "encode_records",
]

log = logging.getLogger(__name__)

LinkageSecret = bytes | Callable[[str, str], bytes]
NO_BLOCK = np.int64(-1)
_CHUNK = 16_384
_MASK63 = np.uint64(0x7FFF_FFFF_FFFF_FFFF)


class FillRateWarning(UserWarning):
    """Encodings fuller than the schema's ``max_fill``: Dice scores lose their contrast."""


def derive_key(secret: LinkageSecret, purpose: str, domain: str) -> bytes:
    """The subkey for one purpose (``clk``, ``block``) and domain (a field, a pass)."""
    if callable(secret):
        return secret(purpose, domain)
    if not isinstance(secret, bytes | bytearray) or len(secret) < 16:
        raise ValueError("the linkage secret must be at least 16 bytes")
    return hmac.digest(bytes(secret), f"islandbridge.linkage|{purpose}|{domain}".encode(), "sha256")


@dataclass(frozen=True)
class EncodedRecords:
    """What a data holder ships for linkage: ids, encodings, keyed block keys."""

    ids: np.ndarray  # record ids, one per row
    bits: np.ndarray  # uint8[n, bits // 8], packed big-endian
    block_keys: np.ndarray  # int64[n, passes]; NO_BLOCK where the pass has no key
    passes: tuple[str, ...]
    fill: float  # mean share of set bits

    def __len__(self) -> int:
        return len(self.ids)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.bits.ndim != 2 or len(self.bits) != n:
            raise ValueError("encodings must be uint8[n, bytes] with one row per id")
        if self.block_keys.shape != (n, len(self.passes)):
            raise ValueError("block keys must be int64[n, passes]")


def _positions(key: bytes, tokens: list[str], bits: int, k: int) -> np.ndarray:
    """``int64[len(tokens), k]`` bit positions (HMAC-SHA-512 words, as ``clk_bloom``)."""
    out = np.empty((len(tokens), k), dtype=np.int64)
    for row, token in enumerate(tokens):
        words: list[np.ndarray] = []
        counter, have = 0, 0
        while have < k:
            msg = token.encode("utf-8") if counter == 0 else f"{token}\x00{counter}".encode()
            words.append(np.frombuffer(hmac.digest(key, msg, "sha512"), dtype=">u2"))
            have += len(words[-1])
            counter += 1
        out[row] = np.concatenate(words)[:k]
    return out % bits


class _Normalised:
    """Each field's distinct values, normalised once (shared by encoding and blocking)."""

    def __init__(self, frame: pd.DataFrame, schema: RecordSchema) -> None:
        self.frame, self.schema = frame, schema
        self._cache: dict[str, tuple[np.ndarray, list[str]]] = {}

    def __call__(self, name: str) -> tuple[np.ndarray, list[str]]:
        if name not in self._cache:
            spec = self.schema.field(name)
            column = self.frame[spec.source]
            values = column.astype("object").where(column.notna(), None)
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            self._cache[name] = (codes, [spec.normalised(str(u)) for u in uniques])
        return self._cache[name]


def _encode_field(
    codes: np.ndarray, uniques: list[str], spec: FieldSchema, key: bytes, bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """(uint8[distinct, bytes], tokens per distinct value) for one field."""
    token_ids: dict[str, int] = {}
    occ_rows: list[int] = []
    occ_tokens: list[int] = []
    counts = np.zeros(len(uniques), dtype=np.int64)
    for row, value in enumerate(uniques):
        toks = spec.tokens_of_normalised(value)
        counts[row] = len(toks)
        occ_tokens += [token_ids.setdefault(t, len(token_ids)) for t in toks]
        occ_rows += [row] * len(toks)
    positions = _positions(key, list(token_ids), bits, spec.bits_per_token)
    rows = np.asarray(occ_rows, dtype=np.int64)
    toks = np.asarray(occ_tokens, dtype=np.int64)
    packed = np.zeros((len(uniques), bits // 8), dtype=np.uint8)
    for start in range(0, len(uniques), _CHUNK):
        stop = min(start + _CHUNK, len(uniques))
        a, b = np.searchsorted(rows, [start, stop])
        dense = np.zeros((stop - start, bits), dtype=bool)
        if b > a:
            dense[(rows[a:b] - start)[:, None], positions[toks[a:b]]] = True
        packed[start:stop] = np.packbits(dense, axis=1)
    return packed, counts


def encode_records(
    frame: pd.DataFrame,
    schema: RecordSchema,
    secret: LinkageSecret,
    *,
    id_column: str | None = None,
) -> EncodedRecords:
    """Encode every row of ``frame`` (one filter per record, plus block keys).

    A missing value (null or empty after normalisation) sets no bits. Warns
    (:class:`FillRateWarning`) when the mean share of set bits passes ``schema.max_fill``.
    """
    missing = [f.source for f in schema.fields if f.source not in frame.columns]
    if id_column is not None and id_column not in frame.columns:
        missing.append(id_column)
    if missing:
        raise ValueError(f"frame lacks columns {missing}; it has {sorted(frame.columns)}")
    n = len(frame)
    out = np.zeros((n, schema.bits // 8), dtype=np.uint8)
    settings = np.zeros(n, dtype=np.int64)
    normalised = _Normalised(frame, schema)
    for spec in schema.fields:
        key = derive_key(secret, "clk", spec.domain)
        codes, uniques = normalised(spec.name)
        packed, counts = _encode_field(codes, uniques, spec, key, schema.bits)
        present = codes >= 0
        out[present] |= packed[codes[present]]
        settings[present] += counts[codes[present]] * spec.bits_per_token
    fill = float(np.bitwise_count(out).sum() / max(1, n * schema.bits))
    if fill > schema.max_fill:
        warnings.warn(
            f"encodings are {fill:.0%} full (max_fill {schema.max_fill:.0%}, "
            f"{settings.mean():.0f} bit settings per record into {schema.bits} bits); "
            "use more bits or fewer bits per token",
            FillRateWarning,
            stacklevel=2,
        )
    log.info("encoded %d records: %d bits, mean fill %.2f", n, schema.bits, fill)
    ids = frame[id_column].to_numpy() if id_column is not None else np.arange(n)
    return EncodedRecords(
        ids=ids,
        bits=out,
        block_keys=_block_keys(normalised, schema, secret),
        passes=tuple(p.name for p in schema.blocking),
        fill=fill,
    )


def _component(normalised: _Normalised, part: BlockComponent) -> pd.Series:
    codes, uniques = normalised(part.field)
    cut = uniques if part.first is None else [u[: part.first] for u in uniques]
    values = np.array([*cut, ""], dtype=object)[np.where(codes >= 0, codes, len(uniques))]
    return pd.Series(values, dtype=object)


def _pass_keys(normalised: _Normalised, p: BlockingPass, key: bytes) -> np.ndarray:
    parts = [_component(normalised, c) for c in p.by]
    complete = np.ones(len(parts[0]), dtype=bool)
    for part in parts:
        complete &= (part != "").to_numpy()
    joined = parts[0].str.cat(parts[1:], sep="\x1f") if len(parts) > 1 else parts[0]
    codes, uniques = pd.factorize(joined)
    digests = b"".join(hmac.digest(key, v.encode("utf-8"), "sha256")[:8] for v in uniques)
    hashed = (np.frombuffer(digests, dtype=">u8").astype(np.uint64) & _MASK63).astype(np.int64)
    return np.where(complete, hashed[codes], NO_BLOCK)


def _block_keys(normalised: _Normalised, schema: RecordSchema, secret: LinkageSecret) -> np.ndarray:
    out = np.full((len(normalised.frame), len(schema.blocking)), NO_BLOCK, dtype=np.int64)
    for col, p in enumerate(schema.blocking):
        out[:, col] = _pass_keys(normalised, p, derive_key(secret, "block", p.name))
    return out


def block_keys(frame: pd.DataFrame, schema: RecordSchema, secret: LinkageSecret) -> np.ndarray:
    """``int64[n, passes]`` keyed block keys of every schema pass (:data:`NO_BLOCK` if none)."""
    return _block_keys(_Normalised(frame, schema), schema, secret)
