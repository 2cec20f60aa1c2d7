"""publish_dataset: atomic, idempotent, byte-identical; verify names what was altered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from integrate import PublishError, publish_dataset, verify_publication

T0 = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def _publish(tables, root: Path, facts, key):
    return publish_dataset(tables, root=root, manifest=facts, signing_key=key, recorded_at=T0)


def _published_bytes(version_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(version_dir.iterdir()) if p.suffix != ".duckdb"}


def test_publish_writes_parquet_duckdb_manifest_and_switches_current(
    tmp_path, tables, run_facts, signing_key
):
    res = _publish(tables, tmp_path, run_facts, signing_key)
    assert (tmp_path / "current").resolve() == res.path.resolve()
    assert sorted(p.name for p in res.path.iterdir()) == [
        "dataset.duckdb",
        "fact_attendance.parquet",
        "manifest.json",
        "manifest.json.sig",
        "person.parquet",
    ]
    manifest = json.loads(res.manifest_path.read_text(encoding="utf-8"))
    assert manifest["version"] == res.version
    assert manifest["tables"]["fact_attendance"]["rows"] == 4
    assert manifest["row_accounting"] == run_facts["row_accounting"]
    con = duckdb.connect(str(res.path / "dataset.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM fact_attendance").fetchone() == (4,)
    con.close()
    back = pq.read_table(res.path / "person.parquet").to_pandas()
    assert list(back["person_key"]) == ["P001", "P002", "P003"]  # rows sorted
    assert verify_publication(tmp_path, signing_key.public_key()).ok


def test_same_inputs_give_byte_identical_files_in_two_roots(
    tmp_path, tables, run_facts, signing_key
):
    a = _publish(tables, tmp_path / "a", run_facts, signing_key)
    shuffled = {n: t.sample(frac=1, random_state=7) for n, t in tables.items()}
    b = publish_dataset(
        shuffled, root=tmp_path / "b", manifest=dict(run_facts), signing_key=signing_key
    )
    assert a.version == b.version
    assert _published_bytes(a.path) == _published_bytes(b.path)


def test_rerun_is_a_noop_without_new_ledger_line(tmp_path, tables, run_facts, signing_key):
    first = _publish(tables, tmp_path, run_facts, signing_key)
    before = {p: p.read_bytes() for p in first.path.iterdir()}
    ledger_before = (tmp_path / "ledger.jsonl").read_bytes()
    again = _publish(tables, tmp_path, run_facts, signing_key)
    assert again.version == first.version
    assert not again.created and not again.switched
    assert {p: p.read_bytes() for p in first.path.iterdir()} == before
    assert (tmp_path / "ledger.jsonl").read_bytes() == ledger_before
    assert len(list((tmp_path / "versions").iterdir())) == 1


def test_new_content_makes_new_version_and_keeps_old(tmp_path, tables, run_facts, signing_key):
    first = _publish(tables, tmp_path, run_facts, signing_key)
    changed = dict(tables)
    changed["person"] = tables["person"].assign(status="full")
    second = _publish(changed, tmp_path, run_facts, signing_key)
    assert second.version != first.version
    assert first.path.is_dir() and second.path.is_dir()
    assert (tmp_path / "current").resolve() == second.path.resolve()
    # going back to the first content re-activates it: one more ledger line, same files
    back = _publish(tables, tmp_path, run_facts, signing_key)
    assert back.version == first.version and back.switched and not back.created
    lines = (tmp_path / "ledger.jsonl").read_text().splitlines()
    assert [json.loads(x)["action"] for x in lines] == ["publish", "publish", "activate"]
    assert verify_publication(tmp_path, signing_key.public_key()).ok


def test_refuses_row_accounting_that_does_not_add_up(tmp_path, tables, run_facts, signing_key):
    bad = json.loads(json.dumps(run_facts))
    bad["row_accounting"]["signins"]["published"] = 3
    with pytest.raises(PublishError, match="accepted 4 != suppressed 0 \\+ published 3"):
        _publish(tables, tmp_path, bad, signing_key)
    assert not (tmp_path / "current").exists()


def test_failed_staging_leaves_no_version_and_current_untouched(
    tmp_path, tables, run_facts, signing_key, monkeypatch
):
    first = _publish(tables, tmp_path, run_facts, signing_key)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("integrate.publish._write_duckdb", boom)
    changed = {**tables, "person": tables["person"].assign(status="applicant")}
    with pytest.raises(OSError, match="disk full"):
        _publish(changed, tmp_path, run_facts, signing_key)
    assert [p.name for p in (tmp_path / "versions").iterdir()] == [first.version]
    assert (tmp_path / "current").resolve() == first.path.resolve()
    assert list((tmp_path / ".staging").iterdir()) == []
    assert verify_publication(tmp_path, signing_key.public_key()).ok


def test_verify_names_altered_parquet_file(tmp_path, tables, run_facts, signing_key):
    res = _publish(tables, tmp_path, run_facts, signing_key)
    target = res.path / "fact_attendance.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    report = verify_publication(tmp_path, signing_key.public_key())
    assert not report.ok
    assert any(
        "fact_attendance.parquet: checksum mismatch" in p and res.version in p
        for p in report.problems
    )
    assert not any("person.parquet" in p for p in report.problems)


def test_verify_names_edited_ledger_line(tmp_path, tables, run_facts, signing_key):
    _publish(tables, tmp_path, run_facts, signing_key)
    _publish({**tables, "person": tables["person"].head(2)}, tmp_path, run_facts, signing_key)
    ledger = tmp_path / "ledger.jsonl"
    lines = ledger.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["recorded_at"] = "2020-01-01T00:00:00+00:00"
    lines[0] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    ledger.write_text("\n".join(lines) + "\n")
    report = verify_publication(tmp_path, signing_key.public_key())
    assert not report.ok
    assert any(p.startswith("ledger.jsonl line 1: entry altered") for p in report.problems)
    assert not any(p.startswith("ledger.jsonl line 2") for p in report.problems)


def test_verify_detects_rehashed_ledger_line_by_signature_and_chain(
    tmp_path, tables, run_facts, signing_key
):
    import hashlib

    _publish(tables, tmp_path, run_facts, signing_key)
    _publish({**tables, "person": tables["person"].head(1)}, tmp_path, run_facts, signing_key)
    ledger = tmp_path / "ledger.jsonl"
    lines = ledger.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["recorded_at"] = "2020-01-01T00:00:00+00:00"
    body = {k: v for k, v in entry.items() if k not in ("entry_hash", "signature")}
    entry["entry_hash"] = hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    ).hexdigest()
    lines[0] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    ledger.write_text("\n".join(lines) + "\n")
    problems = verify_publication(tmp_path, signing_key.public_key()).problems
    assert "ledger.jsonl line 1: signature invalid" in problems
    assert any(p.startswith("ledger.jsonl line 2: chain broken") for p in problems)


def test_verify_names_deleted_last_ledger_line(tmp_path, tables, run_facts, signing_key):
    _publish(tables, tmp_path, run_facts, signing_key)
    second = _publish(
        {**tables, "person": tables["person"].head(1)}, tmp_path, run_facts, signing_key
    )
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text(ledger.read_text().splitlines()[0] + "\n")
    problems = verify_publication(tmp_path, signing_key.public_key()).problems
    assert f"versions/{second.version}: not recorded in ledger.jsonl" in problems


def test_verify_names_altered_manifest(tmp_path, tables, run_facts, signing_key):
    res = _publish(tables, tmp_path, run_facts, signing_key)
    text = res.manifest_path.read_text(encoding="utf-8").replace('"k": 5', '"k": 2')
    res.manifest_path.write_text(text, encoding="utf-8")
    problems = verify_publication(tmp_path, signing_key.public_key()).problems
    assert any("manifest.json: checksum differs from ledger.jsonl line 1" in p for p in problems)
    assert any("manifest.json: signature invalid" in p for p in problems)


def test_verify_rejects_other_public_key(tmp_path, tables, run_facts, signing_key):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _publish(tables, tmp_path, run_facts, signing_key)
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    report = verify_publication(tmp_path, other)
    assert not report.ok
    assert "ledger.jsonl line 1: signature invalid" in report.problems


def test_verify_detects_altered_duckdb_table(tmp_path, tables, run_facts, signing_key):
    res = _publish(tables, tmp_path, run_facts, signing_key)
    con = duckdb.connect(str(res.path / "dataset.duckdb"))
    con.execute("UPDATE person SET status = 'applicant' WHERE person_key = 'P001'")
    con.close()
    problems = verify_publication(tmp_path, signing_key.public_key()).problems
    assert any("dataset.duckdb: table person differs from person.parquet" in p for p in problems)


def test_verify_names_unexpected_file_and_redirected_current(
    tmp_path, tables, run_facts, signing_key
):
    res = _publish(tables, tmp_path, run_facts, signing_key)
    (res.path / "extra.parquet").write_bytes(b"x")
    problems = verify_publication(tmp_path, signing_key.public_key()).problems
    assert any("extra.parquet: unexpected file" in p for p in problems)
    (res.path / "extra.parquet").unlink()
    fake = tmp_path / "versions" / "fake"
    fake.mkdir()
    (tmp_path / "current").unlink()
    (tmp_path / "current").symlink_to("versions/fake")
    problems = verify_publication(tmp_path, signing_key.public_key()).problems
    assert "versions/fake: not recorded in ledger.jsonl" in problems
    assert any(p.startswith("current: points at versions/fake") for p in problems)


def test_publish_refuses_to_reuse_an_altered_version(tmp_path, tables, run_facts, signing_key):
    res = _publish(tables, tmp_path, run_facts, signing_key)
    (res.path / "person.parquet").write_bytes(b"tampered")
    with pytest.raises(PublishError, match=r"person\.parquet"):
        _publish(tables, tmp_path, run_facts, signing_key)


def test_publish_refuses_reserved_manifest_keys(tmp_path, tables, run_facts, signing_key):
    with pytest.raises(ValueError, match="reserved"):
        _publish(tables, tmp_path, {**run_facts, "tables": {}}, signing_key)


def test_empty_table_keeps_its_schema(tmp_path, run_facts, signing_key):
    empty = pd.DataFrame(
        {"person_key": pd.Series([], dtype="string"), "n": pd.Series([], dtype="int64")}
    )
    res = _publish({"person": empty}, tmp_path, run_facts | {"row_accounting": {}}, signing_key)
    schema = pq.read_schema(res.path / "person.parquet")
    assert [str(t) for t in schema.types] == ["string", "int64"]


def test_a_publication_built_on_an_older_current_is_refused(
    tmp_path, tables, run_facts, signing_key
):
    """Two runs started from the same current: the second to finish may not silently
    replace the first one's version (a lost update)."""
    first = _publish(tables, tmp_path, run_facts, signing_key)
    other = {n: t.head(2) for n, t in tables.items()}
    with pytest.raises(PublishError, match="became current after this run started"):
        publish_dataset(
            other,
            root=tmp_path,
            manifest={**run_facts, "row_accounting": None},
            signing_key=signing_key,
            expect_current=None,  # it started when nothing was published
        )
    assert (tmp_path / "current").resolve() == first.path.resolve()
    # built on the current version, it publishes
    second = publish_dataset(
        other,
        root=tmp_path,
        manifest={**run_facts, "row_accounting": None},
        signing_key=signing_key,
        expect_current=first.version,
    )
    assert (tmp_path / "current").resolve() == second.path.resolve()
