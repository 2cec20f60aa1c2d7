"""build_person_index + link_records: deterministic keys, name check, fallback, quarantine.

All tokens here are invented strings ("id:7", "no:7"); names are random characters.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from pypinyin import Style, lazy_pinyin

from anonymize import bloom_column, clk_encode
from integrate import (
    AMBIGUOUS_MATCH,
    UNKNOWN_PERSON,
    build_person_index,
    link_records,
    person_key_for,
)

KEY = b"test-linkage-key-not-a-real-one"


def _roster(ids, nos=None, mobiles=None, names=None, branches=None) -> pd.DataFrame:
    frame = pd.DataFrame({"source": "roster", "record_key": [f"r:{i}" for i in range(len(ids))]})
    frame["id_number_token"] = ids
    if nos is not None:
        frame["student_no_token"] = nos
    if mobiles is not None:
        frame["mobile_token"] = mobiles
    if names is not None:
        frame["name_bloom"] = bloom_column(clk_encode(names, KEY))
    if branches is not None:
        frame["branch_id"] = branches
    return frame


def _records(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({"source": "signins", "record_key": [f"s:{i}" for i in range(n)]})
    for name, values in columns.items():
        if name == "names":
            frame["name_bloom"] = bloom_column(clk_encode(values, KEY))
        else:
            frame[name] = values
    return frame


def test_person_key_is_derived_from_the_id_token_not_the_token_itself():
    index = build_person_index([_roster(["id:1"])])
    key = index.persons["person_key"].iloc[0]
    assert key == person_key_for("id:1") and key != "id:1" and key.startswith("P")


def test_links_sign_in_number_through_the_roster_crosswalk():
    students = _roster(["id:1", "id:2"], nos=["no:1", "no:2"])
    staff = _roster(["id:3"]).assign(staff_no_token=["no:3"])
    index = build_person_index([students, staff])
    result = link_records(_records(person_no_token=["no:2", "no:3", "no:1"]), index)
    assert result.linked["person_key"].tolist() == [
        person_key_for("id:2"),
        person_key_for("id:3"),
        person_key_for("id:1"),
    ]
    assert result.quarantined.empty
    assert set(result.linked["link_method"]) == {"person_no_token"}


def test_same_id_on_two_rosters_is_one_person():
    index = build_person_index(
        [_roster(["id:1"], nos=["no:1"]), _roster(["id:1"], mobiles=["m:1"])]
    )
    assert len(index) == 1
    result = link_records(_records(mobile_token=["m:1"]), index, keys=["mobile_token"])
    assert result.linked["person_key"].tolist() == [person_key_for("id:1")]


def test_unknown_token_is_quarantined_as_unknown_person():
    index = build_person_index([_roster(["id:1"], nos=["no:1"])])
    result = link_records(_records(person_no_token=["no:1", "no:999", None]), index)
    assert len(result.linked) == 1
    assert result.quarantined["reasons"].tolist() == [UNKNOWN_PERSON, UNKNOWN_PERSON]
    assert result.quarantined["record_key"].tolist() == ["s:1", "s:2"]


def test_token_shared_by_two_persons_is_ambiguous_match():
    index = build_person_index([_roster(["id:1", "id:2"], mobiles=["m:same", "m:same"])])
    result = link_records(_records(mobile_token=["m:same"]), index, keys=["mobile_token"])
    assert result.linked.empty
    assert result.quarantined["reasons"].tolist() == [AMBIGUOUS_MATCH]


def test_keys_leading_to_different_persons_are_ambiguous_match():
    index = build_person_index(
        [_roster(["id:1", "id:2"], nos=["no:1", "no:2"], mobiles=["m:1", "m:2"])]
    )
    frame = _records(person_no_token=["no:1", "no:1"], mobile_token=["m:2", "m:1"])
    result = link_records(frame, index, keys=["person_no_token", "mobile_token"])
    assert result.linked["record_key"].tolist() == ["s:1"]
    assert result.quarantined["reasons"].tolist() == [AMBIGUOUS_MATCH]


def test_name_check_rejects_a_borrowed_number_but_accepts_a_homophone_typo():
    index = build_person_index([_roster(["id:1"], nos=["no:1"], names=["张伟明"])])
    frame = _records(person_no_token=["no:1", "no:1"], names=["张为明", "李娜"])
    result = link_records(frame, index, name_check="name_bloom")
    assert result.linked["record_key"].tolist() == ["s:0"]
    assert result.linked["link_score"].iloc[0] >= 0.6
    assert result.quarantined["reasons"].tolist() == [UNKNOWN_PERSON]
    assert "name does not match" in result.quarantined["link_detail"].iloc[0]


def test_fallback_links_a_typo_number_by_name_within_the_branch():
    index = build_person_index(
        [
            _roster(
                ["id:1", "id:2"],
                nos=["no:1", "no:2"],
                names=["欧阳明华", "李娜"],
                branches=["B1", "B1"],
            )
        ]
    )
    frame = _records(person_no_token=["no:typo"], names=["欧阳明化"], branch_id=["B1"])
    plain = link_records(frame, index, name_check="name_bloom")
    assert plain.quarantined["reasons"].tolist() == [UNKNOWN_PERSON]
    result = link_records(
        frame, index, name_check="name_bloom", fallback_on="name_bloom", block_on="branch_id"
    )
    assert result.linked["person_key"].tolist() == [person_key_for("id:1")]
    assert result.linked["link_method"].tolist() == ["probabilistic"]


def test_fallback_quarantines_namesakes_in_one_branch_as_ambiguous():
    index = build_person_index(
        [
            _roster(
                ["id:1", "id:2"],
                nos=["no:1", "no:2"],
                names=["刘洋", "刘洋"],
                branches=["B1", "B1"],
            )
        ]
    )
    frame = _records(person_no_token=["no:typo"], names=["刘洋"], branch_id=["B1"])
    result = link_records(frame, index, fallback_on="name_bloom", block_on="branch_id")
    assert result.quarantined["reasons"].tolist() == [AMBIGUOUS_MATCH]


def test_fallback_does_not_cross_blocks():
    index = build_person_index(
        [_roster(["id:1"], nos=["no:1"], names=["欧阳明华"], branches=["B2"])]
    )
    frame = _records(person_no_token=["no:x"], names=["欧阳明华"], branch_id=["B1"])
    result = link_records(frame, index, fallback_on="name_bloom", block_on="branch_id")
    assert result.quarantined["reasons"].tolist() == [UNKNOWN_PERSON]


def test_unknown_key_column_is_refused_with_the_known_ones():
    index = build_person_index([_roster(["id:1"])])
    with pytest.raises(ValueError, match="known"):
        link_records(_records(xh=["1"]), index, keys=["xh"])
    with pytest.raises(ValueError, match="id_number_token"):
        build_person_index([pd.DataFrame({"student_no_token": ["no:1"]})])


# --- precision / recall on a small made-up university ---------------------------------------

_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文斌辉波宁"
    "鹏飞俊峰海燕雪梅琳晨旭东亮春晓慧佳欣怡婷宇浩然子轩博雅思嘉"
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋"
    "蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段"
)
_HOMOPHONE_POOL = (
    "为位威微维卫未味伟玮炜纬芳方放防房仿娜那纳拿敏民明名鸣铭静晶京经精景井"
    "丽力立利李理礼强墙蔷抢磊雷类泪垒军君均钧俊峻洋阳杨扬羊央勇永涌咏用"
)


def _homophones() -> dict[str, list[str]]:
    by_sound: dict[str, list[str]] = {}
    for c in set(_CHARS + _HOMOPHONE_POOL):
        by_sound.setdefault(lazy_pinyin(c, style=Style.NORMAL)[0], []).append(c)
    return {c: sorted(o for o in group if o != c) for group in by_sound.values() for c in group}


def _small_university(seed: int = 11, members: int = 600):
    rng = random.Random(seed)
    homophones = _homophones()
    names = [
        rng.choice(_SURNAMES) + "".join(rng.choice(_CHARS) for _ in range(rng.choice((1, 2, 2))))
        for _ in range(members)
    ]
    branches = [f"B{i % 30:02d}" for i in range(members)]
    roster = _roster(
        [f"id:{i}" for i in range(members)],
        nos=[f"no:{i}" for i in range(members)],
        mobiles=[f"m:{i}" for i in range(members)],
        names=names,
        branches=branches,
    )
    rows, truth = [], []
    for r in range(members * 4):
        p = rng.randrange(members)
        name, number = names[p], f"no:{p}"
        kind = rng.random()
        if kind < 0.05:  # homophone typo in the name: a true record
            chars = list(name)
            pos = rng.randrange(len(chars))
            if homophones.get(chars[pos]):
                chars[pos] = rng.choice(homophones[chars[pos]])
            name = "".join(chars)
        elif kind < 0.07:  # someone on no roster
            name = rng.choice(_SURNAMES) + rng.choice(_CHARS) + rng.choice(_CHARS)
            number, p = f"no:ghost{r}", None
        rows.append(
            {
                "record_key": f"s:{r}",
                "person_no_token": number,
                "name": name,
                "branch_id": branches[p] if p is not None else "B99",
            }
        )
        truth.append(person_key_for(f"id:{p}") if p is not None else None)
    frame = pd.DataFrame(rows)
    frame["name_bloom"] = bloom_column(clk_encode(frame.pop("name"), KEY))
    frame["source"] = "signins"
    return roster, frame, pd.Series(truth, index=frame["record_key"])


def test_precision_and_recall_at_least_0995_on_a_small_university():
    roster, frame, truth = _small_university()
    result = link_records(
        frame, build_person_index([roster]), keys=["person_no_token"], name_check="name_bloom"
    )
    predicted = result.linked.set_index("record_key")["person_key"]
    true_links = truth.dropna()
    correct = int((predicted == truth.reindex(predicted.index)).sum())
    precision = correct / len(predicted)
    recall = correct / len(true_links)
    assert precision >= 0.995 and recall >= 0.995, (precision, recall)
    assert len(result.linked) + len(result.quarantined) == len(frame)
    ghosts = truth[truth.isna()].index
    assert set(result.quarantined["record_key"]) >= set(ghosts)
    assert np.all(
        result.quarantined.set_index("record_key").loc[ghosts, "reasons"] == UNKNOWN_PERSON
    )


def test_fallback_refuses_to_compare_more_pairs_than_its_budget():
    from integrate.linkage import CandidateBudgetExceeded

    index = build_person_index(
        [_roster(["id:1", "id:2"], nos=["no:1", "no:2"], names=["欧阳明华", "李娜"])]
    )
    frame = _records(person_no_token=["no:x", "no:y"], names=["欧阳明化", "李娜"])
    with pytest.raises(CandidateBudgetExceeded, match="candidate budget of 3"):
        link_records(frame, index, fallback_on="name_bloom", candidate_budget=3)
    result = link_records(frame, index, fallback_on="name_bloom", candidate_budget=4)
    assert result.stats["linked_probabilistic"] == 2
