"""Issue 17, part 2: a signed export manifest binds the file's name, content, row count,
source, department and branch, and is newer than the last accepted; the keys come from a
trust store apart from the data. Each case is a known-bad export and its refusal."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors import (
    ExportSequenceStore,
    ExtractContext,
    SourceError,
    extract_to_landing,
    sign_export,
    sign_file,
)
from connectors.export_manifest import check_export, manifest_path
from connectors.signatures import public_key_pem
from connectors.trust_store import (
    AirflowConnectionTrustStore,
    FileTrustStore,
    MappingTrustStore,
    TrustStoreError,
    trust_entry,
    write_trusted_key,
)

HEADER = "支部名称,会议类型,会议日期,姓名,学号/工号,签到情况\n"
SHEET = HEADER + "第一支部,党课,2026/3/1,张三,S1,出席\n第一支部,党课,2026/3/1,李四,S2,缺席\n"
DUES = "人员编号,姓名,缴费金额,缴费日期\nS1,张三,¥1.00,2026/3/1\nS2,李四,¥2.00,2026/3/1\n"
WHEN = datetime(2026, 6, 30, 18, tzinfo=UTC)


def _signins(make_source):
    return make_source(
        name="branch_signins",
        department="branch_secretaries",
        entity="attendance",
        file={"path": "signins/*.csv", "format": "csv", "filename_fields": {"branch_id": "stem"}},
        columns={"会议类型": "meeting_type", "会议日期": "meeting_date", "姓名": "name",
                 "学号/工号": "person_no", "签到情况": "attendance"},
        ignore_columns=["支部名称"],
        signature={"required": True, "branch_field": "branch_id"},
    )  # fmt: skip


class Branches:
    """Two branch secretaries, each with their own key in the trust store."""

    def __init__(self) -> None:
        self.keys = {b: Ed25519PrivateKey.generate() for b in ("B001", "B002")}
        self.trust = MappingTrustStore(
            trust_entry(
                f"signins:{b}", k.public_key(), department="branch_secretaries",
                sources=["branch_signins"], branch=b,
            )
            for b, k in self.keys.items()
        )  # fmt: skip

    def sign(self, path: Path, branch: str, *, key_of: str | None = None, **extra) -> Path:
        fields = {"rows": 2, "exported_at": WHEN, "sequence": 1, **extra}
        return sign_export(
            self.keys[key_of or branch], path, department="branch_secretaries",
            source="branch_signins", branch=branch, **fields,
        )  # fmt: skip


def _context(sources_dir: Path, trust, tmp_path: Path) -> ExtractContext:
    state = tmp_path / "state"
    return ExtractContext(
        sources_dir=sources_dir,
        trust_store=trust,
        export_sequences=ExportSequenceStore(lambda s: state / f"{s}.json"),
    )


def _land(source, ctx, tmp_path, name="l"):
    folder = tmp_path / name
    return extract_to_landing(source, ctx, folder / "rows.parquet", folder / "p.json")


def _refusals(landing) -> dict[str, str]:
    return {i.location: i.rejected_reason for i in landing.rejected}


@pytest.fixture
def branches(sources_dir) -> Branches:
    (sources_dir / "signins").mkdir()
    return Branches()


def test_a_sheet_and_its_manifest_copied_under_another_branchs_name_is_refused(
    make_source, sources_dir, tmp_path, branches
):
    own = sources_dir / "signins" / "B001.csv"
    own.write_text(SHEET, encoding="utf-8")
    branches.sign(own, "B001")
    shutil.copy(own, sources_dir / "signins" / "B002.csv")
    shutil.copy(manifest_path(own), manifest_path(sources_dir / "signins" / "B002.csv"))
    ctx = _context(sources_dir, branches.trust, tmp_path)
    landing = _land(_signins(make_source), ctx, tmp_path)
    assert _refusals(landing) == {"signins/B002.csv": "signature_mismatch"}
    assert landing.rows == 2  # B001's own sheet, once


def test_a_branch_secretary_cannot_sign_another_branchs_sheet(
    make_source, sources_dir, tmp_path, branches
):
    other = sources_dir / "signins" / "B002.csv"
    other.write_text(SHEET, encoding="utf-8")
    branches.sign(other, "B002", key_of="B001")  # names B002, signed with B001's key
    ctx = _context(sources_dir, branches.trust, tmp_path)
    landing = _land(_signins(make_source), ctx, tmp_path)
    assert _refusals(landing) == {"signins/B002.csv": "signature_untrusted"}


def test_a_manifest_naming_another_branch_than_the_file_name_is_refused(
    make_source, sources_dir, tmp_path, branches
):
    sheet = sources_dir / "signins" / "B002.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    branches.sign(sheet, "B001")  # B001's key and branch, under B002's name
    ctx = _context(sources_dir, branches.trust, tmp_path)
    landing = _land(_signins(make_source), ctx, tmp_path)
    assert _refusals(landing) == {"signins/B002.csv": "signature_mismatch"}


def test_a_department_key_cannot_sign_a_source_signed_per_branch(
    make_source, sources_dir, tmp_path
):
    key = Ed25519PrivateKey.generate()
    trust = MappingTrustStore([trust_entry(
        "secretaries", key.public_key(), department="branch_secretaries",
        sources=["branch_signins"],
    )])  # fmt: skip
    (sources_dir / "signins").mkdir()
    sheet = sources_dir / "signins" / "B001.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    sign_export(key, sheet, department="branch_secretaries", source="branch_signins",
                branch="B001", rows=2, exported_at=WHEN, sequence=1)  # fmt: skip
    landing = _land(_signins(make_source), _context(sources_dir, trust, tmp_path), tmp_path)
    assert _refusals(landing) == {"signins/B001.csv": "signature_untrusted"}


def test_an_old_signed_export_replayed_is_refused(make_source, sources_dir, ctx, tmp_path, signer):
    source = make_source(signature={"required": True})
    export = sources_dir / "dues.csv"
    export.write_text(DUES, encoding="utf-8")
    signer.sign(export, rows=2)
    old = (export.read_bytes(), manifest_path(export).read_bytes())
    assert _land(source, ctx, tmp_path, "first").rows == 2
    export.write_text(DUES.replace("¥2.00", "¥3.00"), encoding="utf-8")
    signer.sign(export, rows=2)  # the department's next export
    assert _land(source, ctx, tmp_path, "second").rows == 2
    export.write_bytes(old[0])  # the first export and its manifest, put back
    manifest_path(export).write_bytes(old[1])
    landing = _land(source, ctx, tmp_path, "replayed")
    assert _refusals(landing) == {"dues.csv": "signature_replayed"} and landing.rows == 0


@pytest.mark.parametrize(
    ("sequence", "exported_at"),
    [(1, datetime(2026, 7, 1, tzinfo=UTC)), (2, datetime(2026, 6, 1, tzinfo=UTC))],
    ids=["same_sequence_other_content", "newer_sequence_older_time"],
)
def test_an_export_not_newer_than_the_last_accepted_is_refused(
    make_source, sources_dir, ctx, tmp_path, signer, sequence, exported_at
):
    source = make_source(signature={"required": True})
    export = sources_dir / "dues.csv"
    export.write_text(DUES, encoding="utf-8")
    signer.sign(export, rows=2, sequence=1, exported_at=datetime(2026, 6, 30, tzinfo=UTC))
    assert _land(source, ctx, tmp_path, "first").rows == 2
    export.write_text(DUES.replace("¥2.00", "¥3.00"), encoding="utf-8")
    signer.sign(export, rows=2, sequence=sequence, exported_at=exported_at)
    assert _refusals(_land(source, ctx, tmp_path, "again")) == {"dues.csv": "signature_replayed"}


def test_the_same_export_read_again_is_not_a_replay(
    make_source, sources_dir, ctx, tmp_path, signer
):
    source = make_source(signature={"required": True})
    (sources_dir / "dues.csv").write_text(DUES, encoding="utf-8")
    signer.sign(sources_dir / "dues.csv", rows=2)
    for attempt in ("run1", "run2", "retry"):
        assert _land(source, ctx, tmp_path, attempt).rows == 2


def test_public_keys_swapped_beside_the_data_are_not_trusted(
    make_source, sources_dir, ctx, tmp_path
):
    """The attacker writes their key where department keys used to be and signs a forgery."""
    attacker = Ed25519PrivateKey.generate()
    (sources_dir / "department_keys").mkdir()
    (sources_dir / "department_keys" / "finance_dues.pub").write_bytes(
        public_key_pem(attacker.public_key())
    )
    (sources_dir / "dues.csv").write_text(DUES, encoding="utf-8")
    sign_export(attacker, sources_dir / "dues.csv", department="finance", source="demo_source",
                rows=2, exported_at=WHEN, sequence=99)  # fmt: skip
    landing = _land(make_source(signature={"required": True}), ctx, tmp_path)
    assert _refusals(landing) == {"dues.csv": "signature_untrusted"}


def test_a_public_key_in_the_source_configuration_is_refused(make_source):
    with pytest.raises(ValueError, match="trust store"):
        make_source(signature={"required": True, "public_key": "department_keys/finance.pub"})


def test_another_departments_key_is_not_trusted_for_this_source(
    make_source, sources_dir, tmp_path, signer
):
    hr = Ed25519PrivateKey.generate()
    trust = MappingTrustStore([
        trust_entry("finance", signer.key.public_key(), department="finance",
                    sources=["demo_source"]),
        trust_entry("hr", hr.public_key(), department="hr", sources=["hr_roster"]),
    ])  # fmt: skip
    (sources_dir / "dues.csv").write_text(DUES, encoding="utf-8")
    sign_export(hr, sources_dir / "dues.csv", department="finance", source="demo_source",
                rows=2, exported_at=WHEN, sequence=1)  # fmt: skip
    landing = _land(
        make_source(signature={"required": True}), _context(sources_dir, trust, tmp_path), tmp_path
    )
    assert _refusals(landing) == {"dues.csv": "signature_untrusted"}


@pytest.mark.parametrize(
    ("field", "value"), [("source", "hr_roster"), ("department", "hr"), ("file", "other.csv")]
)
def test_a_manifest_naming_another_source_department_or_file_is_refused(
    make_source, sources_dir, ctx, tmp_path, signer, field, value
):
    export = sources_dir / "dues.csv"
    export.write_text(DUES, encoding="utf-8")
    if field == "file":
        (sources_dir / "other.csv").write_text(DUES, encoding="utf-8")
        signer.sign(sources_dir / "other.csv", rows=2).rename(manifest_path(export))
        (sources_dir / "other.csv").unlink()
    else:
        signer.sign(export, rows=2, **{field: value})
    landing = _land(make_source(signature={"required": True}), ctx, tmp_path)
    assert _refusals(landing) == {"dues.csv": "signature_mismatch"}


def test_an_edited_manifest_no_longer_verifies(make_source, sources_dir, ctx, tmp_path, signer):
    export = sources_dir / "dues.csv"
    export.write_text(DUES + "S3,王五,¥9.00,2026/3/1\n", encoding="utf-8")
    manifest = signer.sign(export, rows=2)
    document = json.loads(manifest.read_text("utf-8"))
    document["rows"] = 3  # the third row smuggled in by editing the count
    manifest.write_text(json.dumps(document), encoding="utf-8")
    landing = _land(make_source(signature={"required": True}), ctx, tmp_path)
    assert _refusals(landing) == {"dues.csv": "signature_invalid"}


def test_a_signed_row_count_that_differs_from_the_file_is_an_error_naming_it(
    make_source, sources_dir, ctx, tmp_path, signer
):
    (sources_dir / "dues.csv").write_text(DUES, encoding="utf-8")
    signer.sign(sources_dir / "dues.csv", rows=5)
    with pytest.raises(SourceError, match=r"dues.csv: 2 records read, but its signed manifest"):
        _land(make_source(signature={"required": True}), ctx, tmp_path)


def test_a_legacy_detached_signature_is_refused_with_its_own_reason(
    make_source, sources_dir, ctx, tmp_path, signer
):
    (sources_dir / "dues.csv").write_text(DUES, encoding="utf-8")
    sign_file(signer.key, sources_dir / "dues.csv")  # valid over the bytes, but only that
    landing = _land(make_source(signature={"required": True}), ctx, tmp_path)
    assert _refusals(landing) == {"dues.csv": "signature_legacy"}


def test_a_manifest_that_is_a_link_is_refused(make_source, sources_dir, ctx, tmp_path, signer):
    (sources_dir / "dues.csv").write_text(DUES, encoding="utf-8")
    real = signer.sign(sources_dir / "dues.csv", rows=2)
    elsewhere = tmp_path / "elsewhere.json"
    real.rename(elsewhere)
    real.symlink_to(elsewhere)
    landing = _land(make_source(signature={"required": True}), ctx, tmp_path)
    assert _refusals(landing) == {"dues.csv": "signature_invalid"}


def test_a_signed_source_without_a_trust_store_fails_closed(make_source, sources_dir, tmp_path):
    (sources_dir / "dues.csv").write_text(DUES, encoding="utf-8")
    with pytest.raises(SourceError, match="no trust store"):
        _land(make_source(signature={"required": True}), ExtractContext(sources_dir), tmp_path)


def test_an_unreadable_record_of_accepted_exports_fails_closed(
    make_source, sources_dir, ctx, tmp_path, signer
):
    (sources_dir / "dues.csv").write_text(DUES, encoding="utf-8")
    signer.sign(sources_dir / "dues.csv", rows=2)
    state = tmp_path / "state" / "demo_source.json"
    state.parent.mkdir()
    state.write_text("{not json", encoding="utf-8")
    with pytest.raises(SourceError, match="record of accepted exports is unreadable"):
        _land(make_source(signature={"required": True}), ctx, tmp_path)


# -- the trust store -------------------------------------------------------------------------


def _store(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "trust" / "trust_store.json"
    write_trusted_key(
        path, trust_entry("finance", key.public_key(), department="finance", sources=["s"])
    )
    return path


def test_the_trust_store_file_is_created_owner_only_and_loads(tmp_path, signer):
    path = _store(tmp_path, signer.key)
    assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777) == (0o600, 0o700)
    [key] = FileTrustStore(path).keys_for("s")
    assert key.department == "finance" and key.branch is None


def test_a_trust_store_above_the_size_cap_is_refused_before_it_is_read(
    tmp_path, signer, monkeypatch
):
    import connectors.trust_store as module

    path = _store(tmp_path, signer.key)
    monkeypatch.setattr(module, "_MAX_BYTES", path.stat().st_size)
    assert FileTrustStore(path).keys_for("s")  # at the cap: read
    monkeypatch.setattr(module, "_MAX_BYTES", path.stat().st_size - 1)
    monkeypatch.setattr(module, "_read_document", lambda _: pytest.fail("read past the cap"))
    with pytest.raises(TrustStoreError, match="larger than"):
        FileTrustStore(path)


@pytest.mark.parametrize("loosen", ["file_0644", "folder_0755", "file_symlink", "other_owner"])
def test_a_loosely_protected_trust_store_is_refused(tmp_path, signer, loosen):
    path = _store(tmp_path, signer.key)
    if loosen == "file_0644":
        path.chmod(0o644)
    elif loosen == "folder_0755":
        path.parent.chmod(0o755)
    elif loosen == "file_symlink":
        real = path.with_name("real.json")
        path.rename(real)
        path.symlink_to(real)
    else:
        if os.geteuid() != 0:
            pytest.skip("changing a file's owner needs root")
        os.chown(path, 65534, 65534)
    with pytest.raises(TrustStoreError, match=str(path.parent if "folder" in loosen else path)):
        FileTrustStore(path)


@pytest.mark.parametrize(
    "document",
    [
        "[]",
        '{"format": "islandbridge-trust-store/1", "keys": [{"name": "x"}]}',
        '{"format": "islandbridge-trust-store/1", "keys": [{"name": "x", "department": "d", '
        '"sources": ["s"], "public_key": "not a key"}]}',
    ],
    ids=["not_a_store", "entry_without_key", "garbage_key"],
)
def test_a_malformed_trust_store_is_refused(tmp_path, document):
    path = tmp_path / "trust" / "trust_store.json"
    path.parent.mkdir(mode=0o700)
    path.write_text(document, encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(TrustStoreError):
        FileTrustStore(path)


def test_trust_store_in_airflow_connections(tmp_path, signer):
    entry = trust_entry("finance", signer.key.public_key(), department="finance", sources=["s"])
    extra = {"keys": [{k: v for k, v in entry.to_json().items() if k != "sources"}]}
    env = {
        "AIRFLOW_CONN_ISLANDBRIDGE_TRUST_S": json.dumps({"conn_type": "generic", "extra": extra})
    }
    store = AirflowConnectionTrustStore("islandbridge_trust_", env)
    assert [k.key_id for k in store.keys_for("s")] == [entry.key_id]
    (tmp_path / "x.csv").write_text(DUES, encoding="utf-8")
    sign_export(signer.key, tmp_path / "x.csv", department="finance", source="s", rows=2,
                exported_at=WHEN, sequence=1)  # fmt: skip
    check = check_export(tmp_path / "x.csv", source="s", department="finance", trust=store)
    assert check.ok
    with pytest.raises(TrustStoreError, match="islandbridge_trust_t"):
        AirflowConnectionTrustStore(
            "islandbridge_trust_", {"AIRFLOW_CONN_ISLANDBRIDGE_TRUST_T": "{not json"}
        ).keys_for("t")
