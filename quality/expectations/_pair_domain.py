"""Domain keys shared by the column-pair custom expectations (GX metric plumbing)."""

from __future__ import annotations

from typing import Literal

PAIR_DOMAIN_KEYS = (
    "batch_id",
    "table",
    "column_A",
    "column_B",
    "row_condition",
    "condition_parser",
    "ignore_row_if",
)
PAIR_EXPECTATION_DOMAIN_KEYS = tuple(k for k in PAIR_DOMAIN_KEYS if k != "table")
IgnoreRowIf = Literal["both_values_are_missing", "either_value_is_missing", "neither"]
