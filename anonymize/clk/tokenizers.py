"""Tokenizers for record-schema fields: what a normalised value contributes to its encoding.

One small base (:class:`Tokenizer`), concrete kinds registered in :data:`TOKENIZERS`:

* ``ngram`` — character n-grams (padded with ``_``); a gram that repeats keeps each
  occurrence (``#2``, ``#3``…), so ``anna`` and ``ana`` differ.
* ``positional`` — each character (or n-gram) with its position, for numbers and dates:
  ``19151111`` and ``19511111`` share their first two and last four positions only.
* ``pinyin`` — character n-grams plus toneless pinyin n-grams of Chinese text, so a
  homophone typo (张伟 → 张威) keeps most of its bits (the ``clk_bloom`` features).
* ``whole`` — the whole value as one token (exact agreement only).

An unknown ``kind`` fails with the list of known ones.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "TOKENIZERS",
    "NgramTokenizer",
    "PinyinTokenizer",
    "PositionalTokenizer",
    "Tokenizer",
    "WholeValueTokenizer",
    "build_tokenizer",
]


class Tokenizer(BaseModel):
    """Base: ``tokens(value)`` of one normalised, non-empty value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str
    #: typical number of tokens per character (for the expected fill rate)
    per_char: ClassVar[float] = 1.0

    def tokens(self, value: str) -> list[str]:
        raise NotImplementedError


def _sizes(value: tuple[int, ...]) -> tuple[int, ...]:
    if not value or any(n < 1 or n > 8 for n in value):
        raise ValueError("n-gram sizes must be between 1 and 8")
    return tuple(sorted(set(value)))


def _counted(grams: list[str]) -> list[str]:
    if len(set(grams)) == len(grams):
        return grams
    seen: dict[str, int] = {}
    out = []
    for gram in grams:
        seen[gram] = seen.get(gram, 0) + 1
        out.append(gram if seen[gram] == 1 else f"{gram}#{seen[gram]}")
    return out


class NgramTokenizer(Tokenizer):
    kind: Literal["ngram"] = "ngram"
    n: tuple[int, ...] = Field(default=(2,), description="n-gram sizes")
    pad: bool = Field(default=True, description="pad with '_' so first/last letters count")

    @field_validator("n")
    @classmethod
    def _check_n(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _sizes(value)

    def tokens(self, value: str) -> list[str]:
        out: list[str] = []
        for n in self.n:
            text = f"_{value}_" if self.pad and n > 1 else value
            out += _counted([f"c{n}:{text[i : i + n]}" for i in range(len(text) - n + 1)])
        return out


class PositionalTokenizer(Tokenizer):
    kind: Literal["positional"] = "positional"
    n: tuple[int, ...] = Field(default=(1,), description="sizes of the positional n-grams")

    @field_validator("n")
    @classmethod
    def _check_n(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _sizes(value)

    def tokens(self, value: str) -> list[str]:
        return [f"p{n}@{i}:{value[i : i + n]}" for n in self.n for i in range(len(value) - n + 1)]


class PinyinTokenizer(Tokenizer):
    kind: Literal["pinyin"] = "pinyin"
    ngrams: tuple[int, ...] = Field(default=(1, 2), description="character n-gram sizes")
    pinyin_ngrams: tuple[int, ...] = Field(default=(2,), description="pinyin n-gram sizes")
    per_char: ClassVar[float] = 4.0

    def tokens(self, value: str) -> list[str]:
        from anonymize.operators.clk_bloom import clk_features

        return clk_features(value, ngrams=self.ngrams, pinyin_ngrams=self.pinyin_ngrams)


class WholeValueTokenizer(Tokenizer):
    kind: Literal["whole"] = "whole"
    per_char: ClassVar[float] = 0.0

    def tokens(self, value: str) -> list[str]:
        return [f"w:{value}"]


TOKENIZERS: dict[str, type[Tokenizer]] = {
    t.model_fields["kind"].default: t
    for t in (NgramTokenizer, PositionalTokenizer, PinyinTokenizer, WholeValueTokenizer)
}


def build_tokenizer(spec: object) -> Tokenizer:
    """A tokenizer from ``{"kind": ..., **params}`` (or a bare kind name)."""
    if isinstance(spec, Tokenizer):
        return spec
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ValueError(f"a tokenizer needs a 'kind'; known: {sorted(TOKENIZERS)}")
    kind = spec["kind"]
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {kind!r}; known: {sorted(TOKENIZERS)}")
    return TOKENIZERS[kind].model_validate(spec)
