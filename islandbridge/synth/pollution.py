"""Error classes, their rates, and the bookkeeping that labels every injected record.

A ``SourceFrame`` holds one source table as numpy columns plus, per row, the true
person and a bitmask of injected error classes. Injections are recorded against
row positions; record keys are assigned when the frame is written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import pyarrow as pa

from islandbridge.synth.fmt import FULLWIDTH_DIGITS
from islandbridge.synth.vocab import HOMOPHONES, TRADITIONAL

__all__ = [
    "ERROR_CLASSES",
    "PollutionRates",
    "SourceFrame",
    "fullwidth",
    "homophone_typo",
    "near_duplicate_text",
    "wrong_check_digit",
]

ERROR_CLASSES: tuple[str, ...] = (
    "bad_check_digit",
    "id_birth_mismatch",
    "id_gender_mismatch",
    "applicant_under_18",
    "status_order",
    "future_date",
    "exact_duplicate",
    "near_duplicate",
    "nonexistent_person",
    "impossible_hours",
    "no_meeting_signin",
    "name_typo",
    "tampered_export",
)
_BIT = {c: 1 << i for i, c in enumerate(ERROR_CLASSES)}


@dataclass(frozen=True, slots=True)
class PollutionRates:
    """Share of a source's records that get each error class (0 disables a class).

    Duplicates, nonexistent persons and no-meeting sign-ins are *extra* records
    (rate x the source's clean record count); the other classes alter records in
    place. ``tampered_export`` > 0 alters exactly one signed file after signing.
    With a rate > 0 every applicable source gets at least one such record.
    """

    bad_check_digit: float = 0.01
    id_birth_mismatch: float = 0.01
    id_gender_mismatch: float = 0.01
    applicant_under_18: float = 0.01
    status_order: float = 0.01
    future_date: float = 0.01
    exact_duplicate: float = 0.015
    near_duplicate: float = 0.015
    nonexistent_person: float = 0.01
    impossible_hours: float = 0.01
    no_meeting_signin: float = 0.01
    name_typo: float = 0.02
    tampered_export: float = 0.01

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 0.2:
                raise ValueError(f"rate {f.name} must be within [0, 0.2], got {value}")

    @classmethod
    def none(cls) -> PollutionRates:
        """Clean data: every rate zero."""
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _count(rate: float, n: int) -> int:
    if rate <= 0 or n <= 0:
        return 0
    return max(1, round(rate * n))


class SourceFrame:
    """One source table: columns, the true person of each row, labels, injections."""

    def __init__(self, source: str, columns: dict[str, np.ndarray], person: np.ndarray) -> None:
        self.source = source
        self.cols = columns
        self.person = np.asarray(person, dtype=np.int64)  # person_id, -1 = nobody
        self.labels = np.zeros(len(self.person), dtype=np.int32)
        self._inj_rows: list[np.ndarray] = []
        self._inj_class: list[str] = []
        self._inj_field: list[str | None] = []

    def __len__(self) -> int:
        return len(self.person)

    def clean_rows(self, mask: np.ndarray | None = None) -> np.ndarray:
        ok = self.labels == 0
        if mask is not None:
            ok &= mask
        return np.flatnonzero(ok)

    def pick(
        self, rng: np.random.Generator, rate: float, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Choose ``rate`` x (row count) clean rows (where ``mask``), sorted."""
        candidates = self.clean_rows(mask)
        k = min(_count(rate, len(self)), len(candidates))
        if k == 0:
            return np.empty(0, dtype=np.int64)
        return np.sort(rng.choice(candidates, size=k, replace=False))

    def label(self, rows: np.ndarray, error_class: str, field: str | None) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        self.labels[rows] |= _BIT[error_class]
        self._inj_rows.append(rows)
        self._inj_class.append(error_class)
        self._inj_field.append(field)

    def mark(self, rows: np.ndarray, error_class: str) -> None:
        """Label rows in the records truth without an injection row (file-level errors)."""
        self.labels[np.asarray(rows, dtype=np.int64)] |= _BIT[error_class]

    def append(self, columns: dict[str, np.ndarray], person: np.ndarray) -> np.ndarray:
        """Add rows (all columns required); returns their positions."""
        start = len(self)
        for name, values in columns.items():
            self.cols[name] = np.concatenate([self.cols[name], np.asarray(values)])
        self.person = np.concatenate([self.person, np.asarray(person, dtype=np.int64)])
        self.labels = np.concatenate([self.labels, np.zeros(len(person), dtype=np.int32)])
        return np.arange(start, len(self))

    def copy_rows(self, rows: np.ndarray) -> np.ndarray:
        """Append copies of ``rows``; returns the positions of the copies."""
        return self.append({k: v[rows] for k, v in self.cols.items()}, self.person[rows])

    def reorder(self, order: np.ndarray) -> None:
        """Put rows in ``order`` (a permutation); injections follow their rows."""
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        self.cols = {k: v[order] for k, v in self.cols.items()}
        self.person = self.person[order]
        self.labels = self.labels[order]
        self._inj_rows = [inverse[r] for r in self._inj_rows]

    def truth(self, keys: pa.Array) -> tuple[pa.Table, pa.Table]:
        """(records, injections) tables, given the record key of each row in order."""
        records = pa.table(
            {
                "source": pa.array(np.full(len(self), self.source, dtype=object), pa.string()),
                "record_key": keys,
                "person_id": pa.array(self.person, mask=self.person < 0, type=pa.int64()),
                "labels": pa.array(label_strings(self.labels), pa.string()),
            }
        )
        rows = np.concatenate(self._inj_rows) if self._inj_rows else np.empty(0, dtype=np.int64)
        classes = np.concatenate(
            [
                np.full(len(r), c, dtype=object)
                for r, c in zip(self._inj_rows, self._inj_class, strict=False)
            ]
            or [np.empty(0, dtype=object)]
        )
        fields_ = np.concatenate(
            [
                np.full(len(r), f, dtype=object)
                for r, f in zip(self._inj_rows, self._inj_field, strict=False)
            ]
            or [np.empty(0, dtype=object)]
        )
        injections = pa.table(
            {
                "source": pa.array(np.full(len(rows), self.source, dtype=object), pa.string()),
                "record_key": keys.take(pa.array(rows, pa.int64())),
                "error_class": pa.array(classes, pa.string()),
                "field": pa.array(fields_, pa.string()),
            }
        )
        return records, injections


def label_strings(bits: np.ndarray) -> np.ndarray:
    """Bitmasks → ``;``-joined class names in ``ERROR_CLASSES`` order ('' = clean)."""
    uniques, inverse = np.unique(bits, return_inverse=True)
    names = np.array(
        [";".join(c for c in ERROR_CLASSES if int(u) & _BIT[c]) for u in uniques], dtype=object
    )
    return names[inverse]


def fullwidth(text: str) -> str:
    """Digits → full-width digits."""
    return text.translate(FULLWIDTH_DIGITS)


def near_duplicate_text(text: str, variant: int) -> str:
    """A visibly different spelling of the same name: traditional characters or stray spaces."""
    if variant == 0 and any(c in TRADITIONAL for c in text):
        return "".join(TRADITIONAL.get(c, c) for c in text)
    if variant == 1 or len(text) < 2:
        return f" {text} " if len(text) < 2 else f"{text[0]} {text[1:]}"
    return f"{text} "


def homophone_typo(name: str) -> str | None:
    """Replace the last character of ``name`` that has a homophone; ``None`` when none has."""
    for i in range(len(name) - 1, -1, -1):
        if name[i] in HOMOPHONES:
            return name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]
    return None


def wrong_check_digit(id_number: str, shift: int) -> str:
    """The same ID number with a different (wrong) check character."""
    chars = "10X98765432"
    pos = chars.index(id_number[17])
    return id_number[:17] + chars[(pos + 1 + shift % 10) % 11]
