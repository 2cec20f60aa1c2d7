from __future__ import annotations

from pathlib import Path

import pytest

from connectors import ExtractContext, SourceConfig


def _make_source(**overrides) -> SourceConfig:
    base = {
        "name": "demo_source",
        "department": "finance",
        "entity": "dues",
        "connector": "file",
        "file": {"path": "dues.csv", "format": "csv"},
        "columns": {
            "人员编号": "person_no",
            "姓名": "name",
            "缴费金额": "amount_cents",
            "缴费日期": "paid_on",
        },
    }
    base.update(overrides)
    return SourceConfig.model_validate(base)


@pytest.fixture
def sources_dir(tmp_path: Path) -> Path:
    d = tmp_path / "sources"
    d.mkdir()
    return d


@pytest.fixture
def ctx(sources_dir: Path) -> ExtractContext:
    return ExtractContext(sources_dir=sources_dir, env={})


@pytest.fixture
def make_source():
    """Build a SourceConfig from a small default (a finance dues CSV) with overrides."""
    return _make_source
