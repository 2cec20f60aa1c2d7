"""The canonical entities every department's data is mapped to.

A field has a *kind* (what privacy treatment it needs) and a logical type.
The field names here are the only column names the stages after
standardisation use.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ENTITIES",
    "PRECISION_SUFFIX",
    "PROVENANCE_FIELDS",
    "STATUS_DATE_FIELDS",
    "STATUS_LADDER",
    "DatePrecision",
    "Entity",
    "EntityRole",
    "Field",
    "FieldKind",
    "PersonType",
    "Status",
    "date_of_precision_column",
    "entity",
    "precision_column",
    "precision_columns",
]


class FieldKind(StrEnum):
    """Privacy role of a field (GB/T 37964 terms)."""

    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    PLAIN = "plain"


class Status(StrEnum):
    """The membership status ladder, in order."""

    APPLICANT = "applicant"  # 入党申请人
    ACTIVIST = "activist"  # 入党积极分子
    CANDIDATE = "candidate"  # 发展对象
    PROBATIONARY = "probationary"  # 预备党员
    FULL = "full"  # 正式党员


STATUS_LADDER: tuple[Status, ...] = tuple(Status)
#: Canonical date field of each ladder step.
STATUS_DATE_FIELDS: dict[Status, str] = {s: f"{s.value}_on" for s in Status}


class EntityRole(StrEnum):
    """How an entity's records relate to persons (what linkage does with them)."""

    ROSTER = "roster"  # each record is a person (defines who exists)
    CALENDAR = "calendar"  # records of a branch, not of a person (never linked)
    ACTIVITY = "activity"  # each record is something a person did (linked to a roster person)


class DatePrecision(StrEnum):
    """How much of a date a source wrote: the canonical date is the first day of the period."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


#: ``<date field><PRECISION_SUFFIX>`` is the companion column holding a date's precision.
PRECISION_SUFFIX = "_precision"


class PersonType(StrEnum):
    STUDENT = "student"
    FACULTY = "faculty"
    STAFF = "staff"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: FieldKind
    dtype: str  # "string", "date", "int", "float"
    description: str


@dataclass(frozen=True, slots=True)
class Entity:
    """A canonical entity: its fields, how its records relate to persons (``role``), the
    published table its records go to (``table``; rosters form ``dim_person`` instead),
    and, for an activity held at a branch event, the calendar entity it must match."""

    name: str
    fields: tuple[Field, ...]
    role: EntityRole = EntityRole.ACTIVITY
    table: str | None = None
    calendar: str | None = None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"entity {self.name!r} has no field {name!r}; known: {self.field_names}")


D, Q, S, P = (
    FieldKind.DIRECT_IDENTIFIER,
    FieldKind.QUASI_IDENTIFIER,
    FieldKind.SENSITIVE,
    FieldKind.PLAIN,
)

#: Columns every canonical row carries: where it came from.
PROVENANCE_FIELDS: tuple[str, ...] = ("source", "record_key")

_PERSON_KEYS = (
    Field("id_number", D, "string", "resident ID number (GB 11643)"),
    Field("name", D, "string", "full name"),
    Field("mobile", D, "string", "mobile phone number"),
    Field("student_no", D, "string", "student number"),
    Field("staff_no", D, "string", "staff number"),
    Field("person_no", D, "string", "student or staff number, where a source does not say which"),
)

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "member",
            (
                *_PERSON_KEYS,
                Field("gender", Q, "string", "M / F"),
                Field("ethnicity", Q, "string", "ethnic group"),
                Field("birth_date", Q, "date", "date of birth"),
                Field("college", Q, "string", "college (学院)"),
                Field("branch_id", P, "string", "party branch code"),
                Field("branch_name", P, "string", "party branch name (组织部's branches)"),
                Field("class_name", Q, "string", "class (班级)"),
                Field("person_type", Q, "string", "student / faculty / staff / retired"),
                Field("status", S, "string", "membership status on the ladder"),
                *(
                    Field(f, P, "date", f"date the {s.value} step was reached")
                    for s, f in STATUS_DATE_FIELDS.items()
                ),
            ),
            role=EntityRole.ROSTER,
        ),
        Entity(
            "meeting",
            (
                Field("branch_id", P, "string", "party branch code"),
                Field("meeting_type", P, "string", "三会一课 meeting type"),
                Field("meeting_date", P, "date", "date the meeting was held"),
            ),
            role=EntityRole.CALENDAR,
            table="fact_meeting",
        ),
        Entity(
            "attendance",
            (
                *_PERSON_KEYS,
                Field("branch_id", P, "string", "party branch code"),
                Field("meeting_type", P, "string", "三会一课 meeting type"),
                Field("meeting_date", P, "date", "date of the meeting"),
                Field("attendance", P, "string", "present / absent / leave"),
            ),
            table="fact_attendance",
            calendar="meeting",
        ),
        Entity(
            "study",
            (
                *_PERSON_KEYS,
                Field("course_id", P, "string", "course identifier"),
                Field("course_title", P, "string", "course title"),
                Field("minutes", P, "float", "minutes studied"),
                Field("score", P, "float", "score 0-100"),
                Field("studied_on", P, "date", "date of completion"),
            ),
            table="fact_study",
        ),
        Entity(
            "volunteer",
            (
                *_PERSON_KEYS,
                Field("activity", P, "string", "volunteer activity"),
                Field("hours", P, "float", "hours served"),
                Field("served_on", P, "date", "date served"),
            ),
            table="fact_volunteer",
        ),
        Entity(
            "dues",
            (
                *_PERSON_KEYS,
                Field("dues_month", P, "string", "month the dues are for (YYYY-MM)"),
                Field("amount_cents", P, "int", "amount paid, in fen"),
                Field("paid_on", P, "date", "date paid"),
            ),
            table="fact_dues",
        ),
    )
}


def entity(name: str) -> Entity:
    """The canonical entity called ``name``; an unknown name lists the known ones."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(f"unknown entity {name!r}; known: {sorted(ENTITIES)}") from None


def precision_column(field_name: str) -> str:
    """The companion column carrying the precision of date field ``field_name``.

    A canonical frame has it only when some value of the field is coarser than a day
    (``day`` / ``month`` / ``year``; null where the date is null). Without it every
    date is exact to the day.
    """
    return f"{field_name}{PRECISION_SUFFIX}"


def precision_columns(entity_name: str) -> dict[str, str]:
    """Companion column → its date field, for every date field of the entity."""
    ent = entity(entity_name)
    return {precision_column(f.name): f.name for f in ent.fields if f.dtype == "date"}


def date_of_precision_column(entity_name: str, column: str) -> str | None:
    """The date field ``column`` is the precision companion of, or ``None``."""
    return precision_columns(entity_name).get(column)
