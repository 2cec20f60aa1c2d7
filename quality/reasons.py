"""Reason codes and their text, in Chinese and English, in one table.

Codes are stable snake_case strings written into quarantine files and department
feedback. Two families are described by pattern rather than listed:
``<field>_missing`` (a required field is empty) and ``<field>:<problem>`` (the
standardiser could not parse a value, e.g. ``birth_date:unparseable_date``), whose
problems are listed in :data:`PARSE_PROBLEMS`. A problem may carry a detail in
brackets, e.g. ``college:merged_cell[B5:B8]`` (the merged range).

A university adds its own codes with their texts in ``quality.yaml`` (``reasons:``);
:class:`ReasonCatalogue` holds the built-in and the configured ones. Text of the two
families names the department's own column when given ``labels`` (canonical field →
the department's header), so a branch secretary reads ``「日期」列``, not
``meeting_date``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "PARSE_PROBLEMS",
    "REASONS",
    "ReasonCatalogue",
    "ReasonText",
    "describe_reason",
    "is_known_reason",
]


class ReasonText(NamedTuple):
    zh: str
    en: str


REASONS: dict[str, ReasonText] = {
    "id_missing": ReasonText("缺少身份证号", "resident ID number missing"),
    "id_format": ReasonText(
        "身份证号格式错误（应为18位，前17位为数字）",
        "resident ID number malformed (18 characters, 17 digits then a digit or X)",
    ),
    "id_region": ReasonText(
        "身份证号地区码不是GB/T 2260行政区划代码（含历史代码），或在出生前已撤销",
        "resident ID number region code is no GB/T 2260 division code (current or historical), "
        "or was abolished before the birth",
    ),
    "id_birth_date": ReasonText(
        "身份证号中的出生日期不存在或不合理",
        "birth date embedded in the resident ID number is impossible",
    ),
    "id_check_digit": ReasonText(
        "身份证号校验码错误（GB 11643）", "resident ID number check digit is wrong (GB 11643)"
    ),
    "id_birth_mismatch": ReasonText(
        "出生日期与身份证号不一致", "birth date disagrees with the resident ID number"
    ),
    "id_gender_mismatch": ReasonText(
        "性别与身份证号不一致", "gender disagrees with the resident ID number"
    ),
    "gender_invalid": ReasonText("性别代码无效", "gender code is not M or F"),
    "person_type_invalid": ReasonText("人员类别无效", "person type is not a known type"),
    "status_invalid": ReasonText("政治面貌/发展阶段无效", "membership status is not on the ladder"),
    "applicant_under_18": ReasonText(
        "申请入党时未满18周岁", "applicant was under 18 on the date of application"
    ),
    "status_order": ReasonText(
        "发展阶段日期先后顺序颠倒", "membership step dates are out of ladder order"
    ),
    "probation_not_one_year": ReasonText(
        "预备期与一年的规定不符", "probation before full membership did not last about one year"
    ),
    "future_date": ReasonText("日期晚于统计基准日", "date is after the reference date"),
    "impossible_hours": ReasonText(
        "单日志愿服务时长不合理（应大于0且不超过24小时）",
        "volunteer hours for one day are impossible (more than 0, at most 24)",
    ),
    "mobile_format": ReasonText(
        "手机号码格式错误（应为1[3-9]开头的11位数字）",
        "mobile number malformed (11 digits starting 1[3-9])",
    ),
    "mobile_unallocated": ReasonText(
        "手机号码不在已分配的号段内（依据libphonenumber号段数据）",
        "mobile number is in no allocated Chinese mobile range (libphonenumber metadata)",
    ),
    "dues_amount_out_of_range": ReasonText(
        "党费金额不符合该类人员的缴纳标准", "dues amount is outside the rule for the person type"
    ),
    "dues_month_format": ReasonText(
        "党费所属月份格式错误（应为YYYY-MM）", "dues month is not YYYY-MM"
    ),
    "attendance_invalid": ReasonText("签到情况无效", "attendance is not present, absent or leave"),
    "score_out_of_range": ReasonText("成绩超出0–100范围", "score is outside 0-100"),
    "minutes_out_of_range": ReasonText("学习时长不合理", "minutes studied are impossible"),
    "exact_duplicate": ReasonText("完全重复的记录", "exact duplicate of another record"),
    "near_duplicate": ReasonText(
        "规范化后重复的记录（全角、空格或大小写差异）",
        "duplicate of another record after normalisation (full-width forms, spaces, case)",
    ),
    "no_meeting_signin": ReasonText(
        "该支部当天未召开会议却有签到", "sign-in on a date the branch held no meeting"
    ),
    "unknown_person": ReasonText(
        "人员不在任何名册中", "activity of a person absent from every roster"
    ),
    "person_rejected_in_roster": ReasonText(
        "该人员的花名册记录未通过校验（请先更正花名册中的该人员记录）",
        "the person's roster record was rejected by the quality checks "
        "(correct it in the roster first)",
    ),
    "ambiguous_match": ReasonText(
        "无法确定是哪一位人员（学号/工号等指向多人，或与姓名不符）",
        "cannot tell which person this is (its numbers lead to several people)",
    ),
    "signature_missing": ReasonText(
        "文件没有签名清单（缺少 <文件名>.manifest.json），整个文件未被接收",
        "the file has no signed manifest (<file>.manifest.json missing); the whole file "
        "was refused",
    ),
    "signature_invalid": ReasonText(
        "签名无效（文件在签名后被修改，或签名清单损坏），整个文件未被接收",
        "the signature is invalid (the file changed after signing, or its manifest is "
        "damaged); the whole file was refused",
    ),
    "signature_untrusted": ReasonText(
        "签名所用密钥未登记为本来源（或本支部）的签名密钥，整个文件未被接收",
        "signed with a key not registered for this source (or branch); the whole file was refused",
    ),
    "signature_mismatch": ReasonText(
        "签名清单与文件不符（文件名、来源、部门、支部或记录数不同），整个文件未被接收",
        "the signed manifest does not match the file (name, source, department, branch or "
        "number of records); the whole file was refused",
    ),
    "signature_replayed": ReasonText(
        "重复或过期的导出（序号或导出时间不晚于已接收的导出），整个文件未被接收",
        "a repeated or outdated export (sequence or export time not newer than the one "
        "accepted); the whole file was refused",
    ),
    "signature_legacy": ReasonText(
        "只有旧式 .sig 签名，不能证明文件名、来源和导出时间，整个文件未被接收",
        "only an old detached .sig, which proves neither name, source nor export time; the "
        "whole file was refused",
    ),
    "id_precision_lost": ReasonText(
        "身份证号以数值形式存储（如3.205081956081715e+17），位数已丢失，请以文本格式重新导出",
        "resident ID number was stored as a number and lost digits (e.g. 3.2E+17); "
        "export it as text",
    ),
    "mobile_precision_lost": ReasonText(
        "手机号码以数值形式存储，位数已丢失，请以文本格式重新导出",
        "mobile number was stored as a number and lost digits; export it as text",
    ),
    "hidden_row": ReasonText(
        "该行在表格中被隐藏：请删除或取消隐藏后重新提交",
        "the row is hidden in the sheet: delete or unhide it and send the export again",
    ),
    "birth_date_conflict": ReasonText(
        "各部门登记的出生日期不一致（已按来源优先级取值）",
        "departments record different birth dates (resolved by source priority)",
    ),
}

#: The problems of ``<field>:<problem>`` codes (what the standardiser and readers report).
PARSE_PROBLEMS: dict[str, ReasonText] = {
    "unparseable": ReasonText("无法解析", "could not be parsed"),
    "impossible": ReasonText("日期不存在", "is not a real date"),
    "unparseable_date": ReasonText(
        "不是本来源接受的日期格式", "is not a date in a shape this source accepts"
    ),
    "impossible_date": ReasonText(
        "形似日期但该日不存在（如2月30日）", "has the shape of a date but no such day exists"
    ),
    "ambiguous_date": ReasonText(
        "可按多种日期格式解读且结果不同，无法确定",
        "reads as different dates in two accepted shapes, so it is refused",
    ),
    "unparseable_amount": ReasonText(
        "不是有效金额（最多两位小数，千位分隔须规范）",
        "is not an amount (at most two decimals, thousands grouped by three)",
    ),
    "not_a_number": ReasonText("不是本来源格式的数字", "is not a number in this source's format"),
    "unknown_value": ReasonText("不是已知的代码值", "is not a known code"),
    "precision_lost": ReasonText(
        "以数值形式存储，位数已丢失，请以文本格式重新导出",
        "was stored as a number and lost digits; export it as text",
    ),
    "merged_cell": ReasonText(
        "位于合并单元格中，无法确定属于哪一行",
        "lies in merged cells, so which rows it belongs to is unknown",
    ),
    "unreadable_cell": ReasonText("单元格无法读取", "is in a cell that cannot be read"),
    "ambiguous_month": ReasonText(
        "以数值形式存储的年月（如1998.1），无法区分1月与10月，请以文本格式填写（如1998.10）",
        "is a year and month stored as a number (e.g. 1998.1): January or October (1998.10 "
        "loses its zero); write it as text",
    ),
    "error_cell": ReasonText(
        "单元格为Excel错误值（如#N/A、#VALUE!）", "is an Excel error value (#N/A, #VALUE!, ...)"
    ),
}


def _column(field_name: str, labels: Mapping[str, str] | None) -> tuple[str, str]:
    """How the text names a field: the department's column where known, else the field."""
    label = (labels or {}).get(field_name)
    if label:
        return f"「{label}」列", f"column {label}"
    return f"字段 {field_name} ", field_name


