"""Duplicates collapsed over a split source from its partitions' files, reading only the
columns that decide it: the same verdict as :func:`quality.collapse_duplicates` over the
partitions' rejected rows then accepted rows (in partition order), without holding the
source's rows.

Exact duplicates agree in every content column: each row's content is hashed batch by
batch; only the rows whose hash is shared are read again and grouped on their values
(so a hash collision never merges two different rows). Near duplicates likewise, on the
hashes of the normalised key columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from islandbridge.io import empty_frame, iter_parquet
from quality.duplicates import content_columns, default_keys, duplicate_targets, near_keys

__all__ = ["SourceCollapse", "collapse_source", "uniform_types"]


@dataclass(frozen=True)
class SourceCollapse:
    """The verdict on a source's accepted rows (positions over all partitions' accepted
    files, in order): ``dropped`` rows go to the quarantine, merged into ``duplicate_of``
    for ``reasons``; ``kept_keys`` are the record keys of the others, in order."""

    dropped: np.ndarray
    duplicate_of: pd.arrays.StringArray
    reasons: pd.arrays.StringArray
    kept_keys: pd.Series


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


def _groups(hashes: np.ndarray, candidates: Callable[[np.ndarray], pd.DataFrame]) -> np.ndarray:
    """A group label per row: equal labels iff equal values (missing values equal), as
    ``groupby(dropna=False)`` gives. Rows of a hash no other row has are alone; the rows
    ``candidates`` gives for a shared hash are grouped on their values."""
    n = len(hashes)
    shared = pd.Series(hashes).duplicated(keep=False).to_numpy()
    groups = np.arange(n)
    if shared.any():
        rows = candidates(shared)
        labels = rows.groupby(list(rows.columns), dropna=False, sort=False).ngroup()
        groups[shared] = n + labels.to_numpy()
    return groups


@dataclass
class _Pass:
    """What one pass over the source's files gathers, row by row."""

    content: np.ndarray
    near: np.ndarray
    has_person: np.ndarray
    record_keys: pd.Series


def _first_pass(paths: Sequence[Path], content: list[str], keys: list[str], n: int) -> _Pass:
    wanted = list(dict.fromkeys([*content, *keys, "record_key"]))
    content_hash = np.empty(n, dtype=np.uint64)
    near_hash = np.empty(n, dtype=np.uint64)
    has_person = np.empty(n, dtype=bool)
    record_keys, start = [], 0
    for batch in _batches(paths, wanted):
        end = start + len(batch)
        content_hash[start:end] = pd.util.hash_pandas_object(batch[content], index=False)
        normalised, person = near_keys(batch[keys], keys)
        near_hash[start:end] = pd.util.hash_pandas_object(normalised, index=False)
        has_person[start:end] = person
        record_keys.append(batch["record_key"])
        start = end
    keys_of = pd.concat(record_keys, ignore_index=True)
    return _Pass(content_hash, near_hash, has_person, keys_of)


def _rows_of(paths: Sequence[Path], columns: list[str], keys: list[str] | None = None):
    """``chosen`` rows of the files' ``columns`` (their normalised ``keys`` instead
    when given), in order."""

    def take(chosen: np.ndarray) -> pd.DataFrame:
        pieces, start = [], 0
        for batch in _batches(paths, columns):
            part = batch[chosen[start : start + len(batch)]]
            pieces.append(part if keys is None else near_keys(part, keys)[0])
            start += len(batch)
        return pd.concat(pieces, ignore_index=True)

    return take


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
    seen = _first_pass(stacked, content, keys, n)
    exact_groups = _groups(seen.content, _rows_of(stacked, content))
    near_groups = _groups(seen.near, _rows_of(stacked, keys, keys))
    dropped, target, exact = duplicate_targets(exact_groups, near_groups, seen.has_person)
    rows = dropped[n_ref:]
    positions = np.flatnonzero(dropped)
    positions = positions[positions >= n_ref]
    record_keys = seen.record_keys
    return SourceCollapse(
        dropped=rows,
        duplicate_of=pd.array(
            record_keys.to_numpy(dtype=object)[target[positions]], dtype="string"
        ),
        reasons=pd.array(
            np.where(exact[positions], "exact_duplicate", "near_duplicate"), dtype="string"
        ),
        kept_keys=record_keys.iloc[n_ref:][~rows].reset_index(drop=True),
    )
