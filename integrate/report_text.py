"""The run report's words, in Chinese (the default) and English: one table, one lookup.

A label missing from a language falls back to the key itself, so a new section never
renders ``None``; the report test checks that every key used has both languages.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["LANGUAGES", "TEXT", "Language", "label"]

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
    "title": ("党建数据整合运行报告", "Party-building data integration: run report"),
    "run": ("运行", "Run"),
    "university": ("学校", "University"),
    "generated": ("生成时间", "Generated"),
    "contents": ("目录", "Contents"),
    # what happened
    "s_overview": ("一、本次运行概况", "1. What happened in this run"),
    "verdict_ok": (
        "本次运行已发布，每个数据源都已纳入。",
        "This run was published with every source included.",
    ),
    "verdict_degraded": (
        "本次运行未完全成功：请查看下方标红的数据源与说明。",
        "This run was degraded: see the sources and notes marked in red below.",
    ),
    "sources": ("数据源", "Sources"),
    "source": ("数据源", "source"),
    "department": ("部门", "department"),
    "status": ("状态", "status"),
    "fresh": ("本次读取", "read in this run"),
    "carried": ("沿用上次（过期）", "carried over (stale)"),
    "failed": ("失败", "failed"),
    "failed_carried": ("失败，沿用上次数据", "failed, earlier data carried"),
    "data_from": ("数据来自运行", "data from run"),
    "note": ("说明", "note"),
    "rows_in": ("读入行数", "rows in"),
    "in": ("读入", "in"),
    "accepted": ("通过", "accepted"),
    "quarantined": ("隔离", "quarantined"),
    "suppressed": ("隐私抑制", "suppressed"),
    "published": ("发布", "published"),
    "total": ("合计", "total"),
    "balanced": (
        "每一行输入都已发布、被抑制或被隔离，账目平衡。",
        "Every input row is published, suppressed or quarantined: the accounting balances.",
    ),
    "unbalanced": ("行数账目不平衡！", "The row accounting does not add up!"),
    "chart_accounting": ("各数据源行数去向", "Where each source's rows went"),
    "refused_files": ("被拒收的文件", "Files refused whole"),
    "refused_none": ("本次没有整份被拒收的文件。", "No file was refused whole in this run."),
    "file": ("文件", "file"),
    "reason": ("原因", "reason"),
    "rows": ("行数", "rows"),
    "rows_unknown": ("未知", "unknown"),
    "stale_sources": ("过期（沿用）的数据源", "Stale (carried-over) sources"),
    "stale_none": ("没有沿用旧数据的数据源。", "No source was carried over."),
    "s_rejects": ("二、隔离原因", "2. Why rows were quarantined"),
    "rejects_none": ("本次没有被隔离的行。", "No row was quarantined in this run."),
    "chart_rejects": ("隔离原因（行数）", "Quarantine reasons (rows)"),
    "count": ("数量", "count"),
    "linkage": ("跨部门关联", "Linkage across departments"),
    "linked": ("已关联", "linked"),
    # indicators
    "s_indicators": ("三、支部评估指标", "3. Branch evaluation indicators"),
    "indicators_none": (
        "本次没有发布指标（未发布或没有数据）。",
        "No indicators in this run (not published, or no data).",
    ),
    "by_college": ("按学院（各月）", "By college, per month"),
    "by_branch": ("按支部（各月）", "By branch, per month"),
    "no_data": ("无数据", "no data"),
    "no_data_note": (
        "灰色或空白表示该月没有该项数据，而不是0。",
        "Grey or empty means no data for that month, not zero.",
    ),
    "ind_participation": ("三会一课参与率", "Org-life (三会一课) participation rate"),
    "ind_study": ("理论学习完成率", "Study completion rate"),
    "ind_dues": ("按时交纳党费比例", "Dues paid on time"),
    "ind_hours": ("志愿服务时长（小时）", "Volunteer hours"),
    "indicator_none": (
        "本次数据中没有该指标的任何数据。",
        "There is no data at all for this indicator in this run.",
    ),
    "month": ("月份", "month"),
    "college": ("学院", "college"),
    "branch": ("支部", "branch"),
    "branches_n": ("个支部", "branches"),
    # privacy
    "s_privacy": ("四、隐私保护", "4. Privacy protection"),
    "privacy_none": ("本次没有经过隐私门槛。", "The privacy gate was not reached in this run."),
    "privacy_k": (
        "发布的人员表满足 k-匿名：每组准标识符组合至少 {k} 人（要求 k = {k_required}）。",
        "The published person table is k-anonymous: every combination of quasi-identifiers "
        "holds at least {k} persons (k = {k_required} required).",
    ),
    "privacy_not_met": (
        "隐私门槛未满足：要求 k = {k_required}，因此未发布。",
        "The privacy gate was not met (k = {k_required} required): nothing was published.",
    ),
    "privacy_qi": ("准标识符：{qis}。", "Quasi-identifiers: {qis}."),
    "privacy_suppressed": (
        "为满足该要求，{n} 人的记录被抑制（不发布）。",
        "To meet it, {n} persons were suppressed (not published).",
    ),
    "privacy_steps": ("已采用的泛化：{steps}。", "Generalisations applied: {steps}."),
    "privacy_no_steps": ("无需泛化。", "No generalisation was needed."),
    "privacy_local_recoding": (
        "采用局部重编码：每人的准标识符只泛化到满足要求所需的程度（各精度的保留比例见下表）。",
        "Local recoding: each person's quasi-identifiers are generalised only as far as needed "
        "(the share kept at each level is in the table below).",
    ),
    "privacy_risk": (
        "重识别风险（检察官模型）：最高 {max}，平均 {avg}。",
        "Re-identification risk (prosecutor model): at most {max}, on average {avg}.",
    ),
    "privacy_ldiv": (
        "敏感属性 l-多样性：至少 {l}（要求 {l_required}）。",
        "l-diversity of sensitive attributes: at least {l} ({l_required} required).",
    ),
    "privacy_utility": (
        "保留的信息：按发布精度的人员比例",
        "Utility kept: share of persons by published level",
    ),
    "privacy_column": ("字段", "column"),
    "privacy_level": ("发布精度（或更细）", "published at (or finer)"),
    "privacy_with_value": ("有该值的人数", "persons with a value"),
    "privacy_local": ("局部重编码", "local recoding"),
    "privacy_global": ("全局泛化（基线）", "global recoding (baseline)"),
    "privacy_loss": ("信息损失", "Information loss"),
    "privacy_metric": ("指标", "metric"),
    "privacy_attack": (
        "重识别攻击模拟：攻击者已知准标识符及若干事实时被唯一识别的比例",
        "Re-identification attack: share singled out by an adversary who knows the "
        "quasi-identifiers and some facts",
    ),
    "privacy_facts": ("已知事实数", "facts known"),
    "privacy_targets": ("目标人数", "targets"),
    "privacy_prosecutor": ("检察官模型", "prosecutor model"),
    "privacy_journalist": ("记者模型", "journalist model"),
    "privacy_statistics": ("统计层保护：{method}", "Statistics tier protection: {method}"),
    # publication and links
    "s_publication": ("五、发布与核验", "5. Publication"),
    "pub_status": ("发布状态", "status"),
    "pub_version": ("版本", "version"),
    "pub_message": ("说明", "message"),
    "pub_tables": ("发布的表（行数）", "tables published (rows)"),
    "pub_published": ("已发布", "published"),
    "pub_refused": ("未发布", "not published"),
    "pub_not_reached": ("未执行到发布", "not reached"),
    "verify_ok": ("核验通过", "verified"),
    "verify_failed": ("核验失败", "verification FAILED"),
    "s_links": ("六、数据质量文档与部门反馈", "6. Data Docs and department feedback"),
    "data_docs": ("数据质量文档（Data Docs）", "Data Docs"),
    "feedback": ("退回给部门的问题数据", "Feedback to the department"),
    "links_none": ("本次没有生成。", "None in this run."),
    "footer": (
        "本报告只含计数、比例和汇总，不含任何个人标识。",
        "This report holds counts, rates and aggregates only, never a personal identifier.",
    ),
    "charts_missing": (
        "图表脚本未安装（运行 make env），以下只显示表格。",
        "The chart script is not installed (run make env): tables only.",
    ),
}


def label(key: str, language: Language, **values: object) -> str:
    """The text of ``key`` in ``language`` with ``{names}`` filled in."""
    zh, en = TEXT.get(key, (key, key))
    text = zh if language == "zh" else en
    return text.format(**values) if values else text
