"""CSV through pyarrow when the file's shape allows it: the same frames as the exact reader,
or the exact reader itself (with its located errors) when the shape does not."""

from __future__ import annotations

import pandas as pd
import pytest

from connectors import SourceError, connector_for
from connectors import files as files_module

HEADER = "人员编号,姓名,缴费金额,缴费日期"
ROWS = [f"S{i},张{i},￥{i}.50,2026/3/{i % 28 + 1}" for i in range(7)]
PLAIN = HEADER + "\n" + "\n".join(ROWS) + "\n"

CASES = {
    "plain utf-8": PLAIN.encode(),
    "gbk": PLAIN.encode("gbk"),
    "crlf": PLAIN.replace("\n", "\r\n").encode(),
    "no final newline": PLAIN.rstrip("\n").encode(),
    "empty fields": (HEADER + "\nS1,,,\n,李四,,2026/1/1\n").encode(),
    "spaces kept": (HEADER + "\n S1 , 张 三 ,1, 2026/1/1 \n").encode(),
    "header spaces": (" 人员编号 ,姓名 ,缴费金额,缴费日期\nS1,a,1,2026/1/1\n").encode(),
    "header only": (HEADER + "\n").encode(),
    "bom": b"\xef\xbb\xbf" + PLAIN.encode(),
    "quoted newline": (HEADER + '\nS1,"张\n三",1,2026/1/1\nS2,李四,2,2026/1/2\n').encode(),
    "quoted comma": (HEADER + '\nS1,"张,三",1,2026/1/1\n').encode(),
    "blank line": (HEADER + "\nS1,a,1,2026/1/1\n\nS2,b,2,2026/1/2\n").encode(),
    "white-space line": (HEADER + "\nS1,a,1,2026/1/1\n   \nS2,b,2,2026/1/2\n").encode(),
    "ragged row": (HEADER + "\nS1,a,1,2026/1/1,extra\n").encode(),
    "short row": (HEADER + "\nS1,a,1\n").encode(),
    "lone cr": (HEADER + "\nS1,a\r1,1,2026/1/1\n").encode(),
    "nul": (HEADER + "\nS1,a\x001,1,2026/1/1\n").encode(),
    "not utf-8": PLAIN.encode() + b"\xff\xfe,\xff,1,2\n",
    "duplicate header": "姓名,姓名\n张三,李四\n".encode(),
    "empty file": b"",
    "over-long field": (HEADER + "\nS1," + "长" * 300 + ",1,2026/1/1\n").encode(),
    "leading blank line": ("\n" + PLAIN).encode(),
}


def _outcome(make_source, ctx, fast: bool, monkeypatch) -> object:
    monkeypatch.setattr(files_module, "_FAST_CSV", fast)
    monkeypatch.setattr(files_module, "_FAST_CSV_MIN_CHUNK_ROWS", 1)  # chunks of 3 rows here
    source = make_source(file={"path": "dues.csv", "format": "csv", "chunk_rows": 3,
                               "max_field_chars": 200})  # fmt: skip
    try:
        chunks = list(connector_for(source, ctx).read())
    except SourceError as exc:
        return ("error", str(exc))
    return [(c.input.encoding, c.frame) for c in chunks]


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_csv_reads_exactly_what_the_exact_reader_reads(
    case, make_source, sources_dir, ctx, monkeypatch
):
    (sources_dir / "dues.csv").write_bytes(CASES[case])
    exact = _outcome(make_source, ctx, False, monkeypatch)
    fast = _outcome(make_source, ctx, True, monkeypatch)
    if isinstance(exact, tuple):
        assert fast == exact
        return
    assert isinstance(fast, list)
    assert len(fast) == len(exact)
    for (enc_f, frame_f), (enc_e, frame_e) in zip(fast, exact, strict=True):
        assert enc_f == enc_e
        pd.testing.assert_frame_equal(frame_f, frame_e)


def _fast_frames(make_source, ctx, sources_dir, data: bytes):
    from connectors.base import InputFile

    (sources_dir / "dues.csv").write_bytes(data)
    connector = connector_for(make_source(), ctx)
    path = sources_dir / "dues.csv"
    return connector._csv_fast(path, "dues.csv", InputFile(location="dues.csv"))


def test_plain_file_takes_the_pyarrow_path(make_source, sources_dir, ctx):
    frames = _fast_frames(make_source, ctx, sources_dir, PLAIN.encode("gbk"))
    assert frames is not None
    assert frames[0].column("record_key").to_pylist()[:2] == ["dues.csv:2", "dues.csv:3"]


@pytest.mark.parametrize(
    "case", ["quoted comma", "quoted newline", "blank line", "ragged row", "lone cr"]
)
def test_a_shape_pyarrow_cannot_prove_goes_to_the_exact_reader(case, make_source, sources_dir, ctx):
    assert _fast_frames(make_source, ctx, sources_dir, CASES[case]) is None


def test_a_sampling_read_streams_instead(make_source, sources_dir, ctx):
    from connectors.base import InputFile

    (sources_dir / "dues.csv").write_bytes(PLAIN.encode())
    source = make_source(file={"path": "dues.csv", "format": "csv", "chunk_rows": 20})
    connector = connector_for(source, ctx)
    path = sources_dir / "dues.csv"
    assert connector._csv_fast(path, "dues.csv", InputFile(location="dues.csv")) is None
