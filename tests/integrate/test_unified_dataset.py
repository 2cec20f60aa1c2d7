"""The unified dataset keeps only whitelisted columns; the dictionary documents every one."""

from __future__ import annotations

import pandas as pd
import pytest

from integrate import (
    TABLE_COLUMNS,
    PublishError,
    build_unified_dataset,
    data_dictionary,
    publish_dataset,
    undocumented_columns,
)


def _linked_frames() -> dict[str, pd.DataFrame]:
    person = pd.DataFrame(
        {
            "person_key": ["P1", "P2"],
            "id_number_token": ["k1:made-up-1", "k1:made-up-2"],
            "name_bloom": [b"\x00" * 8, b"\x01" * 8],
            "branch_id": ["B1", "B1"],
            "college": ["C1", "C1"],
            "birth_year_band": ["2000-2004", "1995-1999"],
            "status": ["full", "probationary"],
        }
    )
    attendance = pd.DataFrame(
        {
            "person_key": ["P1"],
            "person_no_token": ["k1:no-1"],
            "record_key": ["signins/B1.csv:2"],
            "branch_id": ["B1"],
            "meeting_type": ["党课"],
            "meeting_date": pd.to_datetime(["2026-05-01"]),
            "attendance": ["present"],
            "source": ["signins"],
        }
    )
    return {"dim_person": person, "fact_attendance": attendance}


def test_tokens_encodings_and_record_keys_are_not_published():
    tables = build_unified_dataset(_linked_frames())
    for name, frame in tables.items():
        assert list(frame.columns) == list(TABLE_COLUMNS[name])
    assert tables["dim_branch"]["members"].tolist() == [2]


def test_unknown_table_is_refused_with_the_known_ones():
    with pytest.raises(KeyError, match="known"):
        build_unified_dataset({"fact_discipline": pd.DataFrame()})


def test_dictionary_documents_every_published_column():
    tables = build_unified_dataset(_linked_frames())
    dictionary = data_dictionary(tables)
    assert undocumented_columns(dictionary) == []
    row = dictionary[dictionary["column_name"] == "person_key"].iloc[0]
    assert "pseudonymised" in row["privacy_treatment"] and row["type"] == "string"


def test_dictionary_flags_an_undocumented_column():
    dictionary = data_dictionary({"t": pd.DataFrame({"mystery": [1]})})
    assert undocumented_columns(dictionary) == ["t.mystery"]


def test_publish_refuses_identifying_columns(tmp_path, signing_key):
    with pytest.raises(PublishError, match="id_number_token"):
        publish_dataset(
            {"dim_person": _linked_frames()["dim_person"]},
            root=tmp_path,
            manifest={},
            signing_key=signing_key,
        )
    assert not (tmp_path / "versions").exists()
