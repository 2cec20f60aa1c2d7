"""A source split into partitions: read one after another, they give exactly the rows of
the whole source in its order; a partition whose plan no longer fits the source refuses."""

from __future__ import annotations

import uuid

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from connectors import (
    PartitionSettings,
    SignatureSpec,
    SourceError,
    connector_for,
    plan_partitions,
)
from connectors.partitions import _file_groups


def _read(source, ctx, part=None) -> pd.DataFrame:
    frames = [c.frame for c in connector_for(source, ctx, part).read()]
    return pd.concat(frames, ignore_index=True).astype("string")


def _in_parts(source, ctx, parts) -> pd.DataFrame:
    return pd.concat([_read(source, ctx, p) for p in parts], ignore_index=True)


def test_file_groups_are_consecutive_balanced_and_never_empty():
    assert _file_groups([10, 10, 10, 10], 2) == [(0, 2), (2, 4)]
    assert _file_groups([100, 1, 1, 1], 3) == [(0, 1), (1, 2), (2, 4)]
    assert _file_groups([1, 1, 1, 100], 3) == [(0, 2), (2, 3), (3, 4)]
    groups = _file_groups([5] * 7, 7)
    assert groups == [(i, i + 1) for i in range(7)]


def _csv_files(sources_dir, count: int) -> None:
    folder = sources_dir / "dues"
    folder.mkdir()
    for n in range(count):
        rows = [f"P{n}{i:03d},姓名{i},{100 + i},2025-01-0{1 + i % 9}" for i in range(20)]
        text = "人员编号,姓名,缴费金额,缴费日期\n" + "\n".join(rows) + "\n"
        (folder / f"{n:02d}.csv").write_text(text, encoding="utf-8")


def test_a_multi_file_source_splits_by_files_into_the_same_rows(make_source, ctx, sources_dir):
    _csv_files(sources_dir, 5)
    source = make_source(file={"path": "dues/*.csv", "format": "csv"})
    parts, note = plan_partitions(source, ctx, PartitionSettings(max_bytes=1500, max_parts=3))
    assert [p.kind for p in parts] == ["files"] * 3 and "3 groups" in note
    assert sum(len(p.files) for p in parts) == 5
    pd.testing.assert_frame_equal(_in_parts(source, ctx, parts), _read(source, ctx))
    small, why = plan_partitions(source, ctx, PartitionSettings(max_bytes=10**9))
    assert small == [] and "below" in why


def test_a_partition_refuses_when_the_files_changed_since_the_plan(make_source, ctx, sources_dir):
    _csv_files(sources_dir, 4)
    source = make_source(file={"path": "dues/*.csv", "format": "csv"})
    parts, _ = plan_partitions(source, ctx, PartitionSettings(max_bytes=100, max_parts=2))
    (sources_dir / "dues" / "09.csv").write_text((sources_dir / "dues" / "00.csv").read_text())
    with pytest.raises(SourceError, match="files changed since the run was planned"):
        _read(source, ctx, parts[1])  # the new file is in no partition: never silently lost


def test_a_single_parquet_file_splits_by_row_groups(make_source, ctx, sources_dir):
    frame = pd.DataFrame({"人员编号": [f"P{i}" for i in range(40)], "缴费金额": range(40)})
    frame["缴费金额"] = frame["缴费金额"].astype("Int64").mask(frame.index % 7 == 0)
    pq.write_table(pa.Table.from_pandas(frame), sources_dir / "dues.parquet", row_group_size=10)
    source = make_source(file={"path": "dues.parquet", "format": "parquet"})
    parts, _ = plan_partitions(source, ctx, PartitionSettings(max_rows=15, max_parts=8))
    assert [p.row_groups for p in parts] == [[0, 1], [1, 3], [3, 4]]  # ⌈40 / 15⌉ ranges
    whole = _read(source, ctx)
    pd.testing.assert_frame_equal(_in_parts(source, ctx, parts), whole)
    assert whole["record_key"].iloc[-1] == "dues.parquet:40"
    signed = source.model_copy(update={"signature": SignatureSpec(required=True)})
    none, why = plan_partitions(signed, ctx, PartitionSettings(max_rows=15))
    assert none == [] and "signed" in why  # a range would never match its signed row count


def test_single_csv_and_api_sources_are_read_whole(make_source, ctx, sources_dir):
    _csv_files(sources_dir, 1)
    source = make_source(file={"path": "dues/*.csv", "format": "csv"})
    parts, note = plan_partitions(source, ctx, PartitionSettings(max_bytes=1))
    assert parts == [] and "single csv" in note


def _member_source(make_source, url: str, table: str, **sql):
    return make_source(
        connector="sql",
        file=None,
        sql={"url": url, "key_column": "id", "table": table, **sql},
        entity="member",
        columns={"xh": "student_no", "xm": "name"},
        ignore_columns=["id"],
    )


@pytest.mark.services
@pytest.mark.parametrize("server", ["pg_url", "mysql_url"])
def test_a_table_splits_by_key_ranges_on_real_servers(server, request, make_source, ctx):
    url = request.getfixturevalue(server)
    table = f"part_test_{uuid.uuid4().hex[:8]}"
    ids = [*range(1, 30), 1000, 1001, 5000, None]  # uneven keys and one NULL key
    frame = pd.DataFrame(
        {"id": pd.array(ids, dtype="Int64"), "xh": [f"S{i}" for i in range(len(ids))]}
    ).assign(xm="张三")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        frame.to_sql(table, conn, index=False)
    try:
        source = _member_source(make_source, url, table)
        parts, _ = plan_partitions(source, ctx, PartitionSettings(max_rows=10, max_parts=4))
        assert [p.kind for p in parts] == ["keys"] * 4
        assert parts[0].key_low is None and parts[-1].key_high is None
        by_part = [_read(source, ctx, p) for p in parts]
        assert all(len(f) for f in by_part)  # equal-count ranges, none empty
        keys = [k for f in by_part for k in f["record_key"].fillna("NULL")]
        whole = _read(source, ctx)["record_key"].fillna("NULL")
        assert sorted(keys) == sorted(whole) and len(set(keys)) == len(keys)  # each row once
        assert by_part[0]["record_key"].isna().sum() == 1  # the NULL key: in the first
        incremental = _member_source(make_source, url, table, watermark_column="id")
        none, why = plan_partitions(incremental, ctx, PartitionSettings(max_rows=10))
        assert none == [] and "incremental" in why
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {table}"))
        engine.dispose()


def test_a_table_keyed_by_a_data_field_is_not_split(make_source, ctx, tmp_path):
    url = f"sqlite:///{tmp_path}/dept.sqlite"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        pd.DataFrame({"xh": [f"S{i}" for i in range(50)], "xm": "张三"}).to_sql("xs", conn)
    engine.dispose()
    by_number = make_source(
        connector="sql",
        file=None,
        sql={"url": url, "key_column": "xh", "table": "xs"},
        entity="member",
        columns={"xh": "student_no", "xm": "name"},
        ignore_columns=["index"],
    )
    parts, why = plan_partitions(by_number, ctx, PartitionSettings(max_rows=10))
    assert parts == [] and "mapped field" in why  # student numbers never go into the plan
    by_row = by_number.model_copy(
        update={"sql": by_number.sql.model_copy(update={"key_column": "index"})}
    )
    assert len(plan_partitions(by_row, ctx, PartitionSettings(max_rows=10))[0]) == 5
