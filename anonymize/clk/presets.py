"""Record schemas that reproduce existing encodings exactly.

:func:`clk_bloom_schema` is the ``clk_bloom`` pseudonymisation operator (the university
pipeline's ``<field>_bloom`` columns) as a one-field :class:`RecordSchema`: the same
features (character and pinyin n-grams), ``k`` bits per feature, HMAC-SHA-512 positions
under the key ``keyring.derive("clk", domain)``. Encoding under it with
``secret=keyring.derive`` gives the operator's bytes, so the pipeline's encodings are one
configuration of the library and can be matched by :mod:`integrate.linkage` as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from anonymize.clk.schema import FieldSchema, RecordSchema
from anonymize.clk.tokenizers import PinyinTokenizer

__all__ = ["clk_bloom_schema"]


def clk_bloom_schema(
    field: str,
    *,
    bits: int = 1024,
    k: int = 20,
    ngrams: Sequence[int] = (1, 2),
    pinyin_ngrams: Sequence[int] = (2,),
    domain: str | None = None,
) -> RecordSchema:
    """The ``clk_bloom`` operator's encoding of ``field`` as a record schema."""
    return RecordSchema(
        bits=bits,
        max_fill=1.0,
        fields=(
            FieldSchema(
                name=field,
                normalise=(),  # the pinyin tokenizer normalises as clk_bloom does
                tokenizer=(
                    PinyinTokenizer(ngrams=tuple(ngrams), pinyin_ngrams=tuple(pinyin_ngrams)),
                ),
                bits_per_token=k,
                key_domain=domain or field,
            ),
        ),
    )
