"""The youth league's volunteer API: bearer token, pagination, bad parameters."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from islandbridge.synth import serve_volunteer_api

TOKEN = "s3cret-token"


@pytest.fixture
def records_file(tmp_path: Path) -> Path:
    records = [
        {
            "record_id": f"V{i:07d}",
            "xh": f"2024020{i:04d}",
            "xm": "张伟",
            "hdmc": "社区敬老志愿服务",
            "fwrq": "2026-03-01",
            "fwsc": 2.5,
        }
        for i in range(1, 24)
    ]
    path = tmp_path / "volunteer_records.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def _get(url: str, token: str | None = TOKEN) -> tuple[int, dict]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode("utf-8"))


def test_pages_cover_every_record_once(records_file):
    expected = json.loads(records_file.read_text("utf-8"))
    with serve_volunteer_api(records_file, token=TOKEN) as api:
        assert api.url.startswith("http://127.0.0.1:")
        seen, page = [], 1
        while True:
            status, body = _get(f"{api.url}/api/v1/records?page={page}&page_size=10")
            assert status == 200
            assert (body["page"], body["page_size"], body["total"]) == (page, 10, 23)
            if not body["items"]:
                break
            seen.extend(body["items"])
            page += 1
    assert page == 4
    assert seen == expected


def test_refuses_wrong_or_missing_token(records_file):
    with serve_volunteer_api(records_file, token=TOKEN) as api:
        assert _get(f"{api.url}/api/v1/records", token="wrong")[0] == 401
        assert _get(f"{api.url}/api/v1/records", token=None)[0] == 401


@pytest.mark.parametrize(
    "query", ["page=0", "page=-1", "page=x", "page_size=0", "page_size=100000", "page_size=a"]
)
def test_rejects_bad_page_parameters(records_file, query):
    with serve_volunteer_api(records_file, token=TOKEN) as api:
        assert _get(f"{api.url}/api/v1/records?{query}")[0] == 400


def test_unknown_path_is_404_and_close_releases_the_port(records_file):
    api = serve_volunteer_api(records_file, token=TOKEN)
    assert _get(f"{api.url}/api/v1/other")[0] == 404
    api.close()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{api.url}/api/v1/records", timeout=2)


def test_serves_the_generated_file(tmp_path):
    from islandbridge.synth import generate_university

    out = tmp_path / "uni"
    generate_university(out, members=60, seed=5)
    path = out / "sources" / "volunteer_records.json"
    expected = json.loads(path.read_text("utf-8"))
    with serve_volunteer_api(path, token=TOKEN) as api:
        status, body = _get(f"{api.url}/api/v1/records?page=1&page_size=1000")
    assert status == 200 and body["items"] == expected[:1000]
