from __future__ import annotations

import json
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from connectors import ExportSequenceStore, ExtractContext, extract_to_landing
from connectors.export_manifest import manifest_path, read_manifest
from connectors.trust_store import FileTrustStore
from islandbridge.commands.departments import (
    DepartmentKeyError,
    issue_department_keys,
    new_department,
    sign_command,
    sign_export_file,
    trust_command,
    trusted_command,
    untrust_command,
)

runner = CliRunner()
DUES = "人员编号,姓名,所属月份,缴费金额,缴费日期\nS1,张三,2026-03,¥1.00,2026/3/1\n"


def _cli() -> typer.Typer:
    """The commands registered as islandbridge/cli.py registers them."""
    app = typer.Typer()
    keys = typer.Typer()
    app.command("sign")(sign_command)
    keys.command("new-department")(new_department)
    keys.command("trust")(trust_command)
    keys.command("untrust")(untrust_command)
    keys.command("trusted")(trusted_command)
    app.add_typer(keys, name="keys")
    return app


def _issue(tmp_path: Path, name: str = "finance_dues", *extra: str):
    args = ["keys", "new-department", name, "--source", "finance_dues"]
    return runner.invoke(_cli(), [*args, "--data-dir", str(tmp_path / "data"), *extra])


def _private(tmp_path: Path, name: str = "finance_dues") -> Path:
    return tmp_path / "data" / "secrets" / "department_keys" / f"{name}.key"


def _store(tmp_path: Path) -> Path:
    return tmp_path / "data.trust" / "trust_store.json"


def test_new_department_writes_an_owner_only_key_and_trusts_its_public_key(tmp_path):
    result = _issue(tmp_path)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(_private(tmp_path).stat().st_mode) == 0o600
    [key] = FileTrustStore(_store(tmp_path)).keys_for("finance_dues")
    assert (key.name, key.department, key.branch) == ("finance_dues", "finance", None)
    assert key.key_id in result.output and "PRIVATE KEY" not in result.output
    assert not (tmp_path / "data" / "university").exists()  # nothing beside the data


def test_new_department_refuses_to_replace_a_key_unless_forced(tmp_path):
    assert _issue(tmp_path).exit_code == 0
    before = _private(tmp_path).read_bytes()
    refused = _issue(tmp_path)
    assert refused.exit_code == 2 and "exists" in refused.output
    assert _private(tmp_path).read_bytes() == before
    assert _issue(tmp_path, "finance_dues", "--force").exit_code == 0
    assert _private(tmp_path).read_bytes() != before
    assert len(FileTrustStore(_store(tmp_path)).keys_for("finance_dues")) == 1


@pytest.mark.parametrize("name", ["../escape", "has space", ""])
def test_new_department_refuses_a_name_that_is_not_a_plain_word(tmp_path, name):
    result = _issue(tmp_path, name)
    assert result.exit_code == 2 and "department name" in result.output
    assert not (tmp_path / "data" / "secrets").exists()


def test_a_branch_secretary_key_is_bound_to_its_branch(tmp_path):
    args = ["keys", "new-department", "signins-01U0001", "--source", "branch_signins",
            "--branch", "01U0001", "--data-dir", str(tmp_path / "data")]  # fmt: skip
    assert runner.invoke(_cli(), args).exit_code == 0
    [key] = FileTrustStore(_store(tmp_path)).keys_for("branch_signins")
    assert (key.department, key.branch) == ("branch_secretaries", "01U0001")


