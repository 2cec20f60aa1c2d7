"""The portal's pages beyond the security cases: an upload followed into its intake run
(status, rejected rows, logged downloads), the steward's dashboard and accounts, single
sign-on from a trusted proxy only, the intake triggers, and accounts on PostgreSQL."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from islandbridge.portal import create_app
from islandbridge.portal.accounts import AccountService, LoginRefused
from islandbridge.portal.results import feedback_files
from islandbridge.portal.store import PortalStore, downloads, uploads
from islandbridge.portal.triggers import TriggerError, trigger_for
from islandbridge.run_layout import DataLayout, RunPlan, ValidateResult, write_result
from tests.islandbridge.portal.conftest import (
    PASSWORD,
    csrf_of,
    login,
    settings_for,
    signed_export,
    upload,
)


def _finish_run(site: dict, record: dict, *, published: bool = True) -> str:
    """What an intake run leaves behind for this upload: plan with its drop, validation,
    summary, and the department's feedback file (one formula-bearing rejected row)."""
    data = DataLayout(site["data"])
    run_id = "intake_test_run"
    run = data.run(run_id).create()
    stamp = datetime.now(UTC).isoformat()
    write_result(
        RunPlan(
            run_id=run_id, data_dir=str(site["data"]), run_date="2026-06-30",
            started_at=stamp, kind="intake", sources=["finance_dues"], fresh=["finance_dues"],
            key_id="k1", drops={"finance_dues": [{"file": "finance_dues.csv",
                                                   "sha256": record["sha256"]}]},
        ),
        run.plan,
    )  # fmt: skip
    write_result(
        ValidateResult(source="finance_dues", rows_in=40, accepted=38, quarantined=2),
        run.result("validate", "finance_dues"),
    )
    run.summary.write_text(
        json.dumps({"published": {"status": "published" if published else "refused"}})
    )
    files = feedback_files(data, _spec(site), run_id, None)
    files["csv"].parent.mkdir(parents=True, exist_ok=True)
    files["csv"].write_bytes(
        "姓名,问题说明\r\n'=HYPERLINK(1),日期不合法\r\n测试2,重复记录\r\n".encode("utf-8-sig")
    )
    files["xlsx"].write_bytes(b"PK\x03\x04 stand-in")
    return run_id


def _spec(site):
    from islandbridge.config import load_config

    return load_config(site["config"])[0].source("finance_dues")


def _uploaded(portal, client) -> dict:
    response = upload(client, "finance_dues", signed_export(portal["site"]))
    upload_id = response.headers["location"].rsplit("/", 1)[1]
    return portal["app"].state.store.one(sa.select(uploads).where(uploads.c.id == upload_id))


def test_an_upload_follows_its_run_to_published_with_its_rejects_and_logged_downloads(portal):
    client = portal["client"]()
    login(client, "fin")
    record = _uploaded(portal, client)
    page = client.get(f"/uploads/{record['id']}").text
    assert "入库运行完成后" in page  # the rejects are not there yet
    _finish_run(portal["site"], record)
    page = client.get(f"/uploads/{record['id']}").text
    assert 'data-status="published"' in page and "日期不合法" in page
    assert "&#39;=HYPERLINK(1)" in page  # shown inert, escaped
    for kind in ("csv", "xlsx"):
        got = client.get(f"/uploads/{record['id']}/rejects.{kind}")
        assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
        assert got.headers["cache-control"] == "no-store"
    logged = portal["app"].state.store.all(sa.select(downloads))
    assert [d["format"] for d in logged] == ["csv", "xlsx"]
    assert {d["upload_id"] for d in logged} == {record["id"]}
    row = portal["app"].state.store.one(sa.select(uploads).where(uploads.c.id == record["id"]))
    assert (row["status"], row["rows_in"], row["rejected_rows"]) == ("published", 40, 2)


