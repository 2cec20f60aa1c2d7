"""Fixtures of the anonymize tests: keyrings, the demo policy, a small synthetic roster."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anonymize import Keyring, generate_keyring, load_policy
from anonymize.policy import PrivacyPolicy
from domain import gb11643_check_digit

REPO = Path(__file__).resolve().parents[2]
POLICY_PATH = REPO / "config" / "privacy.yaml"

_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
_GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
]
_COLLEGES = ["计算机学院", "外国语学院", "数学学院", "化学学院", "经济学院", "法学院"]
_ETHNIC = ["汉族"] * 9 + ["回族", "壮族", "满族"]
_STATUS = ["applicant", "activist", "candidate", "probationary", "full"]


def make_id_number(rng: np.random.Generator, born: pd.Timestamp, male: bool) -> str:
    region = rng.choice(["110101", "310104", "440106", "510107", "420102"])
    seq = int(rng.integers(0, 500)) * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + gb11643_check_digit(first17)


def make_members(n: int = 400, seed: int = 7) -> pd.DataFrame:
    """A canonical member frame with the project's dtypes and unique identifiers."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        male = bool(rng.integers(0, 2))
        born = pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(rng.integers(0, 365 * 35)))
        student = bool(rng.random() < 0.7)
        branch = int(rng.integers(0, 12))
        rows.append(
            {
                "source": "org_dept",
                "record_key": f"members:{i + 1}",
                "id_number": make_id_number(rng, born, male),
                "name": str(rng.choice(_SURNAMES)) + str(rng.choice(_GIVEN)) + str(i),
                "mobile": f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}",
                "student_no": f"2{i:08d}" if student else None,
                "staff_no": None if student else f"T{i:07d}",
                "gender": "M" if male else "F",
                "ethnicity": str(rng.choice(_ETHNIC)),
                "birth_date": born,
                # a branch belongs to one college, as in a real university
                "college": _COLLEGES[branch % len(_COLLEGES)],
                "branch_id": f"B{branch:02d}",
                "class_name": f"班{int(rng.integers(0, 40))}",
                "person_type": "student"
                if student
                else str(rng.choice(["faculty", "staff", "retired"])),
                "status": str(rng.choice(_STATUS)),
                "applicant_on": born + pd.Timedelta(days=365 * 19),
            }
        )
    frame = pd.DataFrame(rows)
    for c in frame.columns:
        if c not in ("birth_date", "applicant_on"):
            frame[c] = frame[c].astype("string")
    frame["birth_date"] = frame["birth_date"].astype("datetime64[ns]")
    frame["applicant_on"] = frame["applicant_on"].astype("datetime64[ns]")
    return frame


@pytest.fixture
def keyring_doc() -> dict:
    return generate_keyring()


@pytest.fixture
def keyring(keyring_doc: dict) -> Keyring:
    return Keyring(keyring_doc)


@pytest.fixture
def keyring_file(tmp_path: Path, keyring_doc: dict) -> Path:
    path = tmp_path / "keys" / "keyring.json"
    path.parent.mkdir(mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(keyring_doc, fh)
    return path


@pytest.fixture(scope="session")
def policy() -> PrivacyPolicy:
    return load_policy(POLICY_PATH)


@pytest.fixture(scope="session")
def members() -> pd.DataFrame:
    return make_members()


@pytest.fixture(scope="session")
def make_member_frame():
    """The roster factory, for tests that need another size or seed."""
    return make_members
