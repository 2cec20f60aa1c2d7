from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from connectors import ExtractContext, SourceConfig, extract_to_landing
from connectors.signatures import SignatureVerdict, load_public_key, verify_file
from islandbridge.commands.departments import (
    DepartmentKeyError,
    issue_department_keys,
    new_department,
    sign_command,
)

runner = CliRunner()


def _cli() -> typer.Typer:
    """The two commands registered as the lead registers them in islandbridge/cli.py."""
    app = typer.Typer()
    keys = typer.Typer()
    app.command("sign")(sign_command)
    keys.command("new-department")(new_department)
    app.add_typer(keys, name="keys")
    return app


def _issue(tmp_path: Path, name: str = "finance_dues", *extra: str):
    return runner.invoke(
        _cli(), ["keys", "new-department", name, "--data-dir", str(tmp_path / "data"), *extra]
    )


def _paths(tmp_path: Path, name: str = "finance_dues") -> tuple[Path, Path]:
    data = tmp_path / "data"
    return (
        data / "secrets" / "department_keys" / f"{name}.key",
        data / "university" / "sources" / "department_keys" / f"{name}.pub",
    )


def test_new_department_writes_owner_only_key_and_registers_public_key(tmp_path):
    result = _issue(tmp_path)
    assert result.exit_code == 0, result.output
    private, public = _paths(tmp_path)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert load_public_key(public)
    assert "public_key: department_keys/finance_dues.pub" in result.output
    assert "PRIVATE KEY" not in result.output


def test_new_department_refuses_to_replace_a_key_unless_forced(tmp_path):
    assert _issue(tmp_path).exit_code == 0
    before = _paths(tmp_path)[1].read_bytes()
    refused = _issue(tmp_path)
    assert refused.exit_code == 2 and "exists" in refused.output
    assert _paths(tmp_path)[1].read_bytes() == before
    assert _issue(tmp_path, "finance_dues", "--force").exit_code == 0
    assert _paths(tmp_path)[1].read_bytes() != before


@pytest.mark.parametrize("name", ["../escape", "has space", ""])
def test_new_department_refuses_a_name_that_is_not_a_plain_word(tmp_path, name):
    result = _issue(tmp_path, name)
    assert result.exit_code == 2 and "department name" in result.output
    assert not (tmp_path / "data" / "secrets").exists()


def test_private_key_is_refused_inside_a_git_work_tree(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    key, pub = tmp_path / "repo" / "dept.key", tmp_path / "pub" / "dept.pub"
    with pytest.raises(DepartmentKeyError, match="inside a git work tree"):
        issue_department_keys("dept", key, pub)
    assert not key.exists() and not pub.exists()
    (tmp_path / "repo" / ".gitignore").write_text("*.key\n")
    issue_department_keys("dept", key, pub)  # ignored by git: allowed
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_sign_then_verify_and_a_tampered_export_is_refused(tmp_path):
    assert _issue(tmp_path).exit_code == 0
    private, public = _paths(tmp_path)
    export = public.parents[1] / "finance_dues.csv"
    export.write_text("人员编号,姓名,缴费金额,缴费日期\nS1,张三,¥1.00,2026/3/1\n", "utf-8")
    result = runner.invoke(_cli(), ["sign", str(export), "--key", str(private)])
    assert result.exit_code == 0, result.output
    assert verify_file(load_public_key(public), export) is SignatureVerdict.VALID

    source = SourceConfig.model_validate(
        {
            "name": "finance_dues", "department": "finance", "entity": "dues",
            "connector": "file", "file": {"path": "finance_dues.csv", "format": "csv"},
            "signature": {"required": True, "public_key": "department_keys/finance_dues.pub"},
            "columns": {"人员编号": "person_no", "姓名": "name", "缴费金额": "amount_cents",
                        "缴费日期": "paid_on"},
        }
    )  # fmt: skip
    ctx = ExtractContext(sources_dir=public.parents[1])
    assert (
        extract_to_landing(
            source, ctx, tmp_path / "l1" / "rows.parquet", tmp_path / "l1" / "p.json"
        ).rows
        == 1
    )
    data = bytearray(export.read_bytes())
    data[-4] ^= 0x01  # one byte changed after signing
    export.write_bytes(bytes(data))
    landing = extract_to_landing(
        source, ctx, tmp_path / "l2" / "rows.parquet", tmp_path / "l2" / "p.json"
    )
    assert landing.rows == 0 and landing.rejected[0].rejected_reason == "signature_invalid"


def test_sign_refuses_a_key_readable_by_others(tmp_path):
    assert _issue(tmp_path).exit_code == 0
    private, _ = _paths(tmp_path)
    private.chmod(0o644)
    export = tmp_path / "x.csv"
    export.write_text("a\n", "utf-8")
    result = runner.invoke(_cli(), ["sign", str(export), "--key", str(private)])
    assert result.exit_code == 2 and "readable by others" in result.output
    assert not (tmp_path / "x.csv.sig").exists()


def test_sign_refuses_a_file_that_is_not_a_private_key(tmp_path):
    key = tmp_path / "not.key"
    key.write_text("hello", "utf-8")
    key.chmod(0o600)
    export = tmp_path / "x.csv"
    export.write_text("a\n", "utf-8")
    result = runner.invoke(_cli(), ["sign", str(export), "--key", str(key)])
    assert result.exit_code == 2 and "not an Ed25519 private key" in result.output
