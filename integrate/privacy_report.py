"""The privacy section of the run report: the utility kept next to the risk.

:func:`privacy_section` turns the manifest's ``privacy`` facts into rows a template
can show (the share of persons whose value is published at each level, for the
local recoding and its global baseline; the information loss of both; the attack's
share singled out per number of known facts and model; the statistics tier's
protection). The run report (:mod:`integrate.run_report`) shows them in its privacy
section.
"""

from __future__ import annotations

from typing import Any

__all__ = ["privacy_section"]


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
        "utility": utility,
        "information_loss": metrics,
        "risk": risk,
        "risk_thresholds": {
            "with_facts": attack.get("threshold"),
            "without_facts": attack.get("threshold_without_facts"),
        },
        "statistics": privacy.get("statistics"),
    }
