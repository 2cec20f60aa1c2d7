"""The run report's charts as Apache ECharts options (plain dicts, serialised into the page).

Each builder takes counts the report already has and returns one option; missing data
stays ``None`` (JSON ``null``), which ECharts draws as a gap in a line and an empty,
grey cell in a heatmap — never as zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = [
    "INDICATORS",
    "accounting_chart",
    "branch_heatmap",
    "college_frame",
    "college_line_chart",
    "rejects_chart",
]

_COLOURS = {"published": "#2e7d32", "suppressed": "#f9a825", "quarantined": "#c62828"}
_PALETTE = [
    "#b71c1c", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f",
    "#5d4037", "#ad1457", "#283593", "#9e9d24", "#455a64", "#d84315",
]  # fmt: skip

#: indicator → (text key, is a rate, numerator column, denominator column)
INDICATORS: dict[str, tuple[str, bool, str, str | None]] = {
    "org_life_participation_rate": (
        "ind_participation",
        True,
        "org_life_present",
        "org_life_records",
    ),
    "study_completion_rate": ("ind_study", True, "study_members", "members"),
    "dues_on_time_rate": ("ind_dues", True, "dues_on_time", "members"),
    "volunteer_hours": ("ind_hours", False, "volunteer_hours", None),
}


def _clean(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else round(number, 4)


def _base(title: str) -> dict[str, Any]:
    return {
        "animation": False,
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {},
        "textStyle": {"fontFamily": "Noto Sans CJK SC, Microsoft YaHei, sans-serif"},
    }


def accounting_chart(
    rows: Sequence[tuple[str, Mapping[str, int]]], labels: Mapping[str, str], title: str
) -> dict[str, Any]:
    """Stacked horizontal bars: each source's rows published, suppressed, quarantined."""
    names = [name for name, _ in rows]
    option = _base(title)
    option |= {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0},
        "grid": {"left": 10, "right": 30, "top": 36, "bottom": 34, "containLabel": True},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": names, "inverse": True},
        "series": [
            {
                "name": labels[key],
                "type": "bar",
                "stack": "rows",
                "itemStyle": {"color": _COLOURS[key]},
                "data": [int(counts.get(key, 0)) for _, counts in rows],
            }
            for key in ("published", "suppressed", "quarantined")
        ],
    }
    return option


def rejects_chart(reasons: Sequence[tuple[str, int]], title: str) -> dict[str, Any]:
    """Horizontal bars: rows quarantined per reason (most first)."""
    option = _base(title)
    option |= {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 10, "right": 40, "top": 40, "bottom": 10, "containLabel": True},
        "xAxis": {"type": "value"},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [text for text, _ in reasons],
            "axisLabel": {"width": 260, "overflow": "truncate"},
        },
        "series": [
            {
                "type": "bar",
                "itemStyle": {"color": "#c62828"},
                "label": {"show": True, "position": "right"},
                "data": [int(n) for _, n in reasons],
            }
        ],
    }
    return option


def college_frame(indicators: pd.DataFrame, college_of: Mapping[str, str]) -> pd.DataFrame:
    """Indicators per college and month, from the branches' counts: a rate is the sum of
    numerators over the sum of denominators of the branches that have data (NULL when
    none has), hours the sum (NULL when no branch has data)."""
    college = indicators["branch_id"].astype("string").map(dict(college_of))
    college = college.astype("string").fillna("—")  # an empty map gives a null-typed column
    keys = pd.DataFrame({"college": college, "month": indicators["month"].astype("string")})
    out = keys.drop_duplicates().sort_values(["college", "month"]).set_index(["college", "month"])
    for column, (_, is_rate, numerator, denominator) in INDICATORS.items():
        if column not in indicators or numerator not in indicators:
            out[column] = None
            continue
        has = indicators[column].notna()
        parts = keys.assign(
            num=pd.to_numeric(indicators[numerator], errors="coerce").where(has).astype(float)
        )
        if is_rate and denominator:
            parts["den"] = (
                pd.to_numeric(indicators[denominator], errors="coerce").where(has).astype(float)
            )
        sums = parts.groupby(["college", "month"]).sum(min_count=1)
        if is_rate and denominator:
            value = sums["num"] / sums["den"].where(sums["den"] > 0)
        else:
            value = sums["num"]
        out[column] = value.reindex(out.index).astype(object).where(value.notna(), None)
    return out.reset_index()[["college", "month", *INDICATORS]]


