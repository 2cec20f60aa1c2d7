from __future__ import annotations

import json
import stat

import pytest

from connectors import SourceError, extract_to_landing

HEADER = "人员编号,姓名,缴费金额,缴费日期\n"


def test_landing_is_owner_only_with_provenance(make_source, ctx, sources_dir, tmp_path):
    (sources_dir / "dues.csv").write_text(HEADER + "S1,张三,¥1.00,2026/3/1\n", encoding="utf-8")
    landing = extract_to_landing(
        make_source(),
        ctx,
        tmp_path / "landing" / "rows.parquet",
        tmp_path / "landing" / "provenance.json",
    )
    assert stat.S_IMODE((tmp_path / "landing").stat().st_mode) == 0o700
    prov = json.loads((tmp_path / "landing" / "provenance.json").read_text("utf-8"))
    assert prov["rows"] == 1 and len(prov["inputs"][0]["sha256"]) == 64
    assert prov["inputs"][0]["encoding"] == "utf-8"
    assert stat.S_IMODE((tmp_path / "landing" / "rows.parquet").stat().st_mode) == 0o600
    assert landing.rows == 1


def test_failed_extraction_leaves_no_partial_landing(make_source, ctx, sources_dir, tmp_path):
    (sources_dir / "a.csv").write_text(HEADER + "S1,张三,¥1.00,2026/3/1\n", encoding="utf-8")
    (sources_dir / "b.csv").write_text(
        "人员编号,姓名\nS2,李四\n", encoding="utf-8"
    )  # contract broken
    source = make_source(file={"path": "*.csv", "format": "csv"})
    with pytest.raises(SourceError, match=r"b\.csv.*column '缴费金额': required column missing"):
        extract_to_landing(
            source,
            ctx,
            tmp_path / "landing" / "rows.parquet",
            tmp_path / "landing" / "provenance.json",
        )
    assert list((tmp_path / "landing").iterdir()) == []