def test_a_refused_publication_shows_as_refused(portal):
    client = portal["client"]()
    login(client, "fin")
    record = _uploaded(portal, client)
    _finish_run(portal["site"], record, published=False)
    page = client.get(f"/uploads/{record['id']}").text
    assert 'data-status="refused"' in page and 'data-reason="publication_refused"' in page


def test_the_steward_sees_every_upload_and_rates_but_never_a_row(portal):
    fin, boss = portal["client"](), portal["client"]()
    login(fin, "fin")
    login(boss, "boss")
    record = _uploaded(portal, fin)
    _finish_run(portal["site"], record)
    assert record["id"] in boss.get("/uploads").text
    dashboard = boss.get("/steward").text
    assert "5.0%" in dashboard  # 2 of 40
    page = boss.get(f"/uploads/{record['id']}").text
    assert "日期不合法" not in page and "管理员只能看到数量和原因" in page
    assert boss.get(f"/uploads/{record['id']}/rejects.csv").status_code == 404
    assert fin.get("/steward").status_code == 404  # not a steward's page for others
    assert (
        upload(boss, "finance_dues", signed_export(portal["site"], folder="b")).status_code == 403
    )


def test_the_steward_creates_and_disables_accounts_on_the_page(portal):
    boss, clerk = portal["client"](), portal["client"]()
    login(boss, "boss")
    token = csrf_of(boss.get("/steward/accounts").text)
    created = boss.post(
        "/steward/accounts",
        data={"csrf": token, "username": "clerk2", "role": "department",
              "department": "finance", "password": "a long enough secret"},
    )  # fmt: skip
    assert created.status_code == 303
    short = boss.post(
        "/steward/accounts",
        data={"csrf": token, "username": "clerk3", "role": "department",
              "department": "finance", "password": "short"},
    )  # fmt: skip
    assert short.status_code == 400
    assert login(clerk, "clerk2", "a long enough secret").status_code == 303
    account = portal["app"].state.accounts.by_name("clerk2")
    assert boss.post(f"/steward/accounts/{account.id}/disable", data={}).status_code == 403
    done = boss.post(f"/steward/accounts/{account.id}/disable", data={"csrf": token})
    assert done.status_code == 303
    assert clerk.get("/uploads").headers["location"] == "/login"  # its session ended
    assert login(clerk, "clerk2", "a long enough secret").status_code == 401


def test_single_sign_on_header_is_believed_only_from_a_trusted_proxy(site):
    trusted = create_app(
        settings_for(site, sso_header="X-Remote-User", trusted_proxies=("testclient",))
    )
    trusted.state.accounts.create(
        "fin", "department", password=None, department="finance", created_by="t"
    )
    client = TestClient(trusted, base_url="https://testserver", follow_redirects=False)
    assert client.get("/uploads", headers={"X-Remote-User": "fin"}).status_code == 200
    assert client.get("/uploads", headers={"X-Remote-User": "nobody"}).status_code == 200  # kept
    stranger = TestClient(trusted, base_url="https://testserver", follow_redirects=False)
    assert stranger.get("/uploads", headers={"X-Remote-User": "nobody"}).status_code == 303
    elsewhere = create_app(
        settings_for(site, sso_header="X-Remote-User", trusted_proxies=("10.0.0.1",))
    )
    other = TestClient(elsewhere, base_url="https://testserver", follow_redirects=False)
    assert other.get("/uploads", headers={"X-Remote-User": "fin"}).status_code == 303


