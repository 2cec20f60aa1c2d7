"""The pipeline against the synthetic university's ground truth (issues 4 and 6).

One small university, one inline run (no Airflow); the quarantine must find every
detectable injected error class with precision and recall >= 0.99, and linkage must
put activity records on the right person with precision and recall >= 0.995.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from islandbridge.run_layout import DataLayout, RunLayout, RunPlan, read_result
from islandbridge.synth.evaluation import (
    DETECTING_REASONS,
    UNDETECTABLE,
    Evaluation,
    evaluate_linkage,
    evaluate_quality,
    evaluate_run,
)

pytestmark = [pytest.mark.xdist_group("e2e")]

MEMBERS = 1500
SEED = 11
RUN_ID = "accuracy"


def run_sources(run: RunLayout) -> list[str]:
    return read_result(RunPlan, run.plan).sources


QUALITY_FLOOR = 0.99
LINKAGE_FLOOR = 0.995


@pytest.fixture(scope="module")
def accuracy_run(tmp_path_factory) -> tuple[Path, dict]:
    """A 1,500-member university, run once through every stage in this process."""
    from islandbridge import stages
    from islandbridge.demo import ensure_demo_secrets, ensure_university
    from islandbridge.synth.volunteer_api import volunteer_api_in_env

    data_dir = tmp_path_factory.mktemp("accuracy")
    ensure_university(data_dir, members=MEMBERS, seed=SEED)
    ensure_demo_secrets(data_dir)
    with volunteer_api_in_env(data_dir / "university"):
        summary = stages.run_inline({"data_dir": str(data_dir)}, RUN_ID)
    return data_dir, summary


@pytest.fixture(scope="module")
def evaluation(accuracy_run) -> Evaluation:
    data_dir, _ = accuracy_run
    return evaluate_run(data_dir, RUN_ID)


def _entities() -> dict[str, str]:
    from islandbridge.config import load_config

    config, _ = load_config(None)
    return {s.name: s.entity for s in config.sources}


def test_run_is_balanced(accuracy_run):
    _, summary = accuracy_run
    assert summary["balanced"] is True


def test_every_detectable_class_is_quarantined_with_precision_and_recall_of_99(evaluation):
    scored = {c.error_class: c for c in evaluation.classes if c.detectable}
    assert set(scored) == set(DETECTING_REASONS)
    for name, score in scored.items():
        assert score.injected > 0, name
        assert score.recall is not None and score.recall >= QUALITY_FLOOR, (name, score)
        assert score.precision is not None and score.precision >= QUALITY_FLOOR, (name, score)


def test_undetectable_classes_are_listed_without_scores(evaluation):
    for name in UNDETECTABLE:
        score = evaluation.score(name)
        assert score.injected > 0 and score.precision is None and score.recall is None


def test_nothing_is_quarantined_without_an_injected_error(evaluation):
    assert sum(evaluation.unexplained.values()) <= 0.001 * sum(
        c.flagged for c in evaluation.classes
    ), evaluation.unexplained
    assert evaluation.unmapped_truth == 0


def test_linkage_precision_and_recall_of_995_per_source(evaluation):
    sources = {s.source for s in evaluation.linkage}
    assert sources == {"branch_signins", "league_volunteer", "finance_dues", "learning_platform"}
    for score in evaluation.linkage:
        if score.records == 0:  # the tampered export may be this source's only file
            continue
        assert score.precision is not None and score.precision >= LINKAGE_FLOOR, score
        assert score.recall is not None and score.recall >= LINKAGE_FLOOR, score
        assert score.nonexistent_linked == 0, score


def test_every_named_source_of_the_demo_links_traditional_spellings_of_a_name():
    # a near-duplicate sign-in kept over its original, or a roster row, may spell 陈涛 as 陳濤;
    # unfolded, the name check (keyed Bloom Dice) rejects the key hit: unknown_person
    from connectors import standardise
    from islandbridge.config import load_config

    config, _ = load_config(None)
    named = [s for s in config.sources if "name" in s.columns.values()]
    assert len(named) >= 6
    for spec in named:
        raw = pd.DataFrame({column: ["1"] for column in spec.columns}).assign(record_key="k:1")
        raw[next(c for c, f in spec.columns.items() if f == "name")] = "陳 濤"
        for field in spec.file.filename_fields if spec.file else {}:
            raw[f"__file_{field}"] = "B001"
        assert standardise(raw, spec)["name"].tolist() == ["陈涛"], spec.name


# ----------------------------------------------------------- the evaluation can fail


@pytest.fixture
def damaged_run(accuracy_run, tmp_path) -> tuple[Path, RunLayout]:
    """A copy of the run folder to damage; the university is shared (read only)."""
    data_dir, _ = accuracy_run
    run = RunLayout(tmp_path / "run")
    shutil.copytree(DataLayout(data_dir).run(RUN_ID).root, run.root)
    return data_dir / "university", run


def test_evaluation_notices_missed_and_false_quarantines(damaged_run):
    university, run = damaged_run
    path = run.quality_quarantine("league_volunteer")
    quarantine = pd.read_parquet(path)
    missed = quarantine["reasons"].str.contains("future_date")
    assert missed.any()
    linked = pd.read_parquet(run.linked("league_volunteer"))
    false = linked.head(int(missed.sum()))[["record_key"]].assign(reasons="impossible_hours")
    damaged = pd.concat([quarantine[~missed], false], ignore_index=True)
    damaged.to_parquet(path)
    scores, unexplained, _ = evaluate_quality(university, run, _entities())
    by_class = {s.error_class: s for s in scores}
    assert by_class["future_date"].recall < QUALITY_FLOOR
    assert by_class["impossible_hours"].precision < QUALITY_FLOOR
    assert unexplained.get("impossible_hours", 0) > 0


def test_evaluation_notices_links_to_the_wrong_person(damaged_run, accuracy_run):
    from islandbridge.context import RunContext
    from islandbridge.secrets import load_run_keyring

    university, run = damaged_run
    path = run.linked("finance_dues")
    linked = pd.read_parquet(path)
    if linked.empty:
        pytest.skip("the tampered export was the dues file")
    rotated = linked["person_key"].to_numpy().copy()
    n = len(rotated) // 50 + 2
    rotated[:n] = rotated[1 : n + 1]  # shift a few links one row up: most become wrong
    linked.assign(person_key=rotated).to_parquet(path)
    data_dir, _ = accuracy_run
    keyring = load_run_keyring(RunContext(data_dir, None, RUN_ID, pd.Timestamp.now().date()))
    scores, _ = evaluate_linkage(university, run, _entities(), keyring)
    dues = next(s for s in scores if s.source == "finance_dues")
    assert dues.wrong > 0 and dues.precision < LINKAGE_FLOOR


#: token column → (truth column(s), token domain) of the demo policy
_TOKEN_TRUTH = {
    "id_number_token": (("id_number",), "id_number"),
    "mobile_token": (("mobile",), "mobile"),
    "student_no_token": (("student_no",), "person_no"),
    "staff_no_token": (("staff_no",), "person_no"),
    "person_no_token": (("student_no", "staff_no"), "person_no"),
}


def test_the_same_person_has_the_same_token_in_every_source(accuracy_run):
    """Recompute each clean record's tokens from the true identity, independently of the run."""
    from anonymize import KeySource, load_keyring, token_for

    data_dir, _ = accuracy_run
    truth = data_dir / "university" / "truth"
    persons = pd.read_parquet(truth / "persons.parquet").set_index("person_id")
    records = pd.read_parquet(truth / "records.parquet")
    clean = records[
        records["labels"].fillna("").isin(["", "name_typo"]) & records["person_id"].notna()
    ]
    keyring = load_keyring(KeySource(file=data_dir / "secrets" / "keyring.json"))
    checked: dict[str, int] = {}
    run = DataLayout(data_dir).run(RUN_ID)
    for source in run_sources(run):
        path = run.tokens(source)
        tokens = pd.read_parquet(path).merge(clean[["record_key", "person_id"]], on="record_key")
        for column, (truth_columns, domain) in _TOKEN_TRUTH.items():
            if column not in tokens.columns:
                continue
            rows = tokens[tokens[column].notna()]
            for token, person_id in zip(rows[column], rows["person_id"], strict=True):
                person = persons.loc[person_id]
                expected = {
                    token_for(str(person[c]), keyring, domain)
                    for c in truth_columns
                    if pd.notna(person[c])
                }
                assert token in expected, (source, column)
            checked[source] = checked.get(source, 0) + len(rows)
    people_sources = {"org_members", "student_roster", "hr_roster", "branch_signins",
                      "league_volunteer", "finance_dues", "learning_platform"}  # fmt: skip
    assert people_sources <= {s for s, n in checked.items() if n > 0}, checked
