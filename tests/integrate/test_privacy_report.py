"""The report's privacy section: utility kept beside the baseline, and the risk."""

from __future__ import annotations

from integrate.privacy_report import privacy_section
from integrate.run_report import run_report_html

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


def test_the_run_report_shows_utility_loss_and_attack_escaped():
    page = run_report_html(
        run_id="r", row_accounting={}, rejects={}, linkage={}, privacy=PRIVACY, language="en"
    )
    section = page[page.index('<section id="privacy">') :]
    section = section[: section.index("</section>")]
    assert "92.0%" in section and "0.0%" in section  # decade kept, beside the baseline's
    assert "0.1000" in section and "0.4000" in section  # NCP local vs global
    assert "10.0%" in section and "5.0%" in section  # singled out with one fact
    assert "<b>" not in section and "&lt;b&gt;" in section
    assert "Local recoding" in section and "No generalisation was needed" not in section


def test_no_detail_without_the_local_gate_facts():
    page = run_report_html(
        run_id="r", row_accounting={}, rejects={}, linkage={}, privacy={"k_required": 5}
    )
    assert "global recoding (baseline)" not in page and "全局泛化" not in page
