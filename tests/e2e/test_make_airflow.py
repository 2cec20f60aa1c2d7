"""`make airflow` for real: `islandbridge airflow` starts Airflow 3's API server + UI,
scheduler, DAG processor and triggerer on SQLite under a data folder; the UI answers,
the four DAGs parse, a triggered campus_integration run succeeds (bounded in time), its
mapped tasks are labelled with the sources, and Ctrl-C stops everything.

On the way it takes the README's screenshots in headless Chromium (the Airflow UI with
the finished run, the run's report, one of its Data Docs pages): into
``$ISLANDBRIDGE_SCREENSHOTS_DIR`` when set (``make screenshots``: docs/img), else a
temporary folder.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from islandbridge.airflow_server import AirflowServer, api_call, free_port
from tests.headless import chromium, full_page_screenshot, require_chromium

# in the celery test's group: two real Airflow installations at once starve each other on 2 cores
pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("celery")]

MEMBERS, SEED = 1200, 7
START_TIMEOUT = 300
RUN_TIMEOUT = 15 * 60
DAGS = {"campus_integration", "department_intake", "analyst_refresh", "retention"}
SOURCES = {
    "org_members", "org_meetings", "student_roster", "hr_roster",
    "branch_signins", "league_volunteer", "finance_dues", "learning_platform",
}  # fmt: skip


def _wait_for(predicate, timeout: float, what: str, interval: float = 3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    """`islandbridge airflow` running as a user starts it; stopped with SIGINT (Ctrl-C)."""
    require_chromium()
    data = tmp_path_factory.mktemp("airflow") / "data"
    port = free_port()
    out = data.parent / "airflow.out"
    with out.open("wb") as sink:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "islandbridge.cli",
                "airflow",
                "--port",
                str(port),
                "--members",
                str(MEMBERS),
                "--seed",
                str(SEED),
                "--data-dir",
                str(data),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ISLANDBRIDGE_TASK_RETRIES": "0"},
        )
    try:

        def started():
            if child.poll() is not None:
                raise AssertionError(f"islandbridge airflow exited: {out.read_text()[-3000:]}")
            return re.search(r"login: (\S+) / (\S+)", out.read_text(encoding="utf-8"))

        login = _wait_for(started, START_TIMEOUT, "the URL and login", 2.0)
        text = out.read_text(encoding="utf-8")
        assert f"Airflow UI: http://127.0.0.1:{port}" in text
        server = AirflowServer(
            url=f"http://127.0.0.1:{port}",
            user=login.group(1),
            password=login.group(2),
            logs=data / "logs" / "airflow",
        )
        yield {"server": server, "child": child, "data": data, "port": port, "out": out}
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=90)
            except subprocess.TimeoutExpired:
                child.kill()


def _shots_dir(tmp_path_factory) -> Path:
    configured = os.environ.get("ISLANDBRIDGE_SCREENSHOTS_DIR")
    return Path(configured) if configured else tmp_path_factory.mktemp("shots")


def test_make_airflow_runs_campus_integration_and_stops(airflow, tmp_path_factory):
    server: AirflowServer = airflow["server"]
    api_call(server.url, "GET", "/api/v2/monitor/health")  # the API answers
    token = server.token()
    ui = _wait_for(lambda: _get(server.url + "/"), 60, "the UI page")
    assert "<title>Airflow</title>" in ui or "Airflow" in ui

    def parsed():
        dags = api_call(server.url, "GET", "/api/v2/dags?limit=100", token=token)["dags"]
        return {d["dag_id"] for d in dags} >= DAGS

    _wait_for(parsed, 180, "the four DAGs to be parsed")
    errors = api_call(server.url, "GET", "/api/v2/importErrors", token=token)
    assert errors["total_entries"] == 0, errors

    run = api_call(
        server.url,
        "POST",
        "/api/v2/dags/campus_integration/dagRuns",
        {"logical_date": None},
        token=token,
    )
    run_id = run["dag_run_id"]
    path = f"/api/v2/dags/campus_integration/dagRuns/{run_id}"

    def finished():
        state = api_call(server.url, "GET", path, token=server.token())["state"]
        return state if state in ("success", "failed") else None

    state = _wait_for(finished, RUN_TIMEOUT, "the campus_integration run", 5.0)
    assert state == "success", airflow["out"].read_text(encoding="utf-8")[-2000:]

    tasks = api_call(server.url, "GET", path + "/taskInstances?limit=200", token=server.token())
    labels = {t["rendered_map_index"] for t in tasks["task_instances"] if t["map_index"] >= 0}
    assert labels == SOURCES  # mapped tasks are labelled with the source, not 0–7

    shots = _shots_dir(tmp_path_factory)
    report = max((airflow["data"] / "reports").glob("*.html"), key=lambda p: p.stat().st_mtime)
    docs = sorted((airflow["data"] / "reports" / "data_docs").rglob("validations/**/*.html"))
    with chromium(1400, 900) as driver:
        _login(driver, server)
        driver.get(f"{server.url}/dags/campus_integration/runs/{run_id}")
        time.sleep(6)
        assert "campus_integration" in driver.page_source
        driver.save_screenshot(str(shots / "airflow-run.png"))
        driver.get(report.as_uri())
        _wait_for(
            lambda: driver.execute_script(
                "return document.documentElement.getAttribute('data-charts')"
            ),
            30,
            "the charts",
        )
        full_page_screenshot(driver, shots / "report.png", max_height=1500)
        driver.set_window_size(1400, 1300)
        driver.execute_script("document.getElementById('indicators').scrollIntoView()")
        time.sleep(1)
        driver.save_screenshot(str(shots / "report-indicators.png"))
        driver.get(docs[0].as_uri())
        time.sleep(2)
        full_page_screenshot(driver, shots / "data-docs.png", max_height=1600)
    for name in ("airflow-run.png", "report.png", "report-indicators.png", "data-docs.png"):
        assert (shots / name).stat().st_size > 10_000, name

    # Ctrl-C stops every component
    airflow["child"].send_signal(signal.SIGINT)
    assert airflow["child"].wait(timeout=90) == 0
    assert not _port_open(airflow["port"])
    text = airflow["out"].read_text(encoding="utf-8")
    assert "Airflow stopped" in text and "Traceback" not in text


def _get(url: str) -> str | None:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8", "replace")
    except OSError:
        return None


def _login(driver, server: AirflowServer) -> None:
    from selenium.webdriver.common.by import By

    driver.get(server.url + "/")
    _wait_for(lambda: driver.find_elements(By.NAME, "username"), 30, "the login form", 1.0)
    driver.find_element(By.NAME, "username").send_keys(server.user)
    driver.find_element(By.NAME, "password").send_keys(server.password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait_for(lambda: "/auth/login" not in driver.current_url, 30, "the login", 1.0)
