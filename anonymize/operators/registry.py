"""The operator registry: one dict; an unknown name fails with the list of known ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from anonymize.errors import PolicyError, UnknownOperatorError
from anonymize.operators.base import Operator

__all__ = ["OPERATORS", "build_operator", "get_operator", "register_operator"]

OPERATORS: dict[str, type[Operator]] = {}
_T = TypeVar("_T", bound=type[Operator])


def register_operator(cls: _T) -> _T:
    """Class decorator: add an operator to the registry under ``cls.name``."""
    if cls.name in OPERATORS and OPERATORS[cls.name] is not cls:
        raise ValueError(f"operator {cls.name!r} is registered twice")
    OPERATORS[cls.name] = cls
    return cls


def get_operator(name: str) -> type[Operator]:
    """The operator class called ``name``; :class:`UnknownOperatorError` lists the known ones."""
    try:
        return OPERATORS[name]
    except KeyError:
        raise UnknownOperatorError(
            f"unknown operator {name!r}; known operators: {', '.join(sorted(OPERATORS))}"
        ) from None


def build_operator(name: str, params: Mapping[str, Any] | None = None) -> Operator:
    """An operator instance with validated parameters; bad parameters fail naming them."""
    cls = get_operator(name)
    try:
        validated = cls.Params.model_validate(dict(params or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}" for e in exc.errors()
        )
        raise PolicyError(f"operator {name}: invalid parameters: {problems}") from None
    return cls(validated)
