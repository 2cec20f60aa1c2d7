"""The run report: one self-contained HTML page per run (inline CSS and SVG, no scripts, no CDN).

It shows row accounting per department, rejects by reason, linkage statistics,
privacy risk and the branch indicators as charts. Only counts, rates and
pseudonymous aggregates appear — never a token or an identifier.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["render_run_report", "run_report_html"]

log = logging.getLogger(__name__)

_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",system-ui,sans-serif;margin:2rem;color:#222;
max-width:1100px}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:2px solid #b71c1c;
padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}
.ok{color:#1b5e20;font-weight:bold}.bad{color:#b71c1c;font-weight:bold}
.meta{color:#666;font-size:.9rem}svg{margin:.5rem 0}svg text{font-size:11px}
tr.carried td{background:#fff8e1}tr.failed td{background:#ffebee}
.status-carried{color:#8d6e00;font-weight:bold}.status-failed{color:#b71c1c;font-weight:bold}
.legend span{display:inline-block;margin-right:1rem;font-size:.85rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
"""
_COLOURS = {"published": "#2e7d32", "suppressed": "#f9a825", "quarantined": "#c62828"}


def _e(value: object) -> str:
    return html.escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _svg_hbars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    colour: str = "#1565c0",
    fmt: str = "{:,.0f}",
    title: str = "",
) -> str:
    if not labels:
        return "<p class='meta'>(nothing to show)</p>"
    width, label_w, bar_h = 720, 200, 22
    top = max(values) or 1
    height = bar_h * len(labels) + 10
    parts = [
        f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 5 + n * bar_h
        w = (width - label_w - 80) * (value / top)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(label)}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" '
            f'fill="{colour}"/>'
        )
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 15}">{_e(fmt.format(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_stacked(rows: Sequence[tuple[str, Mapping[str, int]]], keys: Sequence[str]) -> str:
    width, label_w, bar_h = 720, 200, 24
    total_max = max((sum(c.get(k, 0) for k in keys) for _, c in rows), default=0) or 1
    height = bar_h * len(rows) + 10
    parts = [
        f'<svg role="img" aria-label="row accounting" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for n, (label, counts) in enumerate(rows):
        y, x = 5 + n * bar_h, float(label_w)
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end">{_e(label)}</text>')
        for key in keys:
            w = (width - label_w - 20) * counts.get(key, 0) / total_max
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" '
                f'fill="{_COLOURS.get(key, "#888")}"><title>{_e(key)}: '
                f"{counts.get(key, 0):,}</title></rect>"
            )
            x += w
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{_COLOURS.get(k, "#888")}"></i>{_e(k)}</span>' for k in keys
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _svg_columns(
    labels: Sequence[str], values: Sequence[float], *, fmt: str, title: str, colour: str = "#6a1b9a"
) -> str:
    if not labels:
        return "<p class='meta'>(nothing to show)</p>"
    width, height, base = 720, 200, 170
    top = max((v for v in values if v == v), default=0) or 1
    step = (width - 40) / len(labels)
    parts = [
        f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="20" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#999"/>',
    ]
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        v = 0.0 if value != value else float(value)
        h = 140 * v / top
        x = 25 + n * step
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{base - h - 4:.1f}" '
            f'text-anchor="middle">{_e(fmt.format(v))}</text>'
        )
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{base + 16}" '
            f'text-anchor="middle">{_e(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _sources_table(sources: Sequence[Mapping[str, Any]]) -> str:
    """Where each source's data comes from; carried (stale) and failed sources stand out."""
    head = "".join(
        f"<th>{_e(h)}</th>"
        for h in ("source", "department", "status", "data from run", "run started", "note")
    )
    body = []
    for row in sources:
        status = str(row.get("status", ""))
        shown = status + (" (carried)" if row.get("carried") and status == "failed" else "")
        cells = (
            row.get("source", ""),
            row.get("department", ""),
            f"<span class='status-{_e(status)}'>{_e(shown)}</span>",
            row.get("origin_run", ""),
            row.get("run_at", ""),
            row.get("problem", ""),
        )
        tds = "".join(
            f"<td>{c}</td>" if i == 2 else f"<td>{_e(c)}</td>" for i, c in enumerate(cells)
        )
        css = "carried" if row.get("carried") and status != "failed" else status
        body.append(f"<tr class='{_e(css)}'>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def run_report_html(
    *,
    run_id: str,
    row_accounting: Mapping[str, Mapping[str, int]],
    rejects: Mapping[str, int],
    linkage: Mapping[str, Mapping[str, int]],
    privacy: Mapping[str, Any],
    indicators: pd.DataFrame | None = None,
    publication: Mapping[str, Any] | None = None,
    sources: Sequence[Mapping[str, Any]] = (),
    title: str = "islandbridge run report",
) -> str:
    """The report as an HTML string (see :func:`render_run_report`).

    ``sources``: per source ``source``, ``department``, ``status`` (fresh / carried /
    failed), ``carried``, ``origin_run``, ``run_at``, ``problem``.
    """
    sections = [f"<h1>{_e(title)}</h1><p class='meta'>run {_e(run_id)}</p>"]
    if sources:
        sections.append("<h2>Sources</h2>" + _sources_table(sources))
    if publication:
        verdict = publication.get("verify_ok")
        badge = (
            ""
            if verdict is None
            else (
                "<span class='ok'>verify: OK</span>"
                if verdict
                else "<span class='bad'>verify: FAILED</span>"
            )
        )
        sections.append(
            "<h2>Publication</h2>"
            + _table(
                ["field", "value"], [(k, v) for k, v in publication.items() if k != "verify_ok"]
            )
            + badge
        )

    fields = ("in", "accepted", "quarantined", "suppressed", "published")
    rows = sorted(row_accounting.items())
    totals = {f: sum(c.get(f, 0) for _, c in rows) for f in fields}
    balanced = all(
        c.get("in", 0) == c.get("quarantined", 0) + c.get("suppressed", 0) + c.get("published", 0)
        for _, c in rows
    )
    sections.append(
        "<h2>Row accounting per department</h2>"
        + _svg_stacked(rows, ("published", "suppressed", "quarantined"))
        + _table(
            ["source", *fields],
            [(s, *(f"{c.get(f, 0):,}" for f in fields)) for s, c in rows]
            + [("total", *(f"{totals[f]:,}" for f in fields))],
        )
        + (
            "<p class='ok'>every input row is published, suppressed or quarantined</p>"
            if balanced
            else "<p class='bad'>row accounting does not add up</p>"
        )
    )
    reasons = sorted(rejects.items(), key=lambda kv: (-kv[1], kv[0]))
    sections.append(
        "<h2>Rejects by reason</h2>"
        + _svg_hbars(
            [r for r, _ in reasons], [v for _, v in reasons], colour="#c62828", title="rejects"
        )
    )
    link_fields = sorted({k for c in linkage.values() for k in c})
    sections.append(
        "<h2>Linkage</h2>"
        + _table(
            ["source", *link_fields],
            [(s, *(f"{c.get(k, 0):,}" for k in link_fields)) for s, c in sorted(linkage.items())],
        )
    )
    sections.append(
        "<h2>Privacy risk</h2>"
        + _table(["measure", "value"], [(k, v) for k, v in sorted(privacy.items())])
    )
    if indicators is not None and len(indicators):
        monthly = (
            indicators.groupby("month")
            .agg(
                participation=("org_life_participation_rate", "mean"),
                study=("study_completion_rate", "mean"),
                dues=("dues_on_time_rate", "mean"),
                hours=("volunteer_hours", "sum"),
            )
            .sort_index()
        )
        months = list(monthly.index)
        sections.append(
            "<h2>Indicators (mean over branches, per month)</h2>"
            "<h3>Org-life participation rate</h3>"
            + _svg_columns(
                months, list(monthly["participation"]), fmt="{:.0%}", title="participation"
            )
            + "<h3>Study completion rate</h3>"
            + _svg_columns(
                months, list(monthly["study"]), fmt="{:.0%}", title="study", colour="#00838f"
            )
            + "<h3>Dues paid on time</h3>"
            + _svg_columns(
                months, list(monthly["dues"]), fmt="{:.0%}", title="dues", colour="#2e7d32"
            )
            + "<h3>Volunteer hours (all branches)</h3>"
            + _svg_columns(
                months, list(monthly["hours"]), fmt="{:,.0f}", title="hours", colour="#ef6c00"
            )
            + f"<p class='meta'>{indicators['branch_id'].nunique()} branches</p>"
        )
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n<html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{_e(title)} — {_e(run_id)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def render_run_report(out: Path, **sections: Any) -> Path:
    """Write the self-contained report to ``out`` (keyword sections as :func:`run_report_html`)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(run_report_html(**sections), encoding="utf-8")
    log.info("run report written: %s", out)
    return out
