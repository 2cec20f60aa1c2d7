"""The youth league's volunteer-service HTTP API, served from ``volunteer_records.json``.

``GET /api/v1/records?page=N&page_size=M`` with ``Authorization: Bearer <token>``
returns ``{"page", "page_size", "total", "items"}``; pages start at 1 and a page
past the end has empty ``items``. A wrong or missing token gets 401, bad paging
parameters 400, any other path 404.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlparse

__all__ = [
    "MAX_PAGE_SIZE",
    "TOKEN_ENV",
    "URL_ENV",
    "VolunteerApi",
    "serve_volunteer_api",
    "served_volunteer_api",
    "volunteer_api_in_env",
]

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
RECORDS_PATH = "/api/v1/records"


class VolunteerApi:
    """A running server; ``url`` is its base (``http://127.0.0.1:<port>``)."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.records_url = self.url + RECORDS_PATH

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> VolunteerApi:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _handler(records: list[dict], token: str | None) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {token}".encode() if token is not None else None

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            log.debug("volunteer api: %s", format % args)

        def _send(self, status: HTTPStatus, body: dict) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if status == HTTPStatus.UNAUTHORIZED:
                self.send_header("WWW-Authenticate", "Bearer")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != RECORDS_PATH:
                self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})
                return
            if expected is not None:
                given = (self.headers.get("Authorization") or "").encode()
                if not hmac.compare_digest(given, expected):
                    self._send(HTTPStatus.UNAUTHORIZED, {"error": "invalid or missing token"})
                    return
            query = parse_qs(url.query)
            try:
                page = int(query.get("page", ["1"])[-1])
                size = int(query.get("page_size", [str(DEFAULT_PAGE_SIZE)])[-1])
            except ValueError:
                self._send(HTTPStatus.BAD_REQUEST, {"error": "page and page_size must be integers"})
                return
            if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
                self._send(
                    HTTPStatus.BAD_REQUEST,
                    {"error": f"page must be >= 1 and page_size within 1..{MAX_PAGE_SIZE}"},
                )
                return
            start = (page - 1) * size
            body = {
                "page": page,
                "page_size": size,
                "total": len(records),
                "items": records[start : start + size],
            }
            self._send(HTTPStatus.OK, body)

    return Handler


def serve_volunteer_api(
    path: Path, *, token: str | None, host: str = "127.0.0.1", port: int = 0
) -> VolunteerApi:
    """Serve the records in ``path`` in a daemon thread; ``token=None`` disables auth."""
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    server = ThreadingHTTPServer((host, port), _handler(records, token))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="volunteer-api", daemon=True)
    thread.start()
    log.info("volunteer api serving %d records on %s:%d", len(records), *server.server_address[:2])
    return VolunteerApi(server, thread)


#: the variables the demo configuration names for the youth league's API
URL_ENV, TOKEN_ENV = "ISLANDBRIDGE_VOLUNTEER_API_URL", "ISLANDBRIDGE_VOLUNTEER_API_TOKEN"


@contextmanager
def served_volunteer_api(university: Path) -> Iterator[dict[str, str]]:
    """Serve a generated university's volunteer records with a fresh bearer token while in
    the block; yields the environment variables the demo configuration names."""
    token = secrets.token_urlsafe(24)
    with serve_volunteer_api(
        Path(university) / "sources" / "volunteer_records.json", token=token
    ) as api:
        yield {URL_ENV: f"{api.url}/api/v1/records", TOKEN_ENV: token}


@contextmanager
def volunteer_api_in_env(university: Path) -> Iterator[dict[str, str]]:
    """:func:`served_volunteer_api` with its variables set in this process's environment,
    restored on exit (tests, benchmarks)."""
    saved = {k: os.environ.get(k) for k in (URL_ENV, TOKEN_ENV)}
    with served_volunteer_api(university) as env:
        os.environ.update(env)
        try:
            yield env
        finally:
            for key, value in saved.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
