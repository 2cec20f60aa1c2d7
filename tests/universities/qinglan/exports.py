"""青岚医科大学研究生院 — a second, independently shaped university, and its truth.

Written from how departments actually export (not from ``islandbridge/synth``; see
README.md in this folder for the sources of each shape):

* ``研究生党员花名册.xlsx`` — the graduate school party committee's roster: two title
  rows (the title, then 填报单位 / 填报日期); 支部编码 and 所在党支部 merged down each
  branch's block; ID numbers as text (a few typed into number cells, their last digits
  lost); 学号/工号 and 联系电话 in number cells; 出生年月, 申请入党时间 and 转正时间 to the
  month (``1998.05``, ``1998年5月``), 入党时间 to the month or as a real date cell; ``—``
  and ``无`` where the form says fill every box; some 出生年月 typed into number cells
  (``1998.05``; October, ``1998.10``, becomes the number ``1998.1``); two-character
  names padded with a full-width space; members who transferred out hidden rather
  than deleted.
* ``签到表/<支部编码>.csv`` — each branch secretary's 三会一课 sign-in sheet, saved from
  Excel as GB18030 CSV: a title row, then 序号,姓名,学号（工号）,会议日期,会议类型,签到情况,
  备注; every member listed at every meeting with √ / 请假 / 缺席; 会议日期 as the sheet
  showed it — Excel serial numbers where the column was left "General", ``2025/3/6``,
  ``2025年3月6日`` or ``2025-03-06`` elsewhere; a few names with characters outside GBK.
* ``三会一课台账.csv`` — the party office's meeting ledger, UTF-8 with BOM.

:func:`write_university` writes them and returns the :class:`Truth`: every record's
key, the error injected into it (``clean`` if none), the reason codes that detect it,
and its true values.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

__all__ = ["AS_OF", "BRANCHES", "ROSTER_FILE", "Truth", "write_university"]

AS_OF = date(2025, 12, 31)
ROSTER_FILE = "研究生党员花名册.xlsx"
LEDGER_FILE = "三会一课台账.csv"
SIGNIN_DIR = "签到表"

#: 组织编码 → (支部名称, 培养单位, how its secretary's sheet writes dates)
BRANCHES: dict[str, tuple[str, str, str]] = {
    "043201100101": ("基础医学院研究生第一党支部", "基础医学院", "serial"),
    "043201100102": ("临床医学院研究生第一党支部", "临床医学院", "slash"),
    "043201100103": ("临床医学院研究生第二党支部", "临床医学院", "chinese"),
    "043201100104": ("公共卫生学院研究生党支部", "公共卫生学院", "serial"),
    "043201100105": ("药学院研究生党支部", "药学院", "iso"),
}
MEMBERS_PER_BRANCH = 60

# Regions: real GB/T 2260 county-level codes
_REGIONS = (
    "110105", "110108", "120104", "130102", "140105", "210102", "220104", "230103",
    "310104", "320102", "320506", "330106", "340104", "350203", "360111", "370102",
    "410105", "420111", "430104", "440106", "450103", "500107", "510107", "530102",
    "610113", "620102",
)  # fmt: skip
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鑫斌宇浩凯秀兰"
    "婷晨旭阳瑞欣怡佳琪子涵雨萱梓轩思远嘉懿博文昊然晓雪诗琪雅静俊杰天佑一鸣若曦"
)
#: given-name characters outside GBK (in GB18030): 䶮 (U+4DAE), 㛃 (U+36C3)
_RARE = "䶮㛃"
_MOBILE_PREFIXES = (
    "139", "138", "137", "136", "135", "150", "151", "152", "158", "159", "182", "183",
    "187", "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "177",
    "180", "181", "189", "199",
)  # fmt: skip
_ETHNIC = ("汉族",) * 17 + ("回族", "满族", "壮族", "蒙古族")
_MEETINGS = (
    # 会议类型 (as the branches write it) → canonical; months held in 2025
    ("支部党员大会", "branch_assembly", (3, 6, 9, 12)),
    ("党课", "party_lecture", (4, 7, 10, 11)),
    ("主题党日", "theme_day", (5, 8)),
)
_ATTENDANCE = {"√": "present", "请假": "leave", "缺席": "absent"}


def _check_digit(first17: str) -> str:
    """GB 11643-1999 (ISO 7064 MOD 11-2), written out here independently of ``domain``."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


