"""The statistics tier: every published cell >= the threshold or DP-noised; no suppressed
cell recoverable from the published totals (checked by linear programming, scipy); DP
runs reproducible under a recorded seed (tests only) and their budget recorded."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from anonymize.small_cells import suppress_small_cells
from integrate.statistics import ALL, statistics_tier

AS_OF = date(2026, 6, 30)


def _demo_persons() -> pd.DataFrame:
    path = Path(__file__).parents[1] / "anonymize" / "test_local_gate.py"
    spec = importlib.util.spec_from_file_location("_local_gate_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.demo_persons()


@pytest.fixture(scope="module")
def persons() -> pd.DataFrame:
    return _demo_persons()


@pytest.fixture(scope="module")
def attendance(persons) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    members = persons[persons["branch_id"].notna()]["person_key"].to_numpy()
    who = rng.choice(members, 20000)
    return pd.DataFrame(
        {"person_key": who, "attendance": rng.choice(["present", "absent", "leave"], len(who))}
    )


@pytest.fixture(scope="module")
def tier(persons, attendance):
    return statistics_tier(persons, attendance, as_of=AS_OF, threshold=5)


def _bounds(published: dict, relations: list[tuple], unknown: list) -> dict:
    """LP bounds of every unknown cell given published cells and relations (x >= 0)."""
    col = {c: i for i, c in enumerate(unknown)}
    a_eq, b_eq = [], []
    for total, parts in relations:
        row = np.zeros(len(unknown))
        rhs = 0.0
        for sign, cells in ((-1, [total]), (1, parts)):
            for c in cells:
                if c in col:
                    row[col[c]] += sign
                else:
                    rhs -= sign * published[c]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    out = {}
    for c, i in col.items():
        objective = np.zeros(len(unknown))
        objective[i] = 1
        lo = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        out[c] = (lo.fun, -hi.fun)
    return out


def _branch_system(cube: pd.DataFrame, joined: pd.DataFrame, branch: str):
    c = cube[cube["branch_id"] == branch]
    j = joined[joined["branch_id"] == branch]
    value = {("c", r.age_band, r.status): r.members for r in c.itertuples()}
    value |= {("j", r.years_since_joining): r.members for r in j.itertuples()}
    ages = sorted({a for _, a, _ in [k for k in value if k[0] == "c"]} - {ALL})
    statuses = sorted({s for *_, s in [k for k in value if k[0] == "c"]} - {ALL})
    bands = sorted({k[1] for k in value if k[0] == "j"} - {ALL})
    relations = [(("c", a, ALL), [("c", a, s) for s in statuses]) for a in ages]
    relations += [(("c", ALL, s), [("c", a, s) for a in ages]) for s in statuses]
    relations += [(("c", ALL, ALL), [("c", a, ALL) for a in ages])]
    relations += [(("c", ALL, ALL), [("c", ALL, s) for s in statuses])]
    relations += [(("j", ALL), [("j", b) for b in bands])]
    relations += [(("j", ALL), [("c", ALL, "probationary"), ("c", ALL, "full")])]
    unknown = [k for k, v in value.items() if pd.isna(v)]
    published = {k: float(v) for k, v in value.items() if not pd.isna(v)}
    return published, relations, unknown


def test_every_published_cell_meets_the_threshold(tier):
    for name in ("stat_branch_age_status", "stat_branch_joined"):
        table = tier.tables[name]
        shown = table[table["protection"] == "published"]["members"]
        assert ((shown == 0) | (shown >= 5)).all(), name
        assert table.loc[table["protection"] == "suppressed", "members"].isna().all()
    part = tier.tables["stat_participation_age"]
    shown = part[part["protection"] == "published"]["members"]
    assert ((shown == 0) | (shown >= 5)).all()
    assert tier.protection["threshold"] == 5


def test_no_suppressed_cell_is_recoverable_from_the_published_totals(tier):
    cube, joined = tier.tables["stat_branch_age_status"], tier.tables["stat_branch_joined"]
    hidden = cube[cube["protection"] == "suppressed"]["branch_id"].unique()
    assert len(hidden) > 20
    for branch in list(hidden)[:25]:
        published, relations, unknown = _branch_system(cube, joined, branch)
        for cell, (lo, hi) in _bounds(published, relations, unknown).items():
            assert hi - lo >= 1 - 1e-9, (branch, cell, lo, hi)


def test_primary_suppression_alone_would_be_recoverable():
    """Known bad: without complementary suppression a small cell is worked out from its
    margin (the audit above can fail)."""
    counts = np.array([3, 7, 9, 19])  # a, b, c and their total
    relations = [(3, [0, 1, 2])]
    primary = (counts > 0) & (counts < 5)
    published = {i: float(counts[i]) for i in range(4) if not primary[i]}
    bounds = _bounds(published, relations, [i for i in range(4) if primary[i]])
    assert bounds[0] == pytest.approx((3, 3))
    protected = suppress_small_cells(counts, relations, 5).suppressed
    assert protected.sum() == 2 and protected[0] and protected[1]
    published = {i: float(counts[i]) for i in range(4) if not protected[i]}
    lo, hi = _bounds(published, relations, [i for i in range(4) if protected[i]])[0]
    assert hi - lo >= 1


def test_dp_release_is_reproducible_under_a_recorded_seed(persons, attendance):
    one = statistics_tier(persons, attendance, as_of=AS_OF, epsilon=1.0, seed=11)
    two = statistics_tier(persons, attendance, as_of=AS_OF, epsilon=1.0, seed=11)
    other = statistics_tier(persons, attendance, as_of=AS_OF, epsilon=1.0, seed=12)
    table = "stat_branch_age_status"
    pd.testing.assert_frame_equal(one.tables[table], two.tables[table])
    assert not one.tables[table].equals(other.tables[table])
    assert (one.tables[table]["protection"] == "dp").all()
    releases = one.protection["releases"]
    assert one.protection["epsilon_spent"] == pytest.approx(1.0)
    assert all("seed" in r and "tests only" in r["sampler"] for r in releases.values())


def test_dp_release_without_seed_goes_through_opendp(persons, attendance):
    tier = statistics_tier(persons, attendance, as_of=AS_OF, epsilon=2.0)
    releases = tier.protection["releases"]
    assert all(r["sampler"].startswith("opendp") and "seed" not in r for r in releases.values())
    assert tier.protection["epsilon_spent"] == pytest.approx(2.0)
    cube = tier.tables["stat_branch_age_status"]
    assert (cube["members"] >= 0).all()
