"""Paginated JSON HTTP APIs: bearer token from a named secret, timeouts, retries with backoff.

5xx responses and timeouts are retried with exponential backoff; a 4xx or a body
that is not the expected JSON is a clear error naming the URL and page.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator

import httpx
import pandas as pd

from connectors.base import Connector, InputFile, RawChunk, SourceError

__all__ = ["HttpConnector"]

log = logging.getLogger(__name__)


class HttpConnector(Connector):
    name = "http"

    def read(self) -> Iterator[RawChunk]:
        spec = self.source.http
        assert spec is not None
        env = self.context.env
        url = env.get(spec.url_env, "") if spec.url_env else (spec.url or "")
        if not url:
            raise SourceError(
                self.source.name, f"environment variable {spec.url_env}", "is not set"
            )
        headers = {"Accept": "application/json"}
        if spec.token_env:
            token = env.get(spec.token_env)
            if not token:
                raise SourceError(
                    self.source.name, f"environment variable {spec.token_env}", "is not set"
                )
            headers["Authorization"] = f"Bearer {token}"
        # the configured name, not the resolved URL: stable across hosts, ports and runs
        info = InputFile(location=f"${spec.url_env}" if spec.url_env else url, encoding="json")
        digest = hashlib.sha256()
        page = spec.first_page
        with httpx.Client(timeout=spec.timeout_s, headers=headers) as client:
            while True:
                items = self._page(client, url, page)
                if not items:
                    break
                frame = pd.DataFrame.from_records(items)
                if spec.key_field not in frame.columns:
                    raise SourceError(
                        self.source.name,
                        f"{url} page {page}",
                        "key field missing",
                        column=spec.key_field,
                    )
                keys = frame[spec.key_field].astype("string")
                frame.insert(0, "record_key", (spec.key_prefix + ":" + keys).to_numpy())
                info.rows += len(frame)
                digest.update(json.dumps(items, ensure_ascii=False, sort_keys=True).encode())
                info.sha256 = digest.hexdigest()
                yield RawChunk(frame, info)
                if len(items) < spec.page_size:
                    break
                page += 1
        if info.rows == 0:
            yield RawChunk(pd.DataFrame({"record_key": pd.Series([], dtype="string")}), info)

    def _page(self, client: httpx.Client, url: str, page: int) -> list[dict]:
        spec = self.source.http
        assert spec is not None
        params = {spec.page_param: page, spec.size_param: spec.page_size}
        where = f"{url} page {page}"
        for attempt in range(spec.retries + 1):
            try:
                response = client.get(url, params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}"
            else:
                if response.status_code < 400:
                    return self._items(response, where)
                if response.status_code < 500:
                    raise SourceError(self.source.name, where, f"HTTP {response.status_code}")
                problem = f"HTTP {response.status_code}"
            if attempt < spec.retries:
                delay = 0.2 * 2**attempt
                log.warning(
                    "source %s: %s (%s); retrying in %.1fs", self.source.name, where, problem, delay
                )
                time.sleep(delay)
        raise SourceError(self.source.name, where, f"{problem} after {spec.retries} retries")

    def _items(self, response: httpx.Response, where: str) -> list[dict]:
        spec = self.source.http
        assert spec is not None
        try:
            body = response.json()
        except ValueError:
            raise SourceError(self.source.name, where, "response is not JSON") from None
        items = body.get(spec.items_field) if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise SourceError(
                self.source.name, where, f"no list of objects in {spec.items_field!r}"
            )
        return items
