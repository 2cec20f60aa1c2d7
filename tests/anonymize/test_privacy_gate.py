"""The privacy gate: k-anonymity, l-diversity, ladders, suppression, risk; checked independently."""

from __future__ import annotations

from collections import Counter, defaultdict

import pandas as pd
import pytest

from anonymize import PolicyError, PrivacyThresholdError, enforce_k_anonymity, pseudonymise_frame


def _band(width: int) -> dict:
    return {"operator": "generalise", "params": {"to": "band", "width": width}}


def _top() -> dict:
    return {"operator": "generalise", "params": {"to": "top"}}


def _hier(mapping: dict, other: str = "*") -> dict:
    return {
        "operator": "generalise",
        "params": {"to": "hierarchy", "hierarchy": mapping, "other": other},
    }


def independent_k(table: pd.DataFrame, qis: list[str]) -> int:
    """k computed with plain Python, sharing no code with the gate."""
    rows = table[qis].astype(object).where(table[qis].notna(), None).itertuples(index=False)
    counts = Counter(tuple(r) for r in rows)
    return min(counts.values())


def independent_l(table: pd.DataFrame, qis: list[str], sensitive: str) -> int:
    seen: dict[tuple, set] = defaultdict(set)
    for r in table[[*qis, sensitive]].astype(object).itertuples(index=False):
        seen[tuple(r[:-1])].add(r[-1])
    return min(len(v) for v in seen.values())


def test_published_member_table_meets_k5_checked_independently(members, policy, keyring):
    """The datafly gate (the former default) on the demo's ladders, without the local
    gate's additions (nesting, the derived join year)."""
    out, _ = pseudonymise_frame(members, entity="member", policy=policy, keyring=keyring)
    qis = ["gender", "ethnicity", "birth_date", "college", "branch_id", "person_type"]
    ladders = {
        "birth_date": [_band(5), _band(10), _top()],
        "ethnicity": [_hier({"汉族": "汉族", "汉": "汉族"}, other="少数民族"), _top()],
        "person_type": [
            _hier({"student": "student", "faculty": "staff", "staff": "staff", "retired": "staff"}),
            _top(),
        ],
        "gender": [_top()],
    }
    assert independent_k(out, qis) < 5  # the gate has work to do
    gated, report = enforce_k_anonymity(out, qis, k=5, ladders=ladders, max_suppression_rate=0.05)
    assert independent_k(gated, qis) >= 5
    assert independent_l(gated, qis, "status") >= 2
    assert report.met and report.k_achieved == independent_k(gated, qis)
    assert report.steps  # it climbed
    # nothing lost silently
    assert report.rows_in == len(out) == len(gated) + report.suppressed_rows
    assert sorted(report.suppressed_index) == sorted(set(out.index) - set(gated.index))
    assert report.suppressed_rows <= 0.05 * len(out)
    assert report.prosecutor_risk_max <= 1 / 5
    assert sum(size * n for size, n in report.class_sizes.items()) == len(gated)


def test_already_anonymous_table_passes_untouched():
    table = pd.DataFrame({"g": ["M"] * 5 + ["F"] * 5, "s": ["a", "b"] * 5})
    gated, report = enforce_k_anonymity(table, ["g"], k=5, sensitive=["s"], l=2)
    assert gated.equals(table) and report.steps == [] and report.suppressed_rows == 0
    assert report.k_achieved == 5 and report.l_achieved == 2
    assert report.prosecutor_risk_max == pytest.approx(0.2)
    assert report.prosecutor_risk_avg == pytest.approx(2 / 10)


def test_climbs_ladder_then_suppresses_residue():
    years = [1990, 1991, 1992, 1993, 1994] * 4 + [1960]
    table = pd.DataFrame({"year": pd.Series([str(y) for y in years], dtype="string")})
    ladders = {"year": [{"operator": "generalise", "params": {"to": "band", "width": 5}}]}
    gated, report = enforce_k_anonymity(
        table, ["year"], k=5, ladders=ladders, l=1, max_suppression_rate=0.05
    )
    assert report.steps == ["year: generalise(to=band)"]
    assert report.suppressed_rows == 1 and report.suppressed_index == [20]
    assert set(gated["year"]) == {"1990-1994"} and len(gated) == 20


