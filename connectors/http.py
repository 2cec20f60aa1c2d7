"""Paginated JSON HTTP APIs: bearer token from a named secret, timeouts, retries with backoff.

Pagination styles: ``page`` (page number + page size), ``offset`` (offset + page
size) and ``cursor`` (the body names the next cursor; absent or empty ends). 5xx
responses and timeouts are retried with exponential backoff; a 4xx or a body that
is not the expected JSON is a clear error naming the URL and page. The URL comes
from the config, a named environment variable or an Airflow connection (whose
password is the bearer token); neither URL credentials nor the token are ever
logged or put in an error.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd

from connectors.base import Connector, InputFile, RawChunk, SourceError, reduced_error
from connectors.connections import connection_url

__all__ = ["HttpConnector"]

log = logging.getLogger(__name__)


class HttpConnector(Connector):
    name = "http"

    def _endpoint(self) -> tuple[str, str | None, str]:
        """URL (without credentials), bearer token, and how provenance names the endpoint."""
        spec = self.source.http
        assert spec is not None
        env = self.context.env
        token = None
        if spec.conn_id:
            parsed = httpx.URL(connection_url(self.context, spec.conn_id, self.source.name))
            token = parsed.password or None
            url, shown = str(parsed.copy_with(username=None, password=None)), f"conn:{spec.conn_id}"
        elif spec.url_env:
            url, shown = env.get(spec.url_env, ""), f"${spec.url_env}"
        else:
            url = shown = spec.url or ""
        if not url:
            raise SourceError(
                self.source.name, f"environment variable {spec.url_env}", "is not set"
            )
        if spec.token_env:
            token = env.get(spec.token_env)
            if not token:
                raise SourceError(
                    self.source.name, f"environment variable {spec.token_env}", "is not set"
                )
        return url, token, shown

    def read(self) -> Iterator[RawChunk]:
        url, token, shown = self._endpoint()
        try:
            yield from self._read(url, token, shown)
        except SourceError:
            raise
        except Exception as exc:  # a library's text may quote an item's value
            raise reduced_error(self.source.name, shown, "cannot be read", exc) from None

    def _read(self, url: str, token: str | None, shown: str) -> Iterator[RawChunk]:
        spec = self.source.http
        assert spec is not None
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # the configured name, not the resolved URL: stable across hosts, ports and runs
        info = InputFile(location=shown, encoding="json")
        digest = hashlib.sha256()
        with httpx.Client(timeout=spec.timeout_s, headers=headers) as client:
            for where, items in self._pages(client, url):
                if not items:
                    break
                frame = pd.DataFrame(items, dtype=object)  # an int ID never becomes a float
                if spec.key_field not in frame.columns:
                    raise SourceError(
                        self.source.name, where, "key field missing", column=spec.key_field
                    )
                keys = frame[spec.key_field].astype("string")
                frame.insert(0, "record_key", (spec.key_prefix + ":" + keys).to_numpy())
                info.rows += len(frame)
                digest.update(json.dumps(items, ensure_ascii=False, sort_keys=True).encode())
                info.sha256 = digest.hexdigest()
                yield RawChunk(frame, info)
        if info.rows == 0:
            yield RawChunk(pd.DataFrame({"record_key": pd.Series([], dtype="string")}), info)

    def _pages(self, client: httpx.Client, url: str) -> Iterator[tuple[str, list[dict]]]:
        """(where, items) per page in the configured pagination style, until the end."""
        spec = self.source.http
        assert spec is not None
        size = {spec.size_param: spec.page_size}
        if spec.pagination == "page":
            page = spec.first_page
            while True:
                where = f"{url} page {page}"
                params = {spec.page_param: page, **size}
                items = self._items(self._get(client, url, params, where), where)
                yield where, items
                if len(items) < spec.page_size:
                    return
                page += 1
        elif spec.pagination == "offset":
            offset = 0
            while True:
                where = f"{url} offset {offset}"
                params = {spec.offset_param: offset, **size}
                items = self._items(self._get(client, url, params, where), where)
                yield where, items
                if len(items) < spec.page_size:
                    return
                offset += len(items)
        else:
            cursor: str | None = None
            seen: set[str] = set()
            for number in itertools.count(1):
                where = f"{url} page {number} (cursor)"
                params = {**size, **({spec.cursor_param: cursor} if cursor else {})}
                body = self._get(client, url, params, where)
                yield where, self._items(body, where)
                cursor = _dotted(body, spec.next_cursor_field)
                if cursor in (None, ""):
                    return
                cursor = str(cursor)
                if cursor in seen:
                    raise SourceError(self.source.name, where, "the API repeats a cursor")
                seen.add(cursor)

    def _get(self, client: httpx.Client, url: str, params: dict, where: str) -> Any:
        spec = self.source.http
        assert spec is not None
        for attempt in range(spec.retries + 1):
            try:
                response = client.get(url, params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise SourceError(self.source.name, where, "response is not JSON") from None
                if response.status_code < 500:
                    raise SourceError(self.source.name, where, f"HTTP {response.status_code}")
                problem = f"HTTP {response.status_code}"
            if attempt < spec.retries:
                delay = 0.2 * 2**attempt
                log.warning(
                    "source %s: %s (%s); retrying in %.1fs", self.source.name, where, problem, delay
                )
                time.sleep(delay)
        raise SourceError(
            self.source.name, where, f"{problem} after {spec.retries} retries", transient=True
        )

    def _items(self, body: Any, where: str) -> list[dict]:
        spec = self.source.http
        assert spec is not None
        items = body.get(spec.items_field) if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise SourceError(
                self.source.name, where, f"no list of objects in {spec.items_field!r}"
            )
        return items


def _dotted(body: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body
