"""Apply the field policy to one canonical frame."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from anonymize.errors import PolicyError
from anonymize.keys import Keyring
from anonymize.operators import OperatorContext
from anonymize.policy import PrivacyPolicy
from domain import PROVENANCE_FIELDS, FieldKind, entity, precision_columns

if TYPE_CHECKING:
    from anonymize.vault import Vault

__all__ = ["PseudonymisationReport", "pseudonymise_frame"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PseudonymisationReport:
    """What happened to each column of one frame (names and counts only, never values)."""

    entity: str
    rows: int
    #: output column → operator name, for every published column
    operators: dict[str, str] = field(default_factory=dict)
    #: output column → the field it was made from
    outputs: dict[str, str] = field(default_factory=dict)
    #: canonical fields present in the frame with no policy: not published
    unpoliced: list[str] = field(default_factory=list)
    #: columns that are not canonical fields of the entity: not published
    unknown_columns: list[str] = field(default_factory=list)
    #: fields whose policy is ``suppress`` (dropped on purpose)
    suppressed: list[str] = field(default_factory=list)
    #: output column → distinct tokens stored in the vault
    vaulted: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "entity": self.entity,
            "rows": self.rows,
            "operators": dict(self.operators),
            "outputs": dict(self.outputs),
            "unpoliced": list(self.unpoliced),
            "unknown_columns": list(self.unknown_columns),
            "suppressed": list(self.suppressed),
            "vaulted": dict(self.vaulted),
        }


def pseudonymise_frame(
    frame: pd.DataFrame,
    entity: str,
    policy: PrivacyPolicy,
    keyring: Keyring,
    vault: Vault | None = None,
) -> tuple[pd.DataFrame, PseudonymisationReport]:
    """Apply ``policy`` to a frame of canonical ``entity`` columns (a subset is fine).

    Provenance columns (``source``, ``record_key``) are kept as they are. Every other
    column is published only through its field's operator: a canonical field with no
    policy, or a column that is no canonical field, is dropped and listed in the report
    (default deny). A date's precision companion (``<field>_precision``) follows its
    date: published when the date is, as the coarser of its own precision and the
    operator's. A field may have several operators (its policy's ``also``), each
    publishing one column (``hmac_token`` → ``<field>_token``, ``clk_bloom`` →
    ``<field>_bloom``); with a ``vault``, the identity behind each output of a *vaulted*
    operator is stored in it for controlled re-identification.
    """
    return _pseudonymise(frame, entity, policy, keyring, vault)


_ORDER = {"day": 0, "month": 1, "year": 2}


def _coarser(precision: pd.Series, after: str | None) -> pd.Series:
    """A date's precision once published: its own, or the operator's if coarser."""
    own = precision.astype("string")
    if after is None:
        return own
    rank = own.map(_ORDER).astype("Float64")
    out = pd.Series(after, index=own.index, dtype="string").mask(rank > _ORDER[after], own)
    return out.mask(own.isna())


def _pseudonymise(
    frame: pd.DataFrame,
    entity_name: str,
    policy: PrivacyPolicy,
    keyring: Keyring,
    vault: Vault | None,
) -> tuple[pd.DataFrame, PseudonymisationReport]:
    ent = entity(entity_name)
    if keyring is None:
        raise PolicyError("pseudonymise_frame needs a keyring")
    report = PseudonymisationReport(entity=entity_name, rows=len(frame))
    out: dict[str, pd.Series] = {}
    companions = precision_columns(entity_name)
    precision_after: dict[str, str | None] = {}
    for column in frame.columns:
        name = str(column)
        if name in PROVENANCE_FIELDS:
            out[name] = frame[column]
            continue
        if name in companions:
            continue  # follows its date (below)
        if name not in ent.field_names:
            report.unknown_columns.append(name)
            continue
        fp = policy.field_policy(entity_name, name)
        if fp is None:
            report.unpoliced.append(name)
            continue
        kind = policy.kind_of(entity_name, name) or FieldKind.PLAIN
        ctx = OperatorContext(field=name, kind=kind, keyring=keyring, frame=frame)
        for op in fp.operators():
            result = op.apply(frame[column], ctx)
            if result is None:
                report.suppressed.append(name)
                continue
            out_name = op.output_name(name)
            if out_name in out or (out_name != name and out_name in frame.columns):
                raise PolicyError(
                    f"{entity_name}.{name}: output column {out_name} is already taken"
                )
            out[out_name] = result.rename(out_name)
            report.operators[out_name] = op.name
            report.outputs[out_name] = name
            if out_name == name:
                precision_after[name] = op.output_precision()
            if vault is not None and op.vaulted:
                domain = op.vault_domain(name)
                report.vaulted[out_name] = vault.store(
                    result, frame[column], field=name, domain=domain
                )
    for column, date_field in companions.items():
        if column in frame.columns and date_field in precision_after:
            out[column] = _coarser(frame[column], precision_after[date_field]).rename(column)
    if report.unpoliced or report.unknown_columns:
        log.warning(
            "%s: not published (no policy): %s%s",
            entity_name,
            ", ".join(report.unpoliced) or "-",
            f"; not canonical fields: {', '.join(report.unknown_columns)}"
            if report.unknown_columns
            else "",
        )
    published = pd.DataFrame(out, index=frame.index)
    log.info(
        "%s: %d rows pseudonymised; %s",
        entity_name,
        len(frame),
        ", ".join(f"{report.outputs[o]}→{o}" for o in report.operators),
    )
    return published, report