def test_refuses_to_publish_when_threshold_not_met():
    table = pd.DataFrame({"college": [f"c{i}" for i in range(10)]})
    with pytest.raises(PrivacyThresholdError, match="refuses to publish") as info:
        enforce_k_anonymity(table, ["college"], k=5, ladders={}, l=1)
    assert info.value.report.met is False
    assert info.value.report.suppressed_rows == 10


def test_l_diversity_violation_is_generalised_away_or_refused():
    # each college is homogeneous in status: k holds, l=2 does not
    table = pd.DataFrame(
        {"college": ["a"] * 5 + ["b"] * 5, "status": ["full"] * 5 + ["applicant"] * 5}
    )
    with pytest.raises(PrivacyThresholdError, match="l=2"):
        enforce_k_anonymity(table, ["college"], k=5, sensitive=["status"], l=2)
    ladders = {"college": [{"operator": "generalise", "params": {"to": "top"}}]}
    gated, report = enforce_k_anonymity(
        table, ["college"], k=5, ladders=ladders, sensitive=["status"], l=2
    )
    assert report.l_achieved == 2 and set(gated["college"]) == {"*"}


def test_journalist_risk_against_a_population():
    sample = pd.DataFrame({"g": ["M"] * 5})
    population = pd.DataFrame({"g": ["M"] * 20 + ["F"] * 3})
    _, report = enforce_k_anonymity(sample, ["g"], k=5, l=1, population=population)
    assert report.journalist_basis == "population"
    assert report.journalist_risk_max == pytest.approx(1 / 20)
    assert report.prosecutor_risk_max == pytest.approx(1 / 5)


def test_null_quasi_identifiers_form_their_own_class():
    table = pd.DataFrame({"g": pd.Series(["M"] * 5 + [None] * 5, dtype="string")})
    _, report = enforce_k_anonymity(table, ["g"], k=5, l=1)
    assert report.classes == 2 and report.k_achieved == 5


def test_gate_refuses_unknown_columns():
    with pytest.raises(PolicyError, match="no column"):
        enforce_k_anonymity(pd.DataFrame({"a": [1]}), ["b"], k=2)


def test_report_is_json_ready(members, policy, keyring):
    import json

    from anonymize import recode_locally

    out, _ = pseudonymise_frame(members, entity="member", policy=policy, keyring=keyring)
    joined = (
        out["probationary_on"] if "probationary_on" in out else pd.Series(pd.NA, index=out.index)
    )
    out["joined_year"] = joined.astype("string").str.slice(0, 4)
    kwargs = policy.gate("member").kwargs()
    assert kwargs.pop("method") == "local"
    kwargs["max_suppression_rate"] = 0.5  # a few hundred members
    _, report = recode_locally(out, **kwargs)
    text = json.dumps(report.as_dict())
    assert "prosecutor_risk_max" in text and "baseline" in text


def test_top_of_the_ladder_merges_missing_values_too():
    # roster-only people have no ethnicity: at the top of its ladder "missing" must not stay
    # distinguishable, or their class (all one status) can never become l-diverse
    table = pd.DataFrame(
        {
            "ethnicity": ["汉族"] * 6 + [None] * 6,
            "status": ["full", "applicant"] * 3 + ["non_member"] * 6,
        }
    )
    out, report = enforce_k_anonymity(
        table,
        ["ethnicity"],
        k=5,
        sensitive=["status"],
        l=2,
        ladders={"ethnicity": [{"operator": "generalise", "params": {"to": "top"}}]},
    )
    assert report.suppressed_rows == 0 and len(out) == 12
    assert set(out["ethnicity"]) == {"*"}
