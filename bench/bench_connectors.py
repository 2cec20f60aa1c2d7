"""Benchmark: department exports → canonical rows through the connectors, beside pyarrow.

    .venv/bin/python -m bench.run --only connectors --sizes 1000000

At ``size`` rows, in one process: a GBK sign-in sheet (the demo's ``branch_signins``
mapping) read by ``FileConnector`` in chunks and standardised; the same CSV read by
``pyarrow.csv.read_csv`` (after transcoding to UTF-8, which pyarrow needs; the
transcoding is timed apart); and a PostgreSQL table (the demo's ``student_roster``
mapping; created and dropped here) read by ``SqlConnector`` and standardised.
Rows are synthetic: computed ID numbers, random mobiles, names from a small list.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

log = logging.getLogger("bench.connectors")

PG_URL = os.environ.get(
    "ISLANDBRIDGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_HEADER = "支部名称,会议类型,会议日期,姓名,学号/工号,签到情况\n"
_TYPES = ("支部党员大会", "支部委员会", "党小组会", "党课", "主题党日")
_STATES = ("出席", "出席", "出席", "缺席", "请假")
_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞")


def _write_gbk_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="gbk", newline="") as fh:
        fh.write(_HEADER)
        for i in range(rows):
            day = i % 28 + 1
            date = (f"2026年5月{day}日", f"2026/5/{day}", f"202605{day:02d}")[i % 3]
            fh.write(
                f"第{i % 97}党支部,{_TYPES[i % 5]},{date},{_NAMES[i % 10]},"
                f"2022{i:07d},{_STATES[i % 5]}\n"
            )


def _source(name: str, **overrides: object):
    from connectors import SourceConfig
    from islandbridge.config import load_config

    config, _ = load_config(None)
    base = config.source(name).model_dump()
    base.update(overrides)
    return SourceConfig.model_validate(base)


def _through_connector(source, sources_dir: Path) -> tuple[int, float]:
    from connectors import ExtractContext, connector_for, standardise

    started = time.perf_counter()
    rows = 0
    for chunk in connector_for(source, ExtractContext(sources_dir=sources_dir)).read():
        rows += len(standardise(chunk.frame, source))
    return rows, time.perf_counter() - started


def _pg_table(url: str, table: str, rows: int) -> None:
    import psycopg
    import sqlalchemy as sa

    from domain import gb11643_check_digit

    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {table} (id bigint PRIMARY KEY, xh text, xm text, sfzh text, xb text,"
            " yxmc text, bjmc text, lxdh text, rxnf int)"
        )
        with cur.copy(f"COPY {table} FROM STDIN") as copy:
            for i in range(rows):
                body = f"110105{2000 + i % 8}{i % 12 + 1:02d}{i % 28 + 1:02d}{i % 1000:03d}"
                copy.write_row(
                    (i + 1, f"2022{i:07d}", _NAMES[i % 10], body + gb11643_check_digit(body),
                     "男" if i % 2 else "女", "计算机学院", f"2022级{i % 40}班",
                     f"13{i % 10}{i:08d}"[:11], 2022)
                )  # fmt: skip


def _pg_drop(url: str, table: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def bench_connectors(size: int, workdir: Path) -> dict[str, object]:
    """GBK CSV and PostgreSQL table → canonical rows, beside pyarrow's raw CSV read (rows/s)."""
    import pyarrow.csv as pacsv

    logging.basicConfig(level=logging.WARNING)
    sources = workdir / "sources"
    (sources / "signins").mkdir(parents=True)
    gbk = sources / "signins" / "02U0001.csv"
    _write_gbk_csv(gbk, size)

    started = time.perf_counter()
    utf8 = workdir / "signins.utf8.csv"
    with gbk.open(encoding="gb18030") as src, utf8.open("w", encoding="utf-8") as dst:
        while block := src.read(1 << 20):
            dst.write(block)
    transcode_s = time.perf_counter() - started
    started = time.perf_counter()
    table = pacsv.read_csv(utf8)
    arrow_s = time.perf_counter() - started
    assert table.num_rows == size

    signins = _source("branch_signins", signature={"required": False})
    csv_rows, csv_s = _through_connector(signins, sources)
    assert csv_rows == size

    out: dict[str, object] = {
        "pyarrow CSV rows/s": f"{size / arrow_s:,.0f}",
        "pyarrow + GBK→UTF-8 rows/s": f"{size / (arrow_s + transcode_s):,.0f}",
        "GBK CSV → canonical rows/s": f"{size / csv_s:,.0f}",
        "× pyarrow (CSV)": f"{arrow_s / csv_s:.3f}",
    }
    if not _reachable(PG_URL):
        log.warning("PostgreSQL not reachable; table benchmark skipped")
        out["PG table → canonical rows/s"] = "n/a (no server)"
        return out
    name = f"bench_xs_jbxx_{uuid.uuid4().hex[:8]}"
    _pg_table(PG_URL, name, size)
    try:
        roster = _source("student_roster", sql={"url": PG_URL, "table": name, "key_column": "id"})
        pg_rows, pg_s = _through_connector(roster, sources)
    finally:
        _pg_drop(PG_URL, name)
    assert pg_rows == size
    out["PG table → canonical rows/s"] = f"{size / pg_s:,.0f}"
    out["× pyarrow (PG)"] = f"{arrow_s / pg_s:.3f}"
    return out


def _reachable(url: str) -> bool:
    import socket

    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 2):
            return True
    except OSError:
        return False
