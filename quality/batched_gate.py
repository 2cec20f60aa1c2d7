"""The quality gate over a source in record batches: memory bounded by one batch.

The same split of the rows as validating the whole source at once
(:func:`quality.validate_frame`, then :func:`quality.collapse_duplicates` with the
rejected rows, then the earlier accepted rows of an incremental source first):

1. Each standardised batch is spilled to ``scratch`` (owner-only, the caller's); the
   precision companions a batch lacks (every date of the batch exact to the day) are
   added where another batch has them, as standardising the whole source would have.
2. Each batch is validated by the suite (:func:`quality.validate_batch`); its GX result
   is summed into the source's (:class:`quality.merged_results.MergedValidation`), from
   which Data Docs are built. Rejected rows go to the quarantine at once; accepted
   rows are spilled again.
3. Duplicates within the source are found on a narrow projection: per row, 128-bit
   hashes of its canonical content and of its normalised duplicate keys, whether it has
   a person key, and its ``record_key``; groups and their first rows are computed over
   these arrays for the whole source (rejected rows first, as ``collapse_duplicates``
   stacks them).
4. The earlier rows (if any) and the accepted batches without their duplicates are
   written; the duplicates follow the rejected rows in the quarantine.

Outputs go to two writers given by the caller (``write(frame)``), each frame with the
columns and dtypes of the whole-source result.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from domain import precision_column
from domain.canonical import entity as canonical_entity
from quality.config import QualityConfig
from quality.duplicates import PERSON_KEYS, _first_of_group, default_keys, normalised_key
from quality.merged_results import MergedValidation
from quality.verdict import PARSE_ERRORS_COLUMN, validate_batch

__all__ = ["GateOutcome", "gate_batches"]

logger = logging.getLogger(__name__)

Writer = Callable[[pd.DataFrame], None]
#: two different keys: 2 × 64 bits per row
_HASH_KEYS = ("islandbridge-dup", "0123456789abcdef")


@dataclass(frozen=True)
class GateOutcome:
    """Counts of one gated source (taken from what was written) and its Data Docs."""

    rows_in: int
    accepted: int
    quarantined: int
    reasons: dict[str, int]
    carried_rows: int
    data_docs_index: Path | None


def _hash128(frame: pd.DataFrame) -> np.ndarray:
    """Two independent 64-bit hashes per row of ``frame`` (N × 2, uint64)."""
    if frame.shape[1] == 0:
        return np.zeros((len(frame), 2), dtype=np.uint64)
    return np.column_stack(
        [pd.util.hash_pandas_object(frame, index=False, hash_key=k).to_numpy() for k in _HASH_KEYS]
    )


@dataclass
class _Projection:
    """What duplicate detection needs of the rows of one part (rejected or accepted)."""

    exact: list[np.ndarray]
    near: list[np.ndarray]
    person: list[np.ndarray]
    keys: list[pa.Array]

    @classmethod
    def empty(cls) -> _Projection:
        return cls([], [], [], [])

    def add(self, frame: pd.DataFrame, content: list[str], keys: list[str]) -> None:
        self.exact.append(_hash128(frame[content]))
        normalised = pd.DataFrame({k: normalised_key(frame[k]) for k in keys})
        person = [k for k in keys if k in PERSON_KEYS] or keys
        self.near.append(_hash128(normalised))
        self.person.append(normalised[person].notna().any(axis=1).to_numpy(dtype=bool))
        self.keys.append(pa.array(frame["record_key"].astype("string"), type=pa.string()))

    def rows(self) -> int:
        return sum(len(p) for p in self.person)


def _stack(arrays: list[np.ndarray], width: int | None) -> np.ndarray:
    if arrays:
        return np.concatenate(arrays)
    return np.zeros((0, width), dtype=np.uint64) if width else np.zeros(0, dtype=bool)


def _groups(hashes: np.ndarray) -> np.ndarray:
    frame = pd.DataFrame({"a": hashes[:, 0], "b": hashes[:, 1]})
    return frame.groupby(["a", "b"], sort=False).ngroup().to_numpy()


def _duplicates(
    rejected: _Projection, accepted: _Projection
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the accepted rows (in order): dropped as a duplicate?, an exact one?, and the
    stacked position (rejected rows first) of the row each one was merged into.
    ``collapse_duplicates``' rules, on hashes instead of values."""
    exact_h = _stack([*rejected.exact, *accepted.exact], 2)
    near_h = _stack([*rejected.near, *accepted.near], 2)
    person = _stack([*rejected.person, *accepted.person], None)
    n = len(person)
    positions = np.arange(n)
    exact_first = _first_of_group(_groups(exact_h), np.ones(n, dtype=bool))
    exact = exact_first != positions
    eligible = ~exact & person
    near_first = _first_of_group(_groups(near_h), eligible)
    near = eligible & (near_first != positions)
    target = positions.copy()
    target[near] = near_first[near]
    target[exact] = target[exact_first[exact]]
    start = rejected.rows()
    return (exact | near)[start:], exact[start:], target[start:]


