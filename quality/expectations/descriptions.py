"""Readable Chinese and English descriptions of our custom expectations in Data Docs.

Without a prescriptive renderer GX prints a custom expectation as
``expect_…(**{'batch_id': …})``; :func:`register_descriptions` gives each of ours one
sentence in both languages, naming the columns it judges (and its threshold, if any).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["DESCRIPTIONS", "describe_expectation", "register_descriptions"]

#: expectation type → (Chinese, English); ``$min_age`` and ``$as_of`` are filled in
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "expect_column_values_to_be_valid_resident_id": (
        "须为有效的居民身份证号（18位，GB 11643 校验码，GB/T 2260 地区码）",
        "must be a valid resident ID number (18 characters, GB 11643 check digit, "
        "GB/T 2260 region)",
    ),
    "expect_column_values_to_not_be_after_date": (
        "日期不得晚于 $as_of",
        "dates must not be after $as_of",
    ),
    "expect_column_values_to_be_cn_mobile": (
        "须为中国大陆手机号（11位，1[3-9] 开头）",
        "must be a mainland Chinese mobile number (11 digits starting 1[3-9])",
    ),
    "expect_column_values_to_be_hours_within_a_day": (
        "志愿服务时长须大于0且不超过一天（24小时）",
        "volunteer hours must be more than 0 and at most a day (24 hours)",
    ),
    "expect_dues_amount_within_rule": (
        "党费金额须符合按收入比例交纳的规定",
        "the dues amount must follow the income-based rule",
    ),
    "expect_resident_id_to_match_birth_date": (
        "出生日期须与身份证号中的出生日期一致",
        "the birth date must equal the one in the resident ID number",
    ),
    "expect_resident_id_to_match_birth_date_at_precision": (
        "出生日期（按所给精度）须与身份证号中的出生日期一致",
        "the birth date, at its stated precision, must agree with the resident ID number",
    ),
    "expect_resident_id_to_match_gender": (
        "性别须与身份证号第17位一致（奇数为男）",
        "the gender must agree with the ID number's 17th digit (odd = male)",
    ),
    "expect_status_dates_in_ladder_order": (
        "发展阶段日期须按顺序：申请人 → 积极分子 → 发展对象 → 预备党员 → 正式党员",
        "status dates must be in order: applicant → activist → candidate → "
        "probationary → full member",
    ),
    "expect_applicant_to_be_of_minimum_age": (
        "申请入党时须年满 $min_age 周岁",
        "an applicant must be at least $min_age years old",
    ),
    "expect_applicant_to_be_of_minimum_age_on_id": (
        "按身份证号的出生日期，申请入党时须年满 $min_age 周岁",
        "by the ID number's birth date, an applicant must be at least $min_age years old",
    ),
    "expect_applicant_to_be_of_minimum_age_at_precision": (
        "申请入党时须年满 $min_age 周岁（按日期精度判断）",
        "an applicant must be at least $min_age years old (judged at the dates' precision)",
    ),
    "expect_probation_to_last_about_one_year": (
        "预备期须约为一年",
        "probation must last about one year",
    ),
    "expect_probation_to_last_about_one_year_at_precision": (
        "预备期须约为一年（按日期精度判断）",
        "probation must last about one year (judged at the dates' precision)",
    ),
}


def _columns(kwargs: dict[str, Any]) -> list[str]:
    if kwargs.get("column"):
        return [str(kwargs["column"])]
    if kwargs.get("column_A"):
        return [str(kwargs["column_A"]), str(kwargs.get("column_B", ""))]
    return [str(c) for c in kwargs.get("column_list") or [] if not str(c).endswith("_precision")]


def describe_expectation(expectation_type: str, kwargs: dict[str, Any]) -> str:
    """One line: the columns, then the rule in Chinese and English."""
    zh, en = DESCRIPTIONS[expectation_type]
    values = {"min_age": str(kwargs.get("min_age", 18)), "as_of": str(kwargs.get("as_of", ""))}
    for name, value in values.items():
        zh, en = zh.replace(f"${name}", value), en.replace(f"${name}", value)
    columns = "、".join(_columns(kwargs))
    mostly = kwargs.get("mostly")
    share = (
        f"（至少 {float(mostly):.0%}）" if isinstance(mostly, int | float) and mostly < 1 else ""
    )
    return f"{columns}：{zh}{share} — {en}" if columns else f"{zh}{share} — {en}"


def _renderer_for(expectation_type: str):
    from great_expectations.render import LegacyRendererType, RenderedStringTemplateContent
    from great_expectations.render.renderer.renderer import renderer

    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    def _prescriptive(configuration=None, result=None, runtime_configuration=None, **_):
        config = configuration or (result.expectation_config if result else None)
        kwargs = dict(config.kwargs) if config is not None else {}
        text = describe_expectation(expectation_type, kwargs)
        styling = (runtime_configuration or {}).get("styling") or {}
        return [
            RenderedStringTemplateContent(
                content_block_type="string_template",
                string_template={
                    "template": text.replace("$", "$$"),
                    "params": {},
                    "styling": styling,
                },
            )
        ]

    return _prescriptive


def register_descriptions(classes: list[type]) -> None:
    """Register the description renderer of each of ``classes`` with GX."""
    from great_expectations.expectations import registry

    quiet = logging.getLogger(registry.__name__)
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # replacing the inherited default renderer is the point
    try:
        for cls in classes:
            kind = cls.expectation_type
            if kind not in DESCRIPTIONS:
                raise KeyError(f"no description for custom expectation {kind}")
            registry.register_renderer(
                object_name=kind, parent_class=cls, renderer_fn=_renderer_for(kind)
            )
    finally:
        quiet.setLevel(level)
