"""Encoded records from the pipeline's tables: ``*_bloom`` byte columns and attribute blocks.

The pseudonymise stage publishes encodings as ``bytes`` cells (``<field>_bloom``, made by
the ``clk_bloom`` operator). :func:`encoded_from_columns` stacks one or more such columns
into :class:`~anonymize.clk.EncodedRecords` (zero-padded to whole 64-bit words, which
leaves every Dice score unchanged); :func:`attribute_block_keys` turns a plain attribute
both sides hold (a branch id) into shared block keys, null meaning "no block".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from anonymize.clk import NO_BLOCK, EncodedRecords

__all__ = ["attribute_block_keys", "bloom_bits", "encoded_from_columns"]


def bloom_bits(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A ``bytes`` column as ``uint8[n, 8k]`` (zero-padded) and a validity mask."""
    cells = column.tolist()
    valid = np.array([isinstance(c, bytes | bytearray) and len(c) > 0 for c in cells], bool)
    widths = {len(c) for c, ok in zip(cells, valid, strict=True) if ok}
    if len(widths) > 1:
        raise ValueError(f"encodings of different lengths in {column.name!r}: {sorted(widths)}")
    width = widths.pop() if widths else 0
    padded = -(-width // 8) * 8
    out = np.zeros((len(cells), padded), dtype=np.uint8)
    if width:
        rows = np.nonzero(valid)[0]
        joined = b"".join(cells[r] for r in rows)
        out[rows, :width] = np.frombuffer(joined, dtype=np.uint8).reshape(len(rows), width)
    return out, valid


def attribute_block_keys(
    left: Sequence[object], right: Sequence[object]
) -> tuple[np.ndarray, np.ndarray]:
    """Shared ``int64[n, 1]`` block keys of a plain attribute on both sides (null: none)."""
    both = pd.Series(list(left) + list(right), dtype=object)
    codes, _ = pd.factorize(both, use_na_sentinel=True)
    codes = np.where(codes >= 0, codes, NO_BLOCK).astype(np.int64)
    return codes[: len(left), None], codes[len(left) :, None]


def encoded_from_columns(
    frame: pd.DataFrame,
    columns: Sequence[str],
    ids: np.ndarray,
    block_keys: np.ndarray | None = None,
) -> tuple[EncodedRecords, np.ndarray]:
    """(records of the rows whose every column holds an encoding, mask of those rows)."""
    parts, valid = [], np.ones(len(frame), dtype=bool)
    for column in columns:
        bits, ok = bloom_bits(frame[column])
        parts.append(bits)
        valid &= ok
    if any(p.shape[1] == 0 for p in parts):
        valid[:] = False
    bits = np.hstack(parts)[valid] if parts else np.zeros((0, 0), np.uint8)
    keys = (np.zeros((len(frame), 0), dtype=np.int64) if block_keys is None else block_keys)[valid]
    passes = () if block_keys is None else ("block",)
    fill = float(np.bitwise_count(bits).sum() / max(1, bits.size * 8))
    records = EncodedRecords(
        ids=np.asarray(ids)[valid], bits=bits, block_keys=keys, passes=passes, fill=fill
    )
    return records, valid
