"""Fixtures and frames for the quality tests: hand-made canonical frames with synthetic values only.

ID numbers are computed with ``domain.gb11643_check_digit``; names are placeholders;
no real personal data appears here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from domain import ENTITIES, gb11643_check_digit
from quality import QualityConfig, load_quality_config

AS_OF = date(2026, 6, 30)
CONFIG_PATH = Path(__file__).resolve().parents[2] / "config" / "quality.yaml"


def make_id(region: str = "110105", born: str = "19900515", seq: str = "123") -> str:
    """A valid 18-character resident ID number (seq's last digit odd → male)."""
    first17 = region + born + seq
    return first17 + gb11643_check_digit(first17)


def wrong_check_digit(valid_id: str) -> str:
    other = "0" if valid_id[17] != "0" else "1"
    return valid_id[:17] + other


def good_member(**overrides: object) -> dict[str, object]:
    """A member row that passes every rule (born 1990-05-15, male, full member)."""
    row: dict[str, object] = {
        "id_number": make_id(),
        "name": "测试甲",
        "mobile": "13800001111",
        "student_no": None,
        "staff_no": "T0001",
        "person_no": "T0001",
        "gender": "M",
        "ethnicity": "汉族",
        "birth_date": "1990-05-15",
        "college": "测试学院",
        "branch_id": "B001",
        "class_name": None,
        "person_type": "faculty",
        "status": "full",
        "applicant_on": "2010-03-01",
        "activist_on": "2010-09-01",
        "candidate_on": "2011-09-01",
        "probationary_on": "2012-06-01",
        "full_on": "2013-06-01",
    }
    row.update(overrides)
    return row


def canonical_frame(
    entity: str, rows: list[dict[str, object]], source: str = "org_dept"
) -> pd.DataFrame:
    """Rows typed as the pipeline delivers them: string/datetime64/Int64/Float64 + provenance."""
    fields = {f.name: f for f in ENTITIES[entity].fields}
    frame = pd.DataFrame(rows)
    for name in frame.columns:
        if name not in fields:
            continue
        dtype = fields[name].dtype
        if dtype == "date":
            frame[name] = pd.to_datetime(frame[name])
        elif dtype == "int":
            frame[name] = frame[name].astype("Int64")
        elif dtype == "float":
            frame[name] = frame[name].astype("Float64")
        else:
            frame[name] = frame[name].astype("string")
    frame["source"] = pd.array([source] * len(frame), dtype="string")
    frame["record_key"] = pd.array([f"{source}:{i + 1}" for i in range(len(frame))], dtype="string")
    return frame


@pytest.fixture(scope="session")
def config() -> QualityConfig:
    return load_quality_config(CONFIG_PATH)
