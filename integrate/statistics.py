"""The statistics tier: tables computed from the full-detail pseudonymised data, before
any generalisation, and protected as statistics.

* ``stat_branch_age_status`` — members by branch × age band × status, with the
  margins (per age band, per status, the branch total: ``all``);
* ``stat_branch_joined`` — members who joined, by branch × years since joining, with
  the branch margin;
* ``stat_participation_age`` — participation by college × age band: members with an
  attendance record, records, records marked present, with the college margin.

Protection (``StatisticsConfig``): by default small cells (0 < n < threshold) are
suppressed with complementary suppression over every relation the tables publish —
each margin is the sum of its cells, the joined margin is the sum of the
probationary and full members (:mod:`anonymize.small_cells`); the branch total is
published elsewhere (``dim_branch``) and is never hidden. With a budget
(``epsilon``), the cells are released with differential privacy through OpenDP
(:mod:`anonymize.dp_counts`) and margins are sums of the noisy cells. Ages are taken
at ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "AGE_BANDS",
    "ALL",
    "JOINED_BANDS",
    "StatisticsTier",
    "attendance_counts",
    "statistics_tier",
]

ALL = "all"
AGE_BANDS = ("<25", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
JOINED_BANDS = ("0-4", "5-9", "10-19", "20-29", "30+")
_LADDER = ("applicant", "activist", "candidate", "probationary", "full")


@dataclass
class StatisticsTier:
    tables: dict[str, pd.DataFrame]
    #: the protection applied and its parameters (for the manifest)
    protection: dict[str, Any] = field(default_factory=dict)


def _age_band(birth: pd.Series, as_of: date) -> pd.Series:
    year = pd.to_numeric(birth.astype("string").str.slice(0, 4), errors="coerce")
    age = as_of.year - year
    bins = [-np.inf, 25, 35, 45, 55, 65, np.inf]
    band = pd.cut(age, bins=bins, right=False, labels=list(AGE_BANDS[:-1]))
    return band.astype("string").fillna("unknown")


def _joined_band(joined: pd.Series, as_of: date) -> pd.Series:
    year = pd.to_numeric(joined.astype("string"), errors="coerce")
    since = as_of.year - year
    band = pd.cut(since, bins=[-np.inf, 5, 10, 20, 30, np.inf], right=False, labels=JOINED_BANDS)
    return band.astype("string")


def _grid(frame: pd.DataFrame, keys: list[str], levels: list[list[str]]) -> pd.Series:
    index = pd.MultiIndex.from_product(levels, names=keys)
    return frame.groupby(keys).size().reindex(index, fill_value=0).astype(np.int64)


def _protect(
    counts: np.ndarray,
    relations: list[tuple[int, list[int]]],
    fixed: np.ndarray,
    threshold: int,
) -> np.ndarray:
    from anonymize.small_cells import suppress_small_cells

    return suppress_small_cells(counts, relations, threshold, fixed=fixed).suppressed


def statistics_tier(
    persons: pd.DataFrame,
    attendance: pd.DataFrame | None = None,
    *,
    as_of: date,
    threshold: int = 5,
    epsilon: float | None = None,
    max_records_per_person: int = 60,
    seed: int | None = None,
    per_person: pd.DataFrame | None = None,
) -> StatisticsTier:
    """The statistics tables from the full-detail person table (``person_key``,
    ``birth_date`` year, ``branch_id``, ``college``, ``status``, ``joined_year``) and the
    attendance facts (``person_key``, ``attendance``) — or, instead of the facts,
    ``per_person``: their counts per person (index ``person_key``; ``records`` present
    or absent, ``present``), as :func:`attendance_counts` makes them."""
    people = persons.assign(
        age_band=_age_band(persons["birth_date"], as_of),
        joined_band=_joined_band(persons.get("joined_year", pd.Series(dtype="string")), as_of)
        if "joined_year" in persons
        else pd.NA,
    )
    members = people[people["branch_id"].notna() & people["status"].isin(_LADDER)]
    branches = sorted(members["branch_id"].astype(str).unique())
    ages = list(AGE_BANDS)
    cube = _grid(members, ["branch_id", "age_band", "status"], [branches, ages, list(_LADDER)])
    joined = members[members["joined_band"].notna()]
    jgrid = _grid(joined, ["branch_id", "joined_band"], [branches, list(JOINED_BANDS)])
    if per_person is None:
        per_person = attendance_counts(attendance)
    per_person = per_person[["records", "present"]].clip(upper=max_records_per_person)
    attending = people.merge(per_person, left_on="person_key", right_index=True, how="inner")
    attending = attending[attending["college"].notna()]
    colleges = sorted(attending["college"].astype(str).unique())
    part = attending.groupby(["college", "age_band"])[["records", "present"]].sum()
    part["persons"] = attending.groupby(["college", "age_band"]).size()
    part = part.reindex(
        pd.MultiIndex.from_product([colleges, ages], names=["college", "age_band"]), fill_value=0
    ).astype(np.int64)
    if epsilon is None:
        tables = _suppressed(cube, jgrid, part, branches, colleges, ages, threshold)
        protection: dict[str, Any] = {
            "method": "small-cell suppression with complementary suppression",
            "threshold": threshold,
            "rule": f"cells with 0 < n < {threshold} suppressed; further cells suppressed "
            "until no suppressed cell is determined by the published relations",
        }
    else:
        tables, releases = _noised(cube, jgrid, part, epsilon, max_records_per_person, seed)
        protection = {
            "method": "differential privacy (OpenDP)",
            "epsilon_budget": epsilon,
            "epsilon_spent": round(sum(r["epsilon_spent"] for r in releases.values()), 9),
            "composition": "sequential over the releases; parallel within a release "
            "(each person in one cell)",
            "releases": releases,
            "max_records_per_person": max_records_per_person,
        }
    return StatisticsTier(tables=tables, protection=protection)


def attendance_counts(attendance: pd.DataFrame) -> pd.DataFrame:
    """Per person (index ``person_key``): attendance ``records`` marked present or
    absent, and how many of them ``present``."""
    att = attendance[attendance["attendance"].isin(["present", "absent"])]
    present = (att["attendance"] == "present").to_numpy(dtype=bool)
    return (
        att[["person_key"]]
        .assign(present=present.astype(np.int64))
        .groupby("person_key")["present"]
        .agg(records="size", present="sum")
    )


def _long(values: dict[tuple, int | None], keys: list[str], flags: dict[tuple, str], name: str):
    rows = [(*key, values[key], flags[key]) for key in values]
    frame = pd.DataFrame(rows, columns=[*keys, name, "protection"])
    return frame.astype({**dict.fromkeys(keys, "string"), name: "Int64", "protection": "string"})


def _suppressed(cube, jgrid, part, branches, colleges, ages, threshold):
    cube, jgrid = cube.to_dict(), jgrid.to_dict()  # a dict lookup per cell, not a MultiIndex
    cube_rows: dict[tuple, int | None] = {}
    cube_flags: dict[tuple, str] = {}
    j_rows: dict[tuple, int | None] = {}
    j_flags: dict[tuple, str] = {}
    for b in branches:
        cells: list[tuple[str, tuple]] = []
        values: list[int] = []

        def add(table: str, key: tuple, value: int, cells=cells, values=values) -> int:
            cells.append((table, key))
            values.append(int(value))
            return len(values) - 1

        inner = {(a, s): add("c", (b, a, s), cube[(b, a, s)]) for a in ages for s in _LADDER}
        by_age = {a: add("c", (b, a, ALL), sum(cube[(b, a, s)] for s in _LADDER)) for a in ages}
        by_status = {s: add("c", (b, ALL, s), sum(cube[(b, a, s)] for a in ages)) for s in _LADDER}
        total = add("c", (b, ALL, ALL), sum(cube[(b, a, s)] for a in ages for s in _LADDER))
        jin = {g: add("j", (b, g), jgrid[(b, g)]) for g in JOINED_BANDS}
        jtotal = add("j", (b, ALL), sum(jgrid[(b, g)] for g in JOINED_BANDS))
        relations: list[tuple[int, list[int]]] = [
            *[(by_age[a], [inner[(a, s)] for s in _LADDER]) for a in ages],
            *[(by_status[s], [inner[(a, s)] for a in ages]) for s in _LADDER],
            (total, list(by_age.values())),
            (total, list(by_status.values())),
            (jtotal, list(jin.values())),
            (jtotal, [by_status["probationary"], by_status["full"]]),
        ]
        fixed = np.zeros(len(values), dtype=bool)
        fixed[total] = True
        hidden = _protect(np.array(values), relations, fixed, threshold)
        for i, (table, key) in enumerate(cells):
            rows, flags = (cube_rows, cube_flags) if table == "c" else (j_rows, j_flags)
            rows[key] = None if hidden[i] else values[i]
            flags[key] = "suppressed" if hidden[i] else "published"
    p_rows: dict[tuple, list] = {}
    for c in colleges:
        cells_c = [(c, a) for a in ages]
        counts = [int(part.loc[(c, a), "persons"]) for a in ages]
        counts.append(sum(counts))
        relations = [(len(ages), list(range(len(ages))))]
        fixed = np.zeros(len(counts), dtype=bool)
        hidden = _protect(np.array(counts), relations, fixed, threshold)
        for i, key in enumerate([*cells_c, (c, ALL)]):
            if key[1] == ALL:
                rec = int(part.loc[c, "records"].sum())
                pres = int(part.loc[c, "present"].sum())
            else:
                rec, pres = int(part.loc[key, "records"]), int(part.loc[key, "present"])
            p_rows[key] = (
                [None, None, None, "suppressed"]
                if hidden[i]
                else [counts[i], rec, pres, "published"]
            )
    return {
        "stat_branch_age_status": _long(
            cube_rows, ["branch_id", "age_band", "status"], cube_flags, "members"
        ),
        "stat_branch_joined": _long(
            j_rows, ["branch_id", "years_since_joining"], j_flags, "members"
        ),
        "stat_participation_age": _participation(p_rows),
    }


def _participation(rows: dict[tuple, list]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [(*k, *v) for k, v in rows.items()],
        columns=["college", "age_band", "members", "records", "present", "protection"],
    )
    frame = frame.astype(
        {
            "college": "string",
            "age_band": "string",
            "members": "Int64",
            "records": "Int64",
            "present": "Int64",
            "protection": "string",
        }
    )
    rate = frame["present"].astype("Float64") / frame["records"].astype("Float64")
    frame["participation_rate"] = rate.where(frame["records"] > 0).round(4)
    return frame


def _noised(cube, jgrid, part, epsilon, max_records, seed):
    from anonymize.dp_counts import noisy_counts

    releases: dict[str, dict[str, Any]] = {}
    share = epsilon / 5.0

    def release(name: str, series: pd.Series, sensitivity: int, offset: int) -> pd.Series:
        noisy, facts = noisy_counts(
            series.to_numpy(),
            epsilon=share,
            sensitivity=sensitivity,
            seed=None if seed is None else seed + offset,
        )
        releases[name] = facts
        return pd.Series(noisy, index=series.index)

    c = release("stat_branch_age_status.members", cube, 1, 0)
    j = release("stat_branch_joined.members", jgrid, 1, 1)
    persons = release("stat_participation_age.members", part["persons"], 1, 2)
    records = release("stat_participation_age.records", part["records"], max_records, 3)
    present = release("stat_participation_age.present", part["present"], max_records, 4)

    def with_margins(s: pd.Series, keys: list[str]) -> pd.DataFrame:
        frame = s.rename("members").reset_index()
        parts = [frame]
        for i in range(1, len(keys)):
            for dims in ([keys[0], keys[i]], [keys[0]]):
                agg = frame.groupby(dims, as_index=False)["members"].sum()
                for other in keys:
                    if other not in dims:
                        agg[other] = ALL
                parts.append(agg[frame.columns])
        out = pd.concat(parts, ignore_index=True).drop_duplicates(keys)
        out["protection"] = "dp"
        return out.astype({**dict.fromkeys(keys, "string"), "members": "Int64"}).astype(
            {"protection": "string"}
        )

    cube_t = with_margins(
        c.rename_axis(["branch_id", "age_band", "status"]), ["branch_id", "age_band", "status"]
    )
    j_t = with_margins(
        j.rename_axis(["branch_id", "years_since_joining"]), ["branch_id", "years_since_joining"]
    )
    p = pd.DataFrame({"members": persons, "records": records, "present": present})
    p_all = p.groupby(level=0).sum()
    p_all.index = pd.MultiIndex.from_product([p_all.index, [ALL]], names=["college", "age_band"])
    p = pd.concat([p, p_all]).reset_index()
    p["protection"] = "dp"
    rows = {
        (r.college, r.age_band): [r.members, r.records, r.present, "dp"]
        for r in p.itertuples(index=False)
    }
    return {
        "stat_branch_age_status": cube_t,
        "stat_branch_joined": j_t,
        "stat_participation_age": _participation(rows),
    }, releases
