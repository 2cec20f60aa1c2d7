"""A guard against shrinking: a new version may not silently lose what is published.

Against the current version, a publication that drops a table, or loses more than
``max_loss`` (a share) of a table's rows, is refused with the table and the numbers,
unless the steward overrides it (the override is recorded in the manifest). Derived
tables (indicators, the data dictionary) follow their inputs and are guarded only
against disappearing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DERIVED_TABLES", "TableShrink", "shrinkage"]

DERIVED_TABLES = frozenset({"indicator_branch_month", "inactive_members", "data_dictionary"})


@dataclass(frozen=True)
class TableShrink:
    """One table that shrank: rows in the current version and in the new one (None: gone)."""

    table: str
    before: int
    after: int | None

    @property
    def loss(self) -> float:
        if self.after is None or self.before == 0:
            return 1.0
        return (self.before - self.after) / self.before

    def __str__(self) -> str:
        if self.after is None:
            return f"table {self.table} ({self.before:,} rows) would no longer be published"
        return (
            f"table {self.table} would shrink from {self.before:,} to {self.after:,} rows "
            f"(-{self.loss:.0%})"
        )

    def as_dict(self) -> dict[str, object]:
        return {"table": self.table, "before": self.before, "after": self.after}


def shrinkage(
    current: Mapping[str, int],
    new: Mapping[str, int],
    *,
    max_loss: float,
    derived: frozenset[str] = DERIVED_TABLES,
) -> list[TableShrink]:
    """Tables of ``current`` (name → rows) that ``new`` drops or shrinks beyond ``max_loss``."""
    if not 0 <= max_loss <= 1:
        raise ValueError(f"max_loss must be a share between 0 and 1, got {max_loss}")
    found = []
    for table, before in sorted(current.items()):
        after = new.get(table)
        if after is None:
            found.append(TableShrink(table, before, None))
        elif table not in derived and before > 0 and (before - after) / before > max_loss:
            found.append(TableShrink(table, before, after))
    return found
