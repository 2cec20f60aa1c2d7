"""Pseudonymisation, privacy gate and re-identification vault.

Imports only ``domain`` of this project (and third-party libraries).
"""

from anonymize.batched import pseudonymise_batches
from anonymize.errors import (
    AnonymizeError,
    KeyringError,
    LeakFound,
    PolicyError,
    PrivacyThresholdError,
    ReidentificationRefused,
    UnknownOperatorError,
    VaultError,
    VaultTamperedError,
)
from anonymize.keys import (
    Keyring,
    KeySource,
    generate_keyring,
    init_keyring_file,
    keyring_status,
    load_keyring,
    rotate_keyring_file,
)
from anonymize.leaks import LeakFinding, LeakReport, RawIdentifiers, scan_leaks
from anonymize.local_gate import LocalRecodingReport, recode_locally
from anonymize.operators import OPERATORS, Operator, build_operator, get_operator, register_operator
from anonymize.operators.clk_bloom import bloom_column, clk_encode, clk_features
from anonymize.operators.deterministic_encrypt import deterministic_decrypt
from anonymize.operators.fpe import fpe_decrypt
from anonymize.operators.hmac_token import hmac_tokens, token_for
from anonymize.policy import FieldPolicy, GateConfig, PrivacyPolicy, load_policy, parse_policy
from anonymize.privacy import PrivacyReport, enforce_k_anonymity, equivalence_class_sizes
from anonymize.pseudonymise import PseudonymisationReport, pseudonymise_frame
from anonymize.vault import Identity, Role, Vault

__all__ = [
    "OPERATORS",
    "AnonymizeError",
    "FieldPolicy",
    "GateConfig",
    "Identity",
    "KeySource",
    "Keyring",
    "KeyringError",
    "LeakFinding",
    "LeakFound",
    "LeakReport",
    "LocalRecodingReport",
    "Operator",
    "PolicyError",
    "PrivacyPolicy",
    "PrivacyReport",
    "PrivacyThresholdError",
    "PseudonymisationReport",
    "RawIdentifiers",
    "ReidentificationRefused",
    "Role",
    "UnknownOperatorError",
    "Vault",
    "VaultError",
    "VaultTamperedError",
    "bloom_column",
    "build_operator",
    "clk_encode",
    "clk_features",
    "deterministic_decrypt",
    "enforce_k_anonymity",
    "equivalence_class_sizes",
    "fpe_decrypt",
    "generate_keyring",
    "get_operator",
    "hmac_tokens",
    "init_keyring_file",
    "keyring_status",
    "load_keyring",
    "load_policy",
    "parse_policy",
    "pseudonymise_batches",
    "pseudonymise_frame",
    "recode_locally",
    "register_operator",
    "rotate_keyring_file",
    "scan_leaks",
    "token_for",
]
