"""Pseudonymisation operators, one small module each, registered by name.

Importing this package registers every operator in :data:`OPERATORS`.
"""

from anonymize.operators import (  # noqa: F401 - imported to register
    clk_bloom,
    date_shift,
    deterministic_encrypt,
    fpe,
    generalise,
    hmac_token,
    keep,
    mask,
    suppress,
    surrogate,
)
from anonymize.operators.base import Operator, OperatorContext, OperatorParams
from anonymize.operators.registry import OPERATORS, build_operator, get_operator, register_operator

__all__ = [
    "OPERATORS",
    "Operator",
    "OperatorContext",
    "OperatorParams",
    "build_operator",
    "get_operator",
    "register_operator",
]
