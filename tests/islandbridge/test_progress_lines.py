"""Not on a terminal, a run's progress is printed line by line — a line only when it
changes, at most every few seconds — instead of a spinner."""

from __future__ import annotations

import itertools
import json

import pytest

from islandbridge import demo


@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    lines = iter(["extracted 0/2", "extracted 0/2", "extracted 2/2", "extracted 2/2", "linked"])
    clock = itertools.count(0.0, 10.0)  # ten seconds between calls: never throttled

    def run_dag(dag_id, conf, *, on_wait, **_):
        for _ in range(5):
            on_wait()
        summary = tmp_path / "runs" / "r1" / "summary.json"
        summary.parent.mkdir(parents=True)
        summary.write_text(json.dumps({"run_id": "r1"}), encoding="utf-8")
        return 0

    monkeypatch.setattr(demo, "run_dag", run_dag)
    monkeypatch.setattr(demo, "interactive", lambda: False)
    monkeypatch.setattr(demo, "run_progress_line", lambda *_: next(lines))
    monkeypatch.setattr(demo.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr("islandbridge.checks.require_checks", lambda *a, **k: None)
    return tmp_path


def test_progress_is_a_line_each_time_it_changes(fake_run):
    said: list[str] = []
    summary = demo.run_pipeline(fake_run, None, run_id="r1", on_progress=said.append)
    assert summary["run_id"] == "r1"
    assert said == [
        "campus_integration: extracted 0/2",
        "campus_integration: extracted 2/2",
        "campus_integration: linked",
    ]
