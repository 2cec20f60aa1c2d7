"""Every reason the standardiser, readers and rules emit has Chinese and English text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain import DATE_PROBLEMS, NUMBER_PROBLEMS
from quality.reasons import PARSE_PROBLEMS, REASONS, describe_reason

READER_AND_MAPPING_PROBLEMS = (
    "unknown_value",
    "precision_lost",
    "merged_cell",
    "unreadable_cell",
    "error_cell",
)


@pytest.mark.parametrize(
    "problem", [*DATE_PROBLEMS, *NUMBER_PROBLEMS, *READER_AND_MAPPING_PROBLEMS]
)
def test_every_parse_problem_has_both_texts(problem):
    text = PARSE_PROBLEMS[problem]
    assert text.zh and text.en and text.zh != problem
    described = describe_reason(f"paid_on:{problem}")
    assert "paid_on" in described.zh and "paid_on" in described.en


@pytest.mark.parametrize(
    "code",
    ["id_precision_lost", "mobile_precision_lost", "mobile_unallocated", "hidden_row", "id_region"],
)
def test_new_reason_codes_have_both_texts(code):
    assert REASONS[code].zh and REASONS[code].en


def test_a_merged_range_is_named_in_both_texts():
    text = describe_reason("college:merged_cell[B5:B8]")
    assert "B5:B8" in text.zh and "B5:B8" in text.en and "college" in text.en


def test_every_problem_the_code_writes_is_described():
    """Scan the connectors for problem codes they emit: each needs text."""
    root = Path(__file__).resolve().parents[2] / "connectors"
    source = "\n".join(p.read_text(encoding="utf-8") for p in root.glob("*.py"))
    emitted = set(re.findall(r'"(?:[a-z_]*:)?([a-z]+_cell|unknown_value|precision_lost)"', source))
    assert emitted, "the scan found nothing: the pattern is stale"
    assert emitted <= set(PARSE_PROBLEMS)
