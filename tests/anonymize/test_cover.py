"""The exact choice of branch × join-interval classes (anonymize/cover.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pycanon import anonymity

from anonymize import PolicyError, recode_locally
from anonymize.cover import cover_classes, cover_pair
from anonymize.hierarchy import build_hierarchies
from anonymize.local_gate import _targets
from tests.anonymize.join_bounds import branch_peers_bound

INTERVAL5 = {"operator": "generalise", "params": {"to": "interval", "max_width": 5}}
LADDERS = {
    "joined_year": [INTERVAL5, {"operator": "generalise", "params": {"to": "band", "width": 10}}]
}
QIS = ["branch_id", "joined_year", "gender"]


def _members(seed: int = 5, branches: int = 12, per_branch: int = 30) -> pd.DataFrame:
    """Members of ``branches`` branches in 3 colleges; about a third joined, in years
    spread over 25 years (few peers per branch, as on the demo university)."""
    rng = np.random.default_rng(seed)
    rows = []
    for b in range(branches):
        for _ in range(per_branch):
            joined = rng.random() < 0.35
            rows.append(
                {
                    "college": f"C{b % 3}",
                    "branch_id": f"C{b % 3}-B{b}",
                    "joined_year": str(1995 + int(rng.integers(0, 25))) if joined else None,
                    "gender": "M" if rng.random() < 0.5 else "F",
                }
            )
    return pd.DataFrame(rows).astype("string")


def _cover(table: pd.DataFrame, branch_share: float, solver: str = "milp"):
    hs = build_hierarchies(table, QIS, LADDERS, {"branch_id": "college"})
    targets = {
        "branch_id": {"level": "value", "share": branch_share},
        "joined_year": {"level": "band 10", "share": 0.8},
    }
    wanted = _targets(hs, targets)
    return hs, cover_classes(
        hs, wanted, cover_pair(hs, wanted, "joined_year", "branch_id"), k=5, solver=solver
    )


@pytest.mark.parametrize("solver", ["milp", "dp"])
def test_with_no_room_the_cover_is_the_exact_branch_peer_optimum(solver):
    table = _members()
    _, cover = _cover(table, branch_share=1.0, solver=solver)
    assert cover is not None and (cover.optimal or solver == "dp")
    assert cover.rows_at_parent == 0
    assert cover.rows_kept == branch_peers_bound(table)


@pytest.mark.parametrize("solver", ["milp", "dp"])
def test_the_room_buys_college_classes_and_every_class_is_valid(solver):
    table = _members()
    members = int(table["branch_id"].notna().sum())
    _, cover = _cover(table, branch_share=0.9, solver=solver)
    room = members - int(np.ceil(0.9 * members))
    assert 0 < cover.rows_at_parent <= room
    assert cover.rows_kept > branch_peers_bound(table)
    years = table["joined_year"].astype("Int64")
    for rows, lv in cover.groups:
        part = table.iloc[rows]
        assert len(rows) >= 5
        if lv[1] == 1:  # a join-interval class: one branch (or college), <= 5 years
            scope = "college" if lv[0] == 1 else "branch_id"
            assert part[scope].nunique() == 1
            assert int(years.iloc[rows].max() - years.iloc[rows].min()) + 1 <= 5


def test_gate_with_within_keeps_k_and_more_join_intervals():
    table = _members(seed=11)
    targets = {
        "branch_id": {"level": "value", "share": 0.9},
        "joined_year": {"level": "band 10", "share": 0.8},
    }
    common = {
        "quasi_identifiers": QIS,
        "k": 5,
        "ladders": LADDERS,
        "nested": {"branch_id": "college"},
        "weights": {"branch_id": 20, "joined_year": 16, "gender": 0.2},
        "max_suppression_rate": 0.05,
        "baseline": False,
    }
    _, plain_report = recode_locally(table, **common, targets=targets)
    within = {**targets, "joined_year": {**targets["joined_year"], "within": "branch_id"}}
    gated, report = recode_locally(table, **common, targets=within)
    cols = [*QIS, "college"]
    assert anonymity.k_anonymity(gated[cols].astype(object).fillna("(none)"), cols) >= 5
    assert report.targets["branch_id"]["achieved"] >= 0.9
    got = report.coverage["joined_year"]["at_or_finer"][1]
    assert got >= plain_report.coverage["joined_year"]["at_or_finer"][1]


def test_within_must_name_a_nested_target_at_its_value():
    table = _members()
    with pytest.raises(PolicyError, match="within"):
        recode_locally(
            table,
            QIS,
            k=5,
            ladders=LADDERS,
            nested={"branch_id": "college"},
            targets={"joined_year": {"level": "band 10", "share": 0.8, "within": "gender"}},
        )


def test_mondrian_ignores_a_start_partition_below_k():
    from anonymize.mondrian import mondrian

    table = _members()
    hs = build_hierarchies(table, QIS, LADDERS, {"branch_id": "college"})
    tops = np.array([h.top for h in hs])
    lv = tops.copy()
    lv[0] = 0
    small = (np.arange(3), lv)  # 3 rows at their branch: not a class of k = 5
    res = mondrian(hs, k=5, start=[small])
    plain = mondrian(hs, k=5)
    assert (res.levels == plain.levels).all()
