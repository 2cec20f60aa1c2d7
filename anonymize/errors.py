"""The exceptions of the anonymize package.

No message here ever contains key material or a raw identifier: messages name
fields, key ids, files and counts only.
"""

from __future__ import annotations

__all__ = [
    "AnonymizeError",
    "KeyringError",
    "LeakFound",
    "PolicyError",
    "PrivacyThresholdError",
    "ReidentificationRefused",
    "UnknownOperatorError",
    "VaultError",
    "VaultTamperedError",
]


class AnonymizeError(Exception):
    """Base of every error this package raises."""

    @property
    def problem(self) -> str:
        """The message in this package's own words (it never quotes a cell or another
        library's error text), for a caller that passes it on."""
        return str(self.args[0]) if self.args else type(self).__name__


class KeyringError(AnonymizeError):
    """No keyring, an unreadable or weak one, or a key file others can read."""


class PolicyError(AnonymizeError):
    """The privacy policy is invalid, or a frame does not fit it."""


class UnknownOperatorError(PolicyError, KeyError):
    """An operator name that is not in the registry; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class PrivacyThresholdError(AnonymizeError):
    """The privacy gate could not reach k / l within the suppression budget: do not publish."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


class VaultError(AnonymizeError):
    """The re-identification vault cannot be opened or used."""


class VaultTamperedError(VaultError):
    """A vault row or the audit chain fails its integrity check."""


class ReidentificationRefused(VaultError):
    """The caller may not re-identify (wrong role, no reason, unknown token)."""


class LeakFound(AnonymizeError):
    """The leak scan found a raw identifier in a published file, report or log."""