class _Airflow(BaseHTTPRequestHandler):
    calls: ClassVar[list] = []
    status = 200

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path, self.headers["Authorization"], None))
        self._answer({"assets": [{"id": 7, "name": "intake_finance_dues"},
                                 {"id": 8, "name": "intake_finance_dues_old"}]})  # fmt: skip

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(("POST", self.path, self.headers["Authorization"], body))
        self._answer({"dag_run_id": "r1"})

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def airflow(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Airflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Airflow.calls, _Airflow.status = [], 200
    monkeypatch.setenv("ISLANDBRIDGE_AIRFLOW_TOKEN", "t0ken")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_rest_trigger_asks_airflow_for_a_dag_run_of_the_source(site, airflow):
    done = trigger_for(settings_for(site, trigger="airflow_rest", airflow_url=airflow)).fire(
        "finance_dues", "u1"
    )
    method, path, auth, body = _Airflow.calls[-1]
    assert (method, path, auth) == (
        "POST",
        "/api/v2/dags/department_intake/dagRuns",
        "Bearer t0ken",
    )
    assert body["conf"]["sources"] == ["finance_dues"] and body["logical_date"] is None
    assert done == "department_intake run r1"


def test_the_asset_trigger_posts_an_event_on_the_sources_intake_asset(site, airflow):
    trigger_for(settings_for(site, trigger="asset_event", airflow_url=airflow)).fire(
        "finance_dues", "u1"
    )
    assert _Airflow.calls[-1][:2] == ("POST", "/api/v2/assets/events")
    assert _Airflow.calls[-1][3]["asset_id"] == 7


def test_a_failing_trigger_is_an_error_and_the_upload_stays_queued(site, airflow, monkeypatch):
    _Airflow.status = 403
    with pytest.raises(TriggerError, match="HTTP 403"):
        trigger_for(settings_for(site, trigger="airflow_rest", airflow_url=airflow)).fire("s", "u")
    monkeypatch.delenv("ISLANDBRIDGE_AIRFLOW_TOKEN")
    with pytest.raises(TriggerError, match="no Airflow API token"):
        trigger_for(settings_for(site, trigger="airflow_rest", airflow_url=airflow)).fire("s", "u")
    app = create_app(settings_for(site, trigger="airflow_rest", airflow_url=airflow))
    app.state.accounts.create(
        "fin", "department", password=PASSWORD, department="finance", created_by="t"
    )
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    login(client, "fin")
    response = upload(client, "finance_dues", signed_export(site))
    page = client.get(response.headers["location"]).text
    assert 'data-queued="1"' in page and "trigger failed" in page


def test_an_unknown_trigger_names_the_known_ones(site):
    with pytest.raises(ValueError, match="airflow_rest"):
        trigger_for(settings_for(site, trigger="carrier_pigeon"))


def test_accounts_sessions_and_lockout_on_postgresql(site, pg_url):
    schema = f"portal_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        url = f"{pg_url}?options=-csearch_path%3D{schema}"
        settings = settings_for(site, database_url=url, lockout_attempts=2)
        store = PortalStore(url)
        service = AccountService(store, settings)
        service.create("fin", "department", password=PASSWORD, department="finance", created_by="t")
        assert service.authenticate("fin", PASSWORD, "1.2.3.4").department == "finance"
        for _ in range(2):
            with pytest.raises(LoginRefused):
                service.authenticate("fin", "wrong password", "1.2.3.4")
        with pytest.raises(LoginRefused, match="locked"):
            service.authenticate("fin", PASSWORD, "1.2.3.4")
        app = create_app(settings)
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        service.create("hr", "department", password=PASSWORD, department="hr_staff", created_by="t")
        assert login(client, "hr").status_code == 303
        assert client.get("/uploads").status_code == 200
        with admin.connect() as conn:
            tables = conn.execute(
                sa.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            ).scalar()
        assert tables == 5
        store.close()
        app.state.store.close()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_throttling_counts_the_forwarded_client_only_behind_a_trusted_proxy(site):
    def attempts(trusted: tuple[str, ...], addresses: list[str]) -> list[int]:
        app = create_app(settings_for(site, ip_attempts=2, trusted_proxies=trusted))
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        codes = []
        for address in addresses:
            token = csrf_of(client.get("/login").text)
            codes.append(
                client.post(
                    "/login",
                    data={"csrf": token, "username": "x", "password": "y" * 12},
                    headers={"X-Forwarded-For": f"1.1.1.1, {address}"},
                ).status_code
            )
        app.state.store.close()
        return codes

    behind = attempts(("testclient",), ["10.0.0.5", "10.0.0.5", "10.0.0.5", "10.0.0.6"])
    assert behind == [401, 401, 429, 401]  # one client throttled, another not
    direct = attempts((), ["10.0.0.7", "10.0.0.8", "10.0.0.9"])
    assert direct[-1] == 429  # the header of an untrusted peer is ignored: one address


def test_passwords_are_argon2id_with_the_librarys_cost_by_default(site):
    from islandbridge.portal import PortalSettings
    from islandbridge.portal.store import accounts

    store = PortalStore(PortalSettings(data_dir=site["data"]).accounts_url)
    service = AccountService(store, PortalSettings(data_dir=site["data"], config=site["config"]))
    service.create("fin", "department", password=PASSWORD, department="finance", created_by="t")
    stored = store.one(sa.select(accounts.c.password_hash))["password_hash"]
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in stored
    store.close()


def test_english_is_one_click_away(portal):
    client = portal["client"]()
    assert "登录" in client.get("/login").text
    switched = client.get("/lang/en", params={"next": "//evil.example/"})
    assert switched.headers["location"] == "/"  # never off-site
    assert "Log in" in client.get("/login").text


def test_refused_files_are_deleted_and_unsigned_uploads_swept(portal):
    from datetime import timedelta

    client = portal["client"]()
    login(client, "fin")
    export = signed_export(portal["site"])
    export.write_bytes(export.read_bytes() + b"P9999,x,2026-05,1,2026-05-01\n")
    response = upload(client, "finance_dues", export)
    folder = portal["site"]["data"] / "portal" / "uploads" / response.headers["location"][9:]
    assert not folder.exists()
    token = csrf_of(client.get("/uploads").text)
    waiting = client.post(
        "/uploads",
        data={"csrf": token, "source": "finance_dues", "sign": "browser"},
        files={"export": (export.name, export.read_bytes(), "text/csv")},
        headers={"accept": "application/json"},
    ).json()
    assert waiting["status"] == "awaiting_signature"
    service = __import__("islandbridge.portal.uploads", fromlist=["UploadService"]).UploadService(
        settings_for(portal["site"]), portal["app"].state.store
    )
    assert service.sweep_unsigned(older_than=timedelta(hours=1)) == 0
    assert service.sweep_unsigned(older_than=timedelta(seconds=-1)) == 1
    assert service.get(waiting["id"])["reason"] == "unsigned"
    assert not service.folder(waiting["id"]).exists()


def test_an_upload_the_intake_refuses_shows_as_refused_with_the_intakes_reason(portal):
    from datetime import date

    from islandbridge.context import RunContext
    from islandbridge.intake import IntakeError, install_drop

    site = portal["site"]
    client = portal["client"]()
    login(client, "fin")
    record = _uploaded(portal, client)
    assert record["status"] == "checked"
    # meanwhile a newer export of the file was accepted: the intake refuses this one
    state = site["data"] / "state" / "export_sequences"
    state.mkdir(parents=True)
    stamp = datetime.now(UTC).isoformat()
    (state / "finance_dues.json").write_text(
        json.dumps({"exports": {"finance_dues.csv": {
            "sequence": 10**15, "exported_at": stamp, "manifest_sha256": "1" * 64,
            "accepted_at": stamp}}})
    )  # fmt: skip
    ctx = RunContext(site["data"], site["config"], "intake_refusing", date(2026, 6, 30))
    with pytest.raises(IntakeError):
        install_drop(ctx, "finance_dues")
    page = client.get(f"/uploads/{record['id']}").text
    assert 'data-status="refused"' in page and 'data-reason="signature_replayed"' in page
