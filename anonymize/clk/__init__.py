"""Record schemas for keyed Bloom-filter encodings (CLK) and their keyed block keys.

The data holder's side of privacy-preserving linkage: a validated, YAML-loadable
:class:`RecordSchema` says per field how values are normalised and tokenised, how many bits
a token sets and under which key; :func:`encode_records` turns a frame into
:class:`EncodedRecords` (ids, packed encodings, keyed block keys). Matching is in
:mod:`integrate.linkage`.
"""

from anonymize.clk.encode import (
    NO_BLOCK,
    EncodedRecords,
    FillRateWarning,
    LinkageSecret,
    block_keys,
    derive_key,
    encode_records,
)
from anonymize.clk.normalisers import NORMALISERS
from anonymize.clk.presets import clk_bloom_schema
from anonymize.clk.schema import (
    BlockComponent,
    BlockingPass,
    FieldSchema,
    RecordSchema,
    RecordSchemaError,
    load_record_schema,
    parse_record_schema,
)
from anonymize.clk.tokenizers import TOKENIZERS, Tokenizer, build_tokenizer

__all__ = [
    "NORMALISERS",
    "NO_BLOCK",
    "TOKENIZERS",
    "BlockComponent",
    "BlockingPass",
    "EncodedRecords",
    "FieldSchema",
    "FillRateWarning",
    "LinkageSecret",
    "RecordSchema",
    "RecordSchemaError",
    "Tokenizer",
    "block_keys",
    "build_tokenizer",
    "clk_bloom_schema",
    "derive_key",
    "encode_records",
    "load_record_schema",
    "parse_record_schema",
]
