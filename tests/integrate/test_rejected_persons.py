"""A record of a person whose roster row the quality gate rejected is told apart from a
record of a person on no roster, on tokens only."""

from __future__ import annotations

import pandas as pd

from integrate.record_linkage import AMBIGUOUS_MATCH, UNKNOWN_PERSON
from integrate.rejected_persons import (
    PERSON_REJECTED_IN_ROSTER,
    rejected_key_tokens,
    relabel_rejected_persons,
)


def _quarantined(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["record_key"] = [f"signins:{i}" for i in range(len(frame))]
    frame["reasons"] = frame["reasons"].astype("string")
    frame["link_detail"] = "no key token found"
    return frame


def test_keeps_only_domain_and_token_of_the_key_columns() -> None:
    tokens = pd.DataFrame(
        {
            "id_number_token": ["i1", None, "i1"],
            "student_no_token": ["s1", "s2", "s1"],
            "staff_no_token": [None, None, None],
            "name_token": ["n1", "n2", "n1"],
            "name_bloom": ["b", "b", "b"],
        }
    )
    pairs = rejected_key_tokens(tokens)
    assert list(pairs.columns) == ["domain", "token"]
    assert set(map(tuple, pairs.to_numpy())) == {
        ("id_number", "i1"),
        ("person_no", "s1"),
        ("person_no", "s2"),
    }


def test_relabels_an_unknown_person_whose_number_is_a_rejected_roster_rows() -> None:
    rejected = rejected_key_tokens(pd.DataFrame({"student_no_token": ["s-rejected"]}))
    quarantined = _quarantined(
        [
            {"person_no_token": "s-rejected", "reasons": UNKNOWN_PERSON},
            {"person_no_token": "s-nobody", "reasons": UNKNOWN_PERSON},
            {"person_no_token": "s-rejected", "reasons": AMBIGUOUS_MATCH},
        ]
    )
    out, count = relabel_rejected_persons(quarantined, [rejected])
    assert count == 1
    assert list(out["reasons"]) == [PERSON_REJECTED_IN_ROSTER, UNKNOWN_PERSON, AMBIGUOUS_MATCH]
    assert "rejected" in out["link_detail"].iloc[0]
    assert quarantined["reasons"].iloc[0] == UNKNOWN_PERSON, "the input is not changed"


def test_a_token_of_another_domain_does_not_match() -> None:
    rejected = rejected_key_tokens(pd.DataFrame({"mobile_token": ["t1"]}))
    quarantined = _quarantined([{"person_no_token": "t1", "reasons": UNKNOWN_PERSON}])
    out, count = relabel_rejected_persons(quarantined, [rejected])
    assert count == 0 and list(out["reasons"]) == [UNKNOWN_PERSON]


def test_nothing_rejected_changes_nothing() -> None:
    quarantined = _quarantined([{"person_no_token": "t1", "reasons": UNKNOWN_PERSON}])
    out, count = relabel_rejected_persons(quarantined, [rejected_key_tokens(pd.DataFrame())])
    assert count == 0 and out is quarantined
