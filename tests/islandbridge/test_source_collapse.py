"""Duplicates over a split source from its partitions' files (key columns and content
hashes) give the verdict of collapse_duplicates over the whole frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from islandbridge.io import write_parquet
from islandbridge.stages import source_collapse
from islandbridge.stages.source_collapse import collapse_source, uniform_types
from quality import collapse_duplicates


def _rows(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_key": pd.array([f"r{start + i}" for i in range(n)], dtype="str"),
            "id_number": pd.array([f"A{(start + i) % 7}" for i in range(n)], dtype="str"),
            "name": pd.array([f"N{(start + i) % 3}" for i in range(n)], dtype="str"),
            "activity": pd.array(["clean", "teach"] * (n // 2) + ["clean"] * (n % 2), dtype="str"),
            "hours": pd.array([1.5, -0.0, 0.0, None] * (n // 4) + [2.0] * (n % 4)),
            "served_on": pd.to_datetime(["2026-01-0" + str(1 + i % 3) for i in range(n)]),
        }
    )


def _source() -> tuple[pd.DataFrame, pd.DataFrame]:
    accepted = _rows(40)
    content = ["id_number", "name", "activity", "hours", "served_on"]
    accepted.loc[30:33, content] = accepted.loc[0:3, content].to_numpy()  # exact copies
    accepted.loc[34, content] = accepted.loc[1, content].to_numpy()  # its hours -0.0 ...
    accepted.loc[34, "hours"] = 0.0  # ... here 0.0: equal, so an exact copy (same hash)
    accepted.loc[5, "id_number"] = " a0 "  # a near duplicate (space and case)
    accepted.loc[6, ["id_number", "name"]] = [None, "solo"]  # no person key: never near
    rejected = _rows(4, start=100).assign(reasons="bad_date")
    rejected.loc[0, "id_number"] = "A3"
    return accepted, rejected


def _files(tmp_path, accepted: pd.DataFrame, rejected: pd.DataFrame, cut: int = 17):
    paths = {"a": [], "r": []}
    for i, (acc, rej) in enumerate(
        [(accepted.iloc[:cut], rejected.iloc[:1]), (accepted.iloc[cut:], rejected.iloc[1:])]
    ):
        paths["a"].append(write_parquet(acc.reset_index(drop=True), tmp_path / f"a{i}.parquet"))
        paths["r"].append(write_parquet(rej.reset_index(drop=True), tmp_path / f"r{i}.parquet"))
    return paths


def _check(tmp_path, accepted, rejected) -> None:
    paths = _files(tmp_path, accepted, rejected)
    kept, merged = collapse_duplicates(accepted, "volunteer", rejected=rejected)
    got = collapse_source(paths["r"], paths["a"], "volunteer")
    assert np.flatnonzero(got.dropped).tolist() == merged.index.tolist()
    assert got.duplicate_of.tolist() == merged["duplicate_of"].tolist()
    assert got.reasons.tolist() == merged["reasons"].tolist()
    assert got.kept_keys.tolist() == kept["record_key"].tolist()
    assert set(merged["reasons"]) == {"exact_duplicate", "near_duplicate"}
    assert set(merged["duplicate_of"]) & set(rejected["record_key"])  # a copy of a rejected row
    assert merged.loc[34, "reasons"] == "exact_duplicate"


def test_the_verdict_of_the_whole_frames(tmp_path):
    accepted, rejected = _source()
    _check(tmp_path, accepted, rejected)


def test_a_hash_collision_never_merges_different_rows(tmp_path, monkeypatch):
    accepted, rejected = _source()

    def colliding(frame: pd.DataFrame, index: bool = True) -> pd.Series:
        return pd.Series(np.zeros(len(frame), dtype=np.uint64))

    monkeypatch.setattr(source_collapse.pd.util, "hash_pandas_object", colliding)
    _check(tmp_path, accepted, rejected)


def test_without_rejected_rows(tmp_path):
    accepted, rejected = _source()
    paths = _files(tmp_path, accepted, rejected.iloc[:0])
    kept, merged = collapse_duplicates(accepted, "volunteer", rejected=rejected.iloc[:0])
    got = collapse_source(paths["r"], paths["a"], "volunteer")
    assert np.flatnonzero(got.dropped).tolist() == merged.index.tolist()
    assert got.duplicate_of.tolist() == merged["duplicate_of"].tolist()
    assert got.kept_keys.tolist() == kept["record_key"].tolist()


def test_files_of_other_column_types_are_not_hashed_together(tmp_path):
    accepted, rejected = _source()
    paths = _files(tmp_path, accepted, rejected)
    content = ["id_number", "name", "activity", "hours", "served_on"]
    assert uniform_types(paths["r"], paths["a"], content)
    write_parquet(rejected.astype({"hours": "str"}), paths["r"][1])
    assert not uniform_types(paths["r"], paths["a"], content)
    write_parquet(rejected.drop(columns=["hours"]), paths["r"][1])
    assert not uniform_types(paths["r"], paths["a"], content)


def test_no_content_columns_is_an_error(tmp_path):
    frame = pd.DataFrame({"record_key": pd.array(["r1"], dtype="str")})
    path = write_parquet(frame, tmp_path / "a.parquet")
    with pytest.raises(ValueError, match="no canonical volunteer columns"):
        collapse_source([], [path], "volunteer")


def test_the_whole_frame_path_gives_the_same_verdict(tmp_path):
    from islandbridge.stages.partitions import _collapse_whole

    accepted, rejected = _source()
    paths = _files(tmp_path, accepted, rejected)
    whole = _collapse_whole(paths["r"], paths["a"], "volunteer")
    got = collapse_source(paths["r"], paths["a"], "volunteer")
    assert whole.dropped.tolist() == got.dropped.tolist() and whole.dropped.any()
    assert whole.duplicate_of.tolist() == got.duplicate_of.tolist()
    assert whole.reasons.tolist() == got.reasons.tolist()
    assert whole.kept_keys.tolist() == got.kept_keys.tolist()


def test_tokens_that_do_not_match_the_kept_rows_are_refused(tmp_path):
    from islandbridge.errors import StageRefused
    from islandbridge.stages.partitions import _combine_tokens

    tokens = pd.DataFrame(
        {
            "record_key": pd.array(["r1", "r2", "r3"], dtype="str"),
            "id_number": pd.array(["t1", "t1", None], dtype="str"),
        }
    )
    path = write_parquet(tokens, tmp_path / "tokens.parquet")
    kept = pd.Series(["r1", "r3"], dtype="str")
    out = tmp_path / "out.parquet"
    assert _combine_tokens("s", [path], kept, out, {"id_number"}) == {"id_number": 1}
    assert pd.read_parquet(out)["record_key"].tolist() == ["r1", "r3"]
    for wrong in (["r3", "r1"], ["r1", "r3", "r9"]):
        with pytest.raises(StageRefused, match="tokens do not match their rows"):
            _combine_tokens("s", [path], pd.Series(wrong, dtype="str"), out, set())
