"""The quality gate: GX suites per canonical entity, row verdicts, duplicates, cross-source
checks, quarantine, Data Docs and per-department feedback.

Imports only :mod:`domain` and third-party libraries. Great Expectations is imported on
the first validation, not on ``import quality``.
"""

from quality.batched_gate import GateOutcome, gate_batches
from quality.config import QualityConfig, load_quality_config
from quality.cross_source import (
    check_meeting_signins,
    check_unknown_persons,
    resolve_birth_date_conflicts,
)
from quality.duplicates import collapse_duplicates
from quality.feedback import (
    feedback_frame,
    neutralise_cell,
    write_department_feedback,
    write_refusal_notice,
    write_scoped_feedback,
)
from quality.gx_context import quiet_great_expectations
from quality.quarantine import write_quarantine
from quality.reasons import REASONS, ReasonCatalogue, ReasonText, describe_reason
from quality.verdict import QualityRuleError, Verdict, validate_frame

quiet_great_expectations()

__all__ = [
    "REASONS",
    "GateOutcome",
    "QualityConfig",
    "QualityRuleError",
    "ReasonCatalogue",
    "ReasonText",
    "Verdict",
    "check_meeting_signins",
    "check_unknown_persons",
    "collapse_duplicates",
    "describe_reason",
    "feedback_frame",
    "gate_batches",
    "load_quality_config",
    "neutralise_cell",
    "resolve_birth_date_conflicts",
    "validate_frame",
    "write_department_feedback",
    "write_quarantine",
    "write_refusal_notice",
    "write_scoped_feedback",
]
