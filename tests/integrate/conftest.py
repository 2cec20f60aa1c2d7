"""Fixtures for integrate tests: a throwaway signing key and small synthetic tables."""

from __future__ import annotations

import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    """Made-up published tables: tokens are invented strings, never real data."""
    person = pd.DataFrame(
        {
            "person_key": ["P003", "P001", "P002"],
            "birth_year_band": ["1990-1994", "2000-2004", "2000-2004"],
            "status": ["full", "probationary", "full"],
        }
    )
    attendance = pd.DataFrame(
        {
            "person_key": ["P001", "P002", "P001", "P003"],
            "branch_id": ["B01", "B01", "B01", "B02"],
            "meeting_date": pd.to_datetime(
                ["2026-03-02", "2026-03-02", "2026-04-06", "2026-03-09"]
            ),
            "attendance": ["present", "absent", "present", "leave"],
            "score": [1.0, float("nan"), 0.5, 2.0],
        }
    )
    return {"person": person, "fact_attendance": attendance}


@pytest.fixture
def run_facts() -> dict:
    return {
        "sources": {"signins": {"sha256": "ab" * 32, "files": 2}},
        "row_accounting": {
            "signins": {"in": 6, "accepted": 4, "quarantined": 2, "suppressed": 0, "published": 4}
        },
        "quality": {"rejected": {"future_date": 1, "nonexistent_person": 1}},
        "privacy": {"k": 5, "suppressed": 0},
        "key_id": "k1",
        "code_version": "test",
    }
