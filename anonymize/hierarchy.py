"""Generalisation hierarchies of quasi-identifiers, built from the configured ladders.

A ladder is a list of generalisation steps, each applied to the *original* value
(``1993`` → ``1990-1994`` → ``1990-1999`` → ``1980-1999`` → ``*``); the top level is
always ``*`` for every value, a missing one too. A quasi-identifier may be *nested*
under another column (``branch_id`` under ``college``): its first step up is then
the parent's value (a branch generalises to its college), and the parent column is
published from it. The levels must form a hierarchy — each value at one level has
exactly one parent at the next — or the gate refuses the configuration.

Values are coded once (level-0 codes per row, a code map per level), so the search
works on integer arrays.

A numeric quasi-identifier (integers such as years) may have an *interval* step
(``generalise`` ``to: interval``, ``max_width: 5``) as the first step of its ladder:
its level is data-driven — each class publishes the interval its values span
(``"2003-2007"``), at most ``max_width`` wide, cut where the data allow (see
:mod:`anonymize.mondrian`); its code map is the identity, so the steps above it (fixed
bands) nest over it as over the values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anonymize.errors import PolicyError
from anonymize.operators import Operator, OperatorContext, build_operator
from domain import FieldKind

__all__ = [
    "INTERVAL_LEVEL",
    "TOP",
    "QiHierarchy",
    "build_hierarchies",
    "interval_label",
    "ladder_operator",
]

#: the level of an interval step (it must be the first step of its ladder)
INTERVAL_LEVEL = 1

#: the label of the top of every ladder
TOP = "*"
#: the level-0 label of a missing value
MISSING = "\x00missing"


@dataclass(frozen=True)
class QiHierarchy:
    """One quasi-identifier's ladder, coded.

    ``codes`` gives each row's level-0 code; ``maps[j][c]`` the level-``j`` code of
    level-0 code ``c`` (``maps[0]`` is the identity, the last level has one code);
    ``labels[j][code]`` the published text of a level-``j`` code (None: missing);
    ``leaves[j][code]`` how many distinct level-0 values that code covers.
    """

    name: str
    codes: np.ndarray
    maps: list[np.ndarray]
    labels: list[list[str | None]]
    leaves: list[np.ndarray]
    #: the parent column this QI is nested under (its level-1 value), if any
    parent: str | None = None
    #: per level-0 code, the parent column's value (for publishing it)
    parent_values: list[str | None] | None = None
    #: a name per level ("value", "band 5", "college", "*")
    level_names: tuple[str, ...] = ()
    #: the widest interval of an interval step at INTERVAL_LEVEL (None: no such step)
    max_width: int | None = None
    #: per level-0 code, its number (NaN: missing); set with an interval step
    numeric: np.ndarray | None = None

    def is_interval(self, level: int) -> bool:
        """Whether ``level`` is a data-driven interval level."""
        return self.max_width is not None and level == INTERVAL_LEVEL

    def interval_ncp(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """NCP of intervals [lo, hi]: (known values inside - 1) / (distinct values - 1)."""
        n = self.distinct
        lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        if n <= 1 or self.numeric is None:
            return np.zeros(lo.shape)
        known = np.sort(self.numeric[~np.isnan(self.numeric)])
        inside = np.searchsorted(known, hi, side="right") - np.searchsorted(known, lo, "left")
        return np.where(np.isnan(lo), 0.0, np.maximum(inside - 1, 0) / (n - 1))

    @property
    def top(self) -> int:
        return len(self.maps) - 1

    @property
    def distinct(self) -> int:
        return len(self.maps[0])

    def ncp(self, level: int, code: np.ndarray | int) -> np.ndarray:
        """Normalised certainty penalty of level-``level`` codes: (leaves - 1) / (all - 1)."""
        n = self.distinct
        if n <= 1:
            return np.zeros(np.shape(code))
        return (self.leaves[level][code] - 1) / (n - 1)

    def known(self) -> np.ndarray:
        """Per row: the level-0 value is not missing."""
        missing = np.array([lab is None for lab in self.labels[0]], dtype=bool)
        return ~missing[self.codes] if len(missing) else np.zeros(len(self.codes), dtype=bool)


def interval_label(lo: float, hi: float) -> str:
    """The published text of an interval: ``"2003-2007"``, or ``"2005"`` for one value."""
    a, b = int(lo), int(hi)
    return str(a) if a == b else f"{a}-{b}"


def _interval_width(op: Operator) -> int | None:
    params = op.params
    if op.name == "generalise" and getattr(params, "to", None) == "interval":
        return int(params.max_width)  # type: ignore[attr-defined]
    return None


def _numbers(name: str, originals: pd.Series) -> np.ndarray:
    """Level-0 values as numbers for an interval step: integers, else the gate refuses."""
    text = originals.astype("string")
    nums = pd.to_numeric(text, errors="coerce").astype("Float64")
    bad = text.notna() & (nums.isna() | (nums != nums.round()))
    if bad.any():
        raise PolicyError(
            f"privacy gate: the interval step of {name} needs whole numbers (e.g. years); "
            f"{int(bad.sum())} distinct value(s) are not"
        )
    return nums.to_numpy(dtype=float, na_value=np.nan)


def ladder_operator(step: Any) -> Operator:
    """The operator of one ladder step (an operator, a built spec, a name or a mapping)."""
    if isinstance(step, Operator):
        return step
    if hasattr(step, "build") and callable(step.build):
        return step.build()
    if isinstance(step, str):
        return build_operator(step)
    if isinstance(step, Mapping):
        return build_operator(step["operator"], step.get("params"))
    raise PolicyError(f"a ladder step must be an operator spec, not {type(step).__name__}")


def _code_labels(values: pd.Series) -> tuple[np.ndarray, list[str | None], pd.Series]:
    text = values.astype("string")
    codes, uniques = pd.factorize(text.fillna(MISSING), sort=True)
    labels: list[str | None] = [None if u == MISSING else str(u) for u in uniques]
    originals = pd.Series([pd.NA if u is None else u for u in labels], dtype="string")
    return codes.astype(np.int64), labels, originals


def _level(
    name: str, step: Operator, originals: pd.Series, below: np.ndarray
) -> tuple[np.ndarray, list[str | None]]:
    """Codes of one ladder level for each level-0 value, checked to nest over ``below``."""
    ctx = OperatorContext(field=name, kind=FieldKind.QUASI_IDENTIFIER, frame=None)
    out = step.apply(originals, ctx)
    if out is None:
        text = pd.Series(TOP, index=originals.index, dtype="string")
    else:
        text = out.astype("string").fillna(MISSING)
    codes, uniques = pd.factorize(text, sort=True)
    _check_nesting(name, below, codes)
    labels: list[str | None] = [None if u == MISSING else str(u) for u in uniques]
    return codes.astype(np.int64), labels


def _check_nesting(name: str, below: np.ndarray, above: np.ndarray) -> None:
    parents = pd.Series(above).groupby(below).nunique()
    if (parents > 1).any():
        raise PolicyError(
            f"privacy gate: the ladder of {name} is not a hierarchy (a value at one level "
            "has two parents at the next); each step must coarsen the one before"
        )


def _build_one(
    name: str,
    values: pd.Series,
    steps: Sequence[Any],
    parent: pd.Series | None,
    parent_steps: Sequence[Any],
) -> QiHierarchy:
    if parent is not None:
        key = parent.astype("string").fillna(MISSING) + "\x1f" + values.astype("string").fillna("")
        codes, uniques = pd.factorize(key, sort=True)
        first = pd.Series([u.split("\x1f", 1) for u in uniques])
        originals = pd.Series([b or pd.NA for _, b in first], dtype="string")
        parent_values: list[str | None] | None = [None if p == MISSING else p for p, _ in first]
        labels0: list[str | None] = [b or None for _, b in first]
        own = [ladder_operator(s) for s in parent_steps]
        parent_originals = pd.Series(
            [pd.NA if p is None else p for p in parent_values], dtype="string"
        )
        level_inputs = [("parent", None), *[("step", op) for op in own]]
    else:
        codes, labels0, originals = _code_labels(values)
        parent_values = None
        level_inputs = [("step", ladder_operator(s)) for s in steps]
        parent_originals = originals
    codes = np.asarray(codes, dtype=np.int64)
    n0 = len(labels0)
    maps = [np.arange(n0, dtype=np.int64)]
    labels = [labels0]
    names = ["value"]
    max_width: int | None = None
    numeric: np.ndarray | None = None
    for i, (kind, op) in enumerate(level_inputs):
        width = _interval_width(op) if op is not None else None
        if width is not None:
            if i != 0 or parent is not None:
                raise PolicyError(
                    f"privacy gate: the interval step of {name} must be the first step of "
                    "its ladder (and not under a nested parent)"
                )
            max_width, numeric = width, _numbers(name, parent_originals)
            maps.append(np.arange(n0, dtype=np.int64))
            labels.append(list(labels0))
            names.append(f"interval {width}")
            continue
        if kind == "parent":
            lvl, lab = _code_labels(parent_originals)[:2]
            _check_nesting(name, maps[-1], lvl)
        else:
            assert op is not None
            if op.name == "suppress" or getattr(op.params, "to", None) == "top":
                break
            lvl, lab = _level(name, op, parent_originals, maps[-1])
        if lab == [TOP]:
            break
        maps.append(lvl)
        labels.append(lab)
        names.append(str(parent.name) if kind == "parent" and parent is not None else _name(op))
    maps.append(np.zeros(n0, dtype=np.int64))
    labels.append([TOP])
    names.append(TOP)
    leaves = [np.bincount(m, minlength=max(int(m.max()) + 1 if len(m) else 1, 1)) for m in maps]
    return QiHierarchy(
        name=name,
        codes=codes,
        maps=maps,
        labels=labels,
        leaves=leaves,
        parent=None if parent is None else str(parent.name),
        parent_values=parent_values,
        level_names=tuple(names),
        max_width=max_width,
        numeric=numeric,
    )


def _name(op: Operator | None) -> str:
    if op is None:
        return "?"
    params = op.params.model_dump(exclude_defaults=True)
    target = params.pop("to", op.name)
    width = getattr(op.params, "width", None) if target in ("band", "age_band") else None
    return f"{target} {width}" if width else str(target)


def build_hierarchies(
    table: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    ladders: Mapping[str, Sequence[Any]] | None = None,
    nested: Mapping[str, str] | None = None,
) -> list[QiHierarchy]:
    """The coded hierarchy of every quasi-identifier of ``table``.

    ``ladders``: QI → steps (operator specs), each applied to the original value;
    ``nested``: QI → parent column (the parent is then not a QI of its own: its
    ladder, ``ladders[parent]``, continues the child's above the parent level).
    """
    ladders = dict(ladders or {})
    nested = dict(nested or {})
    missing = [c for c in (*quasi_identifiers, *nested.values()) if c not in table.columns]
    if missing:
        raise PolicyError(f"privacy gate: the table has no column(s) {', '.join(missing)}")
    clash = sorted(set(nested.values()) & set(quasi_identifiers))
    if clash:
        raise PolicyError(
            f"privacy gate: {clash} is the parent of a nested quasi-identifier; "
            "it is generalised with it and may not be a quasi-identifier of its own"
        )
    out = []
    for name in quasi_identifiers:
        parent = nested.get(name)
        out.append(
            _build_one(
                name,
                table[name],
                ladders.get(name, []),
                table[parent] if parent else None,
                ladders.get(parent, []) if parent else [],
            )
        )
    return out
