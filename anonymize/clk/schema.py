"""The record schema for keyed Bloom-filter encodings: which fields, how each is tokenised.

A :class:`RecordSchema` is validated when it is loaded (:func:`load_record_schema` reads
YAML), so a typo — an unknown tokenizer or normaliser, a duplicate field — fails before any
record is encoded, with the list of known names. Per field: the source column, its
normalisation steps, its tokenizer(s), the bits each token sets (its weight) and the key
domain under which its bit positions are drawn (a key per field, derived from the linkage
secret). Optional blocking passes say which keyed block keys travel with the encodings.

Example::

    bits: 1024
    max_fill: 0.6
    fields:
      - name: first_name
        normalise: [nfkc, ascii_fold, lower, letters_only]
        tokenizer: {kind: ngram, n: [2]}
        bits_per_token: 20
      - name: dob
        normalise: [digits_only]
        tokenizer: {kind: positional}
        bits_per_token: 12
    blocking:
      - name: dob
        by: [dob]
      - name: surname_yob
        by: [{field: last_name, first: 3}, {field: dob, first: 4}]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from anonymize.clk.normalisers import NORMALISERS, normaliser
from anonymize.clk.tokenizers import Tokenizer, build_tokenizer

__all__ = [
    "BlockComponent",
    "BlockingPass",
    "FieldSchema",
    "RecordSchema",
    "RecordSchemaError",
    "load_record_schema",
    "parse_record_schema",
]


class RecordSchemaError(ValueError):
    """A record schema that does not validate; the message names the file and the problem."""


class FieldSchema(BaseModel):
    """One field of the record: column, normalisation, tokenizer(s), weight, key domain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    column: str | None = Field(default=None, description="source column; default the name")
    normalise: tuple[str, ...] = ("nfkc", "lower", "collapse_spaces")
    tokenizer: tuple[Tokenizer, ...] = Field(description="one tokenizer or a list of them")
    bits_per_token: int = Field(default=20, ge=1, le=256)
    key_domain: str | None = Field(default=None, description="key domain; default the name")
    #: typical length of a normalised value (characters), for the fill-rate check on load
    expected_length: float | None = Field(default=None, gt=0)

    @field_validator("normalise")
    @classmethod
    def _known_normalisers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            normaliser(name)
        return value

    @field_validator("tokenizer", mode="before")
    @classmethod
    def _build_tokenizers(cls, value: Any) -> tuple[Tokenizer, ...]:
        specs = value if isinstance(value, list | tuple) else [value]
        if not specs:
            raise ValueError("a field needs at least one tokenizer")
        return tuple(build_tokenizer(s) for s in specs)

    @property
    def source(self) -> str:
        return self.column or self.name

    @property
    def domain(self) -> str:
        return self.key_domain or self.name

    def normalised(self, value: str) -> str:
        for name in self.normalise:
            value = NORMALISERS[name](value)
        return value

    def tokens(self, value: str) -> list[str]:
        """Tokens of one raw value (normalised first); none for an empty value."""
        return self.tokens_of_normalised(self.normalised(value))

    def tokens_of_normalised(self, text: str) -> list[str]:
        """Tokens of an already normalised value; none for an empty one."""
        if not text:
            return []
        out: list[str] = []
        for tokenizer in self.tokenizer:
            out += tokenizer.tokens(text)
        return out


class BlockComponent(BaseModel):
    """One part of a block key: a field's normalised value, or its first ``first`` characters."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    field: str
    first: int | None = Field(default=None, ge=1)


class BlockingPass(BaseModel):
    """One blocking pass: records agreeing on every component are compared."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    by: tuple[BlockComponent, ...] = Field(min_length=1)

    @field_validator("by", mode="before")
    @classmethod
    def _components(cls, value: Any) -> Any:
        items = value if isinstance(value, list | tuple) else [value]
        return [{"field": v} if isinstance(v, str) else v for v in items]


class RecordSchema(BaseModel):
    """How records become one keyed Bloom filter each (``bits`` long) and their block keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bits: int = Field(default=1024, description="encoding length in bits (multiple of 64)")
    max_fill: float = Field(default=0.6, gt=0, le=1, description="warn above this fill rate")
    fields: tuple[FieldSchema, ...] = Field(min_length=1)
    blocking: tuple[BlockingPass, ...] = ()

    @field_validator("bits")
    @classmethod
    def _bits(cls, value: int) -> int:
        if value <= 0 or value % 64 or value > 65_536:
            raise ValueError("bits must be a positive multiple of 64 up to 65536")
        return value

    @model_validator(mode="after")
    def _names(self) -> RecordSchema:
        names = [f.name for f in self.fields]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"fields named more than once: {doubled}")
        passes = [p.name for p in self.blocking]
        if len(set(passes)) != len(passes):
            raise ValueError("blocking pass names must be unique")
        for p in self.blocking:
            unknown = [c.field for c in p.by if c.field not in names]
            if unknown:
                raise ValueError(
                    f"blocking pass {p.name!r} uses unknown fields {unknown}; fields: {names}"
                )
        return self

    def field(self, name: str) -> FieldSchema:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"no field {name!r}; fields: {[f.name for f in self.fields]}")

    def expected_fill(self) -> float | None:
        """Expected share of set bits from the fields' ``expected_length`` (None if unknown)."""
        import math

        settings = 0.0
        for f in self.fields:
            if f.expected_length is None:
                return None
            per_char = sum(t.per_char * max(1, len(getattr(t, "n", (1,)))) for t in f.tokenizer)
            tokens = per_char * f.expected_length + sum(t.per_char == 0 for t in f.tokenizer)
            settings += tokens * f.bits_per_token
        return 1.0 - math.exp(-settings / self.bits)


def parse_record_schema(document: Any, where: str = "record schema") -> RecordSchema:
    """A validated schema from a mapping; :class:`RecordSchemaError` naming ``where`` otherwise."""
    try:
        schema = RecordSchema.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
            for e in exc.errors(include_input=False)
        )
        raise RecordSchemaError(f"{where}: {problems}") from None
    _warn_expected_fill(schema, where)
    return schema


def _warn_expected_fill(schema: RecordSchema, where: str) -> None:
    import warnings

    from anonymize.clk.encode import FillRateWarning

    fill = schema.expected_fill()
    if fill is not None and fill > schema.max_fill:
        warnings.warn(
            f"{where}: expected fill rate {fill:.2f} is over max_fill {schema.max_fill:.2f}; "
            "use more bits or fewer bits per token",
            FillRateWarning,
            stacklevel=3,
        )


def load_record_schema(path: str | Path) -> RecordSchema:
    """Read and validate a record schema YAML file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        raise RecordSchemaError(f"{path}{at}: not valid YAML") from None
    return parse_record_schema(document, where=str(path))