def _value_axis(is_rate: bool) -> dict[str, Any]:
    axis: dict[str, Any] = {"type": "value"}
    if is_rate:
        axis |= {"min": 0, "max": 1, "axisLabel": {"formatter": "{value}"}}
    return axis


def college_line_chart(
    colleges: pd.DataFrame, column: str, title: str, *, is_rate: bool
) -> dict[str, Any]:
    """One line per college over the months; a month without data is a gap."""
    months = sorted(colleges["month"].unique().tolist())
    option = _base(title)
    series = []
    for n, (college, group) in enumerate(colleges.groupby("college", sort=True)):
        by_month = dict(zip(group["month"], group[column], strict=True))
        series.append(
            {
                "name": str(college),
                "type": "line",
                "connectNulls": False,
                "symbolSize": 5,
                "itemStyle": {"color": _PALETTE[n % len(_PALETTE)]},
                "data": [_clean(by_month.get(m)) for m in months],
            }
        )
    option |= {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "bottom": 0},
        "grid": {"left": 10, "right": 30, "top": 40, "bottom": 34, "containLabel": True},
        "xAxis": {"type": "category", "data": months},
        "yAxis": _value_axis(is_rate),
        "series": series,
    }
    return option


def branch_heatmap(
    indicators: pd.DataFrame,
    column: str,
    title: str,
    *,
    is_rate: bool,
    branch_labels: Mapping[str, str],
    no_data: str,
) -> dict[str, Any]:
    """Branch × month heatmap; cells without data are left out (the grey background)."""
    months = sorted(indicators["month"].astype("string").unique().tolist())
    branches = sorted(indicators["branch_id"].astype("string").unique().tolist())
    m_index = {m: i for i, m in enumerate(months)}
    b_index = {b: i for i, b in enumerate(branches)}
    data = []
    values = []
    for branch, month, value in zip(
        indicators["branch_id"].astype("string"),
        indicators["month"].astype("string"),
        indicators[column],
        strict=True,
    ):
        clean = _clean(value)
        if clean is not None:
            data.append([m_index[month], b_index[branch], clean])
            values.append(clean)
    top = 1 if is_rate else max(values, default=1) or 1
    # rates that all sit high get the colour range where they are (0.8–1, not 0–1)
    bottom = max(0.0, math.floor(min(values, default=0) * 10) / 10) if is_rate else 0
    option = _base(title)
    option |= {
        "tooltip": {"position": "top"},
        "grid": {
            "left": 10,
            "right": 90,
            "top": 40,
            "bottom": 10,
            "containLabel": True,
            "show": True,
            "backgroundColor": "#e0e0e0",
        },
        "xAxis": {"type": "category", "data": months, "splitArea": {"show": False}},
        "yAxis": {
            "type": "category",
            "data": [branch_labels.get(b, b) for b in branches],
            "axisLabel": {"fontSize": 10},
        },
        "visualMap": {
            "min": bottom,
            "max": top,
            "calculable": False,
            "orient": "vertical",
            "right": 0,
            "top": "middle",
            "itemHeight": 120,
            "inRange": {"color": ["#fff5f0", "#fb6a4a", "#a50f15"]},
            "text": [f"{top:g}", f"{bottom:g}"],
        },
        "series": [{"type": "heatmap", "data": data, "emphasis": {"disabled": True}}],
    }
    return option
