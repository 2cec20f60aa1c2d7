"""The re-identification attack: exact birth dates are refused; the k=5 gate's output
singles out nobody by quasi-identifiers alone; facts are measured per model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anonymize import recode_locally
from anonymize.attack import simulate_attack

KNOWN = ["branch", "gender", "birth_date"]


def _population(n: int = 600, seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    birth = pd.Timestamp("1970-01-01") + pd.to_timedelta(rng.integers(0, 365 * 30, n), unit="D")
    people = pd.DataFrame(
        {
            "person_key": [f"P{i:05d}" for i in range(n)],
            "branch": rng.choice([f"B{i}" for i in range(20)], n),
            "gender": rng.choice(["M", "F"], n),
            "birth_date": birth.strftime("%Y-%m-%d"),
        }
    )
    dates = rng.choice(pd.date_range("2026-01-01", periods=30).strftime("%Y-%m-%d"), 3 * n)
    facts = pd.DataFrame(
        {"person_key": np.repeat(people["person_key"].to_numpy(), 3), "fact": "attendance|" + dates}
    )
    return people, facts


def _attack(published, people, facts, ladders=None):
    return simulate_attack(
        published,
        people,
        known=KNOWN,
        published_facts=facts[facts["person_key"].isin(published["person_key"])],
        population_facts=facts,
        ladders=ladders,
        targets=300,
        seed=1,
        threshold=0.5,
        threshold_without_facts=0.0,
    )


def test_publishing_exact_birth_dates_is_refused():
    people, facts = _population()
    report = _attack(people, people, facts)  # a configuration that publishes them as they are
    assert report.refused
    assert report.singled_out_without_facts > 0.5


def test_gated_publication_singles_out_nobody_by_quasi_identifiers():
    people, facts = _population()
    table = people.assign(birth_year=people["birth_date"].str.slice(0, 4))
    ladders = {
        "birth_year": [
            {"operator": "generalise", "params": {"to": "band", "width": 5}},
            {"operator": "generalise", "params": {"to": "band", "width": 10}},
        ]
    }
    gated, _ = recode_locally(table, ["branch", "gender", "birth_year"], k=5, ladders=ladders)
    known_ladders = {
        "birth_date": [{"operator": "generalise", "params": {"to": "year"}}, *ladders["birth_year"]]
    }
    published = gated.assign(birth_date=gated["birth_year"])
    report = _attack(published, people, facts, known_ladders)
    assert report.singled_out_without_facts == 0.0
    with_facts = report.by_facts["3"]
    assert 0 <= with_facts["journalist_singled_out"] <= with_facts["prosecutor_singled_out"]
    # three meeting dates out of thirty nearly identify a person: the facts are what
    # singles people out here, and the threshold on them refuses this publication
    assert with_facts["prosecutor_singled_out"] > report.by_facts["0"]["prosecutor_singled_out"]
    assert report.refused and report.max_singled_out > 0.5


def test_interval_labels_are_matched_by_the_values_they_contain():
    """A data-driven interval ("1971-1975") is no ladder label: the adversary matches it by
    the true year inside it. Everyone here shares branch, gender and interval, and each
    person has one fact of their own: the facts single out every target, the
    quasi-identifiers nobody — only if the target's own interval is seen to contain them."""
    n = 40
    years = [str(1971 + i % 5) for i in range(n)]
    people = pd.DataFrame(
        {
            "person_key": [f"P{i:03d}" for i in range(n)],
            "branch": "B1",
            "gender": "F",
            "birth_date": [f"{y}-06-01" for y in years],
        }
    )
    facts = pd.DataFrame(
        {"person_key": people["person_key"], "fact": "attendance|" + people["person_key"]}
    )
    published = people.assign(birth_date="1971-1975")
    year = {"operator": "generalise", "params": {"to": "year"}}
    interval = {"operator": "generalise", "params": {"to": "interval", "max_width": 5}}
    band = {"operator": "generalise", "params": {"to": "band", "width": 10}}
    report = _attack(published, people, facts, {"birth_date": [year, interval, band]})
    assert report.singled_out_without_facts == 0.0
    assert report.by_facts["1"]["prosecutor_singled_out"] == 1.0
