"""The one abstraction of the operators: a named, parameterised, vectorised column transform."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from anonymize.errors import PolicyError
from anonymize.keys import Keyring
from domain import FieldKind

__all__ = [
    "NoParams",
    "Operator",
    "OperatorContext",
    "OperatorParams",
    "map_uniques",
    "strings_from_matrix",
]

ALL_KINDS: frozenset[FieldKind] = frozenset(FieldKind)


class OperatorParams(BaseModel):
    """Base of every operator's parameters: unknown parameters are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(OperatorParams):
    pass


@dataclass(frozen=True, slots=True)
class OperatorContext:
    """What an operator may know besides the column: the field, its kind, the keyring, and
    the whole (input) frame for operators keyed on another column (``date_shift``)."""

    field: str
    kind: FieldKind
    keyring: Keyring | None = None
    frame: pd.DataFrame | None = None

    def require_keyring(self, operator: str) -> Keyring:
        if self.keyring is None:
            raise PolicyError(f"operator {operator} on field {self.field} needs a keyring")
        return self.keyring


class Operator(ABC):
    """A column transform. Subclasses set ``name``, ``Params`` and implement :meth:`apply`.

    ``apply`` returns the published column (same index; nulls stay null), or ``None`` when
    the column is not to be published at all.
    """

    name: ClassVar[str]
    Params: ClassVar[type[OperatorParams]] = NoParams
    #: The field kinds this operator may be applied to.
    allowed_kinds: ClassVar[frozenset[FieldKind]] = ALL_KINDS
    #: Suffix of the output column (``hmac_token`` publishes ``id_number_token``).
    output_suffix: ClassVar[str] = ""
    #: Whether each output value's identity goes into the re-identification vault (a token
    #: that a steward may resolve); only for deterministic, one-value-per-identity outputs.
    vaulted: ClassVar[bool] = False

    def __init__(self, params: OperatorParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    def output_name(self, field: str) -> str:
        return f"{field}{self.output_suffix}"

    def vault_domain(self, field: str) -> str:
        """The domain a vaulted operator's outputs of ``field`` are filed under."""
        return field

    def output_precision(self) -> str | None:
        """How precise a date is after this operator (``month``, ``year``), or ``None`` when
        it keeps the date's own precision."""
        return None

    @abstractmethod
    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series | None: ...

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"


def map_uniques(
    values: pd.Series,
    func: Callable[[list[object]], list[object] | pa.Array],
    dtype: str = "string",
) -> pd.Series:
    """Apply ``func`` once per distinct non-null value, then spread the results back.

    ``func`` gets the distinct values as a list and returns one result per value (a list
    or a pyarrow array). Nulls stay null. This keeps per-row Python work to one tight loop
    over the distinct values only.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = func(uniques.tolist()) if len(uniques) else []
    arr = results if isinstance(results, pa.Array) else pa.array(results, type=_pa_type(dtype))
    taken = arr.take(pa.array(codes, mask=codes < 0))
    if dtype == "string":
        if taken.type != pa.string():
            taken = taken.cast(pa.string())
        return pd.Series(pd.arrays.ArrowStringArray(taken), index=values.index, name=values.name)
    return pd.Series(taken.to_pandas(), index=values.index, name=values.name).astype(dtype)


def _pa_type(dtype: str) -> pa.DataType:
    return {"string": pa.string(), "Int64": pa.int64(), "datetime64[ns]": pa.timestamp("ns")}[dtype]


def strings_from_matrix(chars: np.ndarray) -> pa.Array:
    """A pyarrow string array from an (n, width) uint8 matrix of ASCII: no Python objects."""
    n, width = chars.shape
    offsets = (np.arange(n + 1, dtype=np.int32) * width).astype(np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
