"""Department intake: a signed drop is verified, landed, republished; a bad one changes nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.xdist_group("stages")]  # the shared small installation


def _drop(data: Path, *, lines_removed: int, key_name: str = "finance_dues") -> Path:
    """Drop a new finance export (the last rows removed), signed with ``key_name``'s key."""
    from islandbridge.commands.departments import sign_export_file

    inbox = data / "intake" / "finance_dues"
    inbox.mkdir(parents=True, exist_ok=True)
    current = (data / "university" / "sources" / "finance_dues.csv").read_bytes()
    lines = current.splitlines(keepends=True)
    export = inbox / "finance_dues.csv"
    export.write_bytes(b"".join(lines[:-lines_removed]))
    key = data / "university" / "department_keys" / f"{key_name}.key"
    sign_export_file(export, key, source="finance_dues")
    return export


def _run_intake(params: dict, run_id: str, sources: list[str]) -> dict:
    """What the department_intake DAG does, stage by stage."""
    from islandbridge import stages
    from islandbridge.intake import prepare_intake_run

    run = prepare_intake_run(params, run_id, None, sources)
    return {"run": run, "summary": stages.run_planned(run)}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bad_signature_is_rejected_and_changes_nothing(installation):
    from islandbridge.intake import IntakeError, prepare_intake_run

    data = installation["data"]
    installed = data / "university" / "sources" / "finance_dues.csv"
    before, current = _sha(installed), (data / "published" / "current").readlink()
    _drop(data, lines_removed=3, key_name="hr_staff")  # signed by the wrong department
    with pytest.raises(IntakeError, match="signature"):
        prepare_intake_run(installation["params"], "intake_bad", None, ["finance_dues"])
    assert _sha(installed) == before
    assert (data / "published" / "current").readlink() == current
    rejected = data / "intake" / "finance_dues" / "rejected" / "intake_bad"
    record = json.loads((rejected / "rejected.json").read_text("utf-8"))
    assert [(r["name"], r["reason"]) for r in record] == [
        ("finance_dues.csv", "signature_untrusted"),
        ("finance_dues.csv.manifest.json", "signature_untrusted"),
    ]
    assert all((rejected / r["stored_as"]).is_file() for r in record)
    assert not (data / "intake" / "finance_dues" / "finance_dues.csv").exists()


def test_pulled_source_and_empty_inbox_are_refused(installation):
    from islandbridge.intake import IntakeError, prepare_intake_run

    params = installation["params"]
    with pytest.raises(IntakeError, match="pulled"):
        prepare_intake_run(params, "intake_sql", None, ["org_members"])
    with pytest.raises(IntakeError, match="no export"):
        prepare_intake_run(params, "intake_empty", None, ["learning_platform"])
    with pytest.raises(IntakeError, match="no source named"):
        prepare_intake_run(params, "intake_none", None, [])


def test_signed_drop_is_landed_and_only_its_department_extracted(installation):
    from islandbridge import stages

    data, base = installation["data"], installation["summary"]
    export = _drop(data, lines_removed=10)
    dropped_sha = _sha(export)
    result = _run_intake(installation["params"], "intake_ok", ["finance_dues"])
    run, summary = result["run"], result["summary"]
    assert run["fresh"] == ["finance_dues"] and run["kind"] == "intake"
    assert _sha(data / "university" / "sources" / "finance_dues.csv") == dropped_sha
    assert (data / "intake" / "finance_dues" / "processed" / "intake_ok").is_dir()
    rows = {r["source"]: r for r in summary["sources"]}
    before = {r["source"]: r for r in base["sources"]}
    assert rows["finance_dues"]["in"] == before["finance_dues"]["in"] - 10
    assert summary["balanced"] is True
    counts = ("in", "accepted", "quarantined", "suppressed", "published")
    for name, row in rows.items():  # every other source carried over, unchanged
        if name == "finance_dues":
            assert row["status"] == "fresh"
            continue
        assert row["status"] == "carried" and row["origin_run"] == "base", name
        assert {c: row[c] for c in counts} == {c: before[name][c] for c in counts}, name
    assert summary["published"]["version"] != base["published"]["version"]
    # a full run on the same sources publishes exactly the intake run's version
    full = stages.run_inline(installation["params"], "full_after_intake")
    assert full["published"]["version"] == summary["published"]["version"]


def test_triggering_events_name_their_sources():
    from airflow.sdk import Asset

    from islandbridge.intake import triggered_sources

    events = {
        Asset(name="intake_hr_roster", uri="islandbridge://intake/hr_roster"): [],
        Asset(name="intake_finance_dues", uri="islandbridge://intake/finance_dues"): [],
        Asset(name="something_else", uri="x://y"): [],
    }
    assert triggered_sources(events) == ["finance_dues", "hr_roster"]
    assert triggered_sources(None) == []
