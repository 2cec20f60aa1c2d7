"""The quality configuration (config/quality.yaml) as typed models, validated on load.

Every rule names a reason code, a severity (``error`` quarantines the row,
``warning`` accepts it with a flag) and the canonical columns it reads. A typo in a
key, a rule kind, a column or a reason code fails when the file is loaded.

A university's own rule needs no code change: a rule kind below (``min_age`` at a
dated step, ``date_order``, ``in_set``, ``regex``, ``between``, …) with a code of its
own, whose Chinese and English text it gives under ``reasons:``::

    reasons:
      joined_under_18: {zh: 入党时未满18周岁, en: joined the Party before turning 18}
    entities:
      member:
        rules:
          - {rule: min_age, event_column: probationary_on, years: 18, code: joined_under_18}
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.canonical import ENTITIES, STATUS_DATE_FIELDS, PersonType
from quality.reasons import REASONS, ReasonCatalogue, ReasonText

__all__ = [
    "BetweenRule",
    "ConfiguredReason",
    "DateOrderRule",
    "DuesAmountRule",
    "EntityQuality",
    "HoursWithinDayRule",
    "IdBirthDateRule",
    "IdGenderRule",
    "InSetRule",
    "LadderOrderRule",
    "MinAgeRule",
    "MobileRule",
    "NotFutureRule",
    "QualityConfig",
    "RegexRule",
    "RequiredRule",
    "ResidentIdRule",
    "Rule",
    "SpanDaysRule",
    "load_quality_config",
]

Severity = Literal["error", "warning"]
_CODE = r"^[a-z][a-z0-9_]*$"


class _RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[str, Field(pattern=_CODE)]
    severity: Severity = "error"

    def columns(self) -> tuple[str, ...]:
        """Canonical columns the rule reads."""
        raise NotImplementedError

    def runnable(self, present: set[str]) -> bool:
        """Whether the rule can run on a frame with ``present`` columns (else it is skipped)."""
        return all(c in present for c in self.columns())


class _OneColumn(_RuleBase):
    column: str

    def columns(self) -> tuple[str, ...]:
        return (self.column,)


class RequiredRule(_OneColumn):
    rule: Literal["required"]


class InSetRule(_OneColumn):
    rule: Literal["in_set"]
    values: list[str]


class RegexRule(_OneColumn):
    rule: Literal["regex"]
    pattern: str


class BetweenRule(_OneColumn):
    rule: Literal["between"]
    min: float | None = None
    max: float | None = None


class ResidentIdRule(_OneColumn):
    rule: Literal["resident_id"]
    check: Literal["format", "region", "birth_date", "check_digit"]


class MobileRule(_OneColumn):
    """``format``: 11 digits, ``1[3-9]``; ``allocated``: in a range libphonenumber lists."""

    rule: Literal["mobile"]
    check: Literal["format", "allocated"] = "format"


class HoursWithinDayRule(_OneColumn):
    rule: Literal["hours_within_day"]
    max_hours: float = 24.0


class NotFutureRule(_OneColumn):
    """A date column no later than the run's ``as_of``."""

    rule: Literal["not_future"]


class IdBirthDateRule(_RuleBase):
    rule: Literal["id_birth_date"]
    id_column: str = "id_number"
    birth_date_column: str = "birth_date"

    def columns(self) -> tuple[str, ...]:
        return (self.id_column, self.birth_date_column)


class IdGenderRule(_RuleBase):
    rule: Literal["id_gender"]
    id_column: str = "id_number"
    gender_column: str = "gender"

    def columns(self) -> tuple[str, ...]:
        return (self.id_column, self.gender_column)


class LadderOrderRule(_RuleBase):
    rule: Literal["ladder_order"]
    step_columns: list[str] = Field(default_factory=lambda: list(STATUS_DATE_FIELDS.values()))

    def columns(self) -> tuple[str, ...]:
        return tuple(self.step_columns)

    def runnable(self, present: set[str]) -> bool:
        return sum(c in present for c in self.step_columns) >= 2


class DateOrderRule(_RuleBase):
    """The dates in ``columns`` never go backwards (equal dates are in order; a missing
    date is skipped). Month- or year-precision dates go backwards only when every day
    their periods allow does."""

    rule: Literal["date_order"]
    columns_in_order: list[str] = Field(alias="columns", min_length=2)

    def columns(self) -> tuple[str, ...]:
        return tuple(self.columns_in_order)

    def runnable(self, present: set[str]) -> bool:
        return sum(c in present for c in self.columns_in_order) >= 2


