"""Duplicates collapsed over a split source from its partitions' files, reading only the
columns that decide it: the same verdict as :func:`quality.collapse_duplicates` over the
partitions' rejected rows then accepted rows (in partition order), without holding the
source's rows.

Exact duplicates agree in every content column: each row's content is hashed batch by
batch; only the rows whose hash is shared are read whole and grouped on their values
(so a hash collision never merges two different rows). Near duplicates need the key
columns only, which are read for the whole source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from islandbridge.io import empty_frame, iter_parquet, read_parquet
from quality.duplicates import content_columns, default_keys, duplicate_targets

__all__ = ["SourceCollapse", "collapse_source", "uniform_types"]


@dataclass(frozen=True)
class SourceCollapse:
    """The verdict on a source's accepted rows (positions over all partitions' accepted
    files, in order): ``dropped`` rows go to the quarantine, merged into ``duplicate_of``
    for ``reasons``; ``kept_keys`` are the record keys of the others, in order."""

    dropped: np.ndarray
    duplicate_of: pd.arrays.StringArray
    reasons: pd.arrays.StringArray
    kept_keys: list


def _rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def uniform_types(rejected: Sequence[Path], accepted: Sequence[Path], columns: list[str]) -> bool:
    """Whether every file has ``columns`` with the first accepted file's dtypes (as the
    validate stage writes them); otherwise the hashes of equal values could differ."""
    reference = empty_frame(accepted[0])[columns].dtypes
    for path in [*rejected, *accepted]:
        frame = empty_frame(path)
        if any(c not in frame.columns for c in columns):
            return False
        if not frame[columns].dtypes.equals(reference):
            return False
    return True


def _batches(paths: Sequence[Path], columns: list[str]) -> Iterator[pd.DataFrame]:
    for path in paths:
        present = set(pq.read_schema(path).names)
        for batch in iter_parquet(path, [c for c in columns if c in present]):
            yield batch.reindex(columns=columns)


def _exact_groups(paths: Sequence[Path], columns: list[str], n: int) -> np.ndarray:
    """A group label per row of ``paths`` (in order): equal labels iff equal in ``columns``
    (missing values equal), as ``groupby(columns, dropna=False)`` gives."""
    hashes = np.empty(n, dtype=np.uint64)
    start = 0
    for batch in _batches(paths, columns):
        values = pd.util.hash_pandas_object(batch, index=False).to_numpy()
        hashes[start : start + len(batch)] = values
        start += len(batch)
    shared = pd.Series(hashes).duplicated(keep=False).to_numpy()
    groups = np.arange(n)
    if not shared.any():
        return groups
    pieces, start = [], 0
    for batch in _batches(paths, columns):  # the rows that may be equal, read whole
        pieces.append(batch[shared[start : start + len(batch)]])
        start += len(batch)
    candidates = pd.concat(pieces, ignore_index=True)
    labels = candidates.groupby(columns, dropna=False, sort=False).ngroup().to_numpy()
    groups[shared] = n + labels
    return groups


def collapse_source(
    rejected: Sequence[Path], accepted: Sequence[Path], entity: str
) -> SourceCollapse:
    """The duplicates among ``accepted`` (rows of ``rejected`` come first and are never
    dropped: a copy of a rejected row is merged into it). Raises ``ValueError`` when the
    files have no content columns, as :func:`quality.collapse_duplicates` does."""
    columns = list(empty_frame(accepted[0]).columns)
    content = content_columns(entity, columns)
    if not content:
        raise ValueError(f"no canonical {entity} columns to compare")
    keys = default_keys(entity, columns) or content
    n_accepted = sum(_rows(p) for p in accepted)
    n_rejected = sum(_rows(p) for p in rejected)
    stacked = [*rejected, *accepted] if n_rejected and n_accepted else list(accepted)
    n_ref = n_rejected if len(stacked) > len(accepted) else 0
    n = n_ref + n_accepted
    wanted = list(dict.fromkeys([*keys, "record_key"]))
    frames = [read_parquet(p, [c for c in wanted if c in pq.read_schema(p).names]) for p in stacked]
    key_values = pd.concat(frames, ignore_index=True).reindex(columns=wanted)
    groups = _exact_groups(stacked, content, n)
    dropped, target, exact = duplicate_targets(groups, key_values[keys], keys)
    record_keys = key_values["record_key"].to_numpy(dtype=object)
    rows = dropped[n_ref:]
    positions = np.flatnonzero(dropped)[np.flatnonzero(dropped) >= n_ref]
    return SourceCollapse(
        dropped=rows,
        duplicate_of=pd.array(record_keys[target[positions]], dtype="string"),
        reasons=pd.array(
            np.where(exact[positions], "exact_duplicate", "near_duplicate"), dtype="string"
        ),
        kept_keys=record_keys[n_ref:][~rows].tolist(),
    )
