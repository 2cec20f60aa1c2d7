"""link_sources: what linkage does with each source follows its entity's role and the
configured rules (name threshold, probabilistic fallback); the configuration maps onto them."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from anonymize import bloom_column, clk_encode
from integrate.linkage_plan import FallbackRule, LinkageRules, link_sources
from islandbridge.config import ConfigError, load_config
from islandbridge.stages.link import linkage_rules

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


def _roster() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": "roster",
            "record_key": ["t:1", "t:2", "t:3", "t:4"],
            "id_number_token": ["k1:id1", "k1:id2", "k1:id3", None],
            "student_no_token": ["k1:s1", "k1:s2", "k1:s3", "k1:s4"],
            "branch_id": ["b1", "b1", "b2", "b2"],
            "name_bloom": bloom_column(clk_encode(["张伟", "李秀英", "王芳", "赵六"], KEY)),
        }
    )


def _volunteer(names: tuple[str, ...] = ("张伟", "李秀英", "赵强")) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": "volunteer",
            "record_key": ["v:1", "v:2", "v:3"],
            # v:2 carries a number no roster knows, but 李秀英's name; v:3 is nobody
            "student_no_token": ["k1:s1", "k1:unknown", "k1:nobody"],
            "name_bloom": bloom_column(clk_encode(list(names), KEY)),
        }
    )


def _outcome(rules: LinkageRules, names=("张伟", "李秀英", "赵强")):
    out = link_sources(
        {"roster": ("member", _roster()), "volunteer": ("volunteer", _volunteer(names))}, rules
    )
    vol = out.sources["volunteer"]
    return (
        dict(zip(vol.linked["record_key"], vol.linked["link_method"], strict=True)),
        dict(zip(vol.quarantined["record_key"], vol.quarantined["reasons"], strict=True)),
    )


def test_without_fallback_an_unknown_number_is_quarantined():
    linked, rejected = _outcome(LinkageRules())
    assert linked == {"v:1": "student_no_token"}
    assert rejected == {"v:2": "unknown_person", "v:3": "unknown_person"}


def test_configured_fallback_links_on_the_name_encoding():
    rules = LinkageRules(fallback={"volunteer": FallbackRule(on=("name_bloom",), threshold=0.9)})
    linked, rejected = _outcome(rules)
    assert linked == {"v:1": "student_no_token", "v:2": "probabilistic"}
    assert rejected == {"v:3": "unknown_person"}


def test_name_threshold_decides_whether_a_key_hit_with_another_name_is_trusted():
    # v:1 carries 张伟's number but a wholly different name (a borrowed or mistyped number)
    names = ("孙悦", "李秀英", "赵强")
    linked, rejected = _outcome(LinkageRules(), names)
    assert "v:1" not in linked and rejected["v:1"] == "unknown_person"
    linked, _ = _outcome(LinkageRules(name_threshold=0.01), names)
    assert linked == {"v:1": "student_no_token"}


def test_no_name_check_when_configured_off():
    linked, _ = _outcome(LinkageRules(name_check=None), ("孙悦", "李秀英", "赵强"))
    assert linked == {"v:1": "student_no_token"}


def test_roster_rows_define_persons_and_every_row_ends_in_one_place():
    out = link_sources(
        {"roster": ("member", _roster()), "volunteer": ("volunteer", _volunteer())},
        LinkageRules(),
    )
    assert len(out.index.persons) == 3
    roster = out.sources["roster"]
    assert roster.linked["person_key"].notna().all() and len(roster.linked) == 3
    assert roster.quarantined["reasons"].tolist() == ["unknown_person"]  # no ID token
    for name, frame in (("roster", _roster()), ("volunteer", _volunteer())):
        counts = out.sources[name].counts()
        assert counts["in"] == len(frame) == counts["linked"] + counts["quarantined"]


def test_calendar_rows_are_passed_through_and_signins_checked_against_them():
    meetings = pd.DataFrame(
        {
            "source": "meetings",
            "record_key": ["m:1"],
            "branch_id": ["b1"],
            "meeting_type": ["branch_assembly"],
            "meeting_date": pd.to_datetime(["2026-05-10"]),
        }
    )
    signins = pd.DataFrame(
        {
            "source": "signins",
            "record_key": ["s:1", "s:2"],
            "branch_id": ["b1", "b1"],
            "meeting_type": ["branch_assembly", "branch_assembly"],
            "meeting_date": pd.to_datetime(["2026-05-10", "2026-05-11"]),
            "person_no_token": ["k1:s1", "k1:s2"],
            "attendance": ["present", "present"],
        }
    )
    out = link_sources(
        {
            "roster": ("member", _roster()),
            "meetings": ("meeting", meetings),
            "signins": ("attendance", signins),
        },
        LinkageRules(name_check=None),
    )
    assert out.sources["meetings"].linked["record_key"].tolist() == ["m:1"]
    assert out.sources["signins"].linked["record_key"].tolist() == ["s:1"]
    assert out.sources["signins"].quarantined["reasons"].tolist() == ["no_meeting_signin"]


def test_a_run_without_a_roster_is_refused():
    with pytest.raises(ValueError, match="no roster source"):
        link_sources({"volunteer": ("volunteer", _volunteer())})


def test_the_configuration_maps_onto_the_rules(tmp_path):
    config = tmp_path / "c.yaml"
    linkage = {"name_threshold": 0.7, "fallback": {"volunteer": {"threshold": 0.9}}}
    config.write_text(
        yaml.safe_dump({"university": "t", "linkage": linkage, "sources": SOURCES}), "utf-8"
    )
    rules = linkage_rules(load_config(config)[0].linkage)
    assert rules.name_threshold == 0.7 and rules.name_check == "name_bloom"
    assert rules.fallback["volunteer"] == FallbackRule(on=("name_bloom",), threshold=0.9)


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
