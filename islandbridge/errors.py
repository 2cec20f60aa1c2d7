"""Which failures a retry can fix, and the application's own refusals.

A network or database outage may pass (:class:`connectors.SourceError` with
``transient``): the scheduler retries. Everything else that stops a stage — bad
configuration, a missing or weak key, a broken export contract, a privacy gate that
cannot be met, a publication refused by its guards — is *permanent*: it fails at once,
without retries, with a message that says what to do.
"""

from __future__ import annotations

__all__ = ["PublishRefused", "StageRefused", "describe_failure", "is_permanent"]


class StageRefused(RuntimeError):
    """A stage declined to go on; its message says why and what to do."""


class PublishRefused(StageRefused):
    """The publication was refused (shrinking tables, missing sources, a changed key)."""


def _permanent_types() -> tuple[type[BaseException], ...]:
    from anonymize import AnonymizeError
    from anonymize.anchor import AnchorError
    from integrate import PublishError
    from integrate.ledger import LedgerError
    from integrate.postgres_target import PostgresTargetError
    from islandbridge.anchors import AnchorConfigError
    from islandbridge.checks.core import CheckFailed
    from islandbridge.config import ConfigError
    from islandbridge.intake import IntakeError
    from islandbridge.secrets import SecretError
    from quality.verdict import QualityRuleError

    return (
        AnchorConfigError,
        AnchorError,
        AnonymizeError,
        CheckFailed,
        ConfigError,
        LedgerError,
        IntakeError,
        PostgresTargetError,
        PublishError,
        QualityRuleError,
        SecretError,
        StageRefused,
    )


def is_permanent(exc: BaseException) -> bool:
    """True when retrying cannot help (the cause is in data, configuration or secrets)."""
    from connectors import SourceError

    if isinstance(exc, SourceError):
        return not exc.transient
    return isinstance(exc, _permanent_types())


def describe_failure(exc: BaseException) -> str:
    """A failure for a summary or a log: our own messages (which never quote a value) in
    full, anything else by its type only (third-party text may quote a cell)."""
    from connectors import SourceError

    if isinstance(exc, SourceError) or is_permanent(exc):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__
