"""The seven departmental sources as ``SourceFrame``s, with pollution injected.

Each builder draws the clean records from the ``Population``, then injects the
error classes that apply to that source (see docs/synthetic-university.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from islandbridge.synth.fmt import add_years, day
from islandbridge.synth.people import (
    FACULTY,
    RETIRED,
    STAFF,
    STUDENT,
    UNITS,
    Population,
    unique_ints,
)
from islandbridge.synth.pollution import (
    PollutionRates,
    SourceFrame,
    fullwidth,
    homophone_typo,
    near_duplicate_text,
    wrong_check_digit,
)
from islandbridge.synth.vocab import COURSES, VOLUNTEER_ACTIVITIES, NamePools

__all__ = [
    "Window",
    "build_finance",
    "build_hr",
    "build_learning",
    "build_org_dept",
    "build_signins",
    "build_student_affairs",
    "build_volunteer",
    "dues_cents",
]

ALL_MEETINGS = ("支部党员大会", "党小组会")  # probationary and full members
OPEN_MEETINGS = ("党课", "主题党日")  # everyone on the ladder
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Window:
    """The activity window: the ``months`` calendar months ending with ``as_of``'s month."""

    as_of: date
    months: int

    @property
    def end(self) -> np.datetime64:
        return day(self.as_of)

    @property
    def first_month(self) -> np.datetime64:
        return np.datetime64(self.as_of, "M") - (self.months - 1)

    @property
    def start(self) -> np.datetime64:
        return self.first_month.astype("M8[D]")

    @property
    def span(self) -> int:
        return int((self.end - self.start).astype(np.int64))

    def random_days(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.start + rng.integers(0, self.span + 1, n)

    def future_days(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.end + rng.integers(1, 91, n)


def _pid(rows: np.ndarray) -> np.ndarray:
    return rows.astype(np.int64) + 1


def _apply_text(frame: SourceFrame, col: str, rows: np.ndarray, fn) -> None:
    values = frame.cols[col]
    for r in rows.tolist():
        values[r] = fn(values[r], r)


def _near_duplicates(
    frame: SourceFrame,
    rng: np.random.Generator,
    rate: float,
    name_col: str,
    digit_cols: tuple[str, ...],
) -> None:
    """Extra copies of records, each with one field respelled (field recorded)."""
    rows = frame.pick(rng, rate)
    if not len(rows):
        return
    copies = frame.copy_rows(rows)
    choice = rng.integers(0, 2 + len(digit_cols), len(copies))
    for variant, field in enumerate((name_col, name_col, *digit_cols)):
        chosen = copies[choice == variant]
        if variant < 2:
            _apply_text(frame, field, chosen, lambda v, _r, k=variant: near_duplicate_text(v, k))
        else:
            _apply_text(frame, field, chosen, lambda v, _r: fullwidth(v))
        frame.label(chosen, "near_duplicate", field)


def _exact_duplicates(frame: SourceFrame, rng: np.random.Generator, rate: float) -> None:
    rows = frame.pick(rng, rate)
    frame.label(frame.copy_rows(rows), "exact_duplicate", None)


def _id_errors(
    frame: SourceFrame,
    rng: np.random.Generator,
    rates: PollutionRates,
    cols: dict[str, str],
) -> None:
    """bad_check_digit / id_birth_mismatch / id_gender_mismatch on a roster (cols: role → name)."""
    rows = frame.pick(rng, rates.bad_check_digit)
    ids = frame.cols[cols["id"]]
    shifts = rng.integers(0, 10, len(rows))
    for r, s in zip(rows.tolist(), shifts.tolist(), strict=True):
        ids[r] = wrong_check_digit(ids[r], s)
    frame.label(rows, "bad_check_digit", cols["id"])
    if "birth" in cols:
        rows = frame.pick(rng, rates.id_birth_mismatch)
        shift = rng.integers(1, 400, len(rows)) * rng.choice([-1, 1], len(rows))
        frame.cols[cols["birth"]][rows] = frame.cols[cols["birth"]][rows] + shift
        frame.label(rows, "id_birth_mismatch", cols["birth"])
    rows = frame.pick(rng, rates.id_gender_mismatch)
    genders = frame.cols[cols["gender"]]
    genders[rows] = np.where(genders[rows] == "男", "女", "男")
    frame.label(rows, "id_gender_mismatch", cols["gender"])


def _gender(pop: Population, rows: np.ndarray) -> np.ndarray:
    return np.where(pop.male[rows], "男", "女").astype(object)


def _person_no(pop: Population, rows: np.ndarray) -> np.ndarray:
    return np.where(pop.ptype[rows] == STUDENT, pop.student_no[rows], pop.staff_no[rows])


class FakePeople:
    """People on no roster: names, numbers and mobiles that no real person has."""

    def __init__(self, rng: np.random.Generator, pools: NamePools, pop: Population) -> None:
        self.rng = rng
        self.pools = pools
        self.pop = pop
        self._numbers = set(pop.student_no.tolist()) | set(pop.staff_no.tolist())
        self._mobiles = set(pop.mobile.tolist())
        years = pop.enrol_year[pop.enrol_year > 0]
        self._last_intake = int(years.max()) if len(years) else 2025

    def names(self, n: int) -> np.ndarray:
        rng, pools = self.rng, self.pools
        given = np.where(
            rng.random(n) < 0.5,
            rng.choice(pools.male_chars, n),
            rng.choice(pools.female_chars, n),
        )
        extra = np.where(rng.random(n) < 0.6, rng.choice(pools.female_chars, n), "")
        return np.char.add(np.char.add(rng.choice(pools.surnames, n), given), extra).astype(object)

    def numbers(self, n: int, student: np.ndarray) -> np.ndarray:
        out = np.empty(n, dtype=object)
        for i in range(n):
            while True:
                if student[i]:
                    code = UNITS[int(self.rng.integers(0, 20))].code
                    y = self._last_intake - int(self.rng.integers(0, 4))
                    value = f"{y}{code}{int(self.rng.integers(0, 100000)):05d}"
                else:
                    value = f"T{int(self.rng.integers(100000, 1000000))}"
                if value not in self._numbers:
                    self._numbers.add(value)
                    out[i] = value
                    break
        return out

    def mobiles(self, n: int) -> np.ndarray:
        out = np.empty(n, dtype=object)
        for i in range(n):
            while True:
                value = f"1{int(self.rng.integers(3, 10))}{int(self.rng.integers(0, 10**9)):09d}"
                if value not in self._mobiles:
                    self._mobiles.add(value)
                    out[i] = value
                    break
        return out


# --------------------------------------------------------------------------- org_dept


@dataclass(slots=True)
class OrgDept:
    members: SourceFrame
    history: SourceFrame
    meetings: SourceFrame
    member_row_of_history: np.ndarray  # row in members (before reorder) of each history row


def _meetings(rng: np.random.Generator, pop: Population, window: Window) -> SourceFrame:
    """Per branch and month: 支部委员会, 党小组会, 主题党日; quarterly 支部党员大会 and 党课."""
    nb = len(pop.branches.code)
    months = window.first_month + np.arange(window.months)
    month_no = (months.astype(np.int64) % 12) + 1
    branch, mtype, mdate = [], [], []
    for m, mn in zip(months, month_no, strict=True):
        types = [1, 2, 4]  # index into MEETING_TYPES
        if mn % 3 == 1:
            types.append(0)
        if mn % 3 == 2:
            types.append(3)
        days = np.argsort(rng.random((nb, 28)), axis=1)[:, : len(types)]
        dates = m.astype("M8[D]") + days
        for j, t in enumerate(types):
            branch.append(np.arange(nb))
            mtype.append(np.full(nb, t))
            mdate.append(dates[:, j])
    b, t, d = (np.concatenate(x) for x in (branch, mtype, mdate))
    keep = d <= window.end
    b, t, d = b[keep], t[keep], d[keep]
    order = np.lexsort((b, d))
    frame = SourceFrame(
        "org_dept", {"branch": b[order], "mtype": t[order], "date": d[order]}, np.full(len(b), -1)
    )
    return frame


def build_org_dept(
    rng: np.random.Generator, pop: Population, window: Window, rates: PollutionRates, as_of: date
) -> OrgDept:
    m = pop.n_members
    rows = np.arange(m)
    last_step = pop.steps[rows, pop.status[:m]]
    updated = (last_step.astype(np.int64) * SECONDS_PER_DAY) + rng.integers(8 * 3600, 18 * 3600, m)
    members = SourceFrame(
        "org_dept",
        {
            "sfzh": pop.id_number[:m].copy(),
            "xm": pop.name[:m].copy(),
            "xb": _gender(pop, rows),
            "mz": pop.ethnicity[:m].copy(),
            "csrq": pop.birth[:m].copy(),
            "sjhm": pop.mobile[:m].copy(),
            "rylb": np.array(["学生", "教师", "职工", "离退休"], dtype=object)[pop.ptype[:m]],
            "xh": np.where(pop.ptype[:m] == STUDENT, pop.student_no[:m], None),
            "gh": np.where(pop.ptype[:m] == STUDENT, None, pop.staff_no[:m]),
            "branch": pop.branch[:m].copy(),
            "dqzt": pop.status[:m].astype(np.int64),
            "updated": updated,
        },
        _pid(rows),
    )
    # status history: one row per step reached
    reached = ~np.isnat(pop.steps[:m])
    h_member, h_step = np.nonzero(reached)
    history = SourceFrame(
        "org_dept",
        {"status": h_step.astype(np.int64), "date": pop.steps[:m][reached].copy()},
        _pid(h_member),
    )
    # history pollution first: it needs members whose roster row is clean
    adult = add_years(pop.birth[:m], 18)
    applicant_rows = history.pick(rng, rates.applicant_under_18, history.cols["status"] == 0)
    young = adult[h_member[applicant_rows]] - rng.integers(30, 700, len(applicant_rows))
    history.cols["date"][applicant_rows] = young
    history.label(applicant_rows, "applicant_under_18", "step_date")
    # status_order: the last step of a member dated before the step preceding it
    touched = np.zeros(m, dtype=bool)
    touched[h_member[applicant_rows]] = True
    is_last = np.r_[h_member[1:] != h_member[:-1], True] & (h_step >= 1)
    rows_order = history.pick(rng, rates.status_order, is_last & ~touched[h_member])
    prev = pop.steps[h_member[rows_order], h_step[rows_order] - 1]
    history.cols["date"][rows_order] = prev - rng.integers(1, 91, len(rows_order))
    history.label(rows_order, "status_order", "step_date")

    _id_errors(members, rng, rates, {"id": "sfzh", "birth": "csrq", "gender": "xb"})
    _exact_duplicates(members, rng, rates.exact_duplicate)
    _near_duplicates(members, rng, rates.near_duplicate, "xm", ("sjhm",))
    return OrgDept(members, history, _meetings(rng, pop, window), h_member)


# --------------------------------------------------------------------------- rosters


def build_student_affairs(
    rng: np.random.Generator, pop: Population, rates: PollutionRates
) -> SourceFrame:
    rows = np.flatnonzero(pop.ptype == STUDENT)
    unit_names = np.array([u.name for u in UNITS], dtype=object)
    frame = SourceFrame(
        "student_affairs",
        {
            "xh": pop.student_no[rows],
            "xm": pop.name[rows],
            "sfzh": pop.id_number[rows],
            "xb": _gender(pop, rows),
            "yxmc": unit_names[pop.unit[rows]],
            "bjmc": pop.class_name[rows],
            "lxdh": pop.mobile[rows],
            "rxnf": pop.enrol_year[rows].astype(np.int64),
        },
        _pid(rows),
    )
    _id_errors(frame, rng, rates, {"id": "sfzh", "gender": "xb"})
    _exact_duplicates(frame, rng, rates.exact_duplicate)
    _near_duplicates(frame, rng, rates.near_duplicate, "xm", ("xh", "lxdh"))
    frame.reorder(rng.permutation(len(frame)))
    return frame


HR_COLUMNS = (
    "工号",
    "姓名",
    "性别",
    "身份证号码",
    "出生日期",
    "所在单位",
    "人员类别",
    "手机号码",
    "参加工作时间",
)


def build_hr(rng: np.random.Generator, pop: Population, rates: PollutionRates) -> SourceFrame:
    rows = np.flatnonzero(pop.ptype != STUDENT)
    unit_names = np.array([u.name for u in UNITS], dtype=object)
    category = np.array(["", "在职教师", "在职职工", "离退休"], dtype=object)
    frame = SourceFrame(
        "hr_staff",
        {
            "工号": pop.staff_no[rows],
            "姓名": pop.name[rows],
            "性别": _gender(pop, rows),
            "身份证号码": pop.id_number[rows],
            "出生日期": pop.birth[rows],
            "所在单位": unit_names[pop.unit[rows]],
            "人员类别": category[pop.ptype[rows]],
            "手机号码": pop.mobile[rows],
            "参加工作时间": pop.work_start[rows],
        },
        _pid(rows),
    )
    _id_errors(frame, rng, rates, {"id": "身份证号码", "birth": "出生日期", "gender": "性别"})
    _exact_duplicates(frame, rng, rates.exact_duplicate)
    _near_duplicates(frame, rng, rates.near_duplicate, "姓名", ("手机号码", "工号"))
    frame.reorder(np.lexsort((rng.random(len(frame)), frame.cols["工号"].astype(str))))
    return frame


# --------------------------------------------------------------------------- activity


def _typos(frame: SourceFrame, rng: np.random.Generator, rate: float, col: str) -> None:
    names = frame.cols[col]
    candidates = frame.clean_rows() if rate > 0 else np.empty(0, dtype=np.int64)
    k = min(max(1, round(rate * len(frame))) if rate > 0 else 0, len(candidates))
    if not k:
        return
    # oversample, keep those whose name has a homophone
    pool = rng.permutation(candidates)
    chosen: list[int] = []
    for r in pool.tolist():
        typo = homophone_typo(names[r])
        if typo is not None:
            names[r] = typo
            chosen.append(r)
            if len(chosen) == k:
                break
    frame.label(np.sort(np.array(chosen, dtype=np.int64)), "name_typo", col)


def _name_and_number_of(fake: FakePeople) -> Callable[[SourceFrame, np.ndarray], None]:
    """Turn rows keyed by name + student/staff number into someone on no roster
    (a student number stays a student number)."""

    def set_person(f: SourceFrame, rows: np.ndarray) -> None:
        f.cols["name"][rows] = fake.names(len(rows))
        student = np.char.startswith(f.cols["number"][rows].astype(str), "20")
        f.cols["number"][rows] = fake.numbers(len(rows), student)

    return set_person


def _nonexistent(
    frame: SourceFrame,
    rng: np.random.Generator,
    rate: float,
    fake: FakePeople,
    set_person: Callable[[SourceFrame, np.ndarray], None],
) -> None:
    rows = frame.pick(rng, rate)
    copies = frame.copy_rows(rows)
    frame.person[copies] = -1
    set_person(frame, copies)
    frame.label(copies, "nonexistent_person", None)


def build_signins(
    rng: np.random.Generator,
    pop: Population,
    meetings: SourceFrame,
    window: Window,
    rates: PollutionRates,
    fake: FakePeople,
) -> SourceFrame:
    br = pop.branches
    mb = meetings.cols["branch"]
    sizes = br.size[mb]
    meeting_of = np.repeat(np.arange(len(mb)), sizes)
    offsets = np.arange(len(meeting_of)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    person = br.start[mb][meeting_of] + offsets
    mtype = meetings.cols["mtype"][meeting_of]
    mdate = meetings.cols["date"][meeting_of]
    applied = pop.steps[person, 0]
    probation = pop.steps[person, 3]
    is_party = ~np.isnat(probation) & (probation <= mdate)
    eligible = np.select(
        [mtype == 1, (mtype == 0) | (mtype == 2)],
        [pop.committee[person] & is_party, is_party],
        default=applied <= mdate,
    )
    meeting_of, person = meeting_of[eligible], person[eligible]
    n = len(person)
    attendance = rng.choice(3, size=n, p=[0.9, 0.04, 0.06]).astype(np.int8)
    frame = SourceFrame(
        "signins",
        {
            "branch": mb[meeting_of],
            "mtype": meetings.cols["mtype"][meeting_of],
            "date": meetings.cols["date"][meeting_of],
            "name": pop.name[person],
            "number": _person_no(pop, person),
            "att": attendance,
            "style": rng.integers(0, 3, n).astype(np.int8),
        },
        _pid(person),
    )
    del meeting_of, person, mtype, mdate, applied, probation, is_party, eligible
    rows = frame.pick(rng, rates.future_date)
    frame.cols["date"][rows] = window.future_days(rng, len(rows))
    frame.label(rows, "future_date", "会议日期")
    _typos(frame, rng, rates.name_typo, "name")
    # no_meeting_signin: a copy of a sign-in moved to a day its branch held no meeting
    rows = frame.pick(rng, rates.no_meeting_signin)
    copies = frame.copy_rows(rows)
    held = set(
        (meetings.cols["branch"] * 100_000 + meetings.cols["date"].astype(np.int64)).tolist()
    )
    new_dates = window.random_days(rng, len(copies))
    for i, r in enumerate(copies.tolist()):
        b = int(frame.cols["branch"][r])
        while b * 100_000 + int(new_dates[i].astype(np.int64)) in held:
            new_dates[i] = window.random_days(rng, 1)[0]
    frame.cols["date"][copies] = new_dates
    frame.label(copies, "no_meeting_signin", "会议日期")

    _nonexistent(frame, rng, rates.nonexistent_person, fake, _name_and_number_of(fake))
    _exact_duplicates(frame, rng, rates.exact_duplicate)
    _near_duplicates(frame, rng, rates.near_duplicate, "name", ("number",))
    frame.reorder(np.lexsort((rng.random(len(frame)), frame.cols["date"], frame.cols["branch"])))
    return frame


def build_volunteer(
    rng: np.random.Generator,
    pop: Population,
    window: Window,
    rates: PollutionRates,
    fake: FakePeople,
) -> SourceFrame:
    students = np.flatnonzero(pop.ptype == STUDENT)
    per = rng.poisson(np.where(pop.is_member[students], 1.2, 0.5))
    person = np.repeat(students, per)
    n = len(person)
    hours = rng.choice(np.arange(1, 17), size=n, p=_hour_weights())  # half hours
    frame = SourceFrame(
        "volunteer",
        {
            "xh": pop.student_no[person],
            "xm": pop.name[person],
            "hdmc": rng.integers(0, len(VOLUNTEER_ACTIVITIES), n),
            "fwrq": window.random_days(rng, n),
            "fwsc": hours.astype(np.int64),
        },
        _pid(person),
    )
    rows = frame.pick(rng, rates.future_date)
    frame.cols["fwrq"][rows] = window.future_days(rng, len(rows))
    frame.label(rows, "future_date", "fwrq")
    rows = frame.pick(rng, rates.impossible_hours)
    frame.cols["fwsc"][rows] = rng.integers(49, 145, len(rows))
    frame.label(rows, "impossible_hours", "fwsc")
    _typos(frame, rng, rates.name_typo, "xm")

    def fake_person(f: SourceFrame, rows: np.ndarray) -> None:
        f.cols["xm"][rows] = fake.names(len(rows))
        f.cols["xh"][rows] = fake.numbers(len(rows), np.ones(len(rows), dtype=bool))

    _nonexistent(frame, rng, rates.nonexistent_person, fake, fake_person)
    _exact_duplicates(frame, rng, rates.exact_duplicate)
    _near_duplicates(frame, rng, rates.near_duplicate, "xm", ("xh",))
    frame.reorder(np.lexsort((rng.random(len(frame)), frame.cols["fwrq"])))
    return frame


def _hour_weights() -> np.ndarray:
    w = np.array([2, 6, 6, 10, 6, 12, 4, 14, 3, 6, 2, 8, 1, 3, 1, 8], dtype=float)
    return w / w.sum()


def dues_cents(rng: np.random.Generator, pop: Population) -> np.ndarray:
    """Monthly dues per person, in fen (the rule is in docs/synthetic-university.md)."""
    n = pop.n
    income = np.select(
        [pop.ptype == FACULTY, pop.ptype == STAFF, pop.ptype == RETIRED],
        [
            np.exp(rng.normal(np.log(11000), 0.35, n)),
            np.exp(rng.normal(np.log(6500), 0.3, n)),
            np.exp(rng.normal(np.log(6000), 0.3, n)),
        ],
        default=0.0,
    ).round()
    working_rate = np.select(
        [income <= 3000, income <= 5000, income <= 10000], [0.005, 0.01, 0.015], 0.02
    )
    retired_rate = np.where(income <= 5000, 0.005, 0.01)
    rate = np.where(pop.ptype == RETIRED, retired_rate, working_rate)
    stipend = rng.integers(200, 401, n)  # postgraduate monthly stipend share, yuan
    student = np.where(pop.postgrad, np.round(stipend * 0.5), 20)
    return np.where(pop.ptype == STUDENT, student, np.round(income * 100 * rate)).astype(np.int64)


def build_finance(
    rng: np.random.Generator,
    pop: Population,
    window: Window,
    rates: PollutionRates,
    fake: FakePeople,
) -> SourceFrame:
    m = pop.n_members
    cents = dues_cents(rng, pop)
    months = window.first_month + np.arange(window.months)
    probation_month = pop.steps[:m, 3].astype("M8[M]")
    person_parts, month_parts = [], []
    for i, mo in enumerate(months):
        due = ~np.isnat(probation_month) & (probation_month <= mo)
        idx = np.flatnonzero(due)
        person_parts.append(idx)
        month_parts.append(np.full(len(idx), i))
    person = np.concatenate(person_parts)
    month_idx = np.concatenate(month_parts)
    del person_parts, month_parts
    n = len(person)
    late = rng.random(n) < 0.15  # paid in the first half of the next month
    paid = np.where(
        late,
        (months[month_idx] + 1).astype("M8[D]") + rng.integers(0, 15, n),
        months[month_idx].astype("M8[D]") + rng.integers(0, 28, n),
    )
    keep = (paid <= window.end) & (rng.random(n) < 0.96)
    person, month_idx, paid = person[keep], month_idx[keep], paid[keep]
    frame = SourceFrame(
        "finance_dues",
        {
            "number": _person_no(pop, person),
            "name": pop.name[person],
            "month": month_idx.astype(np.int64),
            "cents": cents[person],
            "paid": paid,
        },
        _pid(person),
    )
    rows = frame.pick(rng, rates.future_date)
    frame.cols["paid"][rows] = window.future_days(rng, len(rows))
    frame.label(rows, "future_date", "缴费日期")

    _nonexistent(frame, rng, rates.nonexistent_person, fake, _name_and_number_of(fake))
    _exact_duplicates(frame, rng, rates.exact_duplicate)
    _near_duplicates(frame, rng, rates.near_duplicate, "name", ("number",))
    frame.reorder(np.lexsort((rng.random(len(frame)), frame.cols["month"])))
    return frame


def build_learning(
    rng: np.random.Generator,
    pop: Population,
    window: Window,
    rates: PollutionRates,
    fake: FakePeople,
) -> SourceFrame:
    m = pop.n_members
    uid = unique_ints(rng, m, 10**7, 10**8 * 9)
    # most use their real name; the others 学员 + the last four digits of the mobile
    nickname = pop.name[:m].copy()
    alt = rng.random(m) >= 0.8
    nickname[alt] = np.array([f"学员{s[-4:]}" for s in pop.mobile[:m][alt].tolist()], dtype=object)
    per = rng.poisson(3.0, m)
    person = np.repeat(np.arange(m), per)
    n = len(person)
    start = window.start.astype(np.int64) * SECONDS_PER_DAY
    seconds = (
        start
        + rng.integers(0, window.span + 1, n) * SECONDS_PER_DAY
        + rng.integers(7 * 3600, 24 * 3600, n)
    )
    frame = SourceFrame(
        "learning",
        {
            "uid": np.char.add("U", uid[person].astype(str)).astype(object),
            "mobile": pop.mobile[person],
            "nickname": nickname[person],
            "course": rng.integers(0, len(COURSES), n),
            "minutes": rng.integers(10, 121, n),
            "score": rng.integers(600, 1001, n),  # tenths
            "finished": seconds,
        },
        _pid(person),
    )
    rows = frame.pick(rng, rates.future_date)
    future = window.future_days(rng, len(rows)).astype(np.int64) * SECONDS_PER_DAY
    frame.cols["finished"][rows] = future + rng.integers(7 * 3600, 24 * 3600, len(rows))
    frame.label(rows, "future_date", "finished_at")
    used_uids = set(frame.cols["uid"].tolist())

    def fake_person(f: SourceFrame, rows: np.ndarray) -> None:
        names = fake.names(len(rows))
        f.cols["nickname"][rows] = names
        f.cols["mobile"][rows] = fake.mobiles(len(rows))
        uids = []
        for _ in range(len(rows)):
            while True:
                value = f"U{int(rng.integers(10**7, 10**8 * 9))}"
                if value not in used_uids:
                    used_uids.add(value)
                    uids.append(value)
                    break
        f.cols["uid"][rows] = np.array(uids, dtype=object)

    _nonexistent(frame, rng, rates.nonexistent_person, fake, fake_person)
    _exact_duplicates(frame, rng, rates.exact_duplicate)
    _near_duplicates(frame, rng, rates.near_duplicate, "nickname", ("mobile",))
    frame.reorder(np.lexsort((rng.random(len(frame)), frame.cols["finished"])))
    return frame
