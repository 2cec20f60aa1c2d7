from __future__ import annotations

import json
import stat
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors import (
    Landing,
    SourceError,
    Watermark,
    WatermarkStore,
    commit_watermarks,
    extract_to_landing,
)


def _sql_source(make_source, url: str, *, name: str = "dept_roster", **sql):
    return make_source(
        name=name,
        connector="sql",
        file=None,
        entity="member",
        sql={"url": url, "key_column": "id", **sql},
        columns={"xh": "student_no", "xm": "name"},
        ignore_columns=["id", "updated_at"],
    )


def _insert(url: str, table: str, ids: range, *, create: bool = False) -> None:
    frame = pd.DataFrame(
        {
            "id": list(ids),
            "xh": [f"2022{i:05d}" for i in ids],
            "xm": ["张三"] * len(ids),
            # a department database's naive timestamp column
            "updated_at": [datetime(2026, 1, 1, 8, 0, i % 60) for i in ids],  # noqa: DTZ001
        }
    )
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        frame.to_sql(table, conn, if_exists="replace" if create else "append", index=False)
    engine.dispose()


def _drop(url: str, table: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def _keys(landing: Landing) -> list[str]:
    return list(pd.read_parquet(landing.path)["record_key"])


# --- the value type and the store ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (42, "int"),
        (2.5, "float"),
        (Decimal("12.50"), "decimal"),
        (datetime(2026, 3, 1, 8, 30, tzinfo=UTC), "datetime"),
        (pd.Timestamp("2026-03-01 08:30:00.123456"), "datetime"),
        (date(2026, 3, 1), "date"),
        ("2026-03-01T08:30:00", "str"),
    ],
)
def test_watermark_round_trips_its_value_and_type(value, kind):
    mark = Watermark.of("updated_at", value)
    assert mark.kind == kind
    again = Watermark.from_json(json.loads(json.dumps(mark.to_json())))
    expected = value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
    assert again.python() == expected


def test_watermark_rejects_boolean_and_unknown_kind():
    with pytest.raises(ValueError, match="boolean"):
        Watermark.of("flag", True)
    with pytest.raises(ValueError, match="unknown watermark kind"):
        Watermark("c", "uuid", "x")


def test_store_is_owner_only_atomic_and_keyed_by_source(tmp_path):
    store = WatermarkStore(tmp_path / "state")
    assert store.get("org_members") is None
    store.set("org_members", Watermark.of("id", 7))
    store.set("org_members", Watermark.of("id", 9))
    assert store.get("org_members") == Watermark("id", "int", "9")
    assert store.get("other") is None
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state" / "org_members.json").stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["org_members.json"]
    store.clear("org_members")
    assert store.get("org_members") is None


def test_store_refuses_a_source_name_that_is_not_a_file_name(tmp_path):
    with pytest.raises(ValueError, match="not usable as a file name"):
        WatermarkStore(tmp_path).set("../escape", Watermark.of("id", 1))


def test_commit_skips_landings_without_a_watermark(tmp_path):
    store = WatermarkStore(tmp_path)
    landings = [
        Landing("a", "d", "member", "a.parquet", 1, watermark=None),
        Landing("b", "d", "member", "b.parquet", 0, watermark={"column": "id", "value": None}),
        Landing(
            "c", "d", "member", "c.parquet", 2,
            watermark={"column": "id", "kind": "int", "value": "5", "previous": None},
        ),
    ]  # fmt: skip
    assert commit_watermarks(store, landings) == ["c"]
    assert store.get("c") == Watermark("id", "int", "5") and store.get("a") is None


# --- incremental extraction ----------------------------------------------------------------


def _incremental_cycle(make_source, ctx, url: str, table: str, tmp_path, column: str) -> None:
    """First run gets all; a failed run is repeated in full; a committed one only new rows."""
    ctx.watermarks = WatermarkStore(tmp_path / "state")
    source = _sql_source(make_source, url, table=table, watermark_column=column, chunk_rows=2)
    _insert(url, table, range(1, 6), create=True)

    first = extract_to_landing(
        source, ctx, tmp_path / "run1" / "rows.parquet", tmp_path / "run1" / "provenance.json"
    )
    assert first.rows == 5 and first.watermark["previous"] is None
    assert _keys(first) == [f"{table}:{i}" for i in range(1, 6)]
    assert ctx.watermarks.get(source.name) is None  # extraction never stores it

    # the run failed after extracting: nothing committed, the next run starts over
    again = extract_to_landing(
        source, ctx, tmp_path / "run2" / "rows.parquet", tmp_path / "run2" / "provenance.json"
    )
    assert again.rows == 5

    commit_watermarks(ctx.watermarks, [again])  # the run published
    _insert(url, table, range(6, 9))
    second = extract_to_landing(
        source, ctx, tmp_path / "run3" / "rows.parquet", tmp_path / "run3" / "provenance.json"
    )
    assert _keys(second) == [f"{table}:{i}" for i in range(6, 9)]
    assert second.watermark["previous"] == again.watermark["value"]

    commit_watermarks(ctx.watermarks, [second])
    nothing = extract_to_landing(
        source, ctx, tmp_path / "run4" / "rows.parquet", tmp_path / "run4" / "provenance.json"
    )
    assert nothing.rows == 0
    assert nothing.watermark["value"] == second.watermark["value"]  # stays where it was


