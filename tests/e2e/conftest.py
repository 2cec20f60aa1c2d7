from __future__ import annotations

from pathlib import Path

import pytest

E2E_MEMBERS = 1200
E2E_SEED = 7


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """A data folder holding a generated university and the demo's secrets."""
    from islandbridge.demo import ensure_demo_secrets, ensure_university

    data_dir = tmp_path_factory.mktemp("e2e")
    ensure_university(data_dir, members=E2E_MEMBERS, seed=E2E_SEED)
    ensure_demo_secrets(data_dir)
    return data_dir
