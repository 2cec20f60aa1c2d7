"""The report's privacy section: utility kept beside the baseline, and the risk."""

from __future__ import annotations

from integrate.privacy_report import privacy_section, privacy_section_html

PRIVACY = {
    "dim_person": {
        "method": "local recoding",
        "k_required": 5,
        "k_achieved": 5,
        "coverage": {
            "birth_date": {
                "rows_with_value": 100,
                "levels": ["value", "band 5", "band 10", "*"],
                "at_or_finer": [0.2, 0.5, 0.92, 1.0],
            }
        },
        "information_loss": {"ncp": 0.1, "discernibility_per_row": 9.0},
        "baseline": {
            "coverage": {"birth_date": {"at_or_finer": [0.0, 0.0, 0.0, 1.0]}},
            "information_loss": {"ncp": 0.4, "discernibility_per_row": 90.0},
        },
    },
    "attack": {
        "by_facts": {
            "1": {"targets": 10, "prosecutor_singled_out": 0.1, "journalist_singled_out": 0.05},
            "0": {"targets": 10, "prosecutor_singled_out": 0.0, "journalist_singled_out": 0.0},
        },
        "threshold": 0.5,
        "threshold_without_facts": 0.0,
    },
    "statistics": {"method": "small-cell suppression <b>", "threshold": 5},
}


def test_section_shows_utility_beside_baseline_and_risk_by_facts():
    data = privacy_section(PRIVACY)
    decade = next(r for r in data["utility"] if r["level"] == "band 10")
    assert decade["local"] == 0.92 and decade["global_baseline"] == 0.0
    assert [r["facts_known"] for r in data["risk"]] == [0, 1]
    assert {m["metric"] for m in data["information_loss"]} == {"ncp", "discernibility_per_row"}


def test_html_fragment_escapes_values():
    html = privacy_section_html(PRIVACY)
    assert "92.0 %" in html and "10.0 %" in html
    assert "<b>" not in html and "&lt;b&gt;" in html
