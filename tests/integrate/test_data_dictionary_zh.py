"""The data dictionary speaks Chinese and English: every documented column has both."""

from __future__ import annotations

import pandas as pd

from integrate.data_dictionary import COLUMN_DOCS, COLUMN_DOCS_ZH, data_dictionary


def test_every_documented_column_has_a_chinese_meaning():
    assert set(COLUMN_DOCS) == set(COLUMN_DOCS_ZH)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in COLUMN_DOCS_ZH.values())


def test_dictionary_rows_carry_both_languages():
    table = pd.DataFrame({"person_key": ["P1"], "volunteer_hours": [1.5]})
    rows = data_dictionary({"t": table}).set_index("column_name")
    assert rows.loc["person_key", "meaning"] == "pseudonymous person key"
    assert rows.loc["person_key", "meaning_zh"].startswith("人员假名键")
    assert "为空" in rows.loc["volunteer_hours", "meaning_zh"]  # NULL, not 0, is documented
