"""A tiny installation for the portal's fast tests: two departments' file sources (one
signed per branch), their keys in a trust store beside the data folder, and accounts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from connectors.export_manifest import sign_export
from connectors.trust_store import trust_entry, write_trusted_key
from islandbridge.portal import PortalSettings, create_app

PASSWORD = "correct horse battery"
CONFIG = """
university: portal test
sources_dir: "{data_dir}/sources"
trust_store: {file: "{data_dir}.trust/trust_store.json"}
sources:
  - name: finance_dues
    department: finance
    entity: dues
    connector: file
    file: {path: finance_dues.csv, format: csv, encoding: utf-8-sig}
    signature: {required: true}
    columns: {人员编号: person_no, 姓名: name, 所属月份: dues_month,
              缴费金额: amount_cents, 缴费日期: paid_on}
  - name: hr_roster
    department: hr_staff
    entity: member
    connector: file
    file: {path: hr_staff.csv, format: csv, encoding: utf-8}
    signature: {required: true}
    columns: {工号: staff_no, 姓名: name}
  - name: branch_signins
    department: branch_secretaries
    entity: attendance
    connector: file
    file:
      path: "signins/*.csv"
      format: csv
      encoding: gbk
      name_pattern: "B[0-9]{3}\\\\.csv"
      filename_fields: {branch_id: stem}
    signature: {required: true, branch_field: branch_id}
    feedback_scope: branch_id
    columns: {会议类型: meeting_type, 会议日期: meeting_date, 姓名: name,
              学号/工号: person_no, 签到情况: attendance}
"""
DUES = "人员编号,姓名,所属月份,缴费金额,缴费日期\n" + "".join(
    f"P{i:04d},测试{i},2026-05,1000,2026-05-{(i % 27) + 1:02d}\n" for i in range(40)
)
SIGNINS = "会议类型,会议日期,姓名,学号/工号,签到情况\n党课,2026/3/1,测试,S1,出席\n"


@pytest.fixture
def site(tmp_path: Path) -> dict:
    config = tmp_path / "config" / "islandbridge.yaml"
    config.parent.mkdir()
    config.write_text(CONFIG, encoding="utf-8")
    data = tmp_path / "data"
    (data / "sources").mkdir(parents=True)
    store = tmp_path / "data.trust" / "trust_store.json"
    keys = {
        "finance_dues": Ed25519PrivateKey.generate(),
        "hr_roster": Ed25519PrivateKey.generate(),
        "B001": Ed25519PrivateKey.generate(),
        "B002": Ed25519PrivateKey.generate(),
    }
    for name, department, source, branch in (
        ("finance_dues", "finance", "finance_dues", None),
        ("hr_roster", "hr_staff", "hr_roster", None),
        ("B001", "branch_secretaries", "branch_signins", "B001"),
        ("B002", "branch_secretaries", "branch_signins", "B002"),
    ):
        write_trusted_key(
            store,
            trust_entry(
                name,
                keys[name].public_key(),
                department=department,
                sources=[source],
                branch=branch,
            ),
        )
    return {"data": data, "config": config, "keys": keys, "tmp": tmp_path}


#: argon2 made cheap for the tests (the portal's default: the library's recommended cost)
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def settings_for(site: dict, **changes) -> PortalSettings:
    return PortalSettings(
        data_dir=site["data"], config=site["config"], **{"argon2": FAST_ARGON2, **changes}
    )


@pytest.fixture
def portal(site) -> Iterator[dict]:
    """The app with a finance, an HR, a branch B001 account and a steward; a client maker."""
    app = create_app(settings_for(site))
    service = app.state.accounts
    service.create("fin", "department", password=PASSWORD, department="finance", created_by="t")
    service.create("hr", "department", password=PASSWORD, department="hr_staff", created_by="t")
    service.create(
        "b001",
        "branch_secretary",
        password=PASSWORD,
        department="branch_secretaries",
        branch="B001",
        created_by="t",
    )
    service.create("boss", "steward", password=PASSWORD, created_by="t")
    clients: list[TestClient] = []

    def client() -> TestClient:
        c = TestClient(app, base_url="https://testserver", follow_redirects=False)
        clients.append(c)
        return c

    yield {"app": app, "client": client, "site": site}
    for c in clients:
        c.close()
    app.state.store.close()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": token, "username": username, "password": password})


def signed_export(
    site: dict,
    name: str = "finance_dues.csv",
    *,
    content: str = DUES,
    key: str = "finance_dues",
    source: str = "finance_dues",
    department: str = "finance",
    branch: str | None = None,
    encoding: str = "utf-8-sig",
    sequence: int | None = None,
    exported_at: datetime | None = None,
    folder: str = "exports",
) -> Path:
    """An export written and signed with its department's key, as ``islandbridge sign``."""
    where = site["tmp"] / folder
    where.mkdir(exist_ok=True)
    path = where / name
    path.write_bytes(content.encode(encoding))
    rows = content.count("\n") - 1
    when = exported_at or datetime.now(UTC)
    sign_export(
        site["keys"][key],
        path,
        department=department,
        source=source,
        rows=rows,
        exported_at=when,
        sequence=sequence if sequence is not None else int(when.timestamp() * 1000),
        branch=branch,
    )
    return path


def upload(
    client: TestClient,
    source: str,
    export: Path | None,
    *,
    manifest: bool = True,
    name: str | None = None,
    content_type: str = "text/csv",
    csrf: str | None = None,
    extra: dict | None = None,
):
    token = csrf if csrf is not None else csrf_of(client.get("/uploads").text)
    files = {}
    if export is not None:
        files["export"] = (name or export.name, export.read_bytes(), content_type)
        companion = export.with_name(export.name + ".manifest.json")
        if manifest and companion.exists():
            files["manifest"] = (companion.name, companion.read_bytes(), "application/json")
    return client.post(
        "/uploads", data={"csrf": token, "source": source, **(extra or {})}, files=files
    )
