"""Custom Great Expectations classes for islandbridge's rules.

Importing this package registers the expectations and their metrics with GX.
"""

from quality.expectations.dates import ExpectColumnValuesToNotBeAfterDate
from quality.expectations.descriptions import register_descriptions
from quality.expectations.dues import ExpectDuesAmountWithinRule
from quality.expectations.id_consistency import (
    ExpectResidentIdToMatchBirthDate,
    ExpectResidentIdToMatchBirthDateAtPrecision,
    ExpectResidentIdToMatchGender,
)
from quality.expectations.mobile import ExpectColumnValuesToBeCnMobile
from quality.expectations.resident_id import ExpectColumnValuesToBeValidResidentId
from quality.expectations.status_ladder import (
    ExpectApplicantToBeOfMinimumAge,
    ExpectApplicantToBeOfMinimumAgeAtPrecision,
    ExpectApplicantToBeOfMinimumAgeOnId,
    ExpectProbationToLastAboutOneYear,
    ExpectProbationToLastAboutOneYearAtPrecision,
    ExpectStatusDatesInLadderOrder,
)
from quality.expectations.volunteer import ExpectColumnValuesToBeHoursWithinADay

__all__ = [
    "ExpectApplicantToBeOfMinimumAge",
    "ExpectApplicantToBeOfMinimumAgeAtPrecision",
    "ExpectApplicantToBeOfMinimumAgeOnId",
    "ExpectColumnValuesToBeCnMobile",
    "ExpectColumnValuesToBeHoursWithinADay",
    "ExpectColumnValuesToBeValidResidentId",
    "ExpectColumnValuesToNotBeAfterDate",
    "ExpectDuesAmountWithinRule",
    "ExpectProbationToLastAboutOneYear",
    "ExpectProbationToLastAboutOneYearAtPrecision",
    "ExpectResidentIdToMatchBirthDate",
    "ExpectResidentIdToMatchBirthDateAtPrecision",
    "ExpectResidentIdToMatchGender",
    "ExpectStatusDatesInLadderOrder",
]

register_descriptions([globals()[name] for name in __all__])
