"""``mask``: display masking, keeping the first and last characters (``138****1234``)."""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from anonymize.operators.base import Operator, OperatorContext, OperatorParams, map_uniques
from anonymize.operators.registry import register_operator

__all__ = ["MaskOperator", "mask_values"]


class MaskParams(OperatorParams):
    keep_start: int = Field(default=3, ge=0)
    keep_end: int = Field(default=4, ge=0)
    char: str = Field(default="*", min_length=1, max_length=1)


def mask_values(
    values: pd.Series, keep_start: int = 3, keep_end: int = 4, char: str = "*"
) -> pd.Series:
    """Mask the middle of each value; a value too short to keep both ends is masked whole."""

    def mask(uniq: list[object]) -> list[str]:
        out = []
        for v in uniq:
            s = str(v)
            n = len(s)
            if n <= keep_start + keep_end:
                out.append(char * n)
            else:
                out.append(s[:keep_start] + char * (n - keep_start - keep_end) + s[n - keep_end :])
        return out

    return map_uniques(values, mask)


@register_operator
class MaskOperator(Operator):
    name = "mask"
    Params = MaskParams

    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series:
        p = self.params
        assert isinstance(p, MaskParams)
        return mask_values(values, p.keep_start, p.keep_end, p.char)
