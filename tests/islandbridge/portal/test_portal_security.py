"""The portal's security cases, fast (FastAPI TestClient): lockout, CSRF, session
fixation, upload names, size and content type, tampered and replayed manifests, and
every account seeing only its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from islandbridge.portal.sessions import cookie_name
from islandbridge.portal.store import uploads
from tests.islandbridge.portal.conftest import (
    PASSWORD,
    SIGNINS,
    csrf_of,
    login,
    settings_for,
    signed_export,
    upload,
)

COOKIE = "__Host-ib_session"


def _record(portal, response) -> dict:
    assert response.status_code == 303, response.text[:500]
    upload_id = response.headers["location"].rsplit("/", 1)[1]
    return portal["app"].state.store.one(sa.select(uploads).where(uploads.c.id == upload_id))


def test_wrong_password_five_times_locks_the_account_even_for_the_right_one(portal):
    client = portal["client"]()
    for _ in range(5):
        assert login(client, "fin", "not the password").status_code == 401
    refused = login(client, "fin", PASSWORD)
    assert refused.status_code == 401 and "锁定" in refused.text
    other = portal["client"]()
    assert login(other, "hr").status_code == 303  # only that account is locked


def test_too_many_attempts_from_one_address_are_throttled(site):
    from fastapi.testclient import TestClient

    from islandbridge.portal import create_app

    app = create_app(settings_for(site, ip_attempts=3))
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    for name in ("a1", "a2", "a3"):
        assert login(client, name, "x" * 12).status_code == 401
    assert login(client, "anyone", "x" * 12).status_code == 429


def test_login_and_uploads_without_a_valid_csrf_token_are_refused(portal):
    client = portal["client"]()
    client.get("/login")
    refused = client.post("/login", data={"username": "fin", "password": PASSWORD})
    assert refused.status_code == 403
    wrong = client.post("/login", data={"csrf": "x" * 43, "username": "fin", "password": PASSWORD})
    assert wrong.status_code == 403
    assert login(client, "fin").status_code == 303
    export = signed_export(portal["site"])
    assert upload(client, "finance_dues", export, csrf="forged").status_code == 403
    assert not (portal["site"]["data"] / "intake" / "finance_dues").exists()
    token = csrf_of(client.get("/uploads").text)
    other = portal["client"]()  # a token of another session is no good either
    login(other, "fin")
    assert upload(other, "finance_dues", export, csrf=token).status_code == 403
    assert client.post("/logout", data={}).status_code == 403


def test_a_session_token_from_before_login_is_never_authenticated(portal):
    client = portal["client"]()
    client.get("/login")
    planted = client.cookies.get(COOKIE)
    assert planted
    assert login(client, "fin").status_code == 303
    assert client.cookies.get(COOKIE) != planted  # a new session at login
    victim = portal["client"]()
    victim.cookies.set(COOKIE, planted)
    assert victim.get("/uploads").headers["location"] == "/login"
    assert client.get("/uploads").status_code == 200


def test_session_cookie_is_httponly_secure_samesite_strict(portal):
    client = portal["client"]()
    header = client.get("/login").headers["set-cookie"]
    assert cookie_name(settings_for(portal["site"])) == COOKIE
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert attribute.lower() in header.lower(), attribute


def test_a_signed_export_is_checked_queued_into_the_inbox_and_its_intake_triggered(portal):
    client = portal["client"]()
    login(client, "fin")
    record = _record(portal, upload(client, "finance_dues", signed_export(portal["site"])))
    assert record["status"] == "checked" and record["queued"] and record["verdict"] == "valid"
    checks = {c["code"]: c["ok"] for c in record["checks"]}
    assert checks == dict.fromkeys(
        ("name", "content_type", "encoding", "header", "rows", "signature", "queue"), True
    )
    assert record["rows"] == 40
    intake = portal["site"]["data"] / "intake"
    assert sorted(p.name for p in (intake / "finance_dues").iterdir()) == [
        "finance_dues.csv",
        "finance_dues.csv.manifest.json",
    ]
    assert (intake / "finance_dues.ready").is_file()  # the Asset watcher's flag
    page = client.get(f"/uploads/{record['id']}").text
    assert "签名有效" in page and "已排队等待入库" in page


@pytest.mark.parametrize(
    "name",
    [
        "../../finance_dues.csv",
        "..%2ffinance_dues.csv",
        "sub/finance_dues.csv",
        "..\\finance_dues.csv",
        "finance_dues.csv\n",
        ".finance_dues.csv",
        "finance／dues.csv",
    ],
)
def test_path_traversal_in_the_upload_name_is_refused_and_nothing_is_written(portal, name):
    client = portal["client"]()
    login(client, "fin")
    export = signed_export(portal["site"])
    before = set(portal["site"]["tmp"].rglob("*"))
    record = _record(portal, upload(client, "finance_dues", export, name=name))
    assert record["status"] == "refused" and record["reason"].startswith("name_")
    assert not record["queued"] and record["file_name"] == "?"
    created = set(portal["site"]["tmp"].rglob("*")) - before
    assert not [p for p in created if p.is_file() and "portal.sqlite" not in p.name]


def test_an_oversized_upload_is_refused_and_not_kept(site):
    from fastapi.testclient import TestClient

    from islandbridge.portal import create_app

    app = create_app(settings_for(site, max_upload_bytes=1024))
    app.state.accounts.create(
        "fin", "department", password=PASSWORD, department="finance", created_by="t"
    )
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    login(client, "fin")
    export = signed_export(site)  # about 1.4 kB
    assert export.stat().st_size > 1024
    assert upload(client, "finance_dues", export).status_code == 413
    # the same without a Content-Length (chunked): the stream is cut at the cap
    token = csrf_of(client.get("/uploads").text)
    boundary = "bound"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="source"\r\n\r\nfinance_dues\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="export"; '
        f'filename="finance_dues.csv"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()

    def body():
        yield head
        for _ in range(200):
            yield b"x" * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/uploads",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    leftovers = [p for p in (site["data"] / "portal" / "uploads").rglob("*") if p.is_file()]
    assert leftovers == []


def test_a_wrong_content_type_is_refused(portal):
    client = portal["client"]()
    login(client, "fin")
    export = signed_export(portal["site"])
    record = _record(portal, upload(client, "finance_dues", export, content_type="image/png"))
    assert record["status"] == "refused" and record["reason"] == "wrong_content_type"
    zipped = signed_export(
        portal["site"], content="PK\x03\x04 not a csv\n", folder="zip", encoding="utf-8"
    )
    record = _record(portal, upload(client, "finance_dues", zipped))
    assert record["status"] == "refused" and record["reason"] == "wrong_content_type"


def test_a_tampered_export_is_refused_with_its_verdict(portal):
    client = portal["client"]()
    login(client, "fin")
    export = signed_export(portal["site"])
    export.write_bytes(export.read_bytes().replace(b"1000", b"9000", 1))
    record = _record(portal, upload(client, "finance_dues", export))
    assert record["status"] == "refused" and record["verdict"] == "signature_invalid"
    assert not (portal["site"]["data"] / "intake" / "finance_dues").exists()
    assert "签名无效" in client.get(f"/uploads/{record['id']}").text


def test_a_replayed_manifest_is_refused(portal):
    client = portal["client"]()
    login(client, "fin")
    export = signed_export(portal["site"])
    first = _record(portal, upload(client, "finance_dues", export))
    assert first["status"] == "checked"
    (portal["site"]["data"] / "intake" / "finance_dues" / "finance_dues.csv").unlink()
    (portal["site"]["data"] / "intake" / "finance_dues" / "finance_dues.csv.manifest.json").unlink()
    again = _record(portal, upload(client, "finance_dues", export))
    assert again["status"] == "refused" and again["verdict"] == "signature_replayed"
    # older than the export the intake last accepted: refused too
    state = portal["site"]["data"] / "state" / "export_sequences"
    state.mkdir(parents=True)
    now = datetime.now(UTC)
    (state / "finance_dues.json").write_text(
        json.dumps(
            {
                "exports": {
                    "finance_dues.csv": {
                        "sequence": 10**15,
                        "exported_at": now.isoformat(),
                        "manifest_sha256": "0" * 64,
                        "accepted_at": now.isoformat(),
                    }
                }
            }
        )
    )
    older = signed_export(portal["site"], exported_at=now - timedelta(days=1), folder="older")
    record = _record(portal, upload(client, "finance_dues", older))
    assert record["verdict"] == "signature_replayed"


def test_an_export_without_its_manifest_or_with_a_wrong_row_count_is_refused(portal):
    client = portal["client"]()
    login(client, "fin")
    export = signed_export(portal["site"])
    record = _record(portal, upload(client, "finance_dues", export, manifest=False))
    assert record["verdict"] is None and record["reason"] == "signature_missing"
    bad_header = signed_export(portal["site"], content="工号,姓名\n1,测试\n", folder="hdr")
    record = _record(portal, upload(client, "finance_dues", bad_header))
    assert record["reason"] == "header_failed"
    gbk = signed_export(portal["site"], encoding="gbk", folder="gbk")
    record = _record(portal, upload(client, "finance_dues", gbk))
    assert record["reason"] == "encoding_failed"


def test_another_department_cannot_see_an_upload_by_page_list_or_download(portal):
    fin, hr = portal["client"](), portal["client"]()
    login(fin, "fin")
    login(hr, "hr")
    record = _record(portal, upload(fin, "finance_dues", signed_export(portal["site"])))
    for path in (f"/uploads/{record['id']}", f"/uploads/{record['id']}/rejects.csv"):
        assert hr.get(path).status_code == 404
    assert record["id"] not in hr.get("/uploads").text
    assert record["id"] in fin.get("/uploads").text
    # and it cannot hand in for another department's source
    refused = upload(hr, "finance_dues", signed_export(portal["site"], folder="x"))
    assert refused.status_code == 400


def test_a_branch_secretary_hands_in_and_sees_only_their_own_branch(portal):
    site = portal["site"]
    b001 = portal["client"]()
    login(b001, "b001")
    own = signed_export(
        site,
        "B001.csv",
        content=SIGNINS,
        key="B001",
        source="branch_signins",
        department="branch_secretaries",
        branch="B001",
        encoding="gbk",
    )
    record = _record(portal, upload(b001, "branch_signins", own))
    assert record["status"] == "checked" and record["branch"] == "B001"
    other = signed_export(
        site,
        "B002.csv",
        content=SIGNINS,
        key="B002",
        source="branch_signins",
        department="branch_secretaries",
        branch="B002",
        encoding="gbk",
    )
    refused = _record(portal, upload(b001, "branch_signins", other))
    assert refused["reason"] == "branch_not_yours"
    fin = portal["client"]()
    login(fin, "fin")
    assert fin.get(f"/uploads/{record['id']}").status_code == 404


def test_the_browser_signature_flow_signs_what_the_portal_received(portal):
    import base64

    from cryptography.hazmat.primitives import serialization

    client = portal["client"]()
    login(client, "fin")
    export = signed_export(portal["site"])
    key = portal["site"]["keys"]["finance_dues"]
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    token = csrf_of(client.get("/uploads").text)
    answer = client.post(
        "/uploads",
        data={"csrf": token, "source": "finance_dues", "sign": "browser", "public_key": x},
        files={"export": (export.name, export.read_bytes(), "text/csv")},
        headers={"accept": "application/json"},
    ).json()
    assert answer["status"] == "awaiting_signature"
    payload = answer["draft"]["payload"]
    assert json.loads(payload)["rows"] == 40
    signature = base64.b64encode(key.sign(payload.encode("ascii"))).decode()
    forged = client.post(f"{answer['url']}/signature", json={"signature": signature})
    assert forged.status_code == 403  # no CSRF header
    done = client.post(
        f"{answer['url']}/signature",
        json={"signature": signature},
        headers={"x-csrf-token": token, "accept": "application/json"},
    ).json()
    assert done["status"] == "checked"
    # a key the trust store does not hold for the source gets no draft
    stranger = (
        portal["site"]["keys"]["hr_roster"]
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    answer = client.post(
        "/uploads",
        data={
            "csrf": token,
            "source": "finance_dues",
            "sign": "browser",
            "public_key": base64.urlsafe_b64encode(stranger).decode(),
        },
        files={"export": (export.name, export.read_bytes(), "text/csv")},
        headers={"accept": "application/json"},
    ).json()
    assert answer["error"] == "signature_untrusted" and "draft" not in answer
