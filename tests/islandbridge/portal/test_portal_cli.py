"""``islandbridge portal add-account / disable-account / accounts``: a steward manages
portal accounts on the command line; the password never is an option value."""

from __future__ import annotations

from typer.testing import CliRunner

from islandbridge.cli import app
from tests.islandbridge.portal.conftest import PASSWORD, login, settings_for


def test_accounts_are_created_listed_and_disabled_from_the_command_line(site, monkeypatch):
    from fastapi.testclient import TestClient

    from islandbridge.portal import create_app

    monkeypatch.setenv("PORTAL_PW", PASSWORD)
    where = ["--data-dir", str(site["data"]), "--config", str(site["config"])]
    runner = CliRunner()
    made = runner.invoke(
        app,
        ["portal", "add-account", "fin", "--role", "department", "--department", "finance",
         "--password-env", "PORTAL_PW", *where],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    unknown = runner.invoke(
        app,
        ["portal", "add-account", "x", "--role", "department", "--department", "nowhere",
         "--password-env", "PORTAL_PW", *where],
    )  # fmt: skip
    assert unknown.exit_code == 2 and "not in the configuration" in unknown.output
    listed = runner.invoke(app, ["portal", "accounts", *where])
    assert "fin\tdepartment\tfinance\tactive" in listed.output
    client = TestClient(create_app(settings_for(site)), base_url="https://testserver")
    assert login(client, "fin").status_code in (200, 303)
    assert runner.invoke(app, ["portal", "disable-account", "fin", *where]).exit_code == 0
    assert client.get("/uploads", follow_redirects=False).headers["location"] == "/login"


def test_islandbridge_portal_serves_the_login_page_with_uvicorn(site):
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "islandbridge.cli", "portal", "--port", str(port),
               "--data-dir", str(site["data"]), "--config", str(site["config"])]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(150):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/login")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("the portal did not start")
        assert page.status_code == 200 and "数据报送门户" in page.text
        assert "__Host-ib_session" in page.headers["set-cookie"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "server" not in page.headers
    finally:
        server.terminate()
        server.wait(10)
