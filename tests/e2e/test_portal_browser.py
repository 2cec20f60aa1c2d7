"""The department portal in a real headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium; no downloaded browser build).

On an installation of the e2e university with a first publication: the finance
department logs in, hands in a new export signed in the browser (WebCrypto Ed25519, the
key file read locally), sees the verdict and that it was queued (the configured Airflow
REST trigger received the run request), the intake run it asked for runs
(``department_intake`` through Airflow), then sees its rejected rows with their reasons
and downloads them; a tampered export is refused on the page; a forged CSRF token and
a planted pre-login session are refused; the HR department cannot see finance's
upload, by list or by direct URL. ``ISLANDBRIDGE_PORTAL_SCREENSHOTS=<folder>`` keeps
the screenshots (docs/img holds them).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("portal")]

PASSWORD = "portal e2e password"
COOKIE = "__Host-ib_session"


def _browser() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        message = "chromium and chromium-driver are not installed (make browser)"
        if os.environ.get("ISLANDBRIDGE_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return chromium, driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _FakeAirflow(BaseHTTPRequestHandler):
    """Airflow's REST API as far as the trigger uses it: records the dag-run requests."""

    calls: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append({"path": self.path, "auth": self.headers["Authorization"], **body})
        answer = json.dumps({"dag_run_id": "portal_triggered"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def installation(demo_data: Path, tmp_path_factory) -> Path:
    """The e2e university with its first full publication."""
    from islandbridge.demo import demo_api, ensure_demo_secrets, run_pipeline

    data = tmp_path_factory.mktemp("portal") / "data"
    for part in ("university", "secrets"):
        shutil.copytree(demo_data / part, data / part)
    ensure_demo_secrets(data)
    with demo_api(data) as api_env:
        summary = run_pipeline(data, None, run_id="portal_base", extra_env=api_env)
    assert not summary["degraded"], summary["published"]
    return data


@pytest.fixture(scope="module")
def served(installation: Path) -> Iterator[dict]:
    """The portal under uvicorn on 127.0.0.1, triggering a fake Airflow REST API."""
    import uvicorn

    from islandbridge.portal import PortalSettings, create_app

    airflow = ThreadingHTTPServer(("127.0.0.1", 0), _FakeAirflow)
    threading.Thread(target=airflow.serve_forever, daemon=True).start()
    os.environ["ISLANDBRIDGE_AIRFLOW_TOKEN"] = "e2e-token"
    settings = PortalSettings(
        data_dir=installation,
        trigger="airflow_rest",
        airflow_url=f"http://127.0.0.1:{airflow.server_address[1]}",
    )
    app = create_app(settings)
    for name, role, department in (
        ("finance", "department", "finance"),
        ("hr", "department", "hr_staff"),
        ("steward", "steward", None),
    ):
        app.state.accounts.create(
            name, role, password=PASSWORD, department=department, created_by="e2e"
        )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started
    yield {
        "url": f"http://localhost:{port}",
        "app": app,
        "data": installation,
        "airflow": _FakeAirflow,
    }
    server.should_exit = True
    thread.join(10)
    airflow.shutdown()
    os.environ.pop("ISLANDBRIDGE_AIRFLOW_TOKEN", None)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = _browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=zh-CN"):
        options.add_argument(flag)
    options.add_argument("--window-size=1360,1000")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.downloads = downloads
    yield driver
    driver.quit()


def _shots() -> Path | None:
    folder = os.environ.get("ISLANDBRIDGE_PORTAL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return None


def _shot(driver, name: str) -> None:
    folder = _shots()
    if folder is not None:
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1360, min(max(height + 40, 700), 2400))
        driver.save_screenshot(str(folder / f"portal-{name}.png"))
        driver.set_window_size(1360, 1000)


def _wait(driver, condition, timeout: float = 30.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _login(driver, url: str, user: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/login")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()
    _wait(driver, lambda d: d.current_url.endswith("/uploads") and d.find_elements(By.ID, "who"))


def _logout(driver) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "logout").click()
    _wait(driver, lambda d: d.current_url.endswith("/login"))


def _export(data: Path, folder: Path, lines_removed: int) -> Path:
    """A new finance export: the current one less its last lines."""
    current = (data / "university" / "sources" / "finance_dues.csv").read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "finance_dues.csv"
    export.write_bytes(b"".join(current.splitlines(keepends=True)[:-lines_removed]))
    return export


def test_a_department_hands_in_sees_its_rejects_and_no_one_else_does(served, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from islandbridge.commands.departments import sign_export_file
    from islandbridge.config import load_config
    from islandbridge.demo import run_pipeline
    from islandbridge.portal.results import feedback_files
    from islandbridge.portal.store import downloads, uploads
    from islandbridge.run_layout import DataLayout

    url, data, driver = served["url"], served["data"], browser
    key = data / "university" / "department_keys" / "finance_dues.key"

    # a session token handed out before login (as an attacker could plant one)
    driver.get(f"{url}/login")
    _shot(driver, "login")
    planted = driver.get_cookie(COOKIE)["value"]
    _login(driver, url, "finance")
    assert driver.get_cookie(COOKIE)["value"] != planted

    # hand in a new export, signed in the browser with the department's key file
    export = _export(data, tmp_path / "new", lines_removed=5)
    Select(driver.find_element(By.ID, "source")).select_by_value("finance_dues")
    driver.find_element(By.ID, "sign-browser").click()
    driver.find_element(By.ID, "export").send_keys(str(export))
    driver.find_element(By.ID, "key-file").send_keys(str(key))
    _shot(driver, "hand-in")
    driver.find_element(By.ID, "submit").click()
    _wait(driver, lambda d: "/uploads/" in d.current_url and d.find_elements(By.ID, "status"))
    upload_url = driver.current_url
    status = driver.find_element(By.ID, "status")
    assert status.get_attribute("data-status") == "checked", driver.page_source[:3000]
    assert driver.find_element(By.ID, "verdict").get_attribute("data-verdict") == "valid"
    assert driver.find_element(By.ID, "queued").get_attribute("data-queued") == "1"
    checks = {
        row.get_attribute("data-check"): row.get_attribute("data-ok")
        for row in driver.find_elements(By.CSS_SELECTOR, "#checks tr")
    }
    assert set(checks.values()) == {"ok"} and {"name", "encoding", "header", "rows"} <= set(checks)
    _shot(driver, "upload-checked")

    # the trigger asked Airflow for the intake run of this source; run it as Airflow would
    call = served["airflow"].calls[-1]
    assert call["path"] == "/api/v2/dags/department_intake/dagRuns"
    assert call["auth"] == "Bearer e2e-token" and call["conf"]["sources"] == ["finance_dues"]
    summary = run_pipeline(
        data, None, run_id="portal_intake", sources=call["conf"]["sources"],
        dag_id="department_intake",
    )  # fmt: skip
    assert not summary["degraded"] and summary["kind"] == "intake"

    # the page follows the run: published, the rejected rows with reasons in Chinese
    driver.get(upload_url)
    assert driver.find_element(By.ID, "status").get_attribute("data-status") == "published"
    table = driver.find_element(By.ID, "rejects")
    headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert "问题说明" in headers and "姓名" in headers
    shown = len(table.find_elements(By.CSS_SELECTOR, "tbody tr"))
    assert shown == int(driver.find_element(By.ID, "rejected-count").text) > 0
    _shot(driver, "rejects")
    driver.find_element(By.ID, "download-csv").click()
    _wait(driver, lambda d: any(d.downloads.glob("*.csv")))
    got = next(driver.downloads.glob("*.csv")).read_bytes()
    store = served["app"].state.store
    upload_id = upload_url.rsplit("/", 1)[1]
    record = store.one(uploads.select().where(uploads.c.id == upload_id))
    spec = load_config(None)[0].source("finance_dues")
    feedback = feedback_files(DataLayout(data), spec, record["run_id"], None)["csv"]
    assert got == feedback.read_bytes()
    logged = store.all(downloads.select())
    assert [(d["format"], upload_url.endswith(d["upload_id"])) for d in logged] == [("csv", True)]

    # a tampered export (changed after signing) is refused on the page
    tampered = _export(data, tmp_path / "tampered", lines_removed=7)
    sign_export_file(tampered, key, source="finance_dues")
    altered = bytearray(tampered.read_bytes())
    at = max(i for i, b in enumerate(altered) if chr(b).isdigit())
    altered[at] = ord("1") if altered[at] != ord("1") else ord("2")  # one digit changed
    tampered.write_bytes(bytes(altered))
    driver.get(f"{url}/uploads")
    driver.find_element(By.ID, "export").send_keys(str(tampered))
    driver.find_element(By.ID, "manifest").send_keys(str(tampered) + ".manifest.json")
    driver.find_element(By.ID, "submit").click()
    _wait(driver, lambda d: "/uploads/" in d.current_url and d.find_elements(By.ID, "status"))
    assert driver.find_element(By.ID, "status").get_attribute("data-status") == "refused"
    assert driver.find_element(By.ID, "verdict").get_attribute("data-verdict") in (
        "signature_invalid",
        "signature_mismatch",
    )
    _shot(driver, "refused")

    # a forged CSRF token is refused (and the session stays)
    driver.get(f"{url}/uploads")
    driver.execute_script(
        "document.querySelector('form[action=\"/logout\"] input[name=csrf]').value = 'forged'"
    )
    driver.find_element(By.ID, "logout").click()
    message = _wait(driver, lambda d: d.find_elements(By.ID, "message"))
    assert "安全校验失败" in message[0].text
    driver.get(f"{url}/uploads")
    assert driver.current_url.endswith("/uploads")
    _logout(driver)

    # the planted pre-login token was never logged in
    driver.delete_all_cookies()
    driver.add_cookie({"name": COOKIE, "value": planted, "path": "/", "secure": True})
    driver.get(f"{url}/uploads")
    assert driver.current_url.endswith("/login")

    # another department sees nothing of it: not in its list, not by direct URL
    _login(driver, url, "hr")
    assert upload_id not in driver.page_source
    for path in (upload_url, f"{upload_url}/rejects.csv", f"{upload_url}/rejects.xlsx"):
        driver.get(path)
        assert "没有找到" in driver.find_element(By.ID, "message").text
    _logout(driver)

    # the steward's dashboard: every department's latest upload and its rejection rate
    _login(driver, url, "steward")
    driver.get(f"{url}/steward")
    row = driver.find_element(By.CSS_SELECTOR, "tr[data-department=finance]")
    assert row.find_element(By.CLASS_NAME, "rate").text.endswith("%")
    _shot(driver, "dashboard")
    driver.get(upload_url)  # the steward sees counts and reasons, never the rows
    assert not driver.find_elements(By.ID, "rejects")