class MinAgeRule(_RuleBase):
    """Age on ``event_column`` at least ``years``. With ``id_column`` (when the frame has it)
    the birth date embedded in a well-formed ID number wins over ``birth_date_column``."""

    rule: Literal["min_age"]
    birth_date_column: str = "birth_date"
    id_column: str | None = None
    event_column: str
    years: int = 18

    def columns(self) -> tuple[str, ...]:
        return (self.birth_date_column, self.event_column)


class SpanDaysRule(_RuleBase):
    rule: Literal["span_days"]
    start_column: str
    end_column: str
    min_days: int
    max_days: int

    def columns(self) -> tuple[str, ...]:
        return (self.start_column, self.end_column)


class DuesAmountRule(_RuleBase):
    """Amount (fen) within the range for the person type; the widest range without one."""

    rule: Literal["dues_amount"]
    amount_column: str = "amount_cents"
    person_type_column: str = "person_type"
    ranges: dict[PersonType, tuple[int, int]]

    def columns(self) -> tuple[str, ...]:
        return (self.amount_column,)  # the person type is used when present


Rule = Annotated[
    RequiredRule
    | InSetRule
    | RegexRule
    | BetweenRule
    | ResidentIdRule
    | MobileRule
    | HoursWithinDayRule
    | NotFutureRule
    | IdBirthDateRule
    | IdGenderRule
    | LadderOrderRule
    | DateOrderRule
    | MinAgeRule
    | SpanDaysRule
    | DuesAmountRule,
    Field(discriminator="rule"),
]


class EntityQuality(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[Rule]


class ConfiguredReason(BaseModel):
    """The text of a university's own reason code, in Chinese and in English (both)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str = Field(min_length=1, description="what the department reads (Chinese)")
    en: str = Field(min_length=1, description="the same in English")

    @field_validator("zh", "en")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text must not be blank")
        return value.strip()


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    #: Sources in order of trust, for resolving conflicting birth dates across departments.
    source_priority: list[str] = Field(default_factory=list)
    #: The university's own reason codes → their Chinese and English text.
    reasons: dict[Annotated[str, Field(pattern=_CODE)], ConfiguredReason] = Field(
        default_factory=dict
    )
    entities: dict[str, EntityQuality]

    @property
    def catalogue(self) -> ReasonCatalogue:
        """Every reason code this configuration knows, built in or its own, with texts."""
        return ReasonCatalogue(
            configured={c: ReasonText(r.zh, r.en) for c, r in self.reasons.items()}
        )

    @model_validator(mode="after")
    def _names_exist(self) -> QualityConfig:
        clashes = sorted(c for c in self.reasons if c in REASONS or c.endswith("_missing"))
        if clashes:
            raise ValueError(
                f"reasons: {clashes} are built-in codes (or the <field>_missing family); "
                "give the university's own rule a code of its own"
            )
        catalogue = self.catalogue
        for name, spec in self.entities.items():
            if name not in ENTITIES:
                raise ValueError(f"unknown entity {name!r}; known: {sorted(ENTITIES)}")
            fields = set(ENTITIES[name].field_names)
            for rule in spec.rules:
                unknown = [c for c in rule.columns() if c not in fields]
                if isinstance(rule, DuesAmountRule) and rule.person_type_column != "person_type":
                    unknown.append(rule.person_type_column)
                if isinstance(rule, MinAgeRule) and rule.id_column and rule.id_column not in fields:
                    unknown.append(rule.id_column)
                if unknown:
                    raise ValueError(f"{name}: rule {rule.rule!r} names unknown columns {unknown}")
                if not catalogue.knows(rule.code):
                    raise ValueError(
                        f"{name}: reason code {rule.code!r} has no text: add it under "
                        f"'reasons:' with zh and en (or use a built-in code)"
                    )
        return self

    def entity(self, name: str) -> EntityQuality:
        try:
            return self.entities[name]
        except KeyError:
            raise KeyError(
                f"no quality rules for {name!r}; configured: {sorted(self.entities)}"
            ) from None


def load_quality_config(path: Path) -> QualityConfig:
    """Read and validate ``config/quality.yaml``; any typo raises ``pydantic.ValidationError``."""
    with Path(path).open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return QualityConfig.model_validate(data)