def _months_after(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    return date(day.year + y, m + 1, 1)


def _serial(day: date) -> str:
    """Excel's 1900 date system (serial 1 = 1900-01-01, with its 1900-02-29)."""
    return str((day - date(1899, 12, 30)).days)


@dataclass
class Member:
    branch: str
    name: str
    gender: str  # M / F
    born: date
    id_number: str
    person_no: str
    person_type: str  # canonical
    mobile: str | None
    ethnicity: str
    applicant_on: date  # month
    probationary_on: date
    probationary_precision: str  # month / day
    full_on: date | None  # month
    status: str
    kind: str = "clean"
    row: int = 0


@dataclass
class Record:
    """One record of an export: its key, what was injected, what the truth is."""

    source: str
    record_key: str
    kind: str  # "clean", an injected error, or "cascade" (its person's roster row rejected)
    expect: frozenset[str]  # reason codes that detect the kind (empty for clean)
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class Truth:
    members: list[Member]
    records: list[Record]

    def by_source(self, source: str) -> dict[str, Record]:
        return {r.record_key: r for r in self.records if r.source == source}


#: injected error → the reason codes that detect it
ROSTER_ERRORS = {
    "bad_check_digit": frozenset({"id_check_digit"}),
    "id_as_number": frozenset({"id_precision_lost"}),
    "joined_under_18": frozenset({"joined_under_18"}),
    "status_order": frozenset({"status_order"}),
    "hidden_row": frozenset({"hidden_row"}),
    "month_as_number": frozenset({"birth_date:ambiguous_month"}),
}
SIGNIN_ERRORS = {
    "unknown_person": frozenset({"unknown_person"}),
    "no_meeting_signin": frozenset({"no_meeting_signin"}),
    "impossible_date": frozenset({"meeting_date:impossible_date"}),
    "unknown_attendance": frozenset({"attendance:unknown_value"}),
    "exact_duplicate": frozenset({"exact_duplicate"}),
    "future_date": frozenset({"future_date"}),
    "cascade": frozenset({"person_rejected_in_roster"}),
}
_ROSTER_COUNTS = {
    "bad_check_digit": 8,
    "id_as_number": 6,
    "joined_under_18": 5,
    "status_order": 5,
    "hidden_row": 3,
}


class _People:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ids: set[str] = set()
        self.numbers: set[str] = set()
        self.mobiles: set[str] = set()

    def name(self) -> str:
        rng = self.rng
        given = "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
        if rng.random() < 0.01:
            given = given[:1] + rng.choice(_RARE)
        return rng.choice(_SURNAMES) + given

    def id_number(self, born: date, gender: str) -> str:
        while True:
            seq = self.rng.randrange(0, 100) * 10 + self.rng.choice(
                (1, 3, 5, 7, 9) if gender == "M" else (0, 2, 4, 6, 8)
            )
            first17 = f"{self.rng.choice(_REGIONS)}{born:%Y%m%d}{seq:03d}"
            number = first17 + _check_digit(first17)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def person_no(self, student: bool, year: int, college: int) -> str:
        while True:
            if student:
                number = f"{year}{college:02d}{self.rng.randrange(1000, 9999)}"
            else:
                number = str(self.rng.randrange(198_000, 219_999))
            if number not in self.numbers:
                self.numbers.add(number)
                return number

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.mobiles:
                self.mobiles.add(number)
                return number


def _member(people: _People, branch: str, college: int, secretary: bool) -> Member:
    rng = people.rng
    gender = rng.choice("MF")
    if secretary:
        born = date(rng.randrange(1975, 1990), rng.randrange(1, 13), rng.randrange(1, 29))
        person_type, entered = "faculty", 0
    else:
        born = date(rng.randrange(1995, 2003), rng.randrange(1, 13), rng.randrange(1, 29))
        person_type, entered = "student", rng.choice((2022, 2023, 2024, 2025))
    # application between 18.5 and 22 years of age, probation 12-30 months later
    applicant = _months_after(born, rng.randrange(18 * 12 + 6, 22 * 12))
    probationary = _months_after(applicant, rng.randrange(12, 31))
    if probationary > date(2025, 6, 1):
        probationary = _months_after(applicant, 12)
    precision = "month"
    if rng.random() < 0.15:  # typed as a real date cell, to the day
        probationary = probationary.replace(day=rng.randrange(1, 29))
        precision = "day"
    full = _months_after(probationary.replace(day=1), rng.choice((12, 12, 12, 13, 18)))
    status = "full" if full <= date(2025, 11, 1) else "probationary"
    return Member(
        branch=branch,
        name=people.name(),
        gender=gender,
        born=born,
        id_number=people.id_number(born, gender),
        person_no=people.person_no(not secretary, entered, college),
        person_type=person_type,
        mobile=people.mobile() if rng.random() > 0.05 else None,
        ethnicity=rng.choice(_ETHNIC),
        applicant_on=applicant,
        probationary_on=probationary,
        probationary_precision=precision,
        full_on=full if status == "full" else None,
        status=status,
    )


def _month_text(day: date, rng: random.Random) -> str:
    return f"{day:%Y.%m}" if rng.random() < 0.6 else f"{day.year}年{day.month}月"


def _inject_roster(members: list[Member], rng: random.Random) -> None:
    pool = [m for m in members if m.person_type == "student" and not m.id_number.endswith("X")]
    rng.shuffle(pool)
    october = [m for m in pool if m.born.month == 10][:4]
    for m in october:  # 出生年月 1998.10 typed into a number cell: 1998.1
        m.kind = "month_as_number"
        pool.remove(m)
    for kind, count in _ROSTER_COUNTS.items():
        for m in [pool.pop() for _ in range(count)]:
            m.kind = kind
            if kind == "joined_under_18":  # probation at 17, application the year before
                m.probationary_on = _months_after(m.born, 17 * 12 + 1)
                m.probationary_precision = "month"
                m.applicant_on = _months_after(m.born, 16 * 12 + 2)
                m.full_on = _months_after(m.probationary_on, 12)
                m.status = "full"
            if kind == "status_order":  # full membership recorded before probation began
                m.probationary_on = m.probationary_on.replace(day=1)
                m.probationary_precision = "month"
                m.full_on = _months_after(m.probationary_on, -6)
                m.status = "full"


def _birth_cell(m: Member, rng: random.Random) -> object:
    """出生年月 as text, or typed into a number cell (``1998.05``; October: ``1998.1``)."""
    if m.kind == "month_as_number" or (m.born.month != 10 and rng.random() < 0.12):
        return float(f"{m.born.year}.{m.born.month:02d}")
    return _month_text(m.born, rng)


def _roster_id_cell(m: Member) -> object:
    if m.kind == "bad_check_digit":
        digits = "0123456789X".replace(m.id_number[17], "")
        return m.id_number[:17] + digits[int(m.id_number[16]) % len(digits)]
    if m.kind == "id_as_number" and m.id_number[-1] != "X":
        return float(m.id_number)  # typed into a number cell: 3.2050819560817152e+17
    if m.id_number.endswith("X") and len(m.name) == 3:
        return m.id_number[:17] + "x"  # typed in lower case
    return m.id_number


def _write_roster(folder: Path, members: list[Member], rng: random.Random) -> list[Record]:
    book = Workbook()
    sheet = book.active
    sheet.title = "研究生党员"
    header = [
        "序号", "支部编码", "所在党支部", "培养单位", "姓名", "性别", "民族", "出生年月",
        "身份证号码", "学号/工号", "人员类别", "党员类别", "申请入党时间", "入党时间",
        "转正时间", "联系电话", "备注",
    ]  # fmt: skip
    sheet.append(["青岚医科大学研究生党员花名册"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(["填报单位：研究生院党委（盖章）", None, None, None, None, None, None, None,
                  None, None, None, None, "填报日期：2025年12月20日"])  # fmt: skip
    sheet.append(header)
    records = []
    row = 4
    for code, (branch_name, college, _) in BRANCHES.items():
        block = [m for m in members if m.branch == code]
        first = row
        for number, m in enumerate(block, start=1):
            m.row = row
            name = m.name
            if len(name) == 2 and rng.random() < 0.5:
                name = name[0] + "\u3000" + name[1]  # aligned with a full-width space
            label = "教职工"
            if m.person_type == "student":
                label = "硕士研究生" if rng.random() < 0.75 else "博士研究生"
            values = [
                number,
                code if m.row == first else None,
                branch_name if m.row == first else None,
                college,
                name,
                "男" if m.gender == "M" else "女",
                m.ethnicity,
                _birth_cell(m, rng),
                _roster_id_cell(m),
                int(m.person_no),
                label,
                "正式党员" if m.status == "full" else "预备党员",
                _month_text(m.applicant_on, rng),
                m.probationary_on
                if m.probationary_precision == "day"
                else _month_text(m.probationary_on, rng),
                _month_text(m.full_on, rng) if m.full_on else "—",
                int(m.mobile) if m.mobile and rng.random() < 0.8 else (m.mobile or "无"),
                "已转出" if m.kind == "hidden_row" else None,
            ]
            sheet.append(values)
            if isinstance(values[13], date):
                sheet.cell(row=row, column=14).number_format = "yyyy/m/d"
            if m.kind == "hidden_row":
                sheet.row_dimensions[row].hidden = True
            records.append(
                Record(
                    "roster",
                    f"{ROSTER_FILE}:{row}",
                    m.kind,
                    ROSTER_ERRORS.get(m.kind, frozenset()),
                    {
                        "id_number": m.id_number,
                        "person_no": m.person_no,
                        "mobile": m.mobile,
                        "birth_date": (m.born.replace(day=1), "month"),
                        "applicant_on": (m.applicant_on, "month"),
                        "probationary_on": (m.probationary_on, m.probationary_precision),
                        "full_on": (m.full_on, "month") if m.full_on else None,
                        "branch_id": code,
                        "name": m.name,
                    },
                )
            )
            row += 1
        for column in (2, 3):  # 支部编码 and 所在党支部 merged down the branch's block
            sheet.merge_cells(
                start_row=first, start_column=column, end_row=row - 1, end_column=column
            )
    book.save(folder / ROSTER_FILE)
    return records


def _meetings(rng: random.Random) -> dict[str, list[tuple[date, str, str]]]:
    """Each branch's meetings of 2025: (day, 会议类型 as written, canonical type)."""
    out = {}
    for code in BRANCHES:
        held = []
        for written, canonical, months in _MEETINGS:
            for month in months:
                held.append((date(2025, month, rng.randrange(3, 27)), written, canonical))
        days = sorted({d for d, _, _ in held})
        assert len(days) == len(held), "one meeting a day per branch"
        out[code] = sorted(held)
    return out


def _write_ledger(folder: Path, meetings: dict[str, list[tuple[date, str, str]]]) -> list[Record]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["支部编码", "会议日期", "会议类型", "会议主题", "主持人"])
    records, line = [], 2
    for code, held in meetings.items():
        for day, written, canonical in held:
            writer.writerow(
                [code, day.isoformat(), written, "学习贯彻党的二十届四中全会精神", "支部书记"]
            )
            records.append(
                Record("meetings", f"{LEDGER_FILE}:{line}", "clean", frozenset(),
                       {"meeting_date": day, "meeting_type": canonical, "branch_id": code})
            )  # fmt: skip
            line += 1
    (folder / LEDGER_FILE).write_bytes(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    return records


def _date_text(day: date, style: str) -> str:
    if style == "serial":
        return _serial(day)
    if style == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    if style == "chinese":
        return f"{day.year}年{day.month}月{day.day}日"
    return day.isoformat()


def _write_signins(
    folder: Path,
    members: list[Member],
    meetings: dict[str, list[tuple[date, str, str]]],
    rng: random.Random,
    people: _People,
) -> list[Record]:
    (folder / SIGNIN_DIR).mkdir(exist_ok=True)
    rejected = {m.person_no for m in members if m.kind in ROSTER_ERRORS}
    records = []
    plan = {k: n for k, n in (("unknown_person", 10), ("no_meeting_signin", 8),
                              ("impossible_date", 4), ("unknown_attendance", 4),
                              ("exact_duplicate", 5), ("future_date", 3))}  # fmt: skip
    codes = list(BRANCHES)
    where = {k: [rng.choice(codes) for _ in range(n)] for k, n in plan.items()}
    # impossible dates only where dates are written as text
    where["impossible_date"] = [
        rng.choice([c for c in codes if BRANCHES[c][2] != "serial"]) for _ in range(4)
    ]
    for code, (branch_name, _, style) in BRANCHES.items():
        block = [m for m in members if m.branch == code and m.kind != "hidden_row"]
        held = meetings[code]
        held_days = {d for d, _, _ in held}
        rows: list[tuple[list[str], str, dict]] = []  # (cells, kind, truth)
        for day, written, canonical in held:
            for m in block:
                mark = rng.choices(list(_ATTENDANCE), weights=(85, 10, 5))[0]
                note = {"请假": "因病请假", "缺席": ""}.get(mark, "")
                kind = "cascade" if m.person_no in rejected else "clean"
                rows.append(
                    (
                        [m.name, m.person_no, _date_text(day, style), written, mark, note],
                        kind,
                        {"meeting_date": day, "meeting_type": canonical,
                         "attendance": _ATTENDANCE[mark], "person_no": m.person_no,
                         "id_number": m.id_number},
                    )
                )  # fmt: skip
        clean = [i for i, r in enumerate(rows) if r[1] == "clean"]
        rng.shuffle(clean)
        for kind in ("impossible_date", "unknown_attendance"):
            for _ in range(where[kind].count(code)):
                i = clean.pop()
                cells, _, truth = rows[i]
                if kind == "impossible_date":
                    day = truth["meeting_date"]
                    cells[2] = _date_text(date(day.year, 2, 28), style).replace("28", "30")
                else:
                    cells[4] = "迟到"
                rows[i] = (cells, kind, truth)
        extra: list[tuple[list[str], str, dict]] = []
        for _ in range(where["exact_duplicate"].count(code)):
            i = clean.pop()
            extra.append((list(rows[i][0]), "exact_duplicate", dict(rows[i][2])))
        for _ in range(where["unknown_person"].count(code)):
            day, written, _ = rng.choice(held)
            number = people.person_no(True, 2024, 9)
            extra.append(([people.name(), number, _date_text(day, style), written, "√", ""],
                          "unknown_person", {}))  # fmt: skip
        for _ in range(where["no_meeting_signin"].count(code)):
            m = rng.choice([m for m in block if m.person_no not in rejected])
            day = rng.choice(sorted(held_days)) + timedelta(days=rng.choice((1, 2, -1, -2)))
            while day in held_days:
                day += timedelta(days=1)
            extra.append(([m.name, m.person_no, _date_text(day, style), "党课", "√", ""],
                          "no_meeting_signin", {}))  # fmt: skip
        for _ in range(where["future_date"].count(code)):
            m = rng.choice([m for m in block if m.person_no not in rejected])
            day = date(2026, rng.randrange(1, 4), rng.randrange(1, 28))
            extra.append(([m.name, m.person_no, _date_text(day, style), "主题党日", "√", ""],
                          "future_date", {}))  # fmt: skip
        for item in extra:  # where a secretary would add them: anywhere in the sheet
            rows.insert(rng.randrange(len(rows) + 1), item)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([f"{branch_name}“三会一课”签到表", "", "", "", "", "", ""])
        writer.writerow(
            ["序号", "姓名", "学号（工号）", "会议日期", "会议类型", "签到情况", "备注"]
        )
        rel = f"{SIGNIN_DIR}/{code}.csv"
        for line, (cells, kind, truth) in enumerate(rows, start=3):
            writer.writerow([line - 2, *cells])
            records.append(
                Record("signins", f"{rel}:{line}", kind, SIGNIN_ERRORS.get(kind, frozenset()),
                       {**truth, "branch_id": code})
            )  # fmt: skip
        (folder / rel).write_bytes(buffer.getvalue().encode("gb18030"))
    return records


def write_university(folder: Path, *, seed: int = 2025) -> Truth:
    """Write the three departments' exports into ``folder`` (the sources folder); the truth."""
    rng = random.Random(seed)
    people = _People(rng)
    members = []
    for number, code in enumerate(BRANCHES, start=1):
        for i in range(MEMBERS_PER_BRANCH):
            members.append(_member(people, code, number, secretary=i == 0))
    _inject_roster(members, rng)
    folder.mkdir(parents=True, exist_ok=True)
    records = _write_roster(folder, members, rng)
    meetings = _meetings(rng)
    records += _write_ledger(folder, meetings)
    records += _write_signins(folder, members, meetings, rng, people)
    return Truth(members=members, records=records)
