"""The canonical domain: entities, field kinds, identifier rules and normalisers.

Imports nothing else of islandbridge.
"""

from domain.canonical import (
    ENTITIES,
    PROVENANCE_FIELDS,
    STATUS_DATE_FIELDS,
    STATUS_LADDER,
    Entity,
    EntityRole,
    Field,
    FieldKind,
    PersonType,
    Status,
    entity,
)
from domain.identifiers import (
    PROVINCE_CODES,
    ResidentId,
    check_digits_ok,
    gb11643_check_digit,
    is_cn_mobile,
    mask_mobile,
    parse_resident_id,
    resident_id_problems,
    resident_id_problems_series,
)
from domain.normalise import (
    NormaliseError,
    normalise_amount_cents,
    normalise_date,
    normalise_dates,
    normalise_gender,
    normalise_text,
    to_halfwidth,
)

__all__ = [
    "ENTITIES",
    "PROVENANCE_FIELDS",
    "PROVINCE_CODES",
    "STATUS_DATE_FIELDS",
    "STATUS_LADDER",
    "Entity",
    "EntityRole",
    "Field",
    "FieldKind",
    "NormaliseError",
    "PersonType",
    "ResidentId",
    "Status",
    "check_digits_ok",
    "entity",
    "gb11643_check_digit",
    "is_cn_mobile",
    "mask_mobile",
    "normalise_amount_cents",
    "normalise_date",
    "normalise_dates",
    "normalise_gender",
    "normalise_text",
    "parse_resident_id",
    "resident_id_problems",
    "resident_id_problems_series",
    "to_halfwidth",
]
