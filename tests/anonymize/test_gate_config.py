"""The local gate's configuration fails on load when it cannot mean what it says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from anonymize import PolicyError, parse_policy

DEMO = Path(__file__).parents[2] / "config" / "privacy.yaml"


def _with_gate(**changes) -> dict:
    doc = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    doc["entities"]["member"]["gate"].update(changes)
    return doc


def test_demo_gate_is_local_with_attack_and_statistics():
    policy = parse_policy(yaml.safe_load(DEMO.read_text(encoding="utf-8")), source="demo")
    gate = policy.gate("member")
    assert gate.method == "local" and gate.attack is not None
    assert policy.statistics is not None and policy.statistics.epsilon is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"level_loss": {"birth_date": [0, 0.5, 0.2, 0.9, 1]}}, "rising"),
        ({"level_loss": {"ethnicity": [0, 1]}}, "needs a quasi-identifier"),
        ({"weights": {"status": 2}}, "needs a quasi-identifier"),
        ({"nested": {"college": "branch_id"}}, "only a quasi-identifier"),
        ({"derived": {"joined_year": "no_such_field"}}, "not a field"),
        ({"metric": "entropy"}, "metric"),
        ({"utility_targets": {"status": {"level": "value", "share": 0.9}}}, "quasi-identifier"),
        ({"utility_targets": {"branch_id": {"level": "value", "share": 1.5}}}, "share"),
        (
            {
                "utility_targets": {
                    "joined_year": {"level": "band 5", "share": 0.8, "within": "gender"}
                }
            },
            "within",
        ),
    ],
)
def test_bad_gate_settings_fail_on_load(changes, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(_with_gate(**changes), source="test")


def test_statistics_budget_must_be_positive():
    doc = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    doc["statistics"] = {"epsilon": 0}
    with pytest.raises(PolicyError, match="epsilon"):
        parse_policy(doc, source="test")


def test_a_level_loss_of_the_wrong_length_is_refused_by_the_gate():
    import pandas as pd

    from anonymize import recode_locally

    table = pd.DataFrame({"y": [str(1990 + i % 10) for i in range(50)]})
    band = {"operator": "generalise", "params": {"to": "band", "width": 5}}
    with pytest.raises(PolicyError, match="levels"):
        recode_locally(table, ["y"], ladders={"y": [band]}, level_loss={"y": [0, 1]})


def test_a_join_target_within_the_branch_loads():
    targets = {
        "branch_id": {"level": "value", "share": 0.95},
        "joined_year": {"level": "band 5", "share": 0.8, "within": "branch_id"},
    }
    gate = parse_policy(_with_gate(utility_targets=targets), source="test").gate("member")
    assert gate.kwargs()["targets"]["joined_year"]["within"] == "branch_id"
