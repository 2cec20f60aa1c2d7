"""`islandbridge init` and `islandbridge check`: every problem found before anything is
written, in a short list naming file:line and the source, within 5 s, never a traceback."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from islandbridge.cli import app

pytestmark = [pytest.mark.xdist_group("check")]

ROSTER = "身份证号码,姓名,性别,所在党支部\n110105199005151234,测试甲,男,DZB001\n"
CONFIG = """\
university: 测试研究生院
sources_dir: "{data_dir}/sources"
sources:
  - name: roster
    department: org_dept
    entity: member
    connector: file
    file:
      path: roster.csv
      format: csv
      encoding: utf-8
    columns:
      身份证号码: id_number
      姓名: name
      性别: gender
      所在党支部: branch_id

  - name: meetings
    department: org_dept
    entity: meeting
    connector: sql
    sql:
      url_env: TEST_MEETINGS_DB
      table: meetings
      key_column: id
    columns: {branch: branch_id, held_on: meeting_date}
    ignore_columns: [id]

  - name: volunteer
    department: youth_league
    entity: volunteer
    connector: http
    http:
      url_env: TEST_VOLUNTEER_URL
      key_field: id
      key_prefix: volunteer
    columns: {xh: student_no, fwrq: served_on}
    ignore_columns: [id]
