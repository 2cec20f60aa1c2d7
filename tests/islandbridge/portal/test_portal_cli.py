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
