"""The data dictionary: every published column's meaning, type, privacy treatment, source."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pyarrow as pa

__all__ = [
    "COLUMN_DOCS",
    "COLUMN_DOCS_ZH",
    "UNDOCUMENTED",
    "data_dictionary",
    "table_tier",
    "undocumented_columns",
]

#: the tier of a published table: how it may be used and how it is protected
TIERS = {
    "statistics": "statistics: computed before any generalisation; small cells suppressed "
    "with complementary suppression, or differentially private (see the manifest)",
    "microdata": "microdata: pseudonymised, person level behind the privacy gate; for "
    "authorised analysts",
    "aggregate": "aggregate: counts and rates per branch, from the gated microdata",
    "reference": "reference: organisational units and documentation",
}


def table_tier(table: str) -> str:
    """The tier of a published table (see :data:`TIERS`)."""
    if table.startswith("stat_"):
        return TIERS["statistics"]
    if table in ("dim_person", "inactive_members") or table.startswith("fact_"):
        return TIERS["microdata"]
    if table in ("indicator_branch_month", "branch_status"):
        return TIERS["aggregate"]
    return TIERS["reference"]


UNDOCUMENTED = "UNDOCUMENTED"

#: column → (meaning, privacy treatment, source)
COLUMN_DOCS: dict[str, tuple[str, str, str]] = {
    "person_key": (
        "pseudonymous person key",
        "pseudonymised: derived from the keyed HMAC token of the resident ID; "
        "re-identification only through the vault",
        "org_dept, student_affairs, hr_staff rosters (linkage)",
    ),
    "branch_id": ("party branch code", "none (organisational unit)", "org_dept.branches"),
    "branch_name": ("party branch name", "none (organisational unit)", "org_dept.branches"),
    "college": ("college (学院)", "quasi-identifier; generalised by the privacy gate", "rosters"),
    "person_type": (
        "student / faculty / staff / retired",
        "quasi-identifier; k-anonymity checked",
        "org_dept.members",
    ),
    "gender": ("gender M / F", "quasi-identifier; k-anonymity checked", "rosters"),
    "birth_year_band": (
        "birth year, or an interval of at most 10 years cut where the data allow "
        '("1991-1998"), a 5-year band, a decade, a 20-year band or *',
        "quasi-identifier; local recoding by the privacy gate (k-anonymity, checked)",
        "rosters",
    ),
    "status": (
        "membership status on the ladder (non_member: on a roster, on no step)",
        "sensitive; published only aggregated per branch, never per person",
        "org_dept",
    ),
    "joined_year_band": (
        "year of joining (becoming a probationary member): the year, an interval of at most "
        '5 years cut where the data allow ("2003-2007"), a 5-year band, a decade or *; '
        "empty: never joined",
        "quasi-identifier; local recoding by the privacy gate (k-anonymity, checked)",
        "org_dept.members (probationary_on)",
    ),
    "age_band": (
        "age band at the run's as_of date (all: the margin)",
        "statistics tier",
        "rosters",
    ),
    "years_since_joining": (
        "years since joining, banded (all: the margin)",
        "statistics tier",
        "org_dept.members (probationary_on)",
    ),
    "protection": (
        "how this row's numbers are protected: published, suppressed (small cell or "
        "complementary) or dp (differentially private noise)",
        "statistics tier",
        "derived",
    ),
    "records": ("attendance records, present or absent", "statistics tier", "signins"),
    "present": ("attendance records marked present", "statistics tier", "signins"),
    "participation_rate": ("present / records", "statistics tier", "derived"),
    "members": ("number of people (in the branch, or of the status)", "aggregate count", "rosters"),
    "meeting_type": ("三会一课 meeting type", "none", "signins, org_dept.meetings"),
    "meeting_date": ("date of the meeting", "none", "signins"),
    "attendance": ("present / absent / leave", "none", "signins"),
    "course_id": ("course identifier", "none", "learning"),
    "course_title": ("course title", "none", "learning"),
    "minutes": ("minutes studied", "none", "learning"),
    "score": ("score 0-100", "none", "learning"),
    "studied_on": ("date the course was completed", "none", "learning"),
    "activity": ("volunteer activity", "none", "volunteer"),
    "hours": ("hours served", "none", "volunteer"),
    "served_on": ("date served", "none", "volunteer"),
    "dues_month": ("month the dues are for (YYYY-MM)", "none", "finance_dues"),
    "amount_cents": ("amount paid, in fen", "none", "finance_dues"),
    "paid_on": ("date paid", "none", "finance_dues"),
    **{
        f"{date}_precision": (
            f"how precise {date} is where the source gave less than a day: month or year "
            f"({date} is then the first day of that period); empty: exact to the day",
            "none",
            "the department's export",
        )
        for date in ("meeting_date", "studied_on", "served_on", "paid_on")
    },
    "source": ("source system the row came from", "none (provenance)", "pipeline"),
    "month": ("calendar month (YYYY-MM)", "none", "derived"),
    "org_life_records": ("attendance records, present or absent", "aggregate", "derived"),
    "org_life_present": ("attendance records marked present", "aggregate", "derived"),
    "org_life_participation_rate": (
        "present / (present + absent); leave excluded",
        "aggregate",
        "derived",
    ),
    "study_members": ("members with at least one completed course", "aggregate", "derived"),
    "study_completion_rate": ("study_members / members", "aggregate", "derived"),
    "dues_on_time": ("members who paid the month's dues by its last day", "aggregate", "derived"),
    "dues_on_time_rate": ("dues_on_time / members", "aggregate", "derived"),
    "volunteer_hours": (
        "volunteer hours served in the month (NULL: no volunteer data that month)",
        "aggregate",
        "derived",
    ),
    "last_active_month": ("last month with any participation, or none", "generalised", "derived"),
}


_QI = "quasi-identifier; local recoding by the privacy gate (k-anonymity, checked)"
#: (table, column) → privacy treatment where a column is treated differently in one table
TABLE_PRIVACY: dict[tuple[str, str], str] = {
    ("dim_person", "branch_id"): _QI + "; * where only the college is published",
    ("dim_person", "college"): _QI + " (with the branch: a branch generalises to its college)",
    ("dim_person", "gender"): _QI,
    ("dim_person", "person_type"): _QI + " (student / staff)",
}

#: column → its meaning in Chinese (``meaning_zh``; ``meaning`` is the English)
COLUMN_DOCS_ZH: dict[str, str] = {
    "person_key": "人员假名键（由身份证号的带密钥令牌派生，仅可经加密库重识别）",
    "branch_id": "党支部代码",
    "branch_name": "党支部名称",
    "college": "学院",
    "person_type": "人员类别：学生 / 教师 / 职工 / 离退休",
    "gender": "性别 M / F",
    "birth_year_band": "出生年份段（已泛化）",
    "status": "发展阶段（non_member：在名册上但不在任何阶段）",
    "joined_year_band": "入党年份段（已泛化；空表示未入党）",
    "age_band": "按运行基准日计算的年龄段（all 表示合计）",
    "years_since_joining": "入党年限段（all 表示合计）",
    "protection": (
        "本行数字的保护方式：published 公布、suppressed 抑制（小单元格或互补抑制）"
        "或 dp（差分隐私噪声）"
    ),
    "records": "出席或缺席的考勤记录数",
    "present": "标记为出席的考勤记录数",
    "participation_rate": "参与率：present / records",
    "members": "人数（支部的，或该阶段的）",
    "meeting_type": "三会一课会议类型",
    "meeting_date": "会议日期",
    "attendance": "出席情况：出席 / 缺席 / 请假",
    "course_id": "课程编号",
    "course_title": "课程名称",
    "minutes": "学习时长（分钟）",
    "score": "成绩（0–100）",
    "studied_on": "完成课程的日期",
    "activity": "志愿服务活动",
    "hours": "服务时长（小时）",
    "served_on": "服务日期",
    "dues_month": "党费所属月份（YYYY-MM）",
    "amount_cents": "交纳金额（分）",
    "paid_on": "交纳日期",
    **{
        f"{date}_precision": f"{date} 的精度（month / year；空表示精确到日）"
        for date in ("meeting_date", "studied_on", "served_on", "paid_on")
    },
    "source": "数据来源系统",
    "month": "月份（YYYY-MM）",
    "org_life_records": "出席或缺席的组织生活记录数（该月无任何数据时为空）",
    "org_life_present": "标记为出席的记录数",
    "org_life_participation_rate": "三会一课参与率：出席 /（出席 + 缺席），不含请假；无会议时为空",
    "study_members": "完成至少一门课程的人数（该月无学习数据时为空）",
    "study_completion_rate": "理论学习完成率：study_members / members",
    "dues_on_time": "当月底前交纳当月党费的人数（该月无党费数据时为空）",
    "dues_on_time_rate": "按时交纳党费比例：dues_on_time / members",
    "volunteer_hours": "当月志愿服务时长（该月无志愿数据时为空）",
    "last_active_month": "最近一次参与的月份（无则为空）",
}


def data_dictionary(
    tables: Mapping[str, pd.DataFrame], *, docs: Mapping[str, tuple[str, str, str]] | None = None
) -> pd.DataFrame:
    """One row per published column: table, column, type, meaning (English and Chinese),
    privacy treatment, source.

    A column without documentation gets ``UNDOCUMENTED`` (see :func:`undocumented_columns`).
    """
    known = {**COLUMN_DOCS, **(docs or {})}
    rows = []
    for table in sorted(tables):
        schema = pa.Schema.from_pandas(tables[table], preserve_index=False)
        for field in schema:
            meaning, privacy, source = known.get(field.name, (UNDOCUMENTED,) * 3)
            privacy = TABLE_PRIVACY.get((table, field.name), privacy)
            rows.append(
                {
                    "table_name": table,
                    "column_name": field.name,
                    "type": str(field.type).replace("large_", ""),
                    "meaning": meaning,
                    "meaning_zh": COLUMN_DOCS_ZH.get(field.name, meaning),
                    "privacy_treatment": privacy,
                    "source": source,
                    "tier": table_tier(table),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "table_name",
            "column_name",
            "type",
            "meaning",
            "meaning_zh",
            "privacy_treatment",
            "source",
            "tier",
        ],
    ).astype("string")


def undocumented_columns(dictionary: pd.DataFrame) -> list[str]:
    """``table.column`` of every column the dictionary cannot describe."""
    bad = dictionary[dictionary["meaning"] == UNDOCUMENTED]
    return [f"{t}.{c}" for t, c in zip(bad["table_name"], bad["column_name"], strict=True)]
