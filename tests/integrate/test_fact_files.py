"""Fact tables written by streaming are the in-memory tables' bytes; the aggregating
queries give what the pandas code computes from the whole frame."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from integrate import parquet_bytes as canonical
from integrate.fact_files import FactPart, duckdb_connection, write_fact_table
from integrate.fact_summaries import attendance_per_person, summarise_attendance_file
from integrate.indicators import compute_indicators
from integrate.statistics import attendance_counts
from integrate.unified_dataset import build_unified_dataset

KEYS = np.array(["P1", "P2", "P3", "中", "ä", "Z", None, "P 4"], dtype=object)


def _study(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.Series(rng.integers(0, 400, n)) * 86_400 * 10**6
    return pd.DataFrame(
        {
            "person_key": pd.array(rng.choice(KEYS, n), dtype="string"),
            "record_key": [f"r{i}" for i in range(n)],  # not published
            "course_id": pd.array(rng.choice(KEYS, n), dtype="string"),
            "minutes": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 4, n) * 1.5),
            "score": rng.random(n),
            "studied_on": pd.to_datetime(days, unit="us")
            .where(rng.random(n) > 0.1)
            .astype("datetime64[us]"),
        }
    )


def _attendance(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.Series(rng.integers(0, 200, n)) * 86_400 * 10**6
    return pd.DataFrame(
        {
            "person_key": pd.array(rng.choice(KEYS, n), dtype="string"),
            "branch_id": pd.array(rng.choice(["b1", "b2", None], n), dtype="string"),
            "meeting_type": "branch",
            "meeting_date": pd.to_datetime(days + 1_767_225_600 * 10**6, unit="us")
            .where(rng.random(n) > 0.05)
            .astype("datetime64[us]"),
            "meeting_date_precision": pd.array(
                rng.choice(["day", "month", "year", None], n), dtype="string"
            ),
            "attendance": pd.array(rng.choice(["present", "absent", "leave", None], n), "string"),
        }
    )


KEPT = ["P1", "P2", "中", "Z", "P 4"]


def _save(frame: pd.DataFrame, path) -> None:
    """As a linked file, floats' NaN kept as NaN (not turned into null as pandas does)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, name in enumerate(table.column_names):
        if frame[name].dtype == "float64":
            values = pa.array(frame[name].to_numpy(), pa.float64(), from_pandas=False)
            table = table.set_column(i, name, values)
    pq.write_table(table, path)


def _written(tmp_path, table: str, frames: dict[str, pd.DataFrame], batch_rows: int):
    parts = []
    for name, frame in frames.items():
        path = tmp_path / f"{name}.parquet"
        _save(frame, path)
        parts.append(FactPart(name, path))
    con = duckdb_connection()
    con.register("kept", pa.table({"person_key": pa.array(KEPT, pa.string())}))
    out = tmp_path / f"{table}.parquet"
    rows = write_fact_table(con, table, parts, out, kept="kept", batch_rows=batch_rows)
    return con, out, rows