def _conform(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Add the precision companions ``frame`` lacks: ``day`` where its date is set."""
    if list(frame.columns) == columns:
        return frame
    out = frame.copy()
    for column in columns:
        if column not in out.columns:
            date_field = column.removesuffix("_precision")
            filled = pd.Series(pd.NA, index=out.index, dtype="string")
            out[column] = filled.mask(out[date_field].notna(), "day")
    return out[columns]


def _column_order(seen: list[list[str]]) -> list[str]:
    """The whole source's columns: the first batch's, each precision companion any batch
    had right after its date (where standardising the whole source puts it)."""
    companions = {c for cols in seen for c in cols if c.endswith("_precision")}
    base = [c for c in seen[0] if c not in companions]
    out: list[str] = []
    for column in base:
        out.append(column)
        if precision_column(column) in companions:
            out.append(precision_column(column))
    return out


def _typed(frame: pd.DataFrame, template: pd.DataFrame) -> pd.DataFrame:
    out = frame.reindex(columns=template.columns)
    return out.astype(template.dtypes.to_dict())


def _count(reasons: Counter, frame: pd.DataFrame) -> None:
    counts = frame["reasons"].str.split(";").explode().value_counts()
    reasons.update({str(k): int(v) for k, v in counts.items()})


def gate_batches(
    batches: Iterable[pd.DataFrame],
    *,
    entity: str,
    config: QualityConfig,
    as_of: date,
    scratch: Path,
    write_accepted: Writer,
    write_quarantined: Writer,
    data_docs_dir: Path | None = None,
    earlier: Iterable[pd.DataFrame] | None = None,
) -> GateOutcome:
    """Gate a source given as standardised ``batches`` (see the module's docstring).

    ``earlier``: an incremental source's accepted rows of the last publication, in
    batches; those whose ``record_key`` was landed again are replaced by the new rows.
    """
    spilled: list[Path] = []
    seen: list[list[str]] = []
    for number, batch in enumerate(batches):
        path = scratch / f"standardised-{number:05d}.parquet"
        pq.write_table(pa.Table.from_pandas(batch, preserve_index=False), path)
        spilled.append(path)
        seen.append(list(batch.columns))
    if not spilled:
        raise ValueError(f"{entity}: no batch to gate (an empty source is one empty batch)")
    columns = _column_order(seen)
    fields = set(canonical_entity(entity).field_names)
    content = [c for c in columns if c in fields]
    keys = default_keys(entity, columns) or content

    merged_gx = MergedValidation()
    rejected, accepted = _Projection.empty(), _Projection.empty()
    landed: list[pa.Array] = []
    accepted_spill: list[Path] = []
    quarantine_template: pd.DataFrame | None = None
    reasons: Counter = Counter()
    rows_in = quarantined = 0
    for number, path in enumerate(spilled):
        frame = _conform(pd.read_parquet(path), columns)
        path.unlink()
        rows_in += len(frame)
        if earlier is not None:  # the keys landed again replace their earlier rows
            landed.append(pa.array(frame["record_key"].astype("string"), type=pa.string()))
        verdict, result = validate_batch(frame, entity, config, as_of)
        merged_gx.add(result)
        del frame, result
        if quarantine_template is None:
            quarantine_template = _quarantine_template(verdict.accepted)
        bad = _typed(verdict.quarantined, quarantine_template)
        write_quarantined(bad)
        _count(reasons, bad)
        quarantined += len(bad)
        rejected.add(verdict.quarantined, content, keys)
        accepted.add(verdict.accepted, content, keys)
        good = scratch / f"accepted-{number:05d}.parquet"
        pq.write_table(pa.Table.from_pandas(verdict.accepted, preserve_index=False), good)
        accepted_spill.append(good)
        del verdict, bad
    assert quarantine_template is not None

    dropped, exact, target = _duplicates(rejected, accepted)
    # one array (64-bit offsets: any size), so each batch's lookups touch only their rows
    record_keys = (
        pa.chunked_array([*rejected.keys, *accepted.keys], type=pa.string())
        .cast(pa.large_string())
        .combine_chunks()
    )
    del rejected, accepted

    carried = 0
    written = 0
    accepted_template: pd.DataFrame | None = None
    first = pd.read_parquet(accepted_spill[0]).iloc[:0]
    kept_empty = first.drop(columns=[PARSE_ERRORS_COLUMN, "flags"], errors="ignore")
    if earlier is not None:
        landed_keys = pa.chunked_array(landed, type=pa.string()).combine_chunks()
        for batch in earlier:
            if accepted_template is None:
                accepted_template = pd.concat([batch.iloc[:0], kept_empty], ignore_index=True)
                write_accepted(accepted_template)
            again = pc.is_in(pa.array(batch["record_key"].astype("string")), landed_keys)
            rows = batch[~np.asarray(again.to_numpy(zero_copy_only=False), dtype=bool)]
            write_accepted(_typed(rows, accepted_template))
            carried += len(rows)
        logger.info("%s: %d earlier rows kept beside the new", entity, carried)
    del landed
    if accepted_template is None:
        accepted_template = kept_empty
        write_accepted(accepted_template)
    written += carried

    offset = 0
    merged_parts: list[Path] = []
    for number, path in enumerate(accepted_spill):
        frame = pd.read_parquet(path)
        path.unlink()
        rows = slice(offset, offset + len(frame))
        offset += len(frame)
        drop = dropped[rows]
        kept = frame.iloc[np.flatnonzero(~drop)].drop(
            columns=[PARSE_ERRORS_COLUMN, "flags"], errors="ignore"
        )
        write_accepted(_typed(kept, accepted_template))
        written += len(kept)
        if drop.any():
            dup = frame.iloc[np.flatnonzero(drop)].copy()
            where = target[rows][drop]
            dup["duplicate_of"] = pd.array(
                record_keys.take(pa.array(where)).to_pylist(), dtype="string"
            )
            dup["reasons"] = pd.array(
                np.where(exact[rows][drop], "exact_duplicate", "near_duplicate"), dtype="string"
            )
            part = scratch / f"merged-{number:05d}.parquet"
            pq.write_table(pa.Table.from_pandas(dup, preserve_index=False), part)
            merged_parts.append(part)
    for part in merged_parts:
        dup = _typed(pd.read_parquet(part), quarantine_template)
        part.unlink()
        write_quarantined(dup)
        _count(reasons, dup)
        quarantined += len(dup)
    docs = None
    if data_docs_dir is not None and merged_gx.result is not None:
        from quality.data_docs import build_data_docs

        docs = build_data_docs(merged_gx.result, Path(data_docs_dir))
    logger.info(
        "%s: %d rows gated in %d batches: %d accepted (%d earlier), %d quarantined",
        entity,
        rows_in,
        len(spilled),
        written,
        carried,
        quarantined,
    )
    return GateOutcome(
        rows_in=rows_in,
        accepted=written,
        quarantined=quarantined,
        reasons=dict(reasons),
        carried_rows=carried,
        data_docs_index=docs,
    )


def _quarantine_template(accepted: pd.DataFrame) -> pd.DataFrame:
    """The columns and dtypes of ``concat([rejected, duplicates])`` in the whole-source
    gate: the rejected rows' (standardised + ``reasons``), then ``flags`` and
    ``duplicate_of``."""
    empty = accepted.iloc[:0]
    rejected = empty.drop(columns=["flags"], errors="ignore").assign(
        reasons=pd.array([], dtype="string")
    )
    dups = empty.assign(
        duplicate_of=pd.array([], dtype="string"), reasons=pd.array([], dtype="string")
    )
    return pd.concat([rejected, dups], ignore_index=True)
