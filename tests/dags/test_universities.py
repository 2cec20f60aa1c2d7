"""The universities folder: one DAG set per university, a bad entry confined, overlaps refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from islandbridge.airflow_local import DAGS_FOLDER
from islandbridge.config import default_config_path
from islandbridge.universities import UNIVERSITIES_ENV, load_universities

KINDS = ("campus_integration", "retention", "analyst_refresh")


def _config(folder: Path, **changes) -> Path:
    """The demo's configuration with top-level ``changes`` (e.g. another ``keys``)."""
    raw = yaml.safe_load(default_config_path().read_text("utf-8"))
    raw.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "islandbridge.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def _entry(folder: Path, uid: str, root: Path, config: Path | None = None, **fields) -> Path:
    entry = {"config": str(config or default_config_path()), "data_dir": str(root / uid)}
    entry.update(fields)
    folder.mkdir(exist_ok=True)
    path = folder / f"{uid}.yaml"
    path.write_text(yaml.safe_dump(entry), "utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "universities"
    _entry(folder, "alpha", tmp_path, schedule="0 2 * * *", queue="q_alpha")
    _entry(folder, "beta", tmp_path, schedule=None)
    return folder


SECRET = "110101199003071234"  # a value typed into an entry: never echoed


@pytest.fixture(scope="module")
def bags(tmp_path_factory) -> dict:
    """The DAG folder parsed without a universities folder, and with one holding alpha,
    beta, a malformed entry (gamma) and one that is not YAML (delta)."""
    from airflow.dag_processing.dagbag import DagBag

    root = tmp_path_factory.mktemp("bags")
    folder = root / "universities"
    _entry(folder, "alpha", root, schedule="0 2 * * *", queue="q_alpha")
    _entry(folder, "beta", root, schedule=None)
    (folder / "gamma.yaml").write_text(f"config: x.yaml\ndata_dir: /srv/g\nschedul: '{SECRET}'\n")
    (folder / "delta.yaml").write_text("config: [unclosed\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(UNIVERSITIES_ENV, raising=False)
        today = DagBag(dag_folder=str(DAGS_FOLDER))
        patch.setenv(UNIVERSITIES_ENV, str(folder))
        return {"today": today, "universities": DagBag(dag_folder=str(DAGS_FOLDER))}


def test_one_dag_set_per_university_with_its_schedule_and_queue(folder):
    from islandbridge.university_dags import university_dags

    dags = university_dags(folder)
    assert set(dags) == {f"{u}.{k}" for u in ("alpha", "beta") for k in KINDS}
    alpha, beta = dags["alpha.campus_integration"], dags["beta.campus_integration"]
    assert alpha.timetable.expression == "0 2 * * *"
    assert type(beta.timetable).__name__ == "NullTimetable"  # schedule: null — triggered only
    assert {t.queue for t in alpha.tasks} == {"q_alpha"}  # mapped per-source tasks too
    assert {t.queue for k in KINDS for t in dags[f"beta.{k}"].tasks} == {"islandbridge_beta"}
    assert alpha.params["data_dir"] == str(folder.parent / "alpha")
    assert alpha.params["config"] == str(default_config_path())


def test_a_universitys_run_cannot_be_pointed_at_another_data_folder(folder):
    from airflow.sdk.definitions.param import ParamValidationError

    from islandbridge.university_dags import university_dags

    params = university_dags(folder)["alpha.campus_integration"].params
    params.validate()
    with pytest.raises(ParamValidationError):
        params["data_dir"] = str(folder.parent / "beta")


def test_each_university_publishes_and_refreshes_on_its_own_asset(folder):
    from islandbridge.assets import PUBLISHED
    from islandbridge.university_dags import university_dags

    dags = university_dags(folder)
    for uid in ("alpha", "beta"):
        publish = dags[f"{uid}.campus_integration"].get_task("publish")
        assert [a.name for a in publish.outlets] == [f"{uid}.published_dataset"]
        assert PUBLISHED not in publish.outlets
        analyst = dags[f"{uid}.analyst_refresh"].timetable.asset_condition
        assert [a.name for a in analyst.objects] == [f"{uid}.published_dataset"]


@pytest.mark.parametrize("kind", ["campus_integration", "retention", "analyst_refresh"])
def test_a_university_dag_is_wired_as_the_single_installations(bags, kind):
    """Drift guard: the universities' DAGs are built in islandbridge.university_dags, the
    single installation's in dags/; the same tasks, edges, rules and params."""
    single, university = bags["today"].dags[kind], bags["universities"].dags[f"alpha.{kind}"]

    def shape(dag):
        return {
            t.task_id: (sorted(t.upstream_task_ids), t.trigger_rule, t.retries, type(t).__name__)
            for t in dag.tasks
        }

    assert shape(university) == shape(single)
    assert set(university.params) == set(single.params)
    assert university.max_active_runs == single.max_active_runs


def test_without_the_folder_the_dags_are_todays(monkeypatch, bags):
    from islandbridge.university_dags import university_dags

    monkeypatch.delenv(UNIVERSITIES_ENV, raising=False)
    assert university_dags() == {}
    today = bags["today"]
    assert today.import_errors == {}
    assert set(today.dags) == {"campus_integration", "department_intake", "retention",
                               "analyst_refresh"}  # fmt: skip
    assert {t.queue for t in today.dags["campus_integration"].tasks} == {"default"}
    added = set(bags["universities"].dags) - set(today.dags)
    assert added == {f"{u}.{k}" for u in ("alpha", "beta") for k in KINDS}


def test_a_malformed_entry_is_confined_and_named(bags):
    bag = bags["universities"]
    assert {f"{u}.{k}" for u in ("alpha", "beta") for k in KINDS} <= set(bag.dags)
    assert "campus_integration" in bag.dags
    assert not any(d.startswith(("gamma.", "delta.")) for d in bag.dags)
    assert [Path(p).name for p in bag.import_errors] == ["universities.py"]
    (message,) = bag.import_errors.values()
    assert "gamma.yaml" in message and "'schedul'" in message and "delta.yaml" in message
    assert "alpha.yaml" not in message and SECRET not in message


@pytest.mark.parametrize(
    ("beta", "expected"),
    [
        ({"data_dir": "alpha"}, "data folder"),
        ({"data_dir": "alpha/inner"}, "lies inside alpha's data folder"),
        ({"queue": "q_alpha"}, "queue q_alpha is also alpha's"),
        ({"keys": {"file": "{root}/shared/keyring.json"}}, "keyring"),
        ({"keys": {"env": "IB_KEYS"}}, "key environment variable IB_KEYS is also"),
        ({"publish": {"root": "{root}/alpha/published"}}, "lies inside alpha's data folder"),
        ({"vault": "{root}/shared/vault.sqlite"}, "vault folder"),
    ],
)
def test_two_universities_sharing_a_folder_key_or_queue_are_both_refused(tmp_path, beta, expected):
    """Known-bad: each way two entries can share what must be one university's alone."""
    root, folder = tmp_path, tmp_path / "universities"
    shared = {k: v for k, v in beta.items() if k in ("keys", "publish", "vault")}
    shared = yaml.safe_load(yaml.safe_dump(shared).replace("{root}", str(root)))
    configs = [_config(root / f"conf_{u}", **shared) if shared else None for u in "ab"]
    _entry(folder, "alpha", root, configs[0], queue="q_alpha")
    fields = {"queue": beta.get("queue", "q_beta")}
    if "data_dir" in beta:
        fields["data_dir"] = str(root / beta["data_dir"])
    _entry(folder, "beta", root, configs[1], **fields)
    _entry(folder, "gamma", root)
    loaded = load_universities(folder)
    assert [u.id for u in loaded.universities] == ["gamma"]  # the bystander still runs
    assert set(loaded.refused) == {folder / "alpha.yaml", folder / "beta.yaml"}
    assert expected in " ".join(loaded.refused[folder / "beta.yaml"])


def test_two_universities_apart_are_both_loaded(tmp_path):
    """Known-good for the test above: separate folders, keys, vaults and queues."""
    folder = tmp_path / "universities"
    _entry(folder, "alpha", tmp_path, _config(tmp_path / "a", keys={"env": "IB_KEYS_A"}))
    _entry(folder, "beta", tmp_path, _config(tmp_path / "b", keys={"env": "IB_KEYS_B"}))
    loaded = load_universities(folder)
    assert loaded.refused == {}
    assert [(u.id, u.queue) for u in loaded.universities] == [
        ("alpha", "islandbridge_alpha"),
        ("beta", "islandbridge_beta"),
    ]


@pytest.mark.parametrize(
    ("name", "fields", "expected"),
    [
        ("Bad-Id", {}, "the file name must be the university's id"),
        ("gamma", {"schedule": "61 * * * *"}, "not a cron expression"),
        ("gamma", {"queue": "a queue"}, "queue"),
        ("gamma", {"data_dir": "relative/data"}, "data_dir must be an absolute path"),
        ("gamma", {"config": "/nonexistent/islandbridge.yaml"}, "does not load"),
    ],
)
def test_an_invalid_entry_is_refused_with_the_reason(tmp_path, name, fields, expected):
    folder = tmp_path / "universities"
    path = _entry(folder, name, tmp_path, **fields)
    loaded = load_universities(folder)
    assert loaded.universities == []
    assert expected in " ".join(loaded.refused[path])


def test_the_plan_refuses_a_data_folder_inside_another_universitys(monkeypatch, tmp_path, folder):
    """The plan's secret checks (and ``islandbridge check``) see the universities folder:
    a run whose data folder lies in a registered university's is refused; one apart is not."""
    from islandbridge.context import RunContext
    from islandbridge.secret_checks import secret_file_problems

    monkeypatch.setenv(UNIVERSITIES_ENV, str(folder))
    inside = RunContext(tmp_path / "alpha" / "x", None, "r", date(2026, 6, 30))
    problems = secret_file_problems(inside)
    assert any("lies inside alpha's data folder" in p for p in problems), problems
    apart = RunContext(tmp_path / "elsewhere", None, "r", date(2026, 6, 30))
    assert not any("alpha" in p or "beta" in p for p in secret_file_problems(apart))
    own = RunContext(tmp_path / "alpha", None, "r", date(2026, 6, 30))  # its own entry
    assert not any("alpha's" in p for p in secret_file_problems(own))


def test_load_dag_finds_a_universitys_dag(monkeypatch, folder):
    from islandbridge.airflow_local import load_dag

    monkeypatch.setenv(UNIVERSITIES_ENV, str(folder))
    (folder / "gamma.yaml").write_text("not: [an entry\n")  # another's refusal is not ours
    assert load_dag("beta.campus_integration").dag_id == "beta.campus_integration"
    with pytest.raises(RuntimeError, match="import errors"):
        load_dag("gamma.campus_integration")


def test_the_plan_refuses_a_run_on_another_account_than_the_entry_names(monkeypatch, tmp_path):
    """Known-bad: a university's task on a worker of another account (a wrong queue) is
    refused by the plan; on its own account it is not."""
    from islandbridge import identity
    from islandbridge.context import RunContext
    from islandbridge.universities import university_overlaps

    folder = tmp_path / "universities"
    _entry(folder, "alpha", tmp_path, run_as="ib_alpha")
    monkeypatch.setenv(UNIVERSITIES_ENV, str(folder))
    ctx = RunContext(tmp_path / "alpha", None, "r", date(2026, 6, 30))
    monkeypatch.setattr(identity, "os_account", lambda: "ib_beta")
    (problem,) = university_overlaps(ctx)
    assert "alpha.yaml runs it as ib_alpha, not ib_beta" in problem
    monkeypatch.setattr(identity, "os_account", lambda: "ib_alpha")
    assert university_overlaps(ctx) == []


def test_an_entry_that_fails_unexpectedly_is_refused_alone(monkeypatch, folder):
    import islandbridge.universities as universities

    real = universities._load_entry

    def flaky(path):
        if path.stem == "beta":
            raise KeyError("110101199003071234")  # third-party text: never shown
        return real(path)

    monkeypatch.setattr(universities, "_load_entry", flaky)
    loaded = load_universities(folder)
    assert [u.id for u in loaded.universities] == ["alpha"]
    assert loaded.refused == {folder / "beta.yaml": ["could not be loaded (KeyError)"]}


def test_a_missing_universities_folder_is_named(tmp_path):
    loaded = load_universities(tmp_path / "nowhere")
    assert loaded.universities == []
    (problem,) = loaded.problems()
    assert problem == f"{tmp_path / 'nowhere'}: the universities folder cannot be read " + (
        "(No such file or directory)"
    )
