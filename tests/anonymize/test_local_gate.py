"""The local-recoding gate on the demo university: k checked with pycanon, utility kept
(coverage per quasi-identifier, measured honestly), loss beside the global baseline."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pycanon import anonymity

from anonymize import PolicyError, PrivacyThresholdError, load_policy, recode_locally

DEMO_MEMBERS, DEMO_SEED = 5000, 20260630


@cache
def demo_persons(members: int = DEMO_MEMBERS, seed: int = DEMO_SEED) -> pd.DataFrame:
    from islandbridge.synth.generator import _rngs
    from islandbridge.synth.people import PERSON_TYPES, UNITS, build_population
    from islandbridge.synth.vocab import build_name_pools

    pop = build_population(_rngs(seed, 12)[0], build_name_pools(seed), members, date(2026, 6, 30))
    member = pop.is_member
    ladder = np.array(["applicant", "activist", "candidate", "probationary", "full"], dtype=object)
    units = np.array([u.name for u in UNITS], dtype=object)
    joined = pd.Series(pop.steps[:, 3]).astype("datetime64[ns]")
    return pd.DataFrame(
        {
            "person_key": [f"P{i:07d}" for i in range(pop.n)],
            "gender": np.where(pop.male, "M", "F"),
            "birth_date": pd.Series(pop.birth).astype("datetime64[ns]").dt.year.astype(str),
            "college": units[pop.unit],
            "branch_id": np.where(member, pop.branches.code[np.maximum(pop.branch, 0)], None),
            "person_type": np.array(PERSON_TYPES, dtype=object)[pop.ptype],
            "status": np.where(member, ladder[np.maximum(pop.status, 0)], "non_member"),
            "joined_year": joined.dt.year.astype("Int64").astype("string"),
        }
    ).astype("string")


def demo_gate_kwargs() -> dict:
    policy = load_policy(Path(__file__).parents[2] / "config" / "privacy.yaml")
    kwargs = policy.gate("member").kwargs()
    assert kwargs.pop("method") == "local"
    return kwargs


PUBLISHED_QIS = ["branch_id", "college", "gender", "birth_date", "joined_year", "person_type"]


@pytest.fixture(scope="module")
def demo_gate():
    persons = demo_persons()
    gated, report = recode_locally(persons.drop(columns="status"), **demo_gate_kwargs())
    return persons, gated, report


def test_demo_university_meets_k5_checked_by_pycanon(demo_gate):
    _, gated, report = demo_gate
    published = gated[PUBLISHED_QIS].astype(object).fillna("(none)")
    assert anonymity.k_anonymity(published, PUBLISHED_QIS) >= 5
    assert report.k_achieved >= 5 and report.met


def test_demo_university_coverage_is_measured_honestly(demo_gate):
    """Acceptance figures, counted only over persons who have the value (persons who never
    joined and persons without a branch are not counted as kept; suppressed persons are
    counted as not kept). Targets: branch >= 95 %, birth decade or finer >= 90 %, join
    year to 5 years or finer >= 80 %. Branch and decade are met; the join band is not, and
    cannot be with the branch published: see test_join_band_with_branch_is_bounded."""
    persons, gated, report = demo_gate
    cov = report.coverage
    branch = cov["branch_id"]["at_or_finer"][0]
    decade = cov["birth_date"]["at_or_finer"][2]
    join5 = cov["joined_year"]["at_or_finer"][1]
    assert cov["branch_id"]["rows_with_value"] == persons["branch_id"].notna().sum()
    assert cov["joined_year"]["rows_with_value"] == persons["joined_year"].notna().sum()
    # the same figures counted independently on the published table
    label = gated["birth_date"].astype("string")
    span = label.str.extract(r"^(\d{4})(?:-(\d{4}))?$").astype(float)
    finer = (span[1].fillna(span[0]) - span[0] + 1) <= 10
    assert finer.sum() / len(persons) == pytest.approx(decade, abs=1e-6)
    members = persons["branch_id"].notna().sum()
    shown = gated["branch_id"].notna() & (gated["branch_id"] != "*")
    assert shown.sum() / members == pytest.approx(branch, abs=1e-6)
    joined = persons["joined_year"].notna().sum()
    jlabel = gated["joined_year"].astype("string")
    jspan = jlabel.str.extract(r"^(\d{4})(?:-(\d{4}))?$").astype(float)
    jfiner = ((jspan[1].fillna(jspan[0]) - jspan[0] + 1) <= 5).sum()
    assert jfiner / joined == pytest.approx(join5, abs=1e-6)
    assert branch >= 0.95
    assert decade >= 0.90
    assert 0.20 <= join5 < 0.80  # measured 23.3 %: the target is out of reach (see below)


def test_join_band_with_branch_is_bounded():
    """Why the join target is out of reach with the branch published (>= 95 %): a joiner
    whose branch is published shares a class with >= 4 other joiners of the same branch
    and 5-year band; joiners without such peers can keep the band only by losing their
    branch, and at most 5 % of members may. Even granting all of that budget to joiners,
    fewer than 80 % of them can keep the band."""
    persons = demo_persons()
    joined = persons[persons["joined_year"].notna()]
    band = joined["joined_year"].astype(int) // 5
    peers = joined.groupby([joined["branch_id"], band])["person_key"].transform("size")
    with_peers = int((peers >= 5).sum())
    may_lose_branch = int(0.05 * persons["branch_id"].notna().sum())
    bound = (with_peers + may_lose_branch) / len(joined)
    assert bound < 0.80


def test_local_recoding_loses_less_than_the_global_baseline(demo_gate):
    _, _, report = demo_gate
    local, glob = report.information_loss, report.baseline["information_loss"]
    assert report.baseline["feasible"]
    assert local["ncp"] < glob["ncp"]
    assert local["discernibility"] < glob["discernibility"]


def test_a_ladder_that_is_not_a_hierarchy_is_refused():
    table = pd.DataFrame({"y": [str(1990 + i % 10) for i in range(50)]})
    ladders = {
        "y": [
            {"operator": "generalise", "params": {"to": "band", "width": 4}},
            {"operator": "generalise", "params": {"to": "band", "width": 5}},
        ]
    }
    with pytest.raises(PolicyError, match="not a hierarchy"):
        recode_locally(table, ["y"], k=5, ladders=ladders)


def test_gate_refuses_when_k_needs_more_than_the_budget():
    table = pd.DataFrame({"y": [str(1990 + i) for i in range(4)]})
    with pytest.raises(PrivacyThresholdError, match="refuses"):
        recode_locally(table, ["y"], k=5, max_suppression_rate=0.0)


def test_l_diversity_is_enforced_in_every_class():
    rng = np.random.default_rng(3)
    table = pd.DataFrame(
        {
            "y": [str(1980 + int(v)) for v in rng.integers(0, 30, 400)],
            "s": rng.choice(["a", "b", "c"], 400),
        }
    )
    ladders = {"y": [{"operator": "generalise", "params": {"to": "band", "width": 5}}]}
    gated, _ = recode_locally(table, ["y"], k=5, l=2, sensitive=["s"], ladders=ladders)
    assert anonymity.l_diversity(gated, ["y"], ["s"]) >= 2
    assert anonymity.k_anonymity(gated, ["y"]) >= 5


def test_same_table_gives_the_same_report_and_rows(demo_gate):
    """The report goes into the manifest, whose content names the version: no timing in it,
    and the same input gives the same published rows."""
    persons, gated, report = demo_gate
    again, report_again = recode_locally(persons.drop(columns="status"), **demo_gate_kwargs())
    assert report.as_dict() == report_again.as_dict()
    assert "seconds" not in report.as_dict() and report.seconds["local"] >= 0
    pd.testing.assert_frame_equal(gated, again)
