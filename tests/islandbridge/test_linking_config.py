"""The link stage follows the configured linkage: name threshold and probabilistic fallback."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from integrate import bloom_column, clk_encode
from islandbridge.config import ConfigError, load_config
from islandbridge.context import RunContext
from islandbridge.io import read_parquet, write_parquet
from islandbridge.linking import link_run

KEY = b"test-clk-key-0123456789abcdef0123"
SOURCES = [
    {
        "name": "roster",
        "department": "student_affairs",
        "entity": "member",
        "connector": "sql",
        "sql": {"url": "sqlite:///unused.sqlite", "table": "t", "key_column": "id"},
        "columns": {"xh": "student_no"},
    },
    {
        "name": "volunteer",
        "department": "youth_league",
        "entity": "volunteer",
        "connector": "http",
        "http": {"url_env": "UNUSED", "key_field": "id", "key_prefix": "v"},
        "columns": {"xh": "student_no"},
    },
]


def _context(
    tmp_path: Path, linkage: dict, activity_names: tuple[str, ...] = ("张伟", "李秀英", "赵强")
) -> RunContext:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "islandbridge.yaml"
    config.write_text(
        yaml.safe_dump({"university": "test", "linkage": linkage, "sources": SOURCES}),
        encoding="utf-8",
    )
    ctx = RunContext(tmp_path / "data", config, "link_test", date(2026, 7, 1))
    names = ["张伟", "李秀英", "王芳"]
    blooms = bloom_column(clk_encode(names, KEY))
    write_parquet(
        pd.DataFrame(
            {
                "source": "roster",
                "record_key": ["t:1", "t:2", "t:3"],
                "id_number_token": ["k1:id1", "k1:id2", "k1:id3"],
                "student_no_token": ["k1:s1", "k1:s2", "k1:s3"],
                "name_bloom": blooms,
            }
        ),
        ctx.zone("tokens") / "roster.parquet",
    )
    activity = bloom_column(clk_encode(list(activity_names), KEY))
    write_parquet(
        pd.DataFrame(
            {
                "source": "volunteer",
                "record_key": ["v:1", "v:2", "v:3"],
                # v:2 carries a number no roster knows, but 李秀英's name; v:3 is nobody
                "student_no_token": ["k1:s1", "k1:unknown", "k1:nobody"],
                "name_bloom": activity,
            }
        ),
        ctx.zone("tokens") / "volunteer.parquet",
    )
    return ctx


def _outcome(ctx: RunContext) -> tuple[dict[str, str], dict[str, str]]:
    link_run(ctx, ["roster", "volunteer"])
    linked = read_parquet(ctx.zone("linked") / "volunteer.parquet")
    rejected = read_parquet(ctx.zone("quarantine") / "volunteer.link.parquet")
    return (
        dict(zip(linked["record_key"], linked["link_method"], strict=True)),
        dict(zip(rejected["record_key"], rejected["reasons"], strict=True)),
    )


def test_without_fallback_an_unknown_number_is_quarantined(tmp_path):
    linked, rejected = _outcome(_context(tmp_path, {}))
    assert linked == {"v:1": "student_no_token"}
    assert rejected == {"v:2": "unknown_person", "v:3": "unknown_person"}


def test_configured_fallback_links_on_the_name_encoding(tmp_path):
    ctx = _context(tmp_path, {"fallback": {"volunteer": {"on": ["name_bloom"], "threshold": 0.9}}})
    linked, rejected = _outcome(ctx)
    assert linked == {"v:1": "student_no_token", "v:2": "probabilistic"}
    assert rejected == {"v:3": "unknown_person"}


def test_name_threshold_decides_whether_a_key_hit_with_another_name_is_trusted(tmp_path):
    # v:1 carries 张伟's number but a wholly different name (a borrowed or mistyped number)
    names = ("孙悦", "李秀英", "赵强")
    linked, rejected = _outcome(_context(tmp_path / "default", {}, names))
    assert "v:1" not in linked and rejected["v:1"] == "unknown_person"
    linked, _ = _outcome(_context(tmp_path / "lax", {"name_threshold": 0.01}, names))
    assert linked == {"v:1": "student_no_token"}


def test_fallback_for_an_unknown_source_fails_on_load(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(
        yaml.safe_dump(
            {"university": "t", "linkage": {"fallback": {"nope": {}}}, "sources": SOURCES}
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="unknown sources"):
        load_config(config)