def test_incremental_sqlite_integer_watermark(make_source, ctx, tmp_path):
    url = f"sqlite:///{tmp_path}/dept.sqlite"
    _incremental_cycle(make_source, ctx, url, "xs_jbxx", tmp_path, "id")


def test_incremental_sqlite_timestamp_watermark(make_source, ctx, tmp_path):
    url = f"sqlite:///{tmp_path}/dept.sqlite"
    _incremental_cycle(make_source, ctx, url, "xs_jbxx", tmp_path, "updated_at")


@pytest.mark.services
@pytest.mark.parametrize("server", ["pg_url", "mysql_url"])
@pytest.mark.parametrize("column", ["id", "updated_at"])
def test_incremental_real_servers(server, column, request, make_source, ctx, tmp_path):
    url = request.getfixturevalue(server)
    table = f"wm_test_{uuid.uuid4().hex[:8]}"
    try:
        _incremental_cycle(make_source, ctx, url, table, tmp_path, column)
    finally:
        _drop(url, table)


def test_incremental_query_is_filtered_with_a_bound_parameter(make_source, ctx, tmp_path):
    url = f"sqlite:///{tmp_path}/dept.sqlite"
    _insert(url, "xs_jbxx", range(1, 6), create=True)
    ctx.watermarks = WatermarkStore(tmp_path / "state")
    source = _sql_source(
        make_source, url, query="SELECT * FROM xs_jbxx;", key_prefix="xs", watermark_column="id"
    )
    ctx.watermarks.set("dept_roster", Watermark.of("id", 3))
    assert _keys(
        extract_to_landing(
            source, ctx, tmp_path / "l1" / "rows.parquet", tmp_path / "l1" / "provenance.json"
        )
    ) == ["xs:4", "xs:5"]
    # a value that would widen the query if it were spliced in is only ever compared
    ctx.watermarks.set("dept_roster", Watermark("id", "str", "0 OR 1=1"))
    assert (
        extract_to_landing(
            source, ctx, tmp_path / "l2" / "rows.parquet", tmp_path / "l2" / "provenance.json"
        ).rows
        == 0
    )


def test_watermark_on_another_column_means_a_full_extraction(make_source, ctx, tmp_path):
    url = f"sqlite:///{tmp_path}/dept.sqlite"
    _insert(url, "xs_jbxx", range(1, 4), create=True)
    ctx.watermarks = WatermarkStore(tmp_path / "state")
    ctx.watermarks.set("dept_roster", Watermark.of("updated_at", "2030-01-01"))
    source = _sql_source(make_source, url, table="xs_jbxx", watermark_column="id")
    assert (
        extract_to_landing(
            source, ctx, tmp_path / "l" / "rows.parquet", tmp_path / "l" / "provenance.json"
        ).rows
        == 3
    )


def test_missing_watermark_column_is_a_clear_error(make_source, ctx, tmp_path):
    url = f"sqlite:///{tmp_path}/dept.sqlite"
    _insert(url, "xs_jbxx", range(1, 3), create=True)
    source = _sql_source(make_source, url, table="xs_jbxx", watermark_column="changed_on")
    with pytest.raises(SourceError, match="table xs_jbxx"):
        extract_to_landing(
            source, ctx, tmp_path / "l" / "rows.parquet", tmp_path / "l" / "provenance.json"
        )
    assert list((tmp_path / "l").iterdir()) == []


def test_without_watermark_column_behaviour_is_unchanged(make_source, ctx, tmp_path):
    url = f"sqlite:///{tmp_path}/dept.sqlite"
    _insert(url, "xs_jbxx", range(1, 4), create=True)
    ctx.watermarks = WatermarkStore(tmp_path / "state")
    landing = extract_to_landing(
        _sql_source(make_source, url, table="xs_jbxx"),
        ctx,
        tmp_path / "l" / "rows.parquet",
        tmp_path / "l" / "provenance.json",
    )
    assert landing.rows == 3 and landing.watermark is None
    assert commit_watermarks(ctx.watermarks, [landing]) == []
    prov = json.loads((tmp_path / "l" / "provenance.json").read_text("utf-8"))
    assert prov["watermark"] is None
    assert Landing.from_json(prov).rows == 3
