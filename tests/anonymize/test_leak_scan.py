"""The leak scan: zero on clean outputs, catches a planted raw identifier."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from anonymize import (
    LeakFound,
    RawIdentifiers,
    pseudonymise_frame,
    recode_locally,
    scan_leaks,
)


@pytest.fixture
def run_outputs(tmp_path, members, policy, keyring, caplog):
    """A small run's published files, report and log, written like the pipeline does."""
    log_path = tmp_path / "logs" / "run.log"
    log_path.parent.mkdir()
    handler = logging.FileHandler(log_path, encoding="utf-8")
    logging.getLogger("anonymize").addHandler(handler)
    logging.getLogger("anonymize").setLevel(logging.DEBUG)
    try:
        out, prep = pseudonymise_frame(members, "member", policy, keyring)
        kwargs = policy.gate("member").kwargs()
        kwargs.pop("method")
        out["joined_year"] = pd.NA
        kwargs["max_suppression_rate"] = 0.5  # a few hundred members
        gated, privacy = recode_locally(out, **kwargs)
    finally:
        logging.getLogger("anonymize").removeHandler(handler)
        handler.close()
    published = tmp_path / "published"
    published.mkdir()
    gated.to_parquet(published / "member.parquet")
    gated.to_csv(published / "member.csv", index=False)
    import json

    (published / "report.json").write_text(
        json.dumps(
            {"pseudonymise": prep.as_dict(), "privacy": privacy.as_dict()}, ensure_ascii=False
        )
    )
    return tmp_path


def test_leak_scan_finds_nothing_on_clean_outputs(run_outputs, members):
    raw = RawIdentifiers.from_frames({"member": members})
    report = scan_leaks([run_outputs / "published", run_outputs / "logs"], raw)
    assert report.files_scanned == 4
    assert report.ok, [str(f) for f in report.findings]
    report.raise_if_found()


def test_leak_scan_catches_a_planted_id_in_parquet(run_outputs, members):
    path = run_outputs / "published" / "member.parquet"
    frame = pd.read_parquet(path)
    planted = members["id_number"].iloc[7]
    frame.loc[frame.index[3], "college"] = planted
    frame.to_parquet(path)
    raw = RawIdentifiers.from_frames({"member": members})
    report = scan_leaks([run_outputs / "published"], raw)
    assert not report.ok
    kinds = {(f.kind, f.field, f.where) for f in report.findings}
    assert ("exact", "id_number", "column college") in kinds
    assert ("pattern", "id_number", "column college") in kinds
    with pytest.raises(LeakFound) as info:
        report.raise_if_found()
    assert planted not in str(info.value)  # the finding names where, never the value


def test_leak_scan_catches_names_and_numbers_in_logs(tmp_path, members):
    log = tmp_path / "run.log"
    name = members["name"].iloc[0]
    student = members["student_no"].dropna().iloc[0]
    log.write_text(
        f"INFO 2026-06-30 12:00:01 done\nWARNING 会议签到：{name}同学缺席\n"
        f"ERROR bad row xh={student};\n",
        encoding="utf-8",
    )
    raw = RawIdentifiers.from_frames({"member": members})
    report = scan_leaks([log], raw)
    found = {(f.where, f.field) for f in report.findings}
    assert ("line 2", "name") in found and ("line 3", "student_no") in found
    assert ("line 1", "name") not in found


def test_leak_scan_catches_unknown_mobiles_and_ids_by_pattern(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("call 13912345678 about 11010519491231002X\n", encoding="utf-8")
    report = scan_leaks([path], RawIdentifiers())
    assert {f.field for f in report.findings} == {"mobile", "id_number"}
    assert scan_leaks([path], RawIdentifiers(), patterns=False).ok


def test_tokens_and_timestamps_are_not_false_positives(tmp_path, members, keyring, policy):
    out, _ = pseudonymise_frame(members, "member", policy, keyring)
    path = tmp_path / "tokens.txt"
    path.write_text("\n".join([*out["id_number_token"].tolist(), "1719800000000 2026-06-30"]))
    assert scan_leaks([path], RawIdentifiers.from_frames({"member": members})).ok


def test_hex_keys_with_a_mobile_shaped_digit_run_are_not_flagged(tmp_path):
    # a published person key is "P" + 20 hex digits; a run like 13812341234 can occur inside it
    pd.DataFrame({"person_key": ["Pab13812341234cdef0123"]}).to_parquet(tmp_path / "dim.parquet")
    (tmp_path / "log.txt").write_text("tel:13812341234 and Pab13812341234cd\n", encoding="utf-8")
    report = scan_leaks([tmp_path], RawIdentifiers())
    assert [Path(f.path).name for f in report.findings] == ["log.txt"]


@pytest.mark.parametrize(
    ("planted", "field"),
    [
        ("S20221234567", "student_no"),  # a whole word
        ("xxS20221234567", "student_no"),  # inside a longer word: its digit run
        ("备注：张伟明同学", "name"),  # inside a run of Chinese characters
    ],
)
def test_the_one_pass_gate_finds_what_the_line_scan_finds(tmp_path, planted, field):
    raw = RawIdentifiers()
    raw.add(["S20221234567"], "student_no")
    raw.add(["20221234567"], "student_no")
    raw.add(["张伟明"], "name")
    clean = "\n".join(f"<td class='cell'>row {i} 测试数据</td>" for i in range(5000))
    assert not raw.occurs_in(clean)
    big = tmp_path / "page.html"
    big.write_text(clean + f"\n<td>{planted}</td>\n" + clean, encoding="utf-8")
    report = scan_leaks([big], raw, patterns=False)
    assert [(f.where, f.field) for f in report.findings] == [("line 5001", field)]


def test_a_font_is_searched_for_exact_values_but_not_for_shapes(tmp_path, members):
    mobile = members["mobile"].dropna().iloc[0]
    glyphs = b"\x00\x01glyf\x00" + b"13912345678" + b"\x00\xfe"  # a mobile-shaped digit run
    font = tmp_path / "static" / "fa-solid-900.ttf"
    font.parent.mkdir()
    font.write_bytes(glyphs)
    raw = RawIdentifiers.from_frames({"member": members})
    assert scan_leaks([font], raw).ok  # a shape in glyph data belongs to no one
    font.write_bytes(glyphs + b"\x00" + str(mobile).encode() + b"\x00")
    assert {f.field for f in scan_leaks([font], raw).findings} == {"mobile"}
    same = tmp_path / "copy.bin"  # any other binary file is still searched for shapes
    same.write_bytes(glyphs)
    assert {f.field for f in scan_leaks([same], raw).findings} == {"mobile"}
