"""The privacy section of the run report: the utility kept next to the risk.

:func:`privacy_section` turns the manifest's ``privacy`` facts into rows a template
can show (the share of persons whose value is published at each level, for the
local recoding and its global baseline; the information loss of both; the attack's
share singled out per number of known facts and model; the statistics tier's
protection); :func:`privacy_section_html` renders them as one self-contained HTML
fragment (escaped), for a report that has no template for it yet.
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["privacy_section", "privacy_section_html"]


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f} %"


def privacy_section(privacy: dict[str, Any]) -> dict[str, Any]:
    """Rows for the report from the manifest's ``privacy`` facts."""
    gate = privacy.get("dim_person", {})
    baseline = gate.get("baseline", {})
    utility = []
    for qi, cov in gate.get("coverage", {}).items():
        base = baseline.get("coverage", {}).get(qi, {})
        for j, level in enumerate(cov.get("levels", [])):
            if level == "*":
                continue
            shares = cov.get("at_or_finer", [])
            base_shares = base.get("at_or_finer", [])
            utility.append(
                {
                    "column": qi,
                    "level": level,
                    "persons_with_value": cov.get("rows_with_value"),
                    "local": shares[j] if j < len(shares) else None,
                    "global_baseline": base_shares[j] if j < len(base_shares) else None,
                }
            )
    loss = gate.get("information_loss", {})
    base_loss = baseline.get("information_loss", {})
    metrics = [
        {"metric": m, "local": loss.get(m), "global_baseline": base_loss.get(m)}
        for m in ("ncp", "weighted_ncp", "discernibility_per_row", "suppressed", "classes")
        if m in loss
    ]
    attack = privacy.get("attack") or {}
    risk = [
        {
            "facts_known": int(m),
            "targets": v.get("targets"),
            "prosecutor": v.get("prosecutor_singled_out"),
            "journalist": v.get("journalist_singled_out"),
        }
        for m, v in sorted(attack.get("by_facts", {}).items(), key=lambda kv: int(kv[0]))
    ]
    return {
        "k_required": gate.get("k_required"),
        "k_achieved": gate.get("k_achieved"),
        "method": gate.get("method"),
        "seconds": gate.get("seconds", {}),
        "utility": utility,
        "information_loss": metrics,
        "risk": risk,
        "risk_thresholds": {
            "with_facts": attack.get("threshold"),
            "without_facts": attack.get("threshold_without_facts"),
        },
        "statistics": privacy.get("statistics"),
    }


def privacy_section_html(privacy: dict[str, Any]) -> str:
    """The privacy section as an HTML fragment (every value escaped)."""
    data = privacy_section(privacy)
    out = [
        '<section id="privacy"><h2>Privacy: utility kept and risk</h2>',
        f"<p>{escape(str(data['method'] or 'privacy gate'))}: k required "
        f"{escape(str(data['k_required']))}, smallest class {escape(str(data['k_achieved']))}."
        "</p>",
        "<table><tr><th>column</th><th>published at</th><th>persons with a value</th>"
        "<th>local recoding</th><th>global baseline</th></tr>",
    ]
    for row in data["utility"]:
        out.append(
            f"<tr><td>{escape(row['column'])}</td><td>{escape(row['level'])} or finer</td>"
            f"<td>{escape(str(row['persons_with_value']))}</td><td>{_pct(row['local'])}</td>"
            f"<td>{_pct(row['global_baseline'])}</td></tr>"
        )
    out.append("</table><table><tr><th>information loss</th><th>local</th><th>global</th></tr>")
    for row in data["information_loss"]:
        out.append(
            f"<tr><td>{escape(row['metric'])}</td><td>{escape(str(row['local']))}</td>"
            f"<td>{escape(str(row['global_baseline']))}</td></tr>"
        )
    out.append(
        "</table><table><tr><th>facts known</th><th>targets</th>"
        "<th>singled out (prosecutor)</th><th>singled out (journalist)</th></tr>"
    )
    for row in data["risk"]:
        out.append(
            f"<tr><td>{row['facts_known']}</td><td>{escape(str(row['targets']))}</td>"
            f"<td>{_pct(row['prosecutor'])}</td><td>{_pct(row['journalist'])}</td></tr>"
        )
    out.append("</table>")
    stats = data["statistics"]
    if stats:
        out.append(f"<p>Statistics tier: {escape(str(stats.get('method')))}")
        if "threshold" in stats:
            out.append(f", threshold {escape(str(stats['threshold']))}")
        if "epsilon_spent" in stats:
            out.append(f", ε spent {escape(str(stats['epsilon_spent']))}")
        out.append(".</p>")
    out.append("</section>")
    return "\n".join(out)
