"""Persons, their identifiers, the party branches and the membership ladder.

All columns are numpy arrays of one row per person (``Population``), built with
vectorised draws from a seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from domain.identifiers import gb11643_check_digit
from islandbridge.synth.fmt import add_years, day, ymd
from islandbridge.synth.vocab import (
    ACADEMIC_COLLEGES,
    ADMIN_UNIT,
    ETHNICITIES,
    MOBILE_PREFIXES,
    REGION_CODES,
    RETIREE_UNIT,
    NamePools,
)

__all__ = [
    "NONE",
    "PERSON_TYPES",
    "STUDENT",
    "Branches",
    "Population",
    "build_population",
    "unique_ints",
]

log = logging.getLogger(__name__)

STUDENT, FACULTY, STAFF, RETIRED = 0, 1, 2, 3
PERSON_TYPES: tuple[str, ...] = ("student", "faculty", "staff", "retired")
UNITS = (*ACADEMIC_COLLEGES, ADMIN_UNIT, RETIREE_UNIT)
ADMIN_IDX, RETIREE_IDX = len(ACADEMIC_COLLEGES), len(ACADEMIC_COLLEGES) + 1
NONE = np.datetime64("NaT", "D")
#: Branch kinds: (code letter, name pattern)
BRANCH_KINDS: tuple[tuple[str, str], ...] = (
    ("U", "{unit}本科生第{n}党支部"),
    ("G", "{unit}研究生第{n}党支部"),
    ("T", "{unit}教工第{n}党支部"),
    ("T", "机关第{n}党支部"),
    ("R", "离退休第{n}党支部"),
)


@dataclass(slots=True)
class Branches:
    code: np.ndarray  # str
    name: np.ndarray  # str
    unit: np.ndarray  # index into UNITS
    start: np.ndarray  # first member position (members are sorted by branch)
    size: np.ndarray


@dataclass(slots=True)
class Population:
    """Every real person; members first (sorted by branch), then non-members."""

    n_members: int
    ptype: np.ndarray  # int8, STUDENT..RETIRED
    male: np.ndarray  # bool
    birth: np.ndarray  # M8[D]
    id_number: np.ndarray  # str
    name: np.ndarray  # str
    mobile: np.ndarray  # str
    ethnicity: np.ndarray  # str
    unit: np.ndarray  # int index into UNITS
    student_no: np.ndarray  # str ('' when not a student)
    staff_no: np.ndarray  # str ('' for students)
    postgrad: np.ndarray  # bool
    enrol_year: np.ndarray  # int (0 for non-students)
    class_name: np.ndarray  # str
    work_start: np.ndarray  # M8[D] (NaT for students)
    branch: np.ndarray  # int index into Branches (-1 for non-members)
    steps: np.ndarray  # M8[D] (n, 5): date of each ladder step, NaT when not reached
    status: np.ndarray  # int8, -1 for non-members, else 0..4
    committee: np.ndarray  # bool: sits on the branch committee
    branches: Branches

    @property
    def n(self) -> int:
        return len(self.ptype)

    @property
    def is_member(self) -> np.ndarray:
        return self.status >= 0


def unique_ints(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """``n`` distinct integers in ``[low, high)`` in random order."""
    if high - low < n:
        raise ValueError("range too small for the requested distinct values")
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        draw = rng.integers(low, high, size=int((n - len(out)) * 1.1) + 16)
        merged = np.concatenate([out, draw])
        _, first = np.unique(merged, return_index=True)
        out = merged[np.sort(first)]
    return out[:n]


def _choice(rng: np.random.Generator, options: tuple, n: int, p: list[float]) -> np.ndarray:
    weights = np.asarray(p, dtype=float)
    return rng.choice(len(options), size=n, p=weights / weights.sum())


def _days_between(rng: np.random.Generator, low: np.ndarray, span: np.ndarray) -> np.ndarray:
    """``low + U[0, span]`` days, per element (``span`` is an int array, clipped at 0)."""
    span = np.maximum(np.asarray(span, dtype=np.int64), 0)
    return low + (rng.random(len(low)) * (span + 1)).astype(np.int64)


def _sept_first(years: np.ndarray) -> np.ndarray:
    """1 September of each year (1970 for a zero year)."""
    y = (np.maximum(years, 1970) - 1970).astype("M8[Y]")
    return (y.astype("M8[M]") + 8).astype("M8[D]")


def _names(rng: np.random.Generator, pools: NamePools, male: np.ndarray) -> np.ndarray:
    n = len(male)
    surname = rng.choice(pools.surnames, size=n)
    first_m, second_m = rng.choice(pools.male_chars, size=(2, n))
    first_f, second_f = rng.choice(pools.female_chars, size=(2, n))
    first = np.where(male, first_m, first_f)
    second = np.where(male, second_m, second_f)
    two_chars = rng.random(n) < 0.6
    given = np.where(two_chars, np.char.add(first, second), first)
    return np.char.add(surname, given).astype(object)


def _id_numbers(rng: np.random.Generator, birth: np.ndarray, male: np.ndarray) -> np.ndarray:
    n = len(birth)
    region = np.array(REGION_CODES)[rng.integers(0, len(REGION_CODES), n)].astype(np.int64)
    y, m, d = ymd(birth)
    stem = region * 10**8 + y * 10**4 + m * 100 + d  # 14 digits
    seq = rng.integers(0, 500, n) * 2 + male  # odd = male
    for _ in range(50):
        id17 = stem * 1000 + seq
        _, first = np.unique(id17, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 500, int(dup.sum())) * 2 + male[dup]
    else:  # pragma: no cover - needs ~500 people per region and birth day
        raise RuntimeError("could not draw unique ID numbers")
    id17_text = np.char.zfill((stem * 1000 + seq).astype(str), 17)
    checks = [gb11643_check_digit(s) for s in id17_text.tolist()]
    return np.char.add(id17_text, np.array(checks)).astype(object)


def _mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefixes = np.array(MOBILE_PREFIXES, dtype=np.int64)
    space = len(prefixes) * 10**8
    codes = unique_ints(rng, n, 0, space)
    numbers = prefixes[codes // 10**8] * 10**8 + codes % 10**8
    return numbers.astype(str).astype(object)


def _ladder(
    rng: np.random.Generator, ptype: np.ndarray, birth: np.ndarray, enrol: np.ndarray, as_of: date
) -> tuple[np.ndarray, np.ndarray]:
    """Step dates (n, 5) and status for members, obeying the ladder rules."""
    n = len(ptype)
    end = day(as_of)
    ceiling_p = {
        STUDENT: [0.33, 0.27, 0.12, 0.0, 0.28],
        FACULTY: [0.04, 0.04, 0.04, 0.0, 0.88],
        STAFF: [0.08, 0.08, 0.06, 0.0, 0.78],
        RETIRED: [0.0, 0.0, 0.0, 0.0, 1.0],
    }
    ceiling = np.zeros(n, dtype=np.int64)
    for t, p in ceiling_p.items():
        idx = np.flatnonzero(ptype == t)
        ceiling[idx] = _choice(rng, tuple(range(5)), len(idx), p)
    adult = add_years(birth, 18) + 1
    enrol_day = _sept_first(enrol)
    low = np.where(ptype == STUDENT, np.maximum(adult, enrol_day), adult)
    span_days = np.select([ptype == STUDENT, ptype == RETIRED], [540, 25 * 365], default=12 * 365)
    # keep room for the steps the person will reach
    room = (end - low).astype(np.int64)
    apply = _days_between(rng, low, np.minimum(span_days, room))
    steps = np.full((n, 5), NONE)
    steps[:, 0] = apply
    gaps = [(30, 240), (365, 540), (60, 200)]
    current = apply
    for k, (lo, hi) in enumerate(gaps, start=1):
        current = current + rng.integers(lo, hi + 1, n)
        steps[:, k] = current
    steps[:, 4] = add_years(steps[:, 3], 1)
    reached = np.zeros((n, 5), dtype=bool)
    reached[:, 0] = True
    for k in range(1, 5):
        reached[:, k] = reached[:, k - 1] & (ceiling >= k) & (steps[:, k] <= end)
    # a ceiling of 3 does not exist: the one-year probation always ends in full membership
    steps[~reached] = NONE
    status = reached.sum(axis=1).astype(np.int8) - 1
    return steps, status


def _assign_branches(
    rng: np.random.Generator, kind: np.ndarray, unit: np.ndarray, enrol: np.ndarray
) -> tuple[np.ndarray, Branches]:
    """Order members by (unit, kind, cohort) and cut them into branches of 20-40."""
    n = len(kind)
    order = np.lexsort((rng.random(n), enrol, kind, unit))
    branch_of = np.empty(n, dtype=np.int64)
    codes: list[str] = []
    names: list[str] = []
    units: list[int] = []
    sizes: list[int] = []
    keys = unit[order] * 10 + kind[order]
    bounds = np.flatnonzero(np.diff(keys)) + 1
    for group in np.split(np.arange(n), bounds):
        if not len(group):
            continue
        g_unit, g_kind = int(unit[order[group[0]]]), int(kind[order[group[0]]])
        cuts: list[int] = []
        total = 0
        while total < len(group):
            left = len(group) - total
            size = int(rng.integers(20, 41))
            if left <= 40:
                size = left
            elif left - size < 20:
                size = left - 20
            cuts.append(size)
            total += size
        letter, pattern = BRANCH_KINDS[g_kind]
        unit_meta = UNITS[g_unit]
        offset = 0
        for i, size in enumerate(cuts, start=1):
            branch_of[order[group[offset : offset + size]]] = len(codes)
            codes.append(f"{unit_meta.code}{letter}{i:04d}")
            names.append(pattern.format(unit=unit_meta.name, n=i))
            units.append(g_unit)
            sizes.append(size)
            offset += size
    size_arr = np.array(sizes, dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(size_arr)[:-1]])
    branches = Branches(
        code=np.array(codes, dtype=object),
        name=np.array(names, dtype=object),
        unit=np.array(units, dtype=np.int64),
        start=start,
        size=size_arr,
    )
    return branch_of, branches


def build_population(
    rng: np.random.Generator, pools: NamePools, members: int, as_of: date
) -> Population:
    """Draw every person, their identifiers, branch and ladder."""
    end = day(as_of)
    mix = np.array([0.75, 0.14, 0.06, 0.05])
    member_counts = np.floor(mix * members).astype(int)
    member_counts[0] += members - member_counts.sum()
    extra_students = round(0.3 * member_counts[0])
    hr_members = int(member_counts[1:].sum())
    extra_hr = np.floor(member_counts[1:] / max(hr_members, 1) * round(0.3 * hr_members))
    counts = np.concatenate([member_counts, [extra_students], extra_hr.astype(int)])
    ptype = np.repeat(np.array([0, 1, 2, 3, 0, 1, 2, 3], dtype=np.int8), counts)
    is_member = np.arange(len(ptype)) < members
    n = len(ptype)

    male = rng.random(n) < np.where(ptype == STUDENT, 0.5, 0.55)
    postgrad = (ptype == STUDENT) & (rng.random(n) < 0.18)
    last_intake = as_of.year if as_of >= date(as_of.year, 9, 1) else as_of.year - 1
    years_back = np.where(postgrad, rng.integers(0, 3, n), rng.integers(0, 4, n))
    enrol = np.where(ptype == STUDENT, last_intake - years_back, 0)
    enrol_day = _sept_first(enrol)
    age_at_enrol = np.where(postgrad, 22, 18)
    student_birth = add_years(enrol_day, -age_at_enrol) - rng.integers(1, 730, n)
    age_lo = np.select([ptype == FACULTY, ptype == STAFF, ptype == RETIRED], [28, 23, 60], 18)
    age_hi = np.select([ptype == FACULTY, ptype == STAFF, ptype == RETIRED], [60, 60, 88], 19)
    other_birth = add_years(np.full(n, end), -age_hi) + (
        rng.random(n) * ((age_hi - age_lo) * 365.25)
    ).astype(np.int64)
    birth = np.where(ptype == STUDENT, student_birth, other_birth)

    unit = rng.integers(0, len(ACADEMIC_COLLEGES), n)
    unit = np.where((ptype == STAFF) & (rng.random(n) < 0.4), ADMIN_IDX, unit)
    unit = np.where(ptype == RETIRED, RETIREE_IDX, unit)

    # branch kind: undergrad, postgrad, faculty/staff of a college, admin staff, retirees
    kind = np.select(
        [postgrad, ptype == STUDENT, unit == ADMIN_IDX, ptype == RETIRED], [1, 0, 3, 4], 2
    )
    m_idx = np.flatnonzero(is_member)
    branch_local, branches = _assign_branches(rng, kind[m_idx], unit[m_idx], enrol[m_idx])
    # put members in branch order, non-members after them
    member_order = np.argsort(branch_local, kind="stable")
    perm = np.concatenate([m_idx[member_order], np.flatnonzero(~is_member)])
    ptype, male, postgrad, enrol, birth, unit = (
        a[perm] for a in (ptype, male, postgrad, enrol, birth, unit)
    )
    branch = np.full(n, -1, dtype=np.int64)
    branch[:members] = branch_local[member_order]

    steps = np.full((n, 5), NONE)
    status = np.full(n, -1, dtype=np.int8)
    steps[:members], status[:members] = _ladder(
        rng, ptype[:members], birth[:members], enrol[:members], as_of
    )
    # committee: the first three full members of each branch
    full = status == 4
    rank = pd.Series(full.astype(np.int64)).groupby(branch).cumsum().to_numpy()
    committee = full & (rank <= 3) & (branch >= 0)

    names = _names(rng, pools, male)
    id_number = _id_numbers(rng, birth, male)
    mobile = _mobiles(rng, n)
    eth_names = tuple(e for e, _ in ETHNICITIES)
    ethnicity = np.array(eth_names, dtype=object)[
        _choice(rng, eth_names, n, [p for _, p in ETHNICITIES])
    ]

    student = ptype == STUDENT
    # student number: intake year + college code + serial within (year, college)
    serial = (
        pd.DataFrame({"y": enrol, "u": unit, "r": rng.random(n)})
        .sort_values("r")
        .groupby(["y", "u"])
        .cumcount()
        .sort_index()
        .to_numpy()
        + 1
    )
    unit_codes = np.array([u.code for u in UNITS], dtype=object)
    width = max(5, len(str(int(serial.max()))))
    student_no = np.where(
        student,
        enrol.astype(str).astype(object)
        + unit_codes[unit]
        + np.char.zfill(serial.astype(str), width).astype(object),
        "",
    ).astype(object)
    hr = ~student
    staff_width = max(6, len(str(int(hr.sum()) * 3)))
    staff_digits = unique_ints(rng, int(hr.sum()), 10 ** (staff_width - 1), 10**staff_width)
    letter = np.where(
        ptype[hr] == FACULTY, "T", np.where((ptype[hr] == RETIRED) & male[hr], "T", "S")
    ).astype(object)
    staff_no = np.full(n, "", dtype=object)
    staff_no[hr] = letter + staff_digits.astype(str).astype(object)

    abbr = np.array([u.abbr for u in UNITS], dtype=object)
    class_no = rng.integers(1, 9, n)
    class_name = np.where(
        student,
        abbr[unit]
        + np.where(postgrad, "研", "").astype(object)
        + np.char.zfill((enrol % 100).astype(str), 2).astype(object)
        + np.char.zfill(class_no.astype(str), 2).astype(object),
        "",
    ).astype(object)
    work_start = np.where(
        hr, _days_between(rng, add_years(birth, 22), np.full(n, 6 * 365)), NONE
    ).astype("M8[D]")
    work_start = np.where(hr & (work_start > end), end - 30, work_start)

    log.info("population: %d persons (%d members, %d branches)", n, members, len(branches.code))
    return Population(
        n_members=members,
        ptype=ptype,
        male=male,
        birth=birth,
        id_number=id_number,
        name=names,
        mobile=mobile,
        ethnicity=ethnicity,
        unit=unit,
        student_no=student_no,
        staff_no=staff_no,
        postgrad=postgrad,
        enrol_year=enrol,
        class_name=class_name,
        work_start=work_start,
        branch=branch,
        steps=steps,
        status=status,
        committee=committee,
        branches=branches,
    )
