"""``date_shift``: move every date of a person by the same keyed offset.

The offset is derived with HMAC from another column of the row (``by``, e.g.
``id_number``), so it is the same for that person in every table and run, and
intervals between a person's dates are preserved. Rows with no ``by`` value lose
the date (null), since no consistent offset exists for them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from anonymize.errors import PolicyError
from anonymize.operators._hmac import hmac_sha256_many
from anonymize.operators.base import Operator, OperatorContext, OperatorParams
from anonymize.operators.registry import register_operator

__all__ = ["DateShiftOperator", "date_offsets"]


class DateShiftParams(OperatorParams):
    by: str = Field(description="the column identifying the person, e.g. id_number")
    max_days: int = Field(default=30, ge=1, le=3650)
    domain: str = Field(default="date_shift", description="key domain of the offsets")


def date_offsets(by: pd.Series, key: bytes, max_days: int) -> pd.Series:
    """Offset in days, in ±[1, max_days], per row (null where ``by`` is null)."""
    codes, uniques = pd.factorize(by.astype("string"), use_na_sentinel=True)
    blob = hmac_sha256_many(key, (str(v).encode() for v in uniques.tolist()), 8)
    raw = np.frombuffer(blob, dtype=">u8").astype(np.uint64) if blob else np.zeros(0, np.uint64)
    magnitude = (raw % np.uint64(max_days)).astype(np.int64) + 1
    sign = np.where((raw >> np.uint64(63)) == 1, -1, 1)
    per_unique = magnitude * sign
    out = np.where(codes >= 0, per_unique[np.clip(codes, 0, None)] if len(uniques) else 0, 0)
    return pd.Series(out, index=by.index, dtype="Int64").mask(codes < 0)


@register_operator
class DateShiftOperator(Operator):
    name = "date_shift"
    Params = DateShiftParams

    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series:
        p = self.params
        assert isinstance(p, DateShiftParams)
        if ctx.frame is None or p.by not in ctx.frame.columns:
            raise PolicyError(f"date_shift on {ctx.field}: the frame has no column {p.by!r}")
        keyring = ctx.require_keyring(self.name)
        offsets = date_offsets(ctx.frame[p.by], keyring.derive("date_shift", p.domain), p.max_days)
        dates = pd.to_datetime(values)
        shifted = dates + pd.to_timedelta(offsets.astype("float64"), unit="D")
        return shifted.where(offsets.notna()).rename(values.name)
