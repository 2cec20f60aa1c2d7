"""``generalise``: coarser values — date → month / year / n-year band, birth date → age band,
number → band, value → parent in a hierarchy (college → faculty group), or ``*``.

Works on dates (datetime64) and on values an earlier step already generalised
(``"1999-05"`` → ``"1999"`` → ``"1995-1999"``), so steps chain on a ladder.
The result is a string column.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from anonymize.operators.base import Operator, OperatorContext, OperatorParams, map_uniques
from anonymize.operators.registry import register_operator

__all__ = ["GeneraliseOperator", "generalise_values"]

Target = Literal["month", "year", "band", "interval", "age_band", "hierarchy", "prefix", "top"]


class GeneraliseParams(OperatorParams):
    to: Target
    width: int = Field(default=5, ge=1, description="band width (years or units)")
    as_of: date | None = Field(default=None, description="reference date of age_band")
    hierarchy: dict[str, str] | None = Field(default=None, description="value → parent")
    other: str = Field(default="*", description="parent of a value the hierarchy lacks")
    length: int = Field(default=1, ge=0, description="characters kept by prefix")
    max_width: int = Field(
        default=5, ge=1, description="interval: widest data-driven interval (e.g. years)"
    )

    @model_validator(mode="after")
    def _needs(self) -> GeneraliseParams:
        if self.to == "hierarchy" and not self.hierarchy:
            raise ValueError("to: hierarchy needs a 'hierarchy' mapping")
        if self.to == "age_band" and self.as_of is None:
            raise ValueError("to: age_band needs 'as_of' (a fixed reference date)")
        return self


def _band(lo_values: pd.Series, width: int) -> pd.Series:
    lo = (lo_values // width) * width
    hi = lo + width - 1
    text = lo.astype("Int64").astype("string") + "-" + hi.astype("Int64").astype("string")
    return text.astype("string")


def _leading_year(values: pd.Series) -> pd.Series:
    """The year a date or an already generalised value starts with."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.year.astype("Int64")
    text = values.astype("string")
    return pd.to_numeric(text.str.extract(r"^(\d{4})", expand=False), errors="coerce").astype(
        "Int64"
    )


def generalise_values(values: pd.Series, p: GeneraliseParams) -> pd.Series:
    is_date = pd.api.types.is_datetime64_any_dtype(values)
    is_num = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if p.to == "top":
        return pd.Series("*", index=values.index, dtype="string").mask(values.isna())
    if p.to == "month":
        if is_date:
            y, m = values.dt.year.astype("Int64"), values.dt.month.astype("Int64")
            return (y.astype("string") + "-" + m.astype("string").str.zfill(2)).astype("string")
        return values.astype("string").str.slice(0, 7)
    if p.to == "year":
        return _leading_year(values).astype("string")
    if p.to == "band":
        if is_num and not is_date:
            return _band(values.astype("Float64").apply(np.floor).astype("Int64"), p.width)
        return _band(_leading_year(values), p.width)
    if p.to == "interval":
        # a data-driven interval (privacy gate, anonymize.mondrian) spans values of a whole
        # class; one value alone is its own narrowest interval
        if is_num and not is_date:
            return values.astype("Float64").apply(np.floor).astype("Int64").astype("string")
        return _leading_year(values).astype("string")
    if p.to == "age_band":
        if not is_date:
            raise ValueError("age_band needs a date column")
        assert p.as_of is not None
        ref = pd.Timestamp(p.as_of)
        age = (
            ref.year
            - values.dt.year
            - (
                (values.dt.month > ref.month)
                | ((values.dt.month == ref.month) & (values.dt.day > ref.day))
            ).astype("Int64")
        )
        return _band(age.astype("Int64"), p.width)
    if p.to == "hierarchy":
        assert p.hierarchy is not None
        mapping, other = p.hierarchy, p.other
        return map_uniques(values.astype("string"), lambda u: [mapping.get(v, other) for v in u])
    if p.to == "prefix":
        n = p.length
        return (
            values.astype("string").str.slice(0, n) + "*"
            if n
            else generalise_values(values, GeneraliseParams(to="top"))
        )
    raise AssertionError(p.to)  # pragma: no cover - Literal covers every case


@register_operator
class GeneraliseOperator(Operator):
    name = "generalise"
    Params = GeneraliseParams

    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series:
        assert isinstance(self.params, GeneraliseParams)
        out = generalise_values(values, self.params).astype("string")
        if self.params.to == "month":  # a date known only to the year stays a year
            year_only = _year_precision(values, ctx)
            if year_only.any():
                out = out.mask(year_only, _leading_year(values).astype("string"))
        out.index = values.index
        out.name = values.name
        return out

    def output_precision(self) -> str | None:
        assert isinstance(self.params, GeneraliseParams)
        if self.params.to == "month":
            return "month"
        return "year" if self.params.to in ("year", "band", "interval", "age_band", "top") else None


def _year_precision(values: pd.Series, ctx: OperatorContext) -> pd.Series:
    """Rows whose date the source gave only to the year (its precision companion)."""
    from domain import precision_column

    column = precision_column(ctx.field)
    if ctx.frame is None or column not in ctx.frame.columns:
        return pd.Series(False, index=values.index)
    return (ctx.frame[column] == "year").fillna(False).reindex(values.index, fill_value=False)
