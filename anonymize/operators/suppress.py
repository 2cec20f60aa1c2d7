"""``suppress``: do not publish the column (or publish a constant in its place)."""

from __future__ import annotations

import pandas as pd

from anonymize.operators.base import Operator, OperatorContext, OperatorParams
from anonymize.operators.registry import register_operator

__all__ = ["SuppressOperator"]


class SuppressParams(OperatorParams):
    #: ``None``: the column is dropped. A string: every non-null value becomes it (e.g. "*").
    replacement: str | None = None


@register_operator
class SuppressOperator(Operator):
    name = "suppress"
    Params = SuppressParams

    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series | None:
        p = self.params
        assert isinstance(p, SuppressParams)
        if p.replacement is None:
            return None
        out = pd.Series(p.replacement, index=values.index, dtype="string", name=values.name)
        return out.mask(values.isna())