def test_private_key_is_refused_inside_a_git_work_tree(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    key = tmp_path / "repo" / "dept.key"
    with pytest.raises(DepartmentKeyError, match="inside a git work tree"):
        issue_department_keys("dept", key)
    assert not key.exists()
    (tmp_path / "repo" / ".gitignore").write_text("*.key\n")
    issue_department_keys("dept", key)  # ignored by git: allowed
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_trust_list_and_untrust_a_public_key(tmp_path):
    assert _issue(tmp_path).exit_code == 0
    pub = tmp_path / "learning.pub"
    issue_department_keys("learning", tmp_path / "learning.key", pub)
    data = ["--data-dir", str(tmp_path / "data")]
    added = runner.invoke(_cli(), ["keys", "trust", "learning", "--public-key", str(pub),
                                   "--source", "learning_platform", *data])  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(_cli(), ["keys", "trusted", *data])
    assert "learning\ted25519:" in listed.output and "2 keys" in listed.output
    again = runner.invoke(_cli(), ["keys", "trust", "learning", "--public-key", str(pub),
                                   "--source", "learning_platform", *data])  # fmt: skip
    assert again.exit_code == 2 and "already trusted" in again.output
    assert runner.invoke(_cli(), ["keys", "untrust", "learning", *data]).exit_code == 0
    assert FileTrustStore(_store(tmp_path)).keys_for("learning_platform") == []
    gone = runner.invoke(_cli(), ["keys", "untrust", "learning", *data])
    assert gone.exit_code == 2 and "no key named" in gone.output


def test_a_key_cannot_be_trusted_for_sources_of_two_departments(tmp_path):
    result = runner.invoke(_cli(), ["keys", "new-department", "x", "--source", "finance_dues",
                                    "--source", "hr_roster", "--data-dir",
                                    str(tmp_path / "data")])  # fmt: skip
    assert result.exit_code == 2 and "different departments" in result.output


def test_sign_writes_a_manifest_the_extraction_accepts_and_a_tampered_export_is_refused(
    tmp_path,
):
    from islandbridge.config import load_config

    assert _issue(tmp_path).exit_code == 0
    sources = tmp_path / "data" / "university" / "sources"
    sources.mkdir(parents=True)
    export = sources / "finance_dues.csv"
    export.write_text(DUES, "utf-8")
    result = runner.invoke(
        _cli(), ["sign", str(export), "--key", str(_private(tmp_path)), "--source", "finance_dues"]
    )
    assert result.exit_code == 0, result.output
    manifest = read_manifest(manifest_path(export))
    assert (manifest.department, manifest.source, manifest.file, manifest.rows) == (
        "finance",
        "finance_dues",
        "finance_dues.csv",
        1,
    )
    source = load_config()[0].source("finance_dues")
    ctx = ExtractContext(
        sources_dir=sources,
        trust_store=FileTrustStore(_store(tmp_path)),
        export_sequences=ExportSequenceStore(lambda s: tmp_path / "state" / f"{s}.json"),
    )
    landed = extract_to_landing(source, ctx, tmp_path / "l1" / "r.parquet", tmp_path / "l1" / "p")
    assert landed.rows == 1
    data = bytearray(export.read_bytes())
    data[-4] ^= 0x01  # one byte changed after signing
    export.write_bytes(bytes(data))
    landing = extract_to_landing(source, ctx, tmp_path / "l2" / "r.parquet", tmp_path / "l2" / "p")
    assert landing.rows == 0 and landing.rejected[0].rejected_reason == "signature_invalid"


def test_each_later_signature_of_a_file_is_newer(tmp_path):
    issue_department_keys("finance_dues", tmp_path / "k.key")
    export = tmp_path / "finance_dues.csv"
    export.write_text(DUES, "utf-8")
    first = datetime(2026, 7, 1, 8, tzinfo=UTC)
    sign_export_file(export, tmp_path / "k.key", source="finance_dues", exported_at=first)
    one = read_manifest(manifest_path(export))
    sign_export_file(export, tmp_path / "k.key", source="finance_dues")
    two = read_manifest(manifest_path(export))
    assert two.sequence > one.sequence and two.exported > one.exported


def test_sign_refuses_a_branch_the_file_name_does_not_give(tmp_path):
    issue_department_keys("b", tmp_path / "b.key")
    sheet = tmp_path / "01U0001.csv"
    sheet.write_text("支部名称,会议类型,会议日期,姓名,学号/工号,签到情况\n", "gbk")
    with pytest.raises(DepartmentKeyError, match="a file of branch 01U0001, not 01U0002"):
        sign_export_file(sheet, tmp_path / "b.key", source="branch_signins", branch="01U0002")
    sign_export_file(sheet, tmp_path / "b.key", source="branch_signins")
    assert json.loads(manifest_path(sheet).read_text("utf-8"))["branch"] == "01U0001"


def test_sign_refuses_a_key_readable_by_others(tmp_path):
    assert _issue(tmp_path).exit_code == 0
    _private(tmp_path).chmod(0o644)
    export = tmp_path / "x.csv"
    export.write_text("a\n", "utf-8")
    args = ["sign", str(export), "--key", str(_private(tmp_path)), "--source", "finance_dues"]
    result = runner.invoke(_cli(), args)
    assert result.exit_code == 2 and "readable by others" in result.output
    assert not manifest_path(export).exists()


def test_sign_refuses_a_file_that_is_not_a_private_key(tmp_path):
    key = tmp_path / "not.key"
    key.write_text("hello", "utf-8")
    key.chmod(0o600)
    export = tmp_path / "x.csv"
    export.write_text("a\n", "utf-8")
    result = runner.invoke(_cli(), ["sign", str(export), "--key", str(key), "--source", "x"])
    assert result.exit_code == 2 and "not an Ed25519 private key" in result.output
