"""Security: rollback of the publication and tampering with its DuckDB file (issue 17).

Each case is a known-bad publication and the refusal ``verify`` (or ``publish``) must give.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anonymize.anchor import (
    AirflowVariableAnchor,
    AnchorState,
    ChainHead,
    Ed25519Seal,
    FileAnchor,
    SqlAnchor,
)
from integrate import PublishError, publish_dataset, verify_publication
from integrate.ledger import LedgerError, append_entry, ledger_lock, read_entries, sync_anchor

T0 = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def anchor(tmp_path):
    store = SqlAnchor(f"sqlite:///{tmp_path / 'anchors.sqlite'}")
    yield store
    store.close()


def _publish(tables, root: Path, facts, key, anchor, **kw):
    return publish_dataset(
        tables, root=root, manifest=facts, signing_key=key, recorded_at=T0, anchor=anchor, **kw
    )


def _two_versions(tmp_path, tables, run_facts, key, anchor):
    root = tmp_path / "published"
    first = _publish(tables, root, run_facts, key, anchor)
    changed = {**tables, "person": tables["person"].assign(status="full")}
    second = _publish(changed, root, run_facts, key, anchor)
    return root, first, second


def _roll_back(root: Path, first, second) -> None:
    """The attack of the issue: drop the last ledger line, delete that version, point
    ``current`` back."""
    ledger = root / "ledger.jsonl"
    ledger.write_text(ledger.read_text().splitlines()[0] + "\n")
    shutil.rmtree(second.path)
    (root / "current").unlink()
    (root / "current").symlink_to(f"versions/{first.version}")


# -- rollback and truncation ---------------------------------------------------------------
def test_rollback_passes_without_an_anchor_and_is_named_with_one(
    tmp_path, tables, run_facts, signing_key, anchor
):
    root, first, second = _two_versions(tmp_path, tables, run_facts, signing_key, anchor)
    assert verify_publication(root, signing_key.public_key(), anchor=anchor).ok
    _roll_back(root, first, second)
    assert verify_publication(root, signing_key.public_key()).ok  # the hole, unanchored
    report = verify_publication(root, signing_key.public_key(), anchor=anchor)
    assert not report.ok and report.anchor == AnchorState.TRUNCATED.value
    (problem,) = [p for p in report.problems if p.startswith("ROLLED BACK")]
    assert f"seq 1 (version {first.version})" in problem
    assert f"seq 2 (version {second.version})" in problem


def test_emptied_ledger_is_rolled_back(tmp_path, tables, run_facts, signing_key, anchor):
    root, _, _ = _two_versions(tmp_path, tables, run_facts, signing_key, anchor)
    (root / "ledger.jsonl").write_text("")
    report = verify_publication(root, signing_key.public_key(), anchor=anchor)
    assert any(p.startswith("ROLLED BACK") and "no entry" in p for p in report.problems)


def test_deleted_anchor_record_is_reported_unanchored(
    tmp_path, tables, run_facts, signing_key, anchor
):
    import sqlalchemy as sa

    root, _, _ = _two_versions(tmp_path, tables, run_facts, signing_key, anchor)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'anchors.sqlite'}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM chain_anchors"))
    engine.dispose()
    report = verify_publication(root, signing_key.public_key(), anchor=anchor)
    assert any(p.startswith("UNANCHORED") for p in report.problems)


def test_anchor_record_rewound_by_hand_fails_its_seal(
    tmp_path, tables, run_facts, signing_key, anchor
):
    import sqlalchemy as sa

    root, first, second = _two_versions(tmp_path, tables, run_facts, signing_key, anchor)
    _roll_back(root, first, second)
    first_hash = json.loads((root / "ledger.jsonl").read_text())["entry_hash"]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'anchors.sqlite'}")
    with engine.begin() as conn:  # point the anchor at line 1 without the signing key
        conn.execute(
            sa.text("UPDATE chain_anchors SET seq = 1, head_hash = :h, version = :v"),
            {"h": first_hash, "v": first.version},
        )
    engine.dispose()
    report = verify_publication(root, signing_key.public_key(), anchor=anchor)
    assert any(p.startswith("ANCHOR INVALID") for p in report.problems)


def test_anchor_signed_by_another_key_is_invalid(tmp_path, tables, run_facts, signing_key):
    root = tmp_path / "published"
    _publish(tables, root, run_facts, signing_key, None)
    last = read_entries(root)[-1]
    forged = FileAnchor(tmp_path / "forged")  # the true head, sealed by someone else's key
    other = Ed25519Seal.from_private(Ed25519PrivateKey.from_private_bytes(bytes(32)))
    forged.advance("publication", ChainHead(last["seq"], last["entry_hash"], "x"), other)
    report = verify_publication(root, signing_key.public_key(), anchor=forged)
    assert any(p.startswith("ANCHOR INVALID") for p in report.problems)


def test_ledger_of_another_history_diverges(tmp_path, tables, run_facts, signing_key, anchor):
    root, _, _ = _two_versions(tmp_path, tables, run_facts, signing_key, anchor)
    other_root = tmp_path / "other"
    for n in (1, 2):
        head = {**tables, "person": tables["person"].head(n)}
        _publish(head, other_root, run_facts, signing_key, None)
    shutil.copy(other_root / "ledger.jsonl", root / "ledger.jsonl")  # signed, but not ours
    report = verify_publication(root, signing_key.public_key(), anchor=anchor)
    assert any(p.startswith("DIVERGED") for p in report.problems)


def test_publish_refuses_a_rolled_back_ledger_before_writing(
    tmp_path, tables, run_facts, signing_key, anchor
):
    root, first, second = _two_versions(tmp_path, tables, run_facts, signing_key, anchor)
    _roll_back(root, first, second)
    third = {**tables, "person": tables["person"].assign(status="applicant")}
    ledger_before = (root / "ledger.jsonl").read_bytes()
    with pytest.raises(PublishError, match="entries after it were removed"):
        _publish(third, root, run_facts, signing_key, anchor)
    assert (root / "ledger.jsonl").read_bytes() == ledger_before
    assert sorted(p.name for p in (root / "versions").iterdir()) == [first.version]


def test_adopting_a_rolled_back_ledger_is_refused(tmp_path, tables, run_facts, signing_key, anchor):
    root, first, second = _two_versions(tmp_path, tables, run_facts, signing_key, anchor)
    _roll_back(root, first, second)
    with ledger_lock(root), pytest.raises(LedgerError, match="removed"):
        sync_anchor(root, anchor=anchor, signing_key=signing_key, adopt=True)


def test_interrupted_anchor_update_is_pending_not_a_rollback_and_rerun_heals(
    tmp_path, tables, run_facts, signing_key, anchor
):
    root, _, second = _two_versions(tmp_path, tables, run_facts, signing_key, anchor)
    with ledger_lock(root):  # a line written, the process killed before the anchor moved
        append_entry(
            root,
            action="activate",
            version=second.version,
            manifest_sha256=json.loads((root / "ledger.jsonl").read_text().splitlines()[-1])[
                "manifest_sha256"
            ],
            signing_key=signing_key,
        )
    report = verify_publication(root, signing_key.public_key(), anchor=anchor)
    assert report.ok and report.anchor == AnchorState.ANCHOR_BEHIND.value
    assert any("interrupted" in p for p in report.pending)
    changed = {**tables, "person": tables["person"].assign(status="full")}
    _publish(changed, root, run_facts, signing_key, anchor)  # rerun: catches the anchor up
    assert verify_publication(root, signing_key.public_key(), anchor=anchor).anchor == "matches"


@pytest.mark.parametrize("kind", ["file", "airflow_variable"])
def test_rollback_is_detected_with_every_anchor_store(
    tmp_path, tables, run_facts, signing_key, kind
):
    variables: dict[str, str] = {}
    store = (
        FileAnchor(tmp_path / "outside" / "anchors")
        if kind == "file"
        else AirflowVariableAnchor(getter=variables.get, setter=variables.__setitem__)
    )
    root, first, second = _two_versions(tmp_path, tables, run_facts, signing_key, store)
    _roll_back(root, first, second)
    report = verify_publication(root, signing_key.public_key(), anchor=store)
    assert any(p.startswith("ROLLED BACK") for p in report.problems)
    if kind == "file":
        path = tmp_path / "outside" / "anchors" / "publication.anchor.json"
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
    else:
        assert list(variables) == ["islandbridge_anchor_publication"]


def test_cli_verify_names_a_rollback_with_the_configured_anchor(
    tmp_path, tables, run_facts, signing_key
):
    from typer.testing import CliRunner

    from islandbridge.anchors import publication_anchor
    from islandbridge.cli import app
    from islandbridge.commands.options import installation
    from islandbridge.secrets import ensure_signing_key, load_signing_key

    data = tmp_path / "data"
    ensure_signing_key(data / "secrets" / "service_signing.key")
    ctx = installation(data, None)
    key = load_signing_key(ctx)
    store = publication_anchor(ctx)  # the default: a table in the vault database
    root = data / "published"
    first = _publish(tables, root, run_facts, key, store)
    second = _publish({**tables, "person": tables["person"].head(2)}, root, run_facts, key, store)
    store.close()
    assert (data / "vault" / "vault.sqlite").stat().st_mode & 0o777 == 0o600
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "--data-dir", str(data)])
    assert ok.exit_code == 0, ok.output
    _roll_back(root, first, second)
    bad = runner.invoke(app, ["verify", "--data-dir", str(data)])
    assert bad.exit_code == 1
    assert "ROLLED BACK" in bad.output and second.version in bad.output


# -- the DuckDB file by content -------------------------------------------------------------
def _tamper(res, sql: str) -> None:
    con = duckdb.connect(str(res.path / "dataset.duckdb"))
    con.execute(sql)
    con.execute("CHECKPOINT")
    con.close()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE VIEW v_person AS SELECT * FROM person", "unexpected views ['main.v_person']"),
        ("CREATE MACRO leak(x) AS x || ''", "unexpected macros ['main.leak']"),
        ("CREATE MACRO read_parquet(p) AS TABLE SELECT 1 AS x", "unexpected macros"),
        (
            "CREATE SCHEMA shadow; CREATE TABLE shadow.person AS SELECT * FROM person",
            "unexpected schemas ['shadow']",
        ),
        ("CREATE SEQUENCE ids", "unexpected sequences ['main.ids']"),
        ("CREATE TYPE mood AS ENUM ('a', 'b')", "unexpected types ['main.mood']"),
        ("CREATE INDEX by_key ON person(person_key)", "unexpected indexes ['main.by_key']"),
        ("CREATE TABLE extra AS SELECT 1 AS x", "unexpected tables ['main.extra']"),
        ("DROP TABLE person", "table person missing"),
        (
            "ALTER TABLE fact_attendance ALTER COLUMN score TYPE VARCHAR",
            "table fact_attendance column types differ",
        ),
        (
            "ALTER TABLE person RENAME COLUMN status TO state",
            "table person columns differ from the manifest's",
        ),
        ("DELETE FROM person WHERE person_key = 'P002'", "table person row count differs"),
        (
            "UPDATE person SET status = 'applicant' WHERE person_key = 'P001'",
            "table person differs from person.parquet",
        ),
    ],
    ids=[
        "view",
        "macro",
        "shadowing_macro",
        "shadow_schema",
        "sequence",
        "type",
        "index",
        "extra_table",
        "dropped_table",
        "column_type",
        "column_name",
        "row_deleted",
        "row_altered",
    ],
)
def test_duckdb_file_is_checked_by_content(tmp_path, tables, run_facts, signing_key, sql, expected):
    res = _publish(tables, tmp_path, run_facts, signing_key, None)
    _tamper(res, sql)
    report = verify_publication(tmp_path, signing_key.public_key())
    assert not report.ok
    assert any(expected in p and "dataset.duckdb" in p for p in report.problems), report.problems


@pytest.mark.parametrize("name", ["notes.txt", "dataset.duckdb.wal", "evil.wal", ".hidden"])
def test_any_stray_file_in_a_version_folder_fails(tmp_path, tables, run_facts, signing_key, name):
    res = _publish(tables, tmp_path, run_facts, signing_key, None)
    (res.path / name).write_bytes(b"x")
    problems = verify_publication(tmp_path, signing_key.public_key()).problems
    assert any(f"{name}: unexpected file (not in the manifest)" in p for p in problems)


def test_a_published_file_replaced_by_a_symlink_fails(tmp_path, tables, run_facts, signing_key):
    res = _publish(tables, tmp_path, run_facts, signing_key, None)
    target = res.path / "person.parquet"
    elsewhere = tmp_path / "elsewhere.parquet"
    shutil.move(target, elsewhere)
    target.symlink_to(elsewhere)
    problems = verify_publication(tmp_path, signing_key.public_key()).problems
    assert any("person.parquet: not a regular file" in p for p in problems)


# -- where the anchor may be -----------------------------------------------------------------
def _config_with(tmp_path, anchor: dict) -> Path:
    import yaml

    from islandbridge.config import default_config_path

    raw = yaml.safe_load(default_config_path().read_text(encoding="utf-8"))
    raw["anchor"] = anchor
    path = tmp_path / "islandbridge.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("anchor", "match"),
    [({"store": "sql"}, "url_env"), ({"store": "file"}, "folder"), ({"store": "s3"}, "store")],
    ids=["sql_without_url", "file_without_folder", "unknown_store"],
)
def test_an_incomplete_anchor_configuration_fails_on_load(tmp_path, anchor, match):
    from islandbridge.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=match):
        load_config(_config_with(tmp_path, anchor))


def test_an_anchor_folder_inside_the_published_zone_is_refused(tmp_path):
    from islandbridge.anchors import AnchorConfigError, publication_anchor
    from islandbridge.commands.options import installation

    path = _config_with(tmp_path, {"store": "file", "folder": "{data_dir}/published/anchors"})
    with pytest.raises(AnchorConfigError, match="published zone"):
        publication_anchor(installation(tmp_path / "data", path))
