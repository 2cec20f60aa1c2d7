"""The re-identification attack's facts looked up in the fact files by DuckDB
(:class:`anonymize.attack.FactLookup`): the facts an adversary may know —
``attendance|<branch>|<day>`` of a meeting attended, ``dues|<month>``,
``course|<course>`` — are never all held, only the targets' and their holders'."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from integrate.fact_files import FactPart, conformed_column
from integrate.unified_dataset import TABLE_COLUMNS

__all__ = ["FACT_KINDS", "DuckFacts", "fact_relation"]

#: fact kind → (published table whose columns it is made of, SQL of the fact, filter);
#: in the order the kinds' facts are numbered (it decides a target's facts' order)
FACT_KINDS = {
    "attendance": (
        "fact_attendance",
        "'attendance|' || {branch_id} || '|' || strftime({meeting_date}, '%Y-%m-%d')",
        "{attendance} = 'present'",
    ),
    "dues": ("fact_dues", "'dues|' || {dues_month}", "true"),
    "course": ("fact_study", "'course|' || {course_id}", "true"),
}
_PART, _KIND = 10**12, 10**15


def _select(kind: str, rank: int, index: int, part: FactPart, kept: str | None) -> str:
    table, fact, where = FACT_KINDS[kind]
    schema = pq.read_schema(part.path)
    columns = {c: f"({conformed_column(table, c, schema)})" for c in TABLE_COLUMNS[table]}
    condition = where.format(**columns)
    if kept is not None and "person_key" in schema.names:
        condition += f" AND person_key IN (SELECT person_key FROM {kept})"
    path = "'" + part.path.as_posix().replace("'", "''") + "'"
    order = rank * _KIND + index * _PART
    return (
        f"SELECT {columns['person_key']} AS person_key, {fact.format(**columns)} AS fact, "
        f"{order} + file_row_number AS ord "
        f"FROM read_parquet({path}, file_row_number = true) WHERE {condition}"
    )


def fact_relation(
    parts: Mapping[str, Sequence[FactPart]], kinds: Sequence[str], kept: str | None
) -> str:
    """SQL of (``person_key``, ``fact``, ``ord``) over ``parts`` (fact kind → its files,
    in order), of the configured ``kinds``; ``kept``: a relation of the persons whose
    rows count (None: every row). ``ord`` numbers the facts as a frame of them, kind
    after kind and file after file, would hold them."""
    selects = [
        _select(kind, rank, i, part, kept)
        for rank, kind in enumerate(FACT_KINDS)
        if kind in kinds
        for i, part in enumerate(parts.get(kind, ()))
    ]
    if not selects:
        return (
            "SELECT CAST(NULL AS VARCHAR) AS person_key, CAST(NULL AS VARCHAR) AS fact, "
            "0 AS ord WHERE false"
        )
    union = " UNION ALL ".join(selects)
    return f"SELECT * FROM ({union}) WHERE person_key IS NOT NULL AND fact IS NOT NULL"


class DuckFacts:
    """A :class:`anonymize.attack.FactLookup` over a :func:`fact_relation`."""

    def __init__(self, con, relation: str, name: str) -> None:
        self._con, self._name = con, name
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {relation}")

    def _register(self, values: Sequence[str]) -> str:
        wanted = f"{self._name}_wanted"
        self._con.register(wanted, pa.table({"v": pa.array(list(values), pa.string())}))
        return wanted

    def facts_of(self, person_keys: Sequence[str]) -> pd.DataFrame:
        wanted = self._register(person_keys)
        return self._con.sql(
            f"SELECT person_key, fact FROM (SELECT person_key, fact, min(ord) AS o "
            f"FROM {self._name} WHERE person_key IN (SELECT v FROM {wanted}) "
            "GROUP BY person_key, fact) ORDER BY o"
        ).df()

    def holders(self, facts: Sequence[str]) -> pd.DataFrame:
        wanted = self._register(facts)
        return self._con.sql(
            f"SELECT DISTINCT person_key, fact FROM {self._name} "
            f"WHERE fact IN (SELECT v FROM {wanted})"
        ).df()
