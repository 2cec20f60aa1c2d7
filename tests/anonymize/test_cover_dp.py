"""The DP steps of the branch × join-interval cover (anonymize/cover_dp.py) against brute
force on small cases, and classes of k rows or more only."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from anonymize.cover_dp import best_runs, college_profile, knapsack, profile_runs, split_rest


def _partitions(items: list[int]):
    """Every set partition of ``items``."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1 :]]
        yield [[first], *part]


def _brute(years: np.ndarray, cost: np.ndarray, k: int, width: int, budget: int) -> int:
    """Most rows in classes (any subsets) of >= k rows spanning <= width years, cost <= budget."""
    best = 0
    n = len(years)
    for used in itertools.product([0, 1], repeat=n):
        chosen = [i for i in range(n) if used[i]]
        if sum(cost[chosen]) > budget or len(chosen) <= best:
            continue
        for part in _partitions(chosen):
            if all(len(p) >= k and years[p].max() - years[p].min() + 1 <= width for p in part):
                best = len(chosen)
                break
    return best


def _cases(count: int, n: int):
    rng = np.random.default_rng(7)
    for _ in range(count):
        years = np.sort(rng.integers(2000, 2012, size=n))
        yield years, rng.integers(0, 2, size=n)


@pytest.mark.parametrize(("years", "cost"), list(_cases(8, 7)))
def test_branch_runs_are_the_brute_force_optimum(years, cost):
    runs = best_runs(years, 3, 4)
    assert sum(e - s for s, e in runs) == _brute(years, np.zeros(len(years), int), 3, 4, 0)
    for s, e in runs:  # a class below k or wider than the width is never produced
        assert e - s >= 3 and years[e - 1] - years[s] + 1 <= 4


@pytest.mark.parametrize(("years", "cost"), list(_cases(5, 7)))
@pytest.mark.parametrize("free", [False, True])
def test_college_profile_is_the_brute_force_optimum_at_every_budget(years, cost, free):
    """Exact where every orphan costs one room; with free orphans (branch lost anyway)
    the runs in (year, cost) order are a restriction: never better than brute force, and
    on some cases worse (2007, 2010, 2010 free around 2008, 2009 costly: a class of 3 at
    no cost that no run is), never invalid."""
    cost = cost if free else np.ones(len(years), dtype=np.int64)
    order = np.lexsort((cost, years))
    years, cost = years[order], cost[order]
    kept, choice = college_profile(years, cost, 3, 4)
    for budget in range(int(cost.sum()) + 1):
        best = int(max(kept[: budget + 1]))
        brute = _brute(years, cost, 3, 4, budget)
        assert best <= brute if free else best == brute
        runs = profile_runs(choice, cost, int(np.argmax(kept[: budget + 1])))
        assert sum(e - s for s, e in runs) == best
        assert sum(int(cost[s:e].sum()) for s, e in runs) <= budget
        assert all(e - s >= 3 and years[e - 1] - years[s] + 1 <= 4 for s, e in runs)


def test_overlapping_windows_share_a_year():
    # 3 rows of 2000, 4 of 2004, 3 of 2008, k = 5: two classes split 2004 (7-row runs
    # by year alone would keep only 0)
    years = np.array([2000] * 3 + [2004] * 4 + [2008] * 3)
    assert sum(e - s for s, e in best_runs(years, 5, 5)) == 10


def test_knapsack_is_the_brute_force_optimum():
    rng = np.random.default_rng(3)
    none = -(10**9)
    for _ in range(20):
        profiles = []
        for _ in range(3):
            prof = np.sort(rng.integers(0, 9, size=int(rng.integers(1, 5))))
            prof[rng.random(len(prof)) < 0.3] = none
            prof[0] = max(prof[0], 0)
            profiles.append(prof)
        budget = int(rng.integers(0, 7))
        spend = knapsack(profiles, budget)
        got = sum(int(p[c]) for p, c in zip(profiles, spend, strict=True))
        best = max(
            sum(int(p[c]) for p, c in zip(profiles, combo, strict=True))
            for combo in itertools.product(*(range(len(p)) for p in profiles))
            if sum(combo) <= budget and all(p[c] >= 0 for p, c in zip(profiles, combo, strict=True))
        )
        assert sum(spend) <= budget and all(p[c] >= 0 for p, c in zip(profiles, spend, strict=True))
        assert got == best


@pytest.mark.parametrize("seed", range(6))
def test_split_rest_parts_have_k_rows_and_cover_the_part(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    part = np.arange(100, 100 + n)
    births = rng.integers(1950, 2005, size=n).astype(float)
    births[rng.random(n) < 0.15] = np.nan
    pieces = split_rest(part, births, 5, 10)
    assert all(len(p) >= 5 for p in pieces)  # a class below k is never produced
    assert sorted(np.concatenate(pieces).tolist()) == part.tolist()


def test_split_rest_keeps_ages_together():
    # 6 born 1950-1953 and 6 born 1990-1993: two parts of one decade each
    births = np.array([1950, 1990, 1951, 1991, 1952, 1992, 1953, 1993, 1950, 1990, 1951, 1991.0])
    pieces = split_rest(np.arange(12), births, 5, 10)
    assert sorted(sorted(births[p].tolist()) for p in pieces) == [
        [1950, 1950, 1951, 1951, 1952, 1953],
        [1990, 1990, 1991, 1991, 1992, 1993],
    ]


def test_touching_runs_are_joined_where_the_width_allows():
    # the DP works on runs of k to 2k - 1 rows; 12 rows of 2000-2003 come back as one class
    years = np.array([2000] * 3 + [2001] * 3 + [2002] * 3 + [2003] * 3)
    assert best_runs(years, 5, 5) == [(0, 12)]
    # and not where it does not: 2000-2009, every row kept, no class wider than 5 years
    years = np.repeat(np.arange(2000, 2010), 2)
    runs = best_runs(years, 5, 5)
    assert sum(e - s for s, e in runs) == 20 and len(runs) >= 2
    assert all(e - s >= 5 and years[e - 1] - years[s] + 1 <= 5 for s, e in runs)
