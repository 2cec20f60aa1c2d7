"""A small installation with one complete run, shared by the stage tests (copied by a
test that changes it)."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

MEMBERS, SEED = 400, 17


def _lenient_config(folder: Path) -> Path:
    """The demo configuration with a larger suppression budget (a university this small
    cannot meet k=5 within the demo's 5% budget; the gate is not under test here)."""
    from islandbridge.config import default_config_path

    shutil.copytree(default_config_path().parent, folder)
    privacy = folder / "privacy.yaml"
    privacy.write_text(
        privacy.read_text("utf-8").replace(
            "max_suppression_rate: 0.05", "max_suppression_rate: 0.5"
        )
    )
    return folder / "islandbridge.yaml"


@pytest.fixture(scope="session")
def base(tmp_path_factory) -> Iterator[dict]:
    """A university with one complete run published, its youth-league API served."""
    from islandbridge import stages
    from islandbridge.demo import ensure_demo_secrets, ensure_university
    from islandbridge.synth.volunteer_api import serve_volunteer_api

    data = tmp_path_factory.mktemp("guards") / "data"
    config = _lenient_config(data.parent / "config")
    ensure_university(data, members=MEMBERS, seed=SEED)
    ensure_demo_secrets(data, config)
    names = ("ISLANDBRIDGE_VOLUNTEER_API_URL", "ISLANDBRIDGE_VOLUNTEER_API_TOKEN")
    saved = {k: os.environ.get(k) for k in names}
    token = secrets.token_urlsafe(16)
    records = data / "university" / "sources" / "volunteer_records.json"
    with serve_volunteer_api(records, token=token) as api:
        os.environ[names[0]], os.environ[names[1]] = f"{api.url}/api/v1/records", token
        try:
            summary = stages.run_inline({"data_dir": str(data), "config": str(config)}, "base")
            yield {"data": data, "config": config, "summary": summary}
        finally:
            for key, value in saved.items():
                os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


@pytest.fixture
def installation(base, tmp_path) -> dict:
    """A private copy of the base installation (the tests change it), with its own trust store."""
    from islandbridge.demo import ensure_demo_secrets

    data = tmp_path / "data"
    shutil.copytree(base["data"], data, symlinks=True)
    ensure_demo_secrets(data, base["config"])
    return {**base, "data": data, "params": {"data_dir": str(data), "config": str(base["config"])}}
