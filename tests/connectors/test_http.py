from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from connectors import SourceError, connector_for

ITEMS = [{"record_id": f"V{i}", "xh": f"2022{i:04d}", "xm": "张三"} for i in range(1, 8)]


class _Api(BaseHTTPRequestHandler):
    mode = "ok"
    failures: ClassVar[list[int]] = []

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        server = self.server
        if server.mode == "html":
            return self._send(200, b"<html>login</html>", "text/html")
        if server.mode == "flaky" and server.failures:
            return self._send(server.failures.pop(0), b"{}")
        if self.headers.get("Authorization") != "Bearer t0ken":
            return self._send(401, b'{"error": "unauthorised"}')
        q = parse_qs(urlparse(self.path).query)
        page, size = int(q["page"][0]), int(q["page_size"][0])
        items = ITEMS[(page - 1) * size : page * size]
        self._send(200, json.dumps({"page": page, "items": items}).encode())

    def _send(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.mode, server.failures = "ok", []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _source(make_source, **http):
    return make_source(
        connector="http", file=None, entity="volunteer",
        http={"url_env": "API_URL", "token_env": "API_TOKEN", "key_field": "record_id",
              "key_prefix": "volunteer", "page_size": 3, "retries": 2, **http},
        columns={"xh": "student_no", "xm": "name"}, ignore_columns=["record_id"],
    )  # fmt: skip


def _read(source, ctx, api, token="t0ken"):
    ctx.env.update({"API_URL": f"http://127.0.0.1:{api.server_port}/r", "API_TOKEN": token})
    return pd.concat([c.frame for c in connector_for(source, ctx).read()], ignore_index=True)


def test_pages_through_the_api(make_source, ctx, api):
    frame = _read(_source(make_source), ctx, api)
    assert len(frame) == len(ITEMS)
    assert frame["record_key"].iloc[-1] == "volunteer:V7"


def test_wrong_token_is_a_clear_4xx_error(make_source, ctx, api):
    with pytest.raises(SourceError, match="page 1: HTTP 401"):
        _read(_source(make_source), ctx, api, token="nope")


def test_retries_5xx_then_succeeds(make_source, ctx, api):
    api.mode, api.failures = "flaky", [500, 503]
    assert len(_read(_source(make_source), ctx, api)) == len(ITEMS)


def test_gives_up_after_retries(make_source, ctx, api):
    api.mode, api.failures = "flaky", [500, 500, 500, 500]
    with pytest.raises(SourceError, match="HTTP 500 after 2 retries"):
        _read(_source(make_source), ctx, api)


def test_html_instead_of_json_is_a_clear_error(make_source, ctx, api):
    api.mode = "html"
    with pytest.raises(SourceError, match="page 1: response is not JSON"):
        _read(_source(make_source), ctx, api)


def test_missing_token_fails_closed(make_source, ctx, api):
    ctx.env.update({"API_URL": "http://127.0.0.1:1/r"})
    with pytest.raises(SourceError, match=r"API_TOKEN.*is not set"):
        list(connector_for(_source(make_source), ctx).read())


def test_server_down_is_a_clear_error(make_source, ctx):
    ctx.env.update({"API_URL": "http://127.0.0.1:1/r", "API_TOKEN": "x"})
    with pytest.raises(SourceError, match="ConnectError after 2 retries"):
        list(connector_for(_source(make_source), ctx).read())


def test_provenance_names_the_configured_variable_and_hashes_the_content(make_source, ctx, api):
    ctx.env.update({"API_URL": f"http://127.0.0.1:{api.server_port}/r", "API_TOKEN": "t0ken"})
    chunks = list(connector_for(_source(make_source), ctx).read())
    assert chunks[-1].input.location == "$API_URL"
    assert len(chunks[-1].input.sha256) == 64
