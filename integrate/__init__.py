"""Person linkage, the unified dataset, atomic publication, ledger, indicators, report.

Public surface only; see each module for the details.
"""

from integrate.clk import bloom_matrix, dice_matrix, dice_rows
from integrate.data_dictionary import data_dictionary, undocumented_columns
from integrate.indicators import compute_indicators
from integrate.person_index import PersonIndex, build_person_index, person_key_for
from integrate.publish import PublishError, PublishResult, publish_dataset
from integrate.record_linkage import AMBIGUOUS_MATCH, UNKNOWN_PERSON, LinkResult, link_records
from integrate.run_report import render_run_report, run_report_html
from integrate.unified_dataset import TABLE_COLUMNS, build_unified_dataset
from integrate.verify import VerifyReport, verify_publication

__all__ = [
    "AMBIGUOUS_MATCH",
    "TABLE_COLUMNS",
    "UNKNOWN_PERSON",
    "LinkResult",
    "PersonIndex",
    "PublishError",
    "PublishResult",
    "VerifyReport",
    "bloom_matrix",
    "build_person_index",
    "build_unified_dataset",
    "compute_indicators",
    "data_dictionary",
    "dice_matrix",
    "dice_rows",
    "link_records",
    "person_key_for",
    "publish_dataset",
    "render_run_report",
    "run_report_html",
    "undocumented_columns",
    "verify_publication",
]
