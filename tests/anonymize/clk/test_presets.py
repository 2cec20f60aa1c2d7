"""The university's ``clk_bloom`` encodings are one configuration of the record schema."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anonymize import Keyring, generate_keyring
from anonymize.clk import clk_bloom_schema, encode_records
from anonymize.operators.base import OperatorContext
from anonymize.operators.clk_bloom import ClkBloomOperator, ClkBloomParams
from domain import FieldKind


def test_clk_bloom_schema_reproduces_the_operator_bytes():
    keyring = Keyring(generate_keyring(with_vault=False))
    names = pd.Series(["张伟明", "张为明", "冯率", "ＡＢＣ  李", None, ""], name="name")
    params = ClkBloomParams(bits=512, k=12)
    operator = ClkBloomOperator(params)
    ctx = OperatorContext(field="name", kind=FieldKind.DIRECT_IDENTIFIER, keyring=keyring)
    published = operator.apply(names, ctx)
    schema = clk_bloom_schema("name", bits=512, k=12)
    encoded = encode_records(names.to_frame(), schema, keyring.derive)
    for row, cell in enumerate(published):
        if cell is None:
            assert not encoded.bits[row].any()
        else:
            assert encoded.bits[row].tobytes() == cell
    other = encode_records(
        names.to_frame(), clk_bloom_schema("name", bits=512, k=12, domain="x"), keyring.derive
    )
    assert not np.array_equal(other.bits[0], encoded.bits[0])
