"""The synthetic university: seven departmental sources, polluted, with ground truth.

See docs/synthetic-university.md for the contract (layout, columns, record keys,
error classes).
"""

from islandbridge.synth.generator import SIGNED_EXPORTS, GenerationSummary, generate_university
from islandbridge.synth.pollution import ERROR_CLASSES, PollutionRates
from islandbridge.synth.volunteer_api import VolunteerApi, serve_volunteer_api

__all__ = [
    "ERROR_CLASSES",
    "SIGNED_EXPORTS",
    "GenerationSummary",
    "PollutionRates",
    "VolunteerApi",
    "generate_university",
    "serve_volunteer_api",
]