@dataclass(frozen=True)
class ReasonCatalogue:
    """The built-in reason codes plus a university's own (``quality.yaml`` ``reasons:``)."""

    configured: Mapping[str, ReasonText] = field(default_factory=dict)

    def knows(self, code: str) -> bool:
        """True for a built-in or configured code, or one of the two pattern families."""
        return code in self.configured or is_known_reason(code)

    def describe(self, code: str, labels: Mapping[str, str] | None = None) -> ReasonText:
        """The Chinese and English text of ``code``; ``labels`` (canonical field → the
        department's column) name the department's column in the two families' text."""
        if code in self.configured:
            return self.configured[code]
        return describe_reason(code, labels=labels)


def is_known_reason(code: str) -> bool:
    """True for a built-in code or one of the two pattern families."""
    return code in REASONS or code.endswith("_missing") or ":" in code


def describe_reason(code: str, *, labels: Mapping[str, str] | None = None) -> ReasonText:
    """The Chinese and English text of a built-in ``code`` (unknown codes are returned as
    they are); ``labels`` map canonical fields to the department's own column names."""
    if code in REASONS:
        return REASONS[code]
    if ":" in code:
        field_name, _, problem = code.partition(":")
        problem, _, detail = problem.partition("[")
        text = PARSE_PROBLEMS.get(problem, ReasonText(problem, problem))
        where = f"（{detail.rstrip(']')}）" if detail else ""
        where_en = f" ({detail.rstrip(']')})" if detail else ""
        zh, en = _column(field_name, labels)
        return ReasonText(f"{zh}的值{text.zh}{where}", f"value of {en} {text.en}{where_en}")
    if code.endswith("_missing"):
        field_name = code.removesuffix("_missing")
        zh, en = _column(field_name, labels)
        return ReasonText(f"缺少必填的{zh.strip()}", f"required {en} is missing")
    return ReasonText(code, code)
