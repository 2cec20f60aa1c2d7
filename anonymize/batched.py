"""The field policy applied to a source in record batches: memory bounded by one batch.

Every operator works row by row (a token, an encoding or a generalisation depends only
on the row's own values, keyed), so the batches' outputs, written in order, are the
whole frame's. The report is the whole source's: ``rows`` summed, and ``vaulted``
counting the distinct tokens offered to the vault over all batches (as one call on the
whole frame counts them), not the sum of the batches' counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import pandas as pd

from anonymize.keys import Keyring
from anonymize.policy import PrivacyPolicy
from anonymize.pseudonymise import PseudonymisationReport, pseudonymise_frame

if TYPE_CHECKING:
    from anonymize.vault import Vault

__all__ = ["pseudonymise_batches"]


def pseudonymise_batches(
    batches: Iterable[pd.DataFrame],
    *,
    entity: str,
    policy: PrivacyPolicy,
    keyring: Keyring,
    write: Callable[[pd.DataFrame], None],
    vault: Vault | None = None,
) -> PseudonymisationReport:
    """:func:`anonymize.pseudonymise_frame` over each of ``batches``, each batch's
    output passed to ``write`` before the next is read; the report of the whole."""
    report: PseudonymisationReport | None = None
    offered: dict[str, set[str]] = {}
    for batch in batches:
        tokens, part = pseudonymise_frame(
            batch, entity=entity, policy=policy, keyring=keyring, vault=vault
        )
        write(tokens)
        for column in part.vaulted:
            values = batch[part.outputs[column]]
            stored = tokens[column].notna() & values.notna()
            offered.setdefault(column, set()).update(tokens[column][stored].unique())
        if report is None:
            report = part
        else:
            report.rows += part.rows
    if report is None:
        raise ValueError(f"{entity}: no batch to pseudonymise (an empty source is one empty batch)")
    report.vaulted = {column: len(tokens) for column, tokens in offered.items()}
    return report
