"""``keep``: publish the column as it is (never allowed on a direct identifier)."""

from __future__ import annotations

import pandas as pd

from anonymize.operators.base import Operator, OperatorContext
from anonymize.operators.registry import register_operator
from domain import FieldKind

__all__ = ["KeepOperator"]


@register_operator
class KeepOperator(Operator):
    name = "keep"
    allowed_kinds = frozenset(FieldKind) - {FieldKind.DIRECT_IDENTIFIER}

    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series:
        return values.copy()
