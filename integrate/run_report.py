"""The run report a party-building office reads: one self-contained HTML page per run.

Rendered from a Jinja2 template (``integrate/templates/run_report.html.j2``) in Chinese by
default or English; the charts are Apache ECharts options drawn by the ECharts script,
which is inlined into the page (installed by ``npm ci`` from the project's
``package-lock.json``), so the page needs no network and prints as it shows. Order: what
happened in the run (sources, rows, refused files, stale sources), why rows were
quarantined, the branch indicators per college and per branch over the months ("no
data" shown as such), the privacy gate in words, the publication, links to each
source's Data Docs and each department's feedback. Only counts, rates and aggregates
appear — never a token or an identifier.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from integrate.report_charts import (
    INDICATORS,
    accounting_chart,
    branch_heatmap,
    college_frame,
    college_line_chart,
    rejects_chart,
)
from integrate.report_text import Language, label

__all__ = ["echarts_script_path", "render_run_report", "run_report_html"]

log = logging.getLogger(__name__)

_FIELDS = ("in", "accepted", "quarantined", "suppressed", "published")
_TEMPLATES = Path(__file__).resolve().parent / "templates"
_PROJECT = Path(__file__).resolve().parent.parent


def echarts_script_path() -> Path:
    """Where the ECharts build is: ``$ISLANDBRIDGE_ECHARTS_JS``, else the project's
    ``node_modules`` (``make env`` runs ``npm ci``)."""
    configured = os.environ.get("ISLANDBRIDGE_ECHARTS_JS")
    if configured:
        return Path(configured)
    return _PROJECT / "node_modules" / "echarts" / "dist" / "echarts.min.js"


@cache
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _script_json(option: Mapping[str, Any]) -> str:
    """An option as JSON safe inside ``<script type="application/json">``."""
    text = json.dumps(option, ensure_ascii=False, allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _number(value: object) -> str:
    return f"{int(value):,}" if isinstance(value, int | float) else str(value or "")


def _reason_text(code: str, language: Language) -> str:
    from quality import describe_reason

    try:
        text = describe_reason(code)
    except Exception:  # an unknown code is shown as itself
        return code
    words = text.zh if language == "zh" else text.en
    # the code beside the words where it is a plain code (a detail such as a cell range
    # is in the words already)
    return f"{words} ({code})" if re.fullmatch(r"[a-z0-9_]+", code) else words


def _single_privacy(privacy: Mapping[str, Any]) -> Mapping[str, Any]:
    if "k_required" in privacy:
        return privacy
    nested = [v for v in privacy.values() if isinstance(v, Mapping) and "k_required" in v]
    return nested[0] if len(nested) == 1 else {}


def _percent(value: object) -> str:
    try:
        return f"{float(value):.1%}"
    except (TypeError, ValueError):
        return "—"


def _privacy_lines(privacy: Mapping[str, Any], language: Language) -> list[str]:
    gate = _single_privacy(privacy)
    if not gate:
        return []
    t = lambda key, **kw: label(key, language, **kw)  # noqa: E731
    sep = "、" if language == "zh" else ", "
    lines = []
    if gate.get("met", True):
        lines.append(
            t("privacy_k", k=gate.get("k_achieved") or "—", k_required=gate.get("k_required"))
        )
    else:
        lines.append(t("privacy_not_met", k_required=gate.get("k_required")))
    qis = [str(q) for q in gate.get("quasi_identifiers") or []]
    if qis:
        lines.append(t("privacy_qi", qis=sep.join(qis)))
    lines.append(t("privacy_suppressed", n=f"{int(gate.get('suppressed_rows') or 0):,}"))
    steps = [str(s) for s in gate.get("steps") or []]
    if "coverage" in gate:  # local recoding: each person's values generalised as far as needed
        lines.append(t("privacy_local_recoding"))
    else:
        lines.append(t("privacy_steps", steps=sep.join(steps)) if steps else t("privacy_no_steps"))
    if gate.get("sensitive") and gate.get("l_achieved") is not None:
        lines.append(t("privacy_ldiv", l=gate["l_achieved"], l_required=gate.get("l_required")))
    if "prosecutor_risk_max" in gate:
        lines.append(
            t(
                "privacy_risk",
                max=_percent(gate.get("prosecutor_risk_max")),
                avg=_percent(gate.get("prosecutor_risk_avg")),
            )
        )
    return lines


def _privacy_detail(privacy: Mapping[str, Any]) -> dict[str, Any] | None:
    """The utility kept, the information loss beside the global baseline and the attack's
    results, formatted for the template (None without the local gate's facts)."""
    from integrate.privacy_report import privacy_section

    if not isinstance(privacy.get("dim_person"), Mapping):
        return None
    data = privacy_section(dict(privacy))
    stats = data.get("statistics") or {}
    return {
        "utility": [
            {
                **row,
                "persons_with_value": _number(row["persons_with_value"]),
                "local": _percent(row["local"]),
                "global_baseline": _percent(row["global_baseline"]),
            }
            for row in data["utility"]
        ],
        "loss": [
            {
                "metric": row["metric"],
                "local": _rounded(row["local"]),
                "global_baseline": _rounded(row["global_baseline"]),
            }
            for row in data["information_loss"]
        ],
        "risk": [
            {
                "facts_known": row["facts_known"],
                "targets": _number(row["targets"]),
                "prosecutor": _percent(row["prosecutor"]),
                "journalist": _percent(row["journalist"]),
            }
            for row in data["risk"]
        ],
        "statistics": str(stats.get("method") or ""),
    }


def _rounded(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "—" if value is None else str(value)


def _source_rows(sources: Sequence[Mapping[str, Any]], language: Language) -> list[dict]:
    rows = []
    for s in sources:
        status = str(s.get("status", ""))
        carried = bool(s.get("carried"))
        key = "failed_carried" if status == "failed" and carried else status
        rows.append(
            {
                "source": s.get("source", ""),
                "department": s.get("department", ""),
                "status_text": label(key, language) if key else "",
                "css": "failed" if status == "failed" else ("carried" if carried else ""),
                "rows_in": _number(s.get("in", "")),
                "quarantined": _number(s.get("quarantined", "")),
                "published": _number(s.get("published", "")),
                "origin_run": s.get("origin_run") or "",
                "problem": s.get("problem") or "",
            }
        )
    return rows


def _refused(sources: Sequence[Mapping[str, Any]], language: Language) -> list[dict]:
    return [
        {
            "source": s.get("source", ""),
            "location": r.get("location", ""),
            "reason": r.get("reason", ""),
            "rows": label("rows_unknown", language) if r.get("rows_unknown") else r.get("rows", 0),
        }
        for s in sources
        for r in s.get("rejected_inputs") or []
    ]


def _indicator_sections(
    indicators: pd.DataFrame | None,
    branches: pd.DataFrame | None,
    language: Language,
) -> tuple[list[dict], list[tuple[str, dict]], int]:
    if indicators is None or not len(indicators):
        return [], [], 0
    frame = indicators.copy()
    frame["branch_id"] = frame["branch_id"].astype("string")
    frame["month"] = frame["month"].astype("string")
    college_of: dict[str, str] = {}
    branch_labels: dict[str, str] = {}
    if branches is not None and len(branches):
        for row in branches.itertuples(index=False):
            bid = str(row.branch_id)
            college = getattr(row, "college", None)
            name = getattr(row, "branch_name", None)
            if isinstance(college, str) and college:
                college_of[bid] = college
            branch_labels[bid] = f"{bid} {name}" if isinstance(name, str) and name else bid
    colleges = college_frame(frame, college_of)
    sections, charts = [], []
    for column, (key, is_rate, _, _) in INDICATORS.items():
        title = label(key, language)
        has_data = column in frame and frame[column].notna().any()
        sections.append({"column": column, "title": title, "has_data": bool(has_data)})
        if not has_data:
            continue
        charts.append(
            (
                f"chart-{column}-college",
                college_line_chart(
                    colleges,
                    column,
                    f"{title} — {label('by_college', language)}",
                    is_rate=is_rate,
                ),
            )
        )
        charts.append(
            (
                f"chart-{column}-branch",
                branch_heatmap(
                    frame,
                    column,
                    f"{title} — {label('by_branch', language)}",
                    is_rate=is_rate,
                    branch_labels=branch_labels,
                    no_data=label("no_data", language),
                ),
            )
        )
    return sections, charts, int(frame["branch_id"].nunique())


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
    branches: pd.DataFrame | None = None,
    data_docs: Mapping[str, str] | None = None,
    feedback: Mapping[str, str] | None = None,
    university: str = "",
    language: Language = "zh",
    generated: datetime | None = None,
) -> str:
    """The report as an HTML string (see :func:`render_run_report`).

    ``sources``: per source ``source``, ``department``, ``status`` (fresh / carried /
    failed), ``carried``, ``origin_run``, ``run_at``, ``problem``, the accounting counts
    and ``rejected_inputs`` (files refused whole). ``branches``: ``branch_id``,
    ``college``, ``branch_name`` (indicators per college). ``data_docs`` / ``feedback``:
    name → link (relative to the report's folder).
    """
    if language not in ("zh", "en"):
        raise ValueError(f"report language {language!r}: known are zh, en")

    def t(key: str, **values: object) -> str:
        return label(key, language, **values)

    accounting = sorted(row_accounting.items())
    totals = {f: sum(int(c.get(f, 0)) for _, c in accounting) for f in _FIELDS}
    balanced = all(
        c.get("in", 0) == c.get("quarantined", 0) + c.get("suppressed", 0) + c.get("published", 0)
        for _, c in accounting
    )
    reasons = [
        (_reason_text(code, language), int(n))
        for code, n in sorted(rejects.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    charts: list[tuple[str, dict]] = [
        (
            "chart-accounting",
            accounting_chart(
                accounting,
                {k: t(k) for k in ("published", "suppressed", "quarantined")},
                t("chart_accounting"),
            ),
        )
    ]
    if reasons:
        charts.append(("chart-rejects", rejects_chart(reasons, t("chart_rejects"))))
    indicator_sections, indicator_charts, n_branches = _indicator_sections(
        indicators, branches, language
    )
    charts += indicator_charts
    publication = dict(publication or {})
    status = str(publication.get("status") or "")
    status_key = {"published": "pub_published", "not reached": "pub_not_reached"}.get(
        status, "pub_refused" if status else "pub_not_reached"
    )
    tables = publication.get("tables") or {}
    source_rows = _source_rows(sources, language)
    ok = balanced and status in ("published", "") and not any(r["css"] for r in source_rows)
    script = echarts_script_path()
    charts_available = script.is_file()
    if not charts_available:
        log.warning("report: no ECharts build at %s (run make env): tables only", script)
    link_fields = sorted({k for c in linkage.values() for k in c})
    page = (
        _environment()
        .get_template("run_report.html.j2")
        .render(
            t=t,
            lang=language,
            run_id=run_id,
            university=university or "—",
            generated=(generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
            ok=ok if status else balanced,
            sources=source_rows,
            fields=_FIELDS,
            accounting=[(n, {f: f"{int(c.get(f, 0)):,}" for f in _FIELDS}) for n, c in accounting],
            totals={f: f"{v:,}" for f, v in totals.items()},
            balanced=balanced,
            refused=_refused(sources, language),
            stale=[s for s in sources if s.get("carried")],
            rejects=[(text, f"{n:,}") for text, n in reasons],
            rejects_height=max(160, 28 * len(reasons) + 60),
            linkage=[
                (n, {k: f"{int(c.get(k, 0)):,}" for k in link_fields})
                for n, c in sorted(linkage.items())
            ],
            linkage_fields=link_fields,
            indicators=indicator_sections,
            n_branches=n_branches,
            heatmap_height=min(1400, max(220, (16 if n_branches <= 40 else 7) * n_branches + 90)),
            privacy_lines=_privacy_lines(privacy, language),
            privacy_detail=_privacy_detail(privacy),
            publication={
                "status": t(status_key),
                "version": publication.get("version") or "",
                "message": publication.get("message") or "",
                "tables": sorted((str(k), f"{int(v):,}") for k, v in dict(tables).items()),
                "verify": publication.get("verify_ok"),
            },
            data_docs=sorted((data_docs or {}).items()),
            feedback=sorted((feedback or {}).items()),
            charts=[(cid, _script_json(option)) for cid, option in charts],
            charts_available=charts_available,
            echarts_js=script.read_text(encoding="utf-8") if charts_available else "",
        )
    )
    return page


def render_run_report(out: Path, **sections: Any) -> Path:
    """Write the self-contained report to ``out`` (keyword sections as :func:`run_report_html`)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(run_report_html(**sections), encoding="utf-8")
    log.info("run report written: %s", out)
    return out
