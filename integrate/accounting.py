"""Row accounting: every input row of a source ends in exactly one place.

Per source, from independent counts::

    in          = rows landed + rows of refused input files (counted by their reader)
                  + earlier accepted rows an incremental source keeps beside its new ones
    quarantined = refused rows as quarantined + quality quarantine + link quarantine
    accepted    = linked rows
    published   = the source's rows found in the tables *as written* (its lineage)
    suppressed  = linked rows whose person the privacy gate suppressed

and the equations ``in = accepted + quarantined`` and ``accepted = suppressed +
published`` are checked on them. Nothing here derives one count from another, so a
row lost between two stages makes the check fail and the publication is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ROW_ACCOUNTING_FIELDS",
    "Lineage",
    "SourceFileCounts",
    "published_rows",
    "row_accounting",
    "row_accounting_problems",
]

ROW_ACCOUNTING_FIELDS = ("in", "accepted", "quarantined", "suppressed", "published")
PERSON_TABLE = "dim_person"


@dataclass(frozen=True, eq=False)
class Lineage:
    """How a source's published rows are found in the written tables: its rows of
    ``table`` whose ``source`` column names it, or — for a roster — its rows whose
    person is in the person table (``person_keys``, one per roster row)."""

    table: str
    source: str | None = None
    person_keys: pa.Array | None = None

    @classmethod
    def of_rows(cls, table: str, source: str) -> Lineage:
        return cls(table=table, source=source)

    @classmethod
    def of_persons(cls, person_keys: pd.Series) -> Lineage:
        return cls(
            table=PERSON_TABLE,
            person_keys=pa.Array.from_pandas(person_keys.astype("string"), type=pa.string()),
        )

    def count(self, tables: Mapping[str, pa.Table]) -> int:
        """This source's rows in ``tables`` (0 when its table was not written)."""
        table = tables.get(self.table)
        if table is None:
            return 0
        if self.person_keys is not None:
            found = pc.is_in(
                self.person_keys, value_set=table.column("person_key").combine_chunks()
            )
            return int(pc.sum(found).as_py() or 0)
        return int(pc.sum(pc.equal(table.column("source"), self.source)).as_py() or 0)


@dataclass(frozen=True)
class SourceFileCounts:
    """A source's row counts as its stage files hold them (Parquet footers, provenance)."""

    landed: int
    #: records of refused inputs, as their reader counted them
    refused_input_rows: int
    #: records of refused inputs, as written to the quarantine
    refused_quarantined: int
    quality_quarantined: int
    link_quarantined: int
    linked: int
    #: an incremental source's accepted rows of the last publication, kept
    carried_rows: int = 0


def published_rows(
    tables: Mapping[str, pa.Table], lineage: Mapping[str, Lineage]
) -> dict[str, int]:
    """Per source, its rows in the tables as written."""
    return {name: item.count(tables) for name, item in lineage.items()}


def row_accounting(
    files: Mapping[str, SourceFileCounts],
    suppressed: Mapping[str, int],
    published: Mapping[str, int],
) -> dict[str, dict[str, int]]:
    """The accounting per source from independent counts (checked by the publisher)."""
    out = {}
    for name, counts in files.items():
        out[name] = {
            "in": counts.landed + counts.refused_input_rows + counts.carried_rows,
            "accepted": counts.linked,
            "quarantined": counts.refused_quarantined
            + counts.quality_quarantined
            + counts.link_quarantined,
            "suppressed": int(suppressed.get(name, 0)),
            "published": int(published.get(name, 0)),
        }
    return out


def row_accounting_problems(accounting: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Why the accounting does not add up (empty when it does).

    Per source: ``in = accepted + quarantined`` and ``accepted = suppressed + published``,
    every count a non-negative integer.
    """
    problems: list[str] = []
    for source, counts in sorted(accounting.items()):
        missing = [f for f in ROW_ACCOUNTING_FIELDS if f not in counts]
        if missing:
            problems.append(f"row_accounting[{source}]: missing {missing}")
            continue
        values = {f: counts[f] for f in ROW_ACCOUNTING_FIELDS}
        bad = [f for f, v in values.items() if not isinstance(v, int) or isinstance(v, bool)]
        bad += [f for f, v in values.items() if isinstance(v, int) and v < 0]
        if bad:
            problems.append(f"row_accounting[{source}]: not non-negative integers: {sorted(bad)}")
            continue
        if values["in"] != values["accepted"] + values["quarantined"]:
            problems.append(
                f"row_accounting[{source}]: in {values['in']} != accepted {values['accepted']}"
                f" + quarantined {values['quarantined']}"
            )
        if values["accepted"] != values["suppressed"] + values["published"]:
            problems.append(
                f"row_accounting[{source}]: accepted {values['accepted']} != suppressed"
                f" {values['suppressed']} + published {values['published']}"
            )
    return problems
