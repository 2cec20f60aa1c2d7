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
        server.queries.append({k: v[0] for k, v in q.items()})
        if server.mode == "offset":
            offset, limit = int(q["offset"][0]), int(q["limit"][0])
            return self._send(200, json.dumps({"data": ITEMS[offset : offset + limit]}).encode())
        if server.mode in ("cursor", "cursor_loop"):
            start, size = int(q.get("after", ["0"])[0]), int(q["page_size"][0])
            end = start + size
            nxt = "0" if server.mode == "cursor_loop" else (str(end) if end < len(ITEMS) else None)
            body = {"items": ITEMS[start:end], "meta": {"next": nxt}}
            return self._send(200, json.dumps(body).encode())
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
    server.mode, server.failures, server.queries = "ok", [], []
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


def test_offset_pagination_advances_by_the_items_received(make_source, ctx, api):
    api.mode = "offset"
    source = _source(make_source, pagination="offset", items_field="data", size_param="limit")
    frame = _read(source, ctx, api)
    assert list(frame["record_key"]) == [f"volunteer:V{i}" for i in range(1, 8)]
    assert [q["offset"] for q in api.queries] == ["0", "3", "6"]


def test_cursor_pagination_follows_the_next_cursor_until_absent(make_source, ctx, api):
    api.mode = "cursor"
    source = _source(
        make_source, pagination="cursor", cursor_param="after", next_cursor_field="meta.next"
    )
    frame = _read(source, ctx, api)
    assert len(frame) == len(ITEMS)
    assert [q.get("after") for q in api.queries] == [None, "3", "6"]


def test_cursor_that_repeats_is_a_clear_error(make_source, ctx, api):
    api.mode = "cursor_loop"
    source = _source(
        make_source, pagination="cursor", cursor_param="after", next_cursor_field="meta.next"
    )
    with pytest.raises(SourceError, match="page 2 \\(cursor\\): the API repeats a cursor"):
        _read(source, ctx, api)


def test_airflow_connection_gives_url_and_bearer_token(make_source, ctx, api, caplog):
    ctx.env["AIRFLOW_CONN_LEAGUE_API"] = json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "port": api.server_port, "schema": "r",
         "password": "t0ken"}
    )  # fmt: skip
    source = make_source(
        connector="http", file=None, entity="volunteer",
        http={"conn_id": "league_api", "key_field": "record_id", "key_prefix": "volunteer",
              "page_size": 3},
        columns={"xh": "student_no", "xm": "name"}, ignore_columns=["record_id"],
    )  # fmt: skip
    chunks = list(connector_for(source, ctx).read())
    assert sum(len(c.frame) for c in chunks) == len(ITEMS)
    assert chunks[-1].input.location == "conn:league_api"
    assert "t0ken" not in caplog.text