def _in_memory(table: str, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """What publish did before: every source's rows filtered, concatenated, conformed."""
    kept = [f[f["person_key"].isin(set(KEPT))].assign(source=n) for n, f in frames.items()]
    return build_unified_dataset({table: pd.concat(kept, ignore_index=True)})[table]


@pytest.mark.parametrize(("rows", "row_group"), [(0, 300), (1_000, 300), (3_000, 1 << 20)])
def test_streamed_fact_table_is_the_in_memory_tables_bytes(tmp_path, monkeypatch, rows, row_group):
    # small row groups: the streamed writer must cut them where write_table does
    monkeypatch.setitem(canonical.PARQUET_WRITE_OPTIONS, "row_group_size", row_group)
    frames = {"learning": _study(rows, 1), "other": _study(rows // 3, 2)}
    _, path, written = _written(tmp_path, "fact_study", frames, batch_rows=97)
    if rows:
        assert pc.any(pc.is_nan(pq.read_table(tmp_path / "learning.parquet")["minutes"])).as_py()
    expected, table = canonical.parquet_bytes(_in_memory("fact_study", frames))
    assert written == table.num_rows
    assert path.read_bytes() == expected  # NaN published as null, nulls last, bytewise order


def test_a_linked_column_of_another_type_is_refused_by_name(tmp_path):
    frame = _study(10, 3).assign(minutes=["ten"] * 10)
    with pytest.raises(TypeError, match=r"fact_study\.minutes: a linked column of type") as err:
        _written(tmp_path, "fact_study", {"learning": frame}, batch_rows=97)
    assert "ten" not in str(err.value)


@pytest.mark.parametrize("as_of", [date(2026, 6, 30), None])
def test_indicators_from_the_attendance_summary_equal_those_from_the_rows(tmp_path, as_of):
    frames = {"signins": _attendance(4_000, 4), "more": _attendance(500, 5)}
    con, path, _ = _written(tmp_path, "fact_attendance", frames, batch_rows=97)
    person = pd.DataFrame(
        {"person_key": KEPT, "branch_id": ["b1", "b1", "b2", "b2", "b3"]}, dtype="string"
    )
    whole = compute_indicators(
        {"dim_person": person, "fact_attendance": _in_memory("fact_attendance", frames)},
        as_of=as_of,
    )
    summarised = compute_indicators(
        {"dim_person": person}, as_of=as_of, attendance=summarise_attendance_file(con, path)
    )
    for name, frame in whole.items():
        pd.testing.assert_frame_equal(summarised[name], frame, check_index_type=False)
    assert whole["indicator_branch_month"]["org_life_records"].sum() > 0


def test_attendance_per_person_by_query_equals_the_frames_counts(tmp_path):
    frames = {"signins": _attendance(3_000, 6), "more": _attendance(300, 7)}
    paths = []
    for name, frame in frames.items():
        paths.append(tmp_path / f"{name}.parquet")
        _save(frame, paths[-1])
    by_query = attendance_per_person(duckdb_connection(), paths)
    expected = attendance_counts(pd.concat(frames.values(), ignore_index=True))
    pd.testing.assert_frame_equal(by_query, expected, check_index_type=False)


def test_the_attacks_fact_lookup_in_files_equals_the_frames(tmp_path):
    from anonymize.attack import FrameFacts
    from integrate.attack_facts import DuckFacts, fact_relation

    frames = {"signins": _attendance(2_000, 8), "more": _attendance(400, 9)}
    con, _, _ = _written(tmp_path, "fact_attendance", frames, batch_rows=97)
    parts = [FactPart(n, tmp_path / f"{n}.parquet") for n in frames]
    rows = _in_memory("fact_attendance", frames)  # kept persons, in source and file order
    rows = rows[rows["attendance"] == "present"]
    day = rows["meeting_date"].dt.strftime("%Y-%m-%d")
    fact = "attendance|" + rows["branch_id"] + "|" + day
    expected = FrameFacts(pd.DataFrame({"person_key": rows["person_key"], "fact": fact}))
    looked_up = DuckFacts(con, fact_relation({"attendance": parts}, ["attendance"], "kept"), "f")
    targets = ["P1", "中", "P 4"]
    mine = looked_up.facts_of(targets)
    theirs = expected.facts_of(targets)
    for key in targets:  # each target's facts in the same order
        assert list(mine.loc[mine["person_key"] == key, "fact"]) == list(
            theirs.loc[theirs["person_key"] == key, "fact"]
        )
    wanted = sorted(set(theirs["fact"]))[:20]
    pairs = {tuple(r) for r in looked_up.holders(wanted)[["person_key", "fact"]].to_numpy()}
    assert pairs == {tuple(r) for r in expected.holders(wanted)[["person_key", "fact"]].to_numpy()}
    assert len(pairs) > len(wanted)
