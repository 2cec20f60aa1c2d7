"""Issue 17, part 7: intake trusts no file name. Every known-bad entry of an inbox is
refused into the owner-only reject folder with a reason, the good drops beside it are
installed, and a bad name never breaks the source on a later run."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors import sign_export
from connectors.trust_store import trust_entry, write_trusted_key

HEADER = "支部名称,会议类型,会议日期,姓名,学号/工号,签到情况\n"
SHEET = HEADER + "第一支部,党课,2026/3/1,张三,S1,出席\n"
CONFIG = """
university: intake test
sources_dir: "{data_dir}/sources"
trust_store: {file: "{data_dir}.trust/trust_store.json"}
sources:
  - name: branch_signins
    department: branch_secretaries
    entity: attendance
    connector: file
    file:
      path: "signins/*.csv"
      format: csv
      name_pattern: "B[0-9]{3}\\\\.csv"
      filename_fields: {branch_id: stem}
    signature: {required: true, branch_field: branch_id}
    columns: {会议类型: meeting_type, 会议日期: meeting_date, 姓名: name,
              学号/工号: person_no, 签到情况: attendance}
    ignore_columns: [支部名称]
"""
BRANCHES = ("B001", "B002", "B003")


@pytest.fixture
def site(tmp_path: Path) -> dict:
    """A data folder, a configuration with the sign-in sheets, a trust store holding one key
    per branch secretary (B001-B003) beside the data folder."""
    config = tmp_path / "config" / "islandbridge.yaml"
    config.parent.mkdir()
    config.write_text(CONFIG, encoding="utf-8")
    data = tmp_path / "data"
    (data / "sources" / "signins").mkdir(parents=True)
    keys = {b: Ed25519PrivateKey.generate() for b in BRANCHES}
    for branch, key in keys.items():
        write_trusted_key(
            tmp_path / "data.trust" / "trust_store.json",
            trust_entry(f"signins:{branch}", key.public_key(), department="branch_secretaries",
                        sources=["branch_signins"], branch=branch),
        )  # fmt: skip
    return {"data": data, "config": config, "keys": keys}


def _ctx(site: dict, run: str):
    from islandbridge.context import RunContext

    return RunContext(site["data"], site["config"], run, date(2026, 7, 1))


def _inbox(site: dict) -> Path:
    inbox = site["data"] / "intake" / "branch_signins"
    inbox.mkdir(parents=True, exist_ok=True)
    return inbox


def _drop(site: dict, name: str, branch: str = "B001", sequence: int = 1) -> Path:
    path = _inbox(site) / name
    path.write_text(SHEET, encoding="utf-8")
    sign_export(
        site["keys"][branch], path, department="branch_secretaries", source="branch_signins",
        branch=branch, rows=1, exported_at=datetime(2026, 6, sequence, tzinfo=UTC),
        sequence=sequence,
    )  # fmt: skip
    return path


def _install(site: dict, run: str):
    from islandbridge.intake import install_drop

    return install_drop(_ctx(site, run), "branch_signins")


def _rejected(site: dict, run: str) -> list[dict]:
    folder = _inbox(site) / "rejected" / run
    return json.loads((folder / "rejected.json").read_text("utf-8"))


def _bad_entries(site: dict) -> dict[str, str]:
    """One bad entry per known-bad name (what was dropped → the reason expected)."""
    inbox = _inbox(site)
    (inbox / "B001\n.csv").write_text(SHEET, encoding="utf-8")
    with open(os.fsencode(inbox) + b"/B0\xff1.csv", "wb") as handle:
        handle.write(SHEET.encode())
    (inbox / "..%2f..%2fB001.csv").write_text(SHEET, encoding="utf-8")
    (inbox / ".B001.csv").write_text(SHEET, encoding="utf-8")
    _drop(site, "B999.csv", branch="B001")  # no branch B999: no secretary key for it
    (inbox / "B002.csv").symlink_to("/etc/passwd")
    (inbox / "B003.csv").hardlink_to(site["config"])
    (inbox / "notes.txt").write_text("hello", encoding="utf-8")
    (inbox / "B00\u202e1.csv").write_text(SHEET, encoding="utf-8")  # a bidi override
    return {
        "B001\\u000a.csv": "name_control_character",
        "B0\\xff1.csv": "name_not_utf8",
        "..%2f..%2fB001.csv": "name_percent_encoded",
        ".B001.csv": "name_dot_file",
        "B999.csv": "name_unknown_branch",
        "B002.csv": "symlink_outside_folder",
        "B003.csv": "hard_link",
        "notes.txt": "name_not_matching",
        "B00\\u202e1.csv": "name_control_character",
    }


def test_each_bad_name_is_refused_with_its_reason_and_the_good_drop_is_installed(site, caplog):
    caplog.set_level(logging.DEBUG)
    expected = _bad_entries(site)
    _drop(site, "B001.csv")
    installed = _install(site, "r1")
    assert [i["file"] for i in installed] == ["B001.csv"]
    assert (site["data"] / "sources" / "signins" / "B001.csv").read_text("utf-8") == SHEET
    records = _rejected(site, "r1")
    reasons = {r["name"]: r["reason"] for r in records if not r["name"].endswith(".json")}
    assert reasons == expected
    inbox = _inbox(site)
    assert sorted(p.name for p in inbox.iterdir()) == ["processed", "rejected"]
    folder = inbox / "rejected" / "r1"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(p.name == "rejected.json" or p.name.endswith(".rejected") for p in folder.iterdir())
    assert not any(p.is_symlink() for p in folder.iterdir())  # a link is recorded, not kept
    assert Path("/etc/passwd").is_file()  # and its target untouched
    for name in ("B001\n", "\udcff", "%2f", "B999", "\u202e"):  # no name reaches a log line
        assert all(name not in r.getMessage() for r in caplog.records), name


def test_the_department_is_told_what_was_refused(site):
    _bad_entries(site)
    _drop(site, "B001.csv")
    _install(site, "r1")
    [notice] = (site["data"] / "feedback" / "branch_secretaries").glob("*_refused.txt")
    text = notice.read_text("utf-8-sig")
    assert "name_unknown_branch" in text and "symlink_outside_folder" in text
    assert "\n.csv" not in text and "\u202e" not in text  # names shown escaped


def test_a_drop_of_only_bad_names_changes_nothing(site):
    from islandbridge.intake import IntakeError

    _bad_entries(site)
    with pytest.raises(IntakeError, match="no dropped export accepted"):
        _install(site, "r1")
    assert list((site["data"] / "sources" / "signins").iterdir()) == []
    assert len(_rejected(site, "r1")) >= 9


def test_a_bad_name_never_breaks_the_source_on_later_runs(site):
    _bad_entries(site)
    _drop(site, "B001.csv")
    _install(site, "r1")
    _drop(site, "B002.csv", branch="B002", sequence=2)
    assert [i["file"] for i in _install(site, "r2")] == ["B002.csv"]


def test_a_replayed_drop_is_refused_at_intake(site):
    _drop(site, "B001.csv", sequence=5)
    _install(site, "r1")
    old = _drop(site, "B001.csv", sequence=4)  # an older export of the same sheet
    assert old.is_file()
    from islandbridge.intake import IntakeError

    with pytest.raises(IntakeError, match="signature_replayed"):
        _install(site, "r2")
    assert [r["reason"] for r in _rejected(site, "r2")] == ["signature_replayed"] * 2


def test_bad_names_in_the_sources_folder_are_refused_unread_and_the_rest_is_read(site, tmp_path):
    """A name that reached the sources folder some other way: refused, never read, and the
    source goes on (provenance written, later runs unaffected)."""
    from connectors import extract_to_landing

    signins = site["data"] / "sources" / "signins"
    _drop(site, "B001.csv")
    _install(site, "r1")
    with open(os.fsencode(signins) + b"/B0\xfe2.csv", "wb") as handle:
        handle.write(SHEET.encode())
    (signins / "B003.csv").symlink_to(site["config"])
    ctx = _ctx(site, "extract")
    for attempt in ("first", "second"):
        folder = tmp_path / attempt
        landing = extract_to_landing(
            ctx.config.source("branch_signins"), ctx.extract_context(),
            folder / "rows.parquet", folder / "p.json", folder / "refused.parquet",
        )  # fmt: skip
        assert landing.rows == 1
        assert {i.location: i.rejected_reason for i in landing.rejected} == {
            "signins/B0\\xfe2.csv": "name_not_utf8",
            "signins/B003.csv": "symlink_outside_folder",
        }
        assert all(i.rows_unknown for i in landing.rejected)  # not read, not counted
        json.loads((folder / "p.json").read_text("utf-8"))


def test_a_manifest_dropped_without_its_export_is_refused(site):
    from islandbridge.intake import IntakeError

    manifest = _drop(site, "B001.csv").with_name("B001.csv.manifest.json")
    (_inbox(site) / "B001.csv").unlink()
    with pytest.raises(IntakeError, match="no dropped export accepted"):
        _install(site, "r1")
    assert not manifest.exists()
    assert [r["reason"] for r in _rejected(site, "r1")] == ["name_not_matching"]
