"""An incremental SQL source reads only rows past its watermark; the publication still
holds all of its rows (the earlier ones carried beside the new), and says so."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from domain import gb11643_check_digit

pytestmark = [pytest.mark.xdist_group("stages")]


def _incremental_config(config: Path, folder: Path) -> Path:
    shutil.copytree(config.parent, folder)
    path = folder / config.name
    text = path.read_text("utf-8")
    old = "      table: xs_jbxx\n      key_column: id\n"
    assert old in text
    path.write_text(text.replace(old, old + "      watermark_column: id\n"), "utf-8")
    return path


def _new_student(university: Path) -> None:
    """Student affairs enrols one more student (a new row past the watermark)."""
    with sqlite3.connect(university / "sources" / "student_affairs.sqlite") as con:
        columns = [c[1] for c in con.execute("PRAGMA table_info(xs_jbxx)")]
        first = con.execute("SELECT * FROM xs_jbxx LIMIT 1").fetchone()
        row = dict(zip(columns, first, strict=True))
        top = con.execute("SELECT max(id) FROM xs_jbxx").fetchone()[0]
        body = row["sfzh"][:14] + "987"
        row.update(
            id=top + 1,
            xh=f"{row['xh']}9",
            xm="新同学",
            sfzh=body + gb11643_check_digit(body),
            lxdh=None,
        )
        marks = ", ".join("?" for _ in columns)
        con.execute(
            f"INSERT INTO xs_jbxx ({', '.join(columns)}) VALUES ({marks})", list(row.values())
        )


def _roster(summary: dict) -> dict:
    return next(r for r in summary["sources"] if r["source"] == "student_roster")


def test_an_incremental_source_keeps_its_earlier_rows(installation, tmp_path):
    from islandbridge import stages

    config = _incremental_config(Path(installation["config"]), tmp_path / "config")
    # only student affairs is read in these runs; the other sources are carried over
    params = {**installation["params"], "config": str(config), "sources": ["student_roster"]}
    full = stages.run_inline(params, "inc_full")  # no watermark yet: read in full
    tables = full["published"]["tables"]
    accepted = _roster(full)["accepted"]

    again = stages.run_inline(params, "inc_nothing_new")  # nothing past the watermark
    roster = _roster(again)
    assert roster["in"] == roster["accepted"] == accepted  # all of them carried beside 0 new
    assert again["published"]["tables"] == tables and again["balanced"]

    _new_student(installation["data"] / "university")
    grown = stages.run_inline(params, "inc_one_new")
    roster = _roster(grown)
    assert roster["in"] == accepted + 1 and grown["balanced"]
    assert grown["published"]["tables"]["dim_person"] == tables["dim_person"] + 1