"""


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"items": [{"id": 1, "xh": "S1", "fwrq": "2025-05-01"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/records"
    server.shutdown()


@pytest.fixture
def installation(tmp_path: Path, api: str, monkeypatch) -> dict:
    """`islandbridge init` and a small configuration whose every check passes."""
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(tmp_path / "uni"), "--university", "测试研究生院"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "uni"
    data = folder / "data"
    config = folder / "islandbridge.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    (data / "sources" / "roster.csv").write_text(ROSTER, encoding="utf-8")
    db = data / "sources" / "meetings.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE meetings (id INTEGER, branch TEXT, held_on TEXT)")
        conn.execute("INSERT INTO meetings VALUES (1, 'DZB001', '2025-05-01')")
    monkeypatch.setenv("TEST_MEETINGS_DB", f"sqlite:///{db}")
    monkeypatch.setenv("TEST_VOLUNTEER_URL", api)
    return {"folder": folder, "data": data, "config": config}


def _check(inst: dict, *extra: str) -> tuple[int, str, float]:
    started = time.monotonic()
    result = CliRunner().invoke(
        app, ["check", "--config", str(inst["config"]), "--data-dir", str(inst["data"]), *extra]
    )
    elapsed = time.monotonic() - started
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output, elapsed


def _fails_naming(inst: dict, *, where: str, source: str | None, says: str) -> str:
    code, out, elapsed = _check(inst)
    assert code == 1, out
    assert elapsed < 5, f"check took {elapsed:.1f}s"
    assert len(out.splitlines()) <= 25, "one screen"
    assert (
        re.search(re.escape(where) + r":\d+:\d+: ", out)
        if where.endswith(".yaml")
        else where in out
    )
    if source:
        assert f"source {source!r}" in out, out
    assert says in out, out
    return out


def _set_line(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_init_writes_templates_and_owner_only_secrets(tmp_path):
    result = CliRunner().invoke(
        app, ["init", str(tmp_path / "u"), "--department", "finance=dues,learning"]
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "u"
    for name in ("islandbridge.yaml", "quality.yaml", "privacy.yaml"):
        text = (folder / name).read_text("utf-8")
        assert text.startswith("#") and "新大学" in text
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    data = folder / "data"
    assert mode(data) == 0o700 and mode(data / "secrets") == 0o700
    for key in ("keyring.json", "service_signing.key", "department_keys/finance.key"):
        assert mode(data / "secrets" / key) == 0o600, key
    store = json.loads((tmp_path / "u" / "data.trust" / "trust_store.json").read_text("utf-8"))
    (entry,) = store["keys"]
    assert (entry["name"], entry["department"], entry["sources"]) == (
        "finance", "finance", ["dues", "learning"]
    )  # fmt: skip
    assert not (data / "sources" / "department_keys").exists()  # never beside the data
    again = CliRunner().invoke(app, ["init", str(folder)])
    assert again.exit_code == 1 and "initialised already" in again.output


def test_init_refuses_a_department_key_without_its_sources(tmp_path):
    result = CliRunner().invoke(app, ["init", str(tmp_path / "u"), "--department", "finance"])
    assert result.exit_code == 1 and "name the sources its key signs" in result.output
    assert not (tmp_path / "u").exists()  # refused before anything is written


def test_init_names_the_first_steward_of_the_vault(tmp_path):
    result = CliRunner().invoke(app, ["init", str(tmp_path / "u"), "--steward", "alice"])
    assert result.exit_code == 0, result.output
    assert "alice is the first steward" in result.output
    assert (tmp_path / "u" / "data" / "vault" / "vault.sqlite").is_file()


def test_the_template_fails_check_until_the_roster_is_there(tmp_path):
    CliRunner().invoke(app, ["init", str(tmp_path / "u")])
    inst = {"config": tmp_path / "u" / "islandbridge.yaml", "data": tmp_path / "u" / "data"}
    out = _fails_naming(inst, where="islandbridge.yaml", source="members", says="no file matches")
    assert "党员花名册.xlsx" in out


def test_a_good_installation_passes(installation):
    code, out, elapsed = _check(installation)
    assert code == 0, out
    assert "check ok" in out and "3 sources reached" in out
    assert elapsed < 5


def test_unknown_key_names_line_source_and_the_key_meant(installation):
    _set_line(
        installation["config"], "    department: youth_league", "    departmnet: youth_league"
    )
    out = _fails_naming(
        installation, where="islandbridge.yaml", source="volunteer", says="unknown key 'departmnet'"
    )
    assert "did you mean 'department'" in out
    line = next(
        i + 1
        for i, text in enumerate(installation["config"].read_text("utf-8").splitlines())
        if "departmnet" in text
    )
    assert f"islandbridge.yaml:{line}:5:" in out


def test_wrong_type_names_line_and_source(installation):
    _set_line(
        installation["config"],
        "      encoding: utf-8",
        "      encoding: utf-8\n      chunk_rows: many",
    )
    _fails_naming(
        installation, where="islandbridge.yaml", source="roster", says="chunk_rows: wrong type"
    )


def test_unknown_key_in_the_quality_rules_names_that_file(installation):
    quality = installation["folder"] / "quality.yaml"
    _set_line(
        quality, "event_column: applicant_on, years: 18", "event_column: applicant_on, yeas: 18"
    )
    _fails_naming(installation, where="quality.yaml", source=None, says="did you mean 'years'")


def test_missing_source_file(installation):
    (installation["data"] / "sources" / "roster.csv").unlink()
    _fails_naming(installation, where="islandbridge.yaml", source="roster", says="no file matches")


def test_a_renamed_column_is_found_on_the_sample(installation):
    path = installation["data"] / "sources" / "roster.csv"
    path.write_text(ROSTER.replace("所在党支部", "党支部"), encoding="utf-8")
    out = _fails_naming(
        installation, where="islandbridge.yaml", source="roster", says="'所在党支部' is missing"
    )
    assert "the input has '党支部'" in out


def test_missing_keyring(installation):
    (installation["data"] / "secrets" / "keyring.json").unlink()
    _fails_naming(installation, where="keyring.json", source=None, says="does not exist")


def test_weak_keyring(installation):
    path = installation["data"] / "secrets" / "keyring.json"
    document = json.loads(path.read_text())
    document["keys"]["k1"]["secret"] = base64.b64encode(b"password1234").decode()
    path.write_text(json.dumps(document))
    _fails_naming(installation, where="keyring.json", source=None, says="weak key")


def test_world_readable_signing_key(installation):
    path = installation["data"] / "secrets" / "service_signing.key"
    path.chmod(0o644)
    _fails_naming(installation, where="service_signing.key", source=None, says="chmod 600")


def test_missing_signing_key(installation):
    (installation["data"] / "secrets" / "service_signing.key").unlink()
    _fails_naming(installation, where="service_signing.key", source=None, says="does not exist")


def test_unreachable_database_names_no_password(installation, monkeypatch):
    monkeypatch.setenv("TEST_MEETINGS_DB", "postgresql+psycopg://u:s3cretpw@127.0.0.1:1/x")
    out = _fails_naming(
        installation, where="islandbridge.yaml", source="meetings", says="cannot connect"
    )
    assert "s3cretpw" not in out


def test_missing_api_variable(installation, monkeypatch):
    monkeypatch.delenv("TEST_VOLUNTEER_URL")
    _fails_naming(
        installation,
        where="islandbridge.yaml",
        source="volunteer",
        says="environment variable TEST_VOLUNTEER_URL",
    )


def test_source_option_reaches_only_the_named_sources(installation, monkeypatch):
    monkeypatch.delenv("TEST_VOLUNTEER_URL")
    code, out, _ = _check(installation, "--source", "roster")
    assert code == 0 and "1 sources reached" in out


def test_run_stops_before_airflow_on_a_bad_configuration(installation):
    _set_line(
        installation["config"], "    department: youth_league", "    departmnet: youth_league"
    )
    started = time.monotonic()
    result = CliRunner().invoke(
        app,
        ["run", "--config", str(installation["config"]), "--data-dir", str(installation["data"])],
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "did you mean 'department'" in result.output
    assert time.monotonic() - started < 5
    assert (
        not (installation["data"] / "runs").exists()
        and not (installation["data"] / "airflow").exists()
    )


def test_plan_refuses_before_writing_when_a_secret_is_missing(installation):
    from islandbridge import stages
    from islandbridge.checks import CheckFailed
    from islandbridge.secrets import SecretError

    (installation["data"] / "secrets" / "service_signing.key").unlink()
    params = {"data_dir": str(installation["data"]), "config": str(installation["config"])}
    with pytest.raises((CheckFailed, SecretError), match=r"service_signing\.key"):
        stages.plan(params, "planned", None)
    assert not (installation["data"] / "runs").exists()


def test_plan_goes_on_when_only_a_source_is_unreachable(installation, monkeypatch):
    """A scheduled run publishes the other sources; the unreachable one fails on its own."""
    from islandbridge import stages

    monkeypatch.delenv("TEST_VOLUNTEER_URL")
    params = {"data_dir": str(installation["data"]), "config": str(installation["config"])}
    plan = stages.plan(params, "planned", None)
    assert plan["fresh"] == ["roster", "meetings", "volunteer"]


def test_a_check_that_breaks_is_a_finding_not_a_traceback(installation, monkeypatch):
    import islandbridge.checks as checks

    def broken(cc):
        raise RuntimeError("boom")

    monkeypatch.setattr(checks, "CHECKS", [*checks.CHECKS, broken])
    code, out, _ = _check(installation)
    assert code == 1 and "broken" in out and "RuntimeError" in out and "boom" not in out


def test_the_environment_is_read_not_written(installation):
    before = dict(os.environ)
    _check(installation)
    assert dict(os.environ) == before
